import { Inject, Injectable, Optional } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { llmConfig } from '../config/chat.config';
import { type LlmProfile, ProfilesService } from '../profiles/profiles.service';
import type { ModelDto } from './dto/model.dto';
import { LanguageModelFactory } from './language-model.factory';
import type { ResolvedModel } from './llm.types';
import { modelIdOf, profileNameOf } from './model-id';
import { modelNotFound } from './models.errors';
import { contextWindowOf } from './pricing';

/** A request's token limit against the model's own (chat completions and responses apply it). */
export { clampOutputTokens } from './output-limits';

export const DEFAULT_MAX_RETRIES = 3;
/** Defaults of OH_LLM_FIRST_BYTE_TIMEOUT_S, OH_LLM_IDLE_TIMEOUT_S and OH_LLM_TIMEOUT_RETRIES. */
const DEFAULT_TIMEOUTS = { firstByteTimeoutMs: 45_000, idleTimeoutMs: 45_000, timeoutRetries: 1 };

@Injectable()
export class ModelsService {
  constructor(
    private readonly profiles: ProfilesService,
    private readonly languageModels: LanguageModelFactory,
    @Optional()
    @Inject(llmConfig.KEY)
    private readonly timeouts: Pick<
      ConfigType<typeof llmConfig>,
      'firstByteTimeoutMs' | 'idleTimeoutMs' | 'timeoutRetries'
    > = DEFAULT_TIMEOUTS,
  ) {}

  async list(): Promise<ModelDto[]> {
    return (await this.profiles.list())
      .map(toModel)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async get(id: string): Promise<ModelDto> {
    const name = profileNameOf(id);
    const profile = name ? await this.profiles.find(name) : null;
    if (!profile) throw await this.notFound(id);
    return toModel(profile);
  }

  /**
   * `openhands_<profile>` → the profile with its decrypted key and a callable model; 404
   * `model_not_found` for anything else. Misconfigured profiles (e.g. `azure/…` without a
   * base_url) are a 400 `profile_misconfigured`.
   */
  async resolve(gatewayModel: string): Promise<ResolvedModel> {
    const name = profileNameOf(gatewayModel);
    const profile = name ? await this.profiles.resolve(name) : null;
    if (!profile) throw await this.notFound(gatewayModel);
    const { config } = profile;
    return {
      gatewayModel: modelIdOf(profile.name),
      profileName: profile.name,
      model: config.model,
      config,
      languageModel: this.languageModels.get(profile),
      // a profile's own `timeout` bounds both waits
      timeoutMs: config.timeout ? config.timeout * 1000 : this.timeouts.idleTimeoutMs,
      firstByteTimeoutMs: config.timeout ? config.timeout * 1000 : this.timeouts.firstByteTimeoutMs,
      timeoutRetries: this.timeouts.timeoutRetries,
      maxRetries: config.num_retries ?? DEFAULT_MAX_RETRIES,
      contextWindow: config.max_input_tokens ?? contextWindowOf(config.model),
      // header values may be credentials too (an Azure `api-key`, a proxy's token)
      secrets: [
        ...(profile.apiKey ? [profile.apiKey] : []),
        ...Object.values(profile.config.extra_headers ?? {}).filter((v) => v.length >= 8),
      ],
    };
  }

  private async notFound(model: string) {
    return modelNotFound(
      model,
      (await this.list()).map((m) => m.id),
    );
  }
}

const toModel = (profile: LlmProfile): ModelDto => ({
  id: modelIdOf(profile.name),
  object: 'model',
  created: Math.floor(profile.createdAt.getTime() / 1000),
  owned_by: 'openhands',
});
