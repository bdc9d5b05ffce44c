import type { LlmProfile } from '../llm-profile.entity';
import { type LlmConfigViewDto } from './llm-config.dto';
import { ApiExample } from '../../common/http/openapi-document';

@ApiExample({ name: 'default', message: "Profile 'default' deleted." })
export class ProfileMessageDto {
  /** @example "default" */
  name!: string;
  /** @example "Profile 'default' deleted." */
  message!: string;
}

@ApiExample({ name: 'default', message: "Profile 'default' created.", warnings: [] })
export class ProfileSavedDto {
  /** @example "default" */
  name!: string;
  /** `created` for a new profile, `updated` for an overwritten one. @example "Profile 'default' created." */
  message!: string;
  /**
   * What looks wrong but was stored anyway, e.g. a model name without a provider prefix that is
   * not a known OpenAI model. Empty when all is well.
   * @example []
   */
  warnings!: string[];
}

const SUMMARY = {
  name: 'default',
  model: 'openai/gpt-4o-mini',
  base_url: null,
  api_key_set: true,
  created_at: '2026-01-05T10:00:00.000Z',
  updated_at: '2026-01-05T10:00:00.000Z',
};

@ApiExample(SUMMARY)
export class ProfileSummaryDto {
  name!: string;
  /** @example "openai/gpt-4o-mini" */
  model!: string;
  base_url!: string | null;
  /** Whether an api key is stored (encrypted). */
  api_key_set!: boolean;
  created_at!: Date;
  updated_at!: Date;

  static from(p: LlmProfile): ProfileSummaryDto {
    return {
      name: p.name,
      model: p.config.model,
      base_url: p.config.base_url ?? null,
      api_key_set: p.apiKeyEncrypted !== null,
      created_at: p.createdAt,
      updated_at: p.updatedAt,
    };
  }
}

@ApiExample({ profiles: [SUMMARY] })
export class ProfileListDto {
  /** Sorted by name. */
  profiles!: ProfileSummaryDto[];
}

@ApiExample({
  name: 'default',
  config: { model: 'openai/gpt-4o-mini', api_key: null, temperature: 0.2 },
  api_key_set: true,
})
export class ProfileDetailDto {
  name!: string;
  config!: LlmConfigViewDto;
  api_key_set!: boolean;

  static from(p: LlmProfile): ProfileDetailDto {
    return {
      name: p.name,
      config: {
        ...p.config,
        api_key: null,
        // header values can be credentials: reads show which headers are set, never their values
        ...(p.config.extra_headers ? { extra_headers: maskValues(p.config.extra_headers) } : {}),
      },
      api_key_set: p.apiKeyEncrypted !== null,
    };
  }
}

export const MASKED = '***';
const maskValues = (headers: Record<string, string>) =>
  Object.fromEntries(Object.keys(headers).map((name) => [name, MASKED]));
