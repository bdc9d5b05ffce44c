/* eslint-disable */
export default async () => {
  const t = {
    ['./profiles/dto/profile-response.dto']: await import('./profiles/dto/profile-response.dto.js'),
    ['./profiles/dto/llm-config.dto']: await import('./profiles/dto/llm-config.dto.js'),
    ['./models/dto/model.dto']: await import('./models/dto/model.dto.js'),
    ['./health/dto/health.dto']: await import('./health/dto/health.dto.js'),
  };
  return {
    '@nestjs/swagger': {
      models: [
        [
          import('./health/dto/health.dto.js'),
          {
            StatusDto: { status: { required: true, type: () => String } },
            ReadinessDto: {
              status: { required: true, enum: ['ok', 'unavailable'] },
              database: {
                required: true,
                type: () => Boolean,
                description: 'Whether the database answered.',
              },
              migrations: {
                required: true,
                type: () => Boolean,
                description: 'Whether every migration has run.',
              },
            },
            ServerInfoDto: {
              name: { required: true, type: () => String, example: 'agent-gateway' },
              version: { required: true, type: () => String, example: '0.1.0' },
              uptime_s: {
                required: true,
                type: () => Number,
                description: 'Seconds since the process started.',
              },
              database: {
                required: true,
                description: '`postgres` (DATABASE_URL) or `embedded` (PGlite).',
                enum: ['postgres', 'embedded'],
              },
              tools: {
                required: true,
                type: () => [String],
                description: 'Tools the agent can use in a turn.',
              },
            },
          },
        ],
        [
          import('./profiles/dto/profile-name.dto.js'),
          {
            ProfileNameParamDto: {
              name: {
                required: true,
                type: () => String,
                description:
                  'Letters, digits, `.`, `_`, `-`; starts with a letter or digit; at most 64 characters.',
                example: 'default',
              },
            },
          },
        ],
        [
          import('./profiles/dto/llm-config.dto.js'),
          {
            LlmConfigDto: {
              model: {
                required: true,
                type: () => String,
                description:
                  'LiteLLM model name `provider/model` (`openai/gpt-4o`, `anthropic/claude-sonnet-4-5-20250929`,\n`gemini/\u2026`, `openrouter/\u2026`, `ollama/\u2026`, `hosted_vllm/\u2026`, `litellm_proxy/\u2026`) or a bare OpenAI model name.',
                example: 'openai/gpt-4o-mini',
                minLength: 1,
                maxLength: 200,
              },
              api_key: {
                required: false,
                type: () => String,
                nullable: true,
                description: "The provider's api key; stored encrypted, never returned.",
                maxLength: 4096,
              },
              base_url: {
                required: false,
                type: () => String,
                nullable: true,
                description:
                  'Base URL of an OpenAI-compatible server, a proxy, or a self-hosted model.',
                example: 'http://127.0.0.1:11434',
                format: 'uri',
              },
              api_version: {
                required: false,
                type: () => String,
                nullable: true,
                description: 'API version (Azure).',
                maxLength: 64,
              },
              temperature: {
                required: false,
                type: () => Number,
                nullable: true,
                minimum: 0,
                maximum: 2,
              },
              top_p: {
                required: false,
                type: () => Number,
                nullable: true,
                minimum: 0,
                maximum: 1,
              },
              max_output_tokens: {
                required: false,
                type: () => Number,
                nullable: true,
                description: 'Upper bound of tokens per LLM response.',
                minimum: 1,
                maximum: 10000000,
              },
              max_input_tokens: {
                required: false,
                type: () => Number,
                nullable: true,
                description:
                  'Context window in tokens; older steps are condensed before the history outgrows it.',
                minimum: 1024,
                maximum: 100000000,
              },
              timeout: {
                required: false,
                type: () => Number,
                nullable: true,
                description: 'Seconds one LLM request may take.',
                minimum: 1,
                maximum: 86400,
              },
              num_retries: {
                required: false,
                type: () => Number,
                nullable: true,
                description: 'Retries on rate limits, server errors and timeouts. @default 3',
                minimum: 0,
                maximum: 10,
              },
              reasoning_effort: {
                required: false,
                nullable: true,
                enum: ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'],
              },
              extra_headers: {
                required: false,
                type: 'object',
                additionalProperties: { type: 'string' },
                nullable: true,
                description: 'Headers sent with every LLM request.',
              },
              input_cost_per_token: {
                required: false,
                type: () => Number,
                nullable: true,
                description: 'USD per prompt token; overrides the price table.',
                minimum: 0,
                maximum: 1,
              },
              output_cost_per_token: {
                required: false,
                type: () => Number,
                nullable: true,
                description: 'USD per completion token; overrides the price table.',
                minimum: 0,
                maximum: 1,
              },
            },
            LlmConfigViewDto: {
              api_key: {
                required: true,
                description: 'Always `null`: reads never return a secret.',
              },
            },
          },
        ],
        [
          import('./profiles/dto/profile-response.dto.js'),
          {
            ProfileMessageDto: {
              name: { required: true, type: () => String, example: 'default' },
              message: { required: true, type: () => String, example: 'Profile default saved.' },
            },
            ProfileSummaryDto: {
              name: { required: true, type: () => String },
              model: { required: true, type: () => String, example: 'openai/gpt-4o-mini' },
              base_url: { required: true, type: () => String, nullable: true },
              api_key_set: {
                required: true,
                type: () => Boolean,
                description: 'Whether an api key is stored (encrypted).',
              },
              created_at: { required: true, type: () => Date },
              updated_at: { required: true, type: () => Date },
            },
            ProfileListDto: {
              profiles: {
                required: true,
                type: () => [t['./profiles/dto/profile-response.dto'].ProfileSummaryDto],
                description: 'Sorted by name.',
              },
            },
            ProfileDetailDto: {
              name: { required: true, type: () => String },
              config: {
                required: true,
                type: () => t['./profiles/dto/llm-config.dto'].LlmConfigViewDto,
              },
              api_key_set: { required: true, type: () => Boolean },
            },
          },
        ],
        [
          import('./profiles/dto/save-profile.dto.js'),
          {
            SaveProfileDto: {
              llm: {
                required: true,
                type: () => t['./profiles/dto/llm-config.dto'].LlmConfigDto,
                description: 'The LLM this profile calls.',
              },
              include_secrets: {
                required: false,
                type: () => Boolean,
                description:
                  'Store the api key too (encrypted). `false` stores the profile without it. @default true',
              },
            },
          },
        ],
        [
          import('./models/dto/model.dto.js'),
          {
            ModelDto: {
              id: {
                required: true,
                type: () => String,
                description: '`openhands_<profile name>`',
                example: 'openhands_default',
              },
              object: { required: true, type: () => String },
              created: {
                required: true,
                type: () => Number,
                description: 'Unix seconds when the profile was created.',
              },
              owned_by: { required: true, type: () => String },
            },
            ModelListDto: {
              object: { required: true, type: () => String },
              data: {
                required: true,
                type: () => [t['./models/dto/model.dto'].ModelDto],
                description: 'Sorted by id.',
              },
            },
          },
        ],
      ],
      controllers: [
        [
          import('./health/health.controller.js'),
          {
            HealthController: {
              alive: {
                summary: 'Liveness: the process answers.',
                type: t['./health/dto/health.dto'].StatusDto,
              },
              healthz: {
                summary: 'Liveness, under the name load balancers often probe.',
                type: t['./health/dto/health.dto'].StatusDto,
              },
              ready: {
                summary: 'Readiness: the database is reachable and migrations ran; 503 otherwise.',
                type: t['./health/dto/health.dto'].ReadinessDto,
              },
              serverInfo: {
                summary: "Name, version, uptime and the agent's tools.",
                type: t['./health/dto/health.dto'].ServerInfoDto,
              },
            },
          },
        ],
        [
          import('./profiles/profiles.controller.js'),
          {
            ProfilesController: {
              list: {
                summary: 'All stored LLM profiles, sorted by name. Keys are never returned.',
                type: t['./profiles/dto/profile-response.dto'].ProfileListDto,
              },
              get: {
                summary:
                  "One profile's settings; `api_key` is always `null`, `api_key_set` says whether one is stored.",
                type: t['./profiles/dto/profile-response.dto'].ProfileDetailDto,
              },
              save: {
                summary:
                  'Creates or overwrites a profile. It then appears in `GET /v1/models` as `openhands_<name>`.\nThe api key is encrypted (AES-256-GCM) before it is stored.',
                type: t['./profiles/dto/profile-response.dto'].ProfileMessageDto,
              },
              delete: {
                summary: 'Deletes a profile; deleting a missing one succeeds too.',
                type: t['./profiles/dto/profile-response.dto'].ProfileMessageDto,
              },
            },
          },
        ],
        [
          import('./models/models.controller.js'),
          {
            ModelsController: {
              list: {
                summary: 'Every stored profile as an OpenAI model, `openhands_<profile>`.',
                type: t['./models/dto/model.dto'].ModelListDto,
              },
              get: {
                summary: 'One model, or 404 `model_not_found`.',
                type: t['./models/dto/model.dto'].ModelDto,
              },
            },
          },
        ],
      ],
    },
  };
};
