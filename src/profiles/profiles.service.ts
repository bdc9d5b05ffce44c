import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { appConfig } from '../config/app.config';
import type { LlmConfigDto } from './dto/llm-config.dto';
import type { LlmConfig, ResolvedProfile } from './llm-config.types';
import type { LlmProfile } from './llm-profile.entity';
import { parseModelName } from './llm-providers';
import { bareModelWarning } from './model-name-hints';
import { profileLimitReached, profileNotFound, unsupportedProvider } from './profiles.errors';
import { ProfilesRepository } from './profiles.repository';
import { SecretCipher } from './secret-cipher';

// What the models module and the agent use of profiles.
export type { LlmProfile } from './llm-profile.entity';
export { LLM_PROVIDERS, parseModelName, type LlmProvider } from './llm-providers';

/** The settings kept from a save request: every known field but the key; unknown ones are dropped. */
const STORED_FIELDS = [
  'model',
  'base_url',
  'api_version',
  'temperature',
  'top_p',
  'max_output_tokens',
  'max_input_tokens',
  'timeout',
  'num_retries',
  'reasoning_effort',
  'extra_headers',
  'input_cost_per_token',
  'output_cost_per_token',
  'tool_mode',
] as const satisfies readonly (keyof LlmConfig)[];

@Injectable()
export class ProfilesService {
  /** Resolved profiles by name; the promise is shared, so concurrent turns read the row once. */
  private readonly resolved = new Map<
    string,
    { until: number; profile: Promise<ResolvedProfile | null> }
  >();

  constructor(
    private readonly profiles: ProfilesRepository,
    private readonly cipher: SecretCipher,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
  ) {}

  list(): Promise<LlmProfile[]> {
    return this.profiles.findAll();
  }

  find(name: string): Promise<LlmProfile | null> {
    return this.profiles.findByName(name);
  }

  async get(name: string): Promise<LlmProfile> {
    const profile = await this.profiles.findByName(name);
    if (!profile) throw profileNotFound(name);
    return profile;
  }

  /**
   * Creates or overwrites; `created` tells which, `warnings` what looks wrong but is stored anyway
   * (a bare model name OpenAI does not know). The api key is encrypted before it is stored; a
   * blank one is no key (it would go upstream as `Bearer    `).
   */
  async save(
    name: string,
    llm: LlmConfigDto,
    includeSecrets = true,
  ): Promise<{ created: boolean; warnings: string[] }> {
    if (!parseModelName(llm.model)) throw unsupportedProvider(llm.model);
    const config = Object.fromEntries(
      STORED_FIELDS.filter((field) => llm[field] !== undefined && llm[field] !== null).map((f) => [
        f,
        llm[f],
      ]),
    ) as unknown as LlmConfig;
    const key = llm.api_key?.trim();
    const apiKey = includeSecrets && key ? this.cipher.encrypt(key, name) : null;
    const saved = await this.profiles.upsertWithinLimit(name, config, apiKey, this.app.maxProfiles);
    this.resolved.delete(name);
    if (!saved) throw profileLimitReached(this.app.maxProfiles);
    const warning = bareModelWarning(config.model, config.base_url);
    return { created: saved.created, warnings: warning ? [warning] : [] };
  }

  /** Idempotent, like the reference: deleting a missing profile succeeds. */
  async delete(name: string): Promise<{ deleted: boolean }> {
    const deleted = await this.profiles.delete(name);
    this.resolved.delete(name);
    return { deleted };
  }

  /**
   * The profile with its api key decrypted, for calling the LLM. Never leaves the process. Reused
   * for `OH_PROFILE_CACHE_TTL_S`, so a turn costs no profile read; saves and deletes through this
   * process drop it at once, and another replica's are seen within that time. Misses and failures
   * are not kept.
   */
  resolve(name: string): Promise<ResolvedProfile | null> {
    const now = Date.now();
    const hit = this.resolved.get(name);
    if (hit && hit.until > now) return hit.profile;
    const entry = { until: now + this.app.profileCacheTtlMs, profile: this.load(name) };
    this.resolved.set(name, entry);
    const forget = () => {
      if (this.resolved.get(name) === entry) this.resolved.delete(name);
    };
    void entry.profile.then((profile) => profile ?? forget(), forget);
    return entry.profile;
  }

  private async load(name: string): Promise<ResolvedProfile | null> {
    const profile = await this.profiles.findByName(name);
    if (!profile) return null;
    return {
      name: profile.name,
      config: profile.config,
      apiKey: profile.apiKeyEncrypted
        ? this.cipher.decrypt(profile.apiKeyEncrypted, profile.name)
        : null,
      createdAt: profile.createdAt,
      updatedAt: profile.updatedAt,
    };
  }
}
