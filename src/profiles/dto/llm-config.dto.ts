import {
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  type ValidationOptions,
} from 'class-validator';
import { REASONING_EFFORTS, type ReasoningEffort } from '../llm-config.types';
import { ApiExample } from '../../common/http/openapi-document';

const IsStringRecord = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isStringRecord',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.entries(value).every(
            ([k, v]) =>
              /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(k) && typeof v === 'string' && !/[\r\n]/.test(v),
          ),
        defaultMessage: () => '$property must map header names to single-line string values',
      },
    },
    options,
  );

/**
 * An LLM as LiteLLM names it. Fields of the reference server's LLM config that are not listed here
 * are accepted and ignored, so its clients keep working.
 */
@ApiExample({ model: 'openai/gpt-4o-mini', api_key: 'sk-your-provider-key' })
export class LlmConfigDto {
  /**
   * LiteLLM model name `provider/model` (`openai/gpt-4o`, `anthropic/claude-sonnet-4-5-20250929`,
   * `gemini/…`, `openrouter/…`, `ollama/…`, `hosted_vllm/…`, `litellm_proxy/…`) or a bare OpenAI model name.
   * @example "openai/gpt-4o-mini"
   */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  model!: string;

  /** The provider's api key; stored encrypted, never returned. */
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  api_key?: string | null;

  /** Base URL of an OpenAI-compatible server, a proxy, or a self-hosted model. @example "http://127.0.0.1:11434" */
  @IsOptional()
  @IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true })
  base_url?: string | null;

  /** API version (Azure). */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  api_version?: string | null;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(2)
  temperature?: number | null;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  top_p?: number | null;

  /**
   * Upper bound of tokens per LLM response; a request asking more is clamped to it. Unset: a
   * well-known model's own output limit clamps requests (README: known output limits).
   */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  max_output_tokens?: number | null;

  /** Context window in tokens; older steps are condensed before the history outgrows it. */
  @IsOptional()
  @IsInt()
  @Min(1024)
  @Max(100_000_000)
  max_input_tokens?: number | null;

  /**
   * Seconds an LLM attempt may wait for its response to start, and then between two parts of it
   * (replaces OH_LLM_FIRST_BYTE_TIMEOUT_S and OH_LLM_IDLE_TIMEOUT_S for this profile).
   */
  @IsOptional()
  @IsNumber()
  @Min(1)
  @Max(86_400)
  timeout?: number | null;

  /** Retries on rate limits, server errors and timeouts. @default 3 */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10)
  num_retries?: number | null;

  @IsOptional()
  @IsIn(REASONING_EFFORTS)
  reasoning_effort?: ReasoningEffort | null;

  /** Headers sent with every LLM request. */
  @IsOptional()
  @IsObject()
  @IsStringRecord()
  extra_headers?: Record<string, string> | null;

  /** USD per prompt token; overrides the price table. */
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  input_cost_per_token?: number | null;

  /** USD per completion token; overrides the price table. */
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  output_cost_per_token?: number | null;

  /**
   * Which tools the model gets when a request does not say (header `X-OpenHands-Tools`):
   * `server` (the workspace tools), `client` (the tools the request sends; an IDE agent's own
   * tools act in the user's project), or `both`. @default "both"
   */
  @IsOptional()
  @IsIn(['server', 'client', 'both'])
  tool_mode?: 'server' | 'client' | 'both' | null;
}

/** What a read returns: the settings, with the key always `null` and header values masked. */
@ApiExample({ model: 'openai/gpt-4o-mini', api_key: null, temperature: 0.2 })
export class LlmConfigViewDto extends LlmConfigDto {
  /** Always `null`: reads never return a secret. */
  declare api_key: null;

  /** The header names that are set; every value reads `***` (header values can be credentials). */
  declare extra_headers?: Record<string, string> | null;
}
