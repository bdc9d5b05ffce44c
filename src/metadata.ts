/* eslint-disable */
export default async () => {
  const t = {
    ['./conversations/dto/conversation-response.dto']:
      await import('./conversations/dto/conversation-response.dto.js'),
    ['./conversations/dto/event-page.dto']: await import('./conversations/dto/event-page.dto.js'),
    ['./profiles/dto/profile-response.dto']: await import('./profiles/dto/profile-response.dto.js'),
    ['./profiles/dto/llm-config.dto']: await import('./profiles/dto/llm-config.dto.js'),
    ['./models/dto/model.dto']: await import('./models/dto/model.dto.js'),
    ['./chat-completions/dto/create-chat-completion.dto']:
      await import('./chat-completions/dto/create-chat-completion.dto.js'),
    ['./chat-completions/dto/chat-completion.dto']:
      await import('./chat-completions/dto/chat-completion.dto.js'),
    ['./responses/dto/create-response.dto']: await import('./responses/dto/create-response.dto.js'),
    ['./responses/dto/response.dto']: await import('./responses/dto/response.dto.js'),
    ['./health/dto/health.dto']: await import('./health/dto/health.dto.js'),
  };
  return {
    '@nestjs/swagger': {
      models: [
        [
          import('./conversations/dto/conversation-response.dto.js'),
          {
            TokenUsageDto: {
              prompt_tokens: { required: true, type: () => Number },
              completion_tokens: { required: true, type: () => Number },
              cache_read_tokens: { required: true, type: () => Number },
              cache_write_tokens: { required: true, type: () => Number },
              reasoning_tokens: { required: true, type: () => Number },
            },
            UsageMetricsDto: {
              model_name: {
                required: true,
                type: () => String,
                description: 'The LiteLLM model name of the calls.',
              },
              accumulated_cost: {
                required: true,
                type: () => Number,
                description: 'USD over every call of this usage id (0 for unpriced models).',
              },
              accumulated_token_usage: {
                required: true,
                type: () => t['./conversations/dto/conversation-response.dto'].TokenUsageDto,
              },
            },
            ConversationStatsDto: {
              usage_to_metrics: {
                required: true,
                type: 'object',
                additionalProperties: true,
                description: 'Per usage id (`agent`, `condenser`, \u2026).',
              },
            },
            WorkspaceDto: {
              working_dir: {
                required: true,
                type: () => String,
                description: "Absolute path of the conversation's workspace on the server.",
              },
            },
            ConversationResponseDto: {
              id: { required: true, type: () => String },
              title: { required: true, type: () => String, nullable: true },
              execution_status: {
                required: true,
                enum: ['idle', 'running', 'finished', 'error', 'stuck', 'cancelled'],
              },
              profile: {
                required: true,
                type: () => String,
                description: 'The profile of the latest turn.',
              },
              model: {
                required: true,
                type: () => String,
                description: 'The LiteLLM model name of the latest turn.',
              },
              workspace: {
                required: true,
                type: () => t['./conversations/dto/conversation-response.dto'].WorkspaceDto,
              },
              created_at: { required: true, type: () => Date },
              updated_at: { required: true, type: () => Date },
              stats: {
                required: true,
                type: () => t['./conversations/dto/conversation-response.dto'].ConversationStatsDto,
              },
            },
            ConversationPageDto: {
              items: {
                required: true,
                type: () => [
                  t['./conversations/dto/conversation-response.dto'].ConversationResponseDto,
                ],
              },
              next_page_id: {
                required: true,
                type: () => String,
                nullable: true,
                description: 'Pass as `page_id` for the next page; `null` on the last one.',
              },
            },
            SuccessDto: { success: { required: true, type: () => Boolean } },
            CancelResultDto: {
              success: { required: true, type: () => Boolean },
              cancelled: {
                required: true,
                type: () => Boolean,
                description: 'Whether a running turn was stopped.',
              },
              execution_status: {
                required: true,
                enum: ['idle', 'running', 'finished', 'error', 'stuck', 'cancelled'],
              },
            },
            AgentFinalResponseDto: {
              response: {
                required: true,
                type: () => String,
                description:
                  "The answer of the latest finished turn (the `finish` tool's message or the last assistant\ntext); empty when no turn has finished with one.",
                example: 'The tests pass now: the off-by-one in parse_range is fixed.',
              },
            },
          },
        ],
        [
          import('./conversations/dto/event-page.dto.js'),
          {
            SearchEventsQueryDto: {
              limit: {
                required: false,
                type: () => Number,
                description: 'Page size, 1\u2013100. @default 100',
                minimum: 1,
                maximum: 100,
              },
              page_id: {
                required: false,
                type: () => String,
                description: '`next_page_id` of the previous page.',
                pattern: '^\\d{1,10}$',
              },
              kind: {
                required: false,
                type: () => String,
                description: 'Only these kinds (comma-separated), e.g. `tool_call,tool_result`.',
              },
            },
            EventDto: {
              id: { required: true, type: () => String },
              seq: {
                required: true,
                type: () => Number,
                description: '1, 2, 3\u2026 within the conversation.',
              },
              kind: { required: true, type: () => String },
              source: { required: true, type: () => String },
              timestamp: { required: true, type: () => String },
              payload: {
                required: true,
                type: 'object',
                additionalProperties: true,
                description:
                  'Kind-specific content (message text, tool call arguments, tool output, usage\u2026).',
              },
            },
            EventPageDto: {
              items: {
                required: true,
                type: () => [t['./conversations/dto/event-page.dto'].EventDto],
                description: 'Oldest first.',
              },
              next_page_id: { required: true, type: () => String, nullable: true },
            },
          },
        ],
        [
          import('./conversations/dto/search-conversations-query.dto.js'),
          {
            SearchConversationsQueryDto: {
              limit: {
                required: false,
                type: () => Number,
                description: 'Page size, 1\u2013100. @default 100',
                minimum: 1,
                maximum: 100,
              },
              page_id: {
                required: false,
                type: () => String,
                description: '`next_page_id` of the previous page.',
                format: 'uuid',
              },
              status: {
                required: false,
                enum: ['idle', 'running', 'finished', 'error', 'stuck', 'cancelled'],
              },
              sort_order: {
                required: false,
                description: '@default "CREATED_AT_DESC"',
                enum: ['CREATED_AT', 'CREATED_AT_DESC', 'UPDATED_AT', 'UPDATED_AT_DESC'],
              },
            },
            CountConversationsQueryDto: {
              status: {
                required: false,
                enum: ['idle', 'running', 'finished', 'error', 'stuck', 'cancelled'],
              },
            },
            BatchGetConversationsQueryDto: {
              ids: {
                required: true,
                type: () => [String],
                description:
                  'Conversation ids, repeated (`?ids=\u2026&ids=\u2026`) or comma-separated; at most 99.',
                example: ['3f0c5b4e-8a0d-4d63-9a55-4b7c3c1f2a10'],
                format: 'uuid',
                minItems: 1,
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
                description:
                  "Upper bound of tokens per LLM response; a request asking more is clamped to it. Unset: a\nwell-known model's own output limit clamps requests (README: known output limits).",
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
                description:
                  'Seconds an LLM attempt may wait for its response to start, and then between two parts of it\n(replaces OH_LLM_FIRST_BYTE_TIMEOUT_S and OH_LLM_IDLE_TIMEOUT_S for this profile).',
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
              tool_mode: {
                required: false,
                nullable: true,
                description:
                  'Which tools the model gets when a request does not say (header `X-OpenHands-Tools`):\n`server` (the workspace tools), `client` (the tools the request sends; an IDE agent\'s own\ntools act in the user\'s project), or `both`. @default "both"',
                enum: ['server', 'client', 'both'],
              },
            },
            LlmConfigViewDto: {
              api_key: {
                required: true,
                description: 'Always `null`: reads never return a secret.',
              },
              extra_headers: {
                required: false,
                type: 'object',
                additionalProperties: { type: 'string' },
                nullable: true,
                description:
                  'The header names that are set; every value reads `***` (header values can be credentials).',
              },
            },
          },
        ],
        [
          import('./profiles/dto/profile-response.dto.js'),
          {
            ProfileMessageDto: {
              name: { required: true, type: () => String, example: 'default' },
              message: { required: true, type: () => String, example: 'Profile default deleted.' },
            },
            ProfileSavedDto: {
              name: { required: true, type: () => String, example: 'default' },
              message: {
                required: true,
                type: () => String,
                description: '`created` for a new profile, `updated` for an overwritten one.',
                example: 'Profile default created.',
              },
              warnings: {
                required: true,
                type: () => [String],
                description:
                  'What looks wrong but was stored anyway, e.g. a model name without a provider prefix that is\nnot a known OpenAI model. Empty when all is well.',
                example: [],
              },
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
        [
          import('./health/dto/health.dto.js'),
          {
            StatusDto: { status: { required: true, type: () => String } },
            ReadinessDto: {
              status: {
                required: true,
                description:
                  '`ready` (as the reference answers) once the database answers and migrations ran.',
                enum: ['ready', 'unavailable'],
              },
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
              connections: {
                required: true,
                type: () => Boolean,
                description:
                  "Whether this process's long-lived database work is up: on PostgreSQL its lease is renewed and\nits cancel listener (LISTEN) is connected; both are re-made with backoff after a database\nrestart. Always true on the embedded database.",
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
                example: ['terminal', 'file_editor', 'task_tracker', 'think', 'finish'],
              },
              usable_tools: {
                required: true,
                type: () => [String],
                description: "The same list under the reference's name, which its clients read.",
                example: ['terminal', 'file_editor', 'task_tracker', 'think', 'finish'],
              },
              sandbox: {
                required: true,
                description:
                  "How the agent's tools are confined: `bwrap` (a bubblewrap sandbox per conversation) or `none`\n(unsandboxed: the agent acts with the service's own authority).",
                enum: ['none', 'bwrap'],
              },
              sandbox_program: {
                required: true,
                description:
                  'Which sandbox program runs the tools in each sandbox: `native` (the small C program) or\n`node` (the Node program, used when no C compiler built the native one; `OH_SANDBOX_PROGRAM`).',
                enum: ['native', 'node'],
              },
            },
          },
        ],
        [
          import('./chat-completions/dto/create-chat-completion.dto.js'),
          {
            ChatMessageDto: {
              role: { required: true, enum: ['system', 'developer', 'user', 'assistant', 'tool'] },
              content: {
                required: false,
                type: () => Object,
                description:
                  'A string, or content parts (`text`, `image_url`). `null` for an assistant message with tool calls.',
              },
              name: { required: false, type: () => String, maxLength: 256 },
              tool_calls: {
                required: false,
                type: () => [Object],
                description: 'Accepted on assistant messages of earlier turns.',
              },
              tool_call_id: { required: false, type: () => String },
            },
            StreamOptionsDto: {
              include_usage: {
                required: false,
                type: () => Boolean,
                description: "Send one more chunk with this turn's `usage` before `[DONE]`.",
              },
            },
            CreateChatCompletionDto: {
              model: {
                required: true,
                type: () => String,
                description: '`openhands_<profile>`, as listed by `GET /v1/models`.',
                example: 'openhands_default',
                minLength: 1,
                maxLength: 200,
              },
              messages: {
                required: true,
                type: () => [t['./chat-completions/dto/create-chat-completion.dto'].ChatMessageDto],
                description:
                  "The conversation so far. The last `user` message is this turn's input; `system`/`developer`\ntexts extend the agent's system prompt of a new conversation; earlier user/assistant turns seed\na new conversation. At most `OH_MAX_MESSAGES` (default 2048) messages.",
                minItems: 1,
              },
              stream: {
                required: false,
                type: () => Boolean,
                description:
                  'Stream the turn as server-sent events: text as it is produced, tool steps as reasoning.',
              },
              stream_options: {
                required: false,
                type: () => t['./chat-completions/dto/create-chat-completion.dto'].StreamOptionsDto,
                nullable: true,
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
              max_completion_tokens: {
                required: false,
                type: () => Number,
                nullable: true,
                description:
                  "Upper bound of tokens per LLM response in this turn, clamped to the profile's\n`max_output_tokens`, else to the model's known output limit.",
                minimum: 1,
              },
              max_tokens: {
                required: false,
                type: () => Number,
                nullable: true,
                description: 'Older name of `max_completion_tokens`.',
                minimum: 1,
              },
              seed: { required: false, type: () => Number, nullable: true },
              stop: { required: false, type: () => Object },
              n: {
                required: false,
                type: () => Number,
                nullable: true,
                description: 'Only 1 is supported: a turn has one answer.',
                minimum: 1,
                maximum: 1,
              },
              user: { required: false, type: () => String, maxLength: 256 },
              tools: {
                required: false,
                type: () => [Object],
                nullable: true,
                description:
                  'The client\'s own function tools, offered to the model beside the server\'s (or instead of\nthem: `X-OpenHands-Tools`). A call to one pauses the turn: the answer carries `tool_calls` and\n`finish_reason: "tool_calls"`; the next request ending with the `tool` results resumes it.',
              },
              tool_choice: {
                required: false,
                type: () => Object,
                nullable: true,
                description:
                  '`none`, `auto` (default), `required`, or `{type: "function", function: {name}}`.',
              },
              parallel_tool_calls: {
                required: false,
                type: () => Boolean,
                nullable: true,
                description: '`false`: at most one client tool call per answer. @default true',
              },
              response_format: {
                required: false,
                type: () => Object,
                nullable: true,
                description:
                  '`json_object` or `json_schema` (strict included): the final answer is JSON (fitting the schema).',
              },
              frequency_penalty: {
                required: false,
                type: () => Number,
                nullable: true,
                description:
                  'Penalises repeated tokens (-2 to 2), passed to the provider on every step of the turn.',
                minimum: -2,
                maximum: 2,
              },
              presence_penalty: {
                required: false,
                type: () => Number,
                nullable: true,
                description:
                  'Penalises tokens already present (-2 to 2), passed to the provider on every step of the turn.',
                minimum: -2,
                maximum: 2,
              },
              reasoning_effort: {
                required: false,
                nullable: true,
                description: "Overrides the profile's `reasoning_effort` for this turn.",
                enum: ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'],
              },
              functions: {
                required: false,
                type: () => [Object],
                nullable: true,
                description:
                  'Deprecated OpenAI function calling: refused with a 400 that points at `tools`.',
              },
              function_call: {
                required: false,
                type: () => Object,
                description:
                  'Deprecated with `functions`: refused with a 400 that points at `tool_choice`.',
              },
              metadata: {
                required: false,
                type: 'object',
                additionalProperties: { type: 'string' },
                nullable: true,
                description:
                  '`conversation_id` here continues that conversation (or the one a client chat id maps to).',
              },
            },
          },
        ],
        [
          import('./chat-completions/dto/chat-completion.dto.js'),
          {
            PromptTokensDetailsDto: { cached_tokens: { required: true, type: () => Number } },
            CompletionTokensDetailsDto: {
              reasoning_tokens: { required: true, type: () => Number },
            },
            CompletionUsageDto: {
              prompt_tokens: { required: true, type: () => Number },
              completion_tokens: { required: true, type: () => Number },
              total_tokens: { required: true, type: () => Number },
              prompt_tokens_details: {
                required: true,
                type: () => t['./chat-completions/dto/chat-completion.dto'].PromptTokensDetailsDto,
              },
              completion_tokens_details: {
                required: true,
                type: () =>
                  t['./chat-completions/dto/chat-completion.dto'].CompletionTokensDetailsDto,
              },
              cost_usd: {
                required: true,
                type: () => Number,
                description:
                  'USD this turn cost (0 when the model is unpriced). An extension to the OpenAI shape.',
              },
            },
            FunctionCallDto: {
              name: { required: true, type: () => String },
              arguments: {
                required: true,
                type: () => String,
                description: 'The arguments as JSON text.',
              },
            },
            ToolCallDto: {
              id: {
                required: true,
                type: () => String,
                description: "Answer with this id as the `tool` message's `tool_call_id`.",
              },
              type: { required: true, type: () => String },
              function: {
                required: true,
                type: () => t['./chat-completions/dto/chat-completion.dto'].FunctionCallDto,
              },
            },
            AssistantMessageDto: {
              role: { required: true, type: () => String },
              content: {
                required: true,
                type: () => String,
                nullable: true,
                description:
                  "The final answer: the `finish` message or the turn's last assistant text (`null` beside tool calls without text).",
              },
              refusal: { required: true, description: 'Always `null`.' },
              tool_calls: {
                required: false,
                type: () => [t['./chat-completions/dto/chat-completion.dto'].ToolCallDto],
                description:
                  'Calls to the client\'s tools: the turn paused on them (`finish_reason: "tool_calls"`).',
              },
            },
            ChoiceDto: {
              index: { required: true, type: () => Number },
              message: {
                required: true,
                type: () => t['./chat-completions/dto/chat-completion.dto'].AssistantMessageDto,
              },
              finish_reason: {
                required: true,
                description:
                  '`length` when the iteration limit ended the turn; `tool_calls` when it paused on client tool calls.',
                enum: ['stop', 'length', 'tool_calls'],
              },
              logprobs: { required: true, description: 'Always `null`.' },
            },
            ChatCompletionDto: {
              id: { required: true, type: () => String, example: 'chatcmpl-5f0c\u2026' },
              object: { required: true, type: () => String },
              created: { required: true, type: () => Number },
              model: { required: true, type: () => String },
              choices: {
                required: true,
                type: () => [t['./chat-completions/dto/chat-completion.dto'].ChoiceDto],
              },
              usage: {
                required: true,
                type: () => t['./chat-completions/dto/chat-completion.dto'].CompletionUsageDto,
              },
              system_fingerprint: { required: true, description: 'Always `null`.' },
            },
          },
        ],
        [
          import('./responses/dto/create-response.dto.js'),
          {
            ResponseTextConfigDto: {
              format: {
                required: false,
                type: 'object',
                additionalProperties: true,
                nullable: true,
                description:
                  '`{"type": "text"}` (default), `{"type": "json_object"}`, or\n`{"type": "json_schema", "name": \u2026, "schema": {\u2026}, "strict": true}`.',
              },
            },
            ResponseReasoningDto: {
              effort: {
                required: false,
                nullable: true,
                description: "Overrides the profile's `reasoning_effort` for this turn.",
                enum: ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'],
              },
            },
            CreateResponseDto: {
              model: {
                required: true,
                type: () => String,
                description: '`openhands_<profile>`, as listed by `GET /v1/models`.',
                example: 'openhands_default',
                minLength: 1,
                maxLength: 200,
              },
              input: {
                required: true,
                type: () => Object,
                description:
                  "The turn's input: a string (one user message), or a list of input items: messages (`role`\n`user`, `system`, `developer` or `assistant`; `content` a string or `input_text` /\n`input_image` parts) and `function_call_output` items answering this conversation's pending\nfunction calls. In a new conversation, earlier user and assistant messages become its prior\ncontext; the last user message is the turn's input.",
              },
              instructions: {
                required: false,
                type: () => String,
                nullable: true,
                description:
                  "Extends the agent's system prompt of a new conversation (like system messages in chat).",
              },
              previous_response_id: {
                required: false,
                type: () => String,
                nullable: true,
                description:
                  'Continue the conversation of this response (`resp_\u2026`). Not together with `conversation`.',
                maxLength: 64,
              },
              conversation: {
                required: false,
                type: () => Object,
                description:
                  'Continue this conversation: its id (a UUID, as in `X-OpenHands-ServerConversation-ID`), as a\nstring or `{"id": \u2026}`. An unknown well-formed id starts a conversation with that id.',
              },
              store: {
                required: false,
                type: () => Boolean,
                nullable: true,
                description:
                  'Keep the response retrievable (default true). `false`: nothing to retrieve, resume or list.',
              },
              background: {
                required: false,
                type: () => Boolean,
                nullable: true,
                description:
                  'Answer at once (`in_progress`); the turn runs with no client attached. Needs `store`.',
              },
              stream: {
                required: false,
                type: () => Boolean,
                nullable: true,
                description:
                  'Stream the response as server-sent events (`response.created` \u2026 `response.completed`).',
              },
              tools: {
                required: false,
                type: () => [Object],
                nullable: true,
                description:
                  'Function tools (`{"type": "function", "name", "parameters", \u2026}`) the client executes.',
              },
              tool_choice: {
                required: false,
                type: () => Object,
                description:
                  '`none`, `auto`, `required`, or `{"type": "function", "name": \u2026}`.',
              },
              parallel_tool_calls: { required: false, type: () => Boolean, nullable: true },
              max_output_tokens: {
                required: false,
                type: () => Number,
                nullable: true,
                description:
                  "Upper bound of tokens per LLM response in this turn, clamped to the profile's\n`max_output_tokens`, else to the model's known output limit.",
                minimum: 1,
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
              text: {
                required: false,
                type: () => t['./responses/dto/create-response.dto'].ResponseTextConfigDto,
                nullable: true,
              },
              reasoning: {
                required: false,
                type: () => t['./responses/dto/create-response.dto'].ResponseReasoningDto,
                nullable: true,
              },
              metadata: {
                required: false,
                type: 'object',
                additionalProperties: { type: 'string' },
                nullable: true,
                description:
                  'Up to 16 string values, stored with the response and returned with it.',
              },
            },
          },
        ],
        [
          import('./responses/dto/response-queries.dto.js'),
          {
            RetrieveResponseQueryDto: {
              stream: {
                required: false,
                type: () => Boolean,
                description:
                  "Stream the response's events (all of them, or those after `starting_after`) as server-sent events, live until it ends.",
              },
              starting_after: {
                required: false,
                type: () => Number,
                description:
                  'With `stream=true`: resume after the event with this `sequence_number`.',
                minimum: 0,
              },
            },
            InputItemsQueryDto: {
              after: {
                required: false,
                type: () => String,
                description:
                  "Items after this item id (cursor from the previous page's `last_id`).",
              },
              limit: {
                required: false,
                type: () => Number,
                description: 'Page size, 1\u2013100 (default 20).',
                minimum: 1,
                maximum: 100,
              },
              order: {
                required: false,
                description: '`desc` (default, newest first) or `asc`.',
                enum: ['asc', 'desc'],
              },
            },
          },
        ],
        [
          import('./responses/dto/response.dto.js'),
          {
            ResponseInputTokensDetailsDto: {
              cached_tokens: { required: true, type: () => Number },
            },
            ResponseOutputTokensDetailsDto: {
              reasoning_tokens: { required: true, type: () => Number },
            },
            ResponseUsageDto: {
              input_tokens: { required: true, type: () => Number },
              input_tokens_details: {
                required: true,
                type: () => t['./responses/dto/response.dto'].ResponseInputTokensDetailsDto,
              },
              output_tokens: { required: true, type: () => Number },
              output_tokens_details: {
                required: true,
                type: () => t['./responses/dto/response.dto'].ResponseOutputTokensDetailsDto,
              },
              total_tokens: { required: true, type: () => Number },
              cost_usd: {
                required: true,
                type: () => Number,
                description: 'Cost of this turn in USD (an extension of the OpenAI object).',
              },
            },
            ResponseErrorDto: {
              code: {
                required: true,
                type: () => String,
                description:
                  "`server_error`, `rate_limit_exceeded`, or the gateway's own code (`upstream_error`, `turn_timeout`, \u2026).",
              },
              message: { required: true, type: () => String },
            },
            ResponseIncompleteDetailsDto: {
              reason: {
                required: true,
                type: () => String,
                description:
                  "`max_output_tokens`: the turn reached the agent's iteration limit (`OH_MAX_ITERATIONS`).",
              },
            },
            ResponseConversationDto: {
              id: {
                required: true,
                type: () => String,
                description:
                  'The server-side conversation (as in `X-OpenHands-ServerConversation-ID`).',
              },
            },
            ResponseDto: {
              id: {
                required: true,
                type: () => String,
                example: 'resp_0123456789abcdef0123456789abcdef',
              },
              object: { required: true, type: () => String },
              created_at: { required: true, type: () => Number, description: 'Unix seconds.' },
              status: {
                required: true,
                enum: ['cancelled', 'queued', 'in_progress', 'completed', 'failed', 'incomplete'],
              },
              completed_at: {
                required: true,
                type: () => Number,
                nullable: true,
                description: 'Unix seconds, once the response reached a final status.',
              },
              background: { required: true, type: () => Boolean },
              model: {
                required: true,
                type: () => String,
                description: 'The requested model (`openhands_<profile>`).',
              },
              output: { required: true, type: () => [Object] },
              output_text: {
                required: true,
                type: () => String,
                description: 'The text of the `message` items, joined (the SDK computes it too).',
              },
              error: {
                required: true,
                type: () => t['./responses/dto/response.dto'].ResponseErrorDto,
                nullable: true,
              },
              incomplete_details: {
                required: true,
                type: () => t['./responses/dto/response.dto'].ResponseIncompleteDetailsDto,
                nullable: true,
              },
              instructions: { required: true, type: () => String, nullable: true },
              metadata: {
                required: true,
                type: 'object',
                additionalProperties: { type: 'string' },
              },
              conversation: {
                required: true,
                type: () => t['./responses/dto/response.dto'].ResponseConversationDto,
                nullable: true,
              },
              previous_response_id: { required: true, type: () => String, nullable: true },
              max_output_tokens: { required: true, type: () => Number, nullable: true },
              temperature: { required: true, type: () => Number, nullable: true },
              top_p: { required: true, type: () => Number, nullable: true },
              parallel_tool_calls: { required: true, type: () => Boolean },
              tool_choice: { required: true, type: () => Object },
              tools: { required: true, type: () => [Object] },
              text: {
                required: true,
                type: () => ({
                  format: { required: true, type: 'object', additionalProperties: true },
                }),
              },
              store: { required: true, type: () => Boolean },
              truncation: { required: true, type: () => String },
              usage: {
                required: true,
                type: () => t['./responses/dto/response.dto'].ResponseUsageDto,
                nullable: true,
              },
            },
            DeletedResponseDto: {
              id: { required: true, type: () => String },
              object: { required: true, type: () => String },
              deleted: { required: true, type: () => Boolean },
            },
            ResponseInputItemListDto: {
              object: { required: true, type: () => String },
              data: { required: true, type: () => [Object] },
              first_id: { required: true, type: () => String, nullable: true },
              last_id: { required: true, type: () => String, nullable: true },
              has_more: { required: true, type: () => Boolean },
            },
          },
        ],
      ],
      controllers: [
        [
          import('./conversations/conversations.controller.js'),
          {
            ConversationsController: {
              search: {
                summary: 'Conversations, newest first by default, in pages (`next_page_id`).',
                type: t['./conversations/dto/conversation-response.dto'].ConversationPageDto,
              },
              batchGet: {
                summary:
                  "Several conversations at once, in the order asked; `null` for an id that does not exist.\nLike the reference's batch read.",
                type: [Object],
              },
              count: {
                summary:
                  'How many conversations there are (optionally with one status), as a JSON number.',
                type: String,
              },
              get: {
                summary: 'One conversation with its status, usage and cost.',
                type: t['./conversations/dto/conversation-response.dto'].ConversationResponseDto,
              },
              finalResponse: {
                summary:
                  "The answer of the latest finished turn, as the reference's clients read it.",
                type: t['./conversations/dto/conversation-response.dto'].AgentFinalResponseDto,
              },
              events: {
                summary:
                  'The turn-by-turn event log, oldest first: messages, LLM responses, tool calls and results, errors.',
                type: t['./conversations/dto/event-page.dto'].EventPageDto,
              },
              cancel: {
                summary:
                  "Cancels the running turn: the LLM request is aborted and the shell's processes are killed.",
                type: t['./conversations/dto/conversation-response.dto'].CancelResultDto,
              },
              delete: {
                summary:
                  'Deletes the conversation, its events and its workspace (cancelling a running turn first).',
                type: t['./conversations/dto/conversation-response.dto'].SuccessDto,
              },
            },
          },
        ],
        [
          import('./metrics/metrics.controller.js'),
          {
            MetricsController: {
              scrape: {
                summary:
                  "Requests, turns, LLM tokens, cost and errors, disconnects and keepalives, and the process's\nown figures, in the Prometheus text format (or as JSON with `Accept: application/json`).",
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
                type: t['./profiles/dto/profile-response.dto'].ProfileSavedDto,
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
                summary: "Name, version, uptime, the agent's tools and how they are sandboxed.",
                type: t['./health/dto/health.dto'].ServerInfoDto,
              },
            },
          },
        ],
        [
          import('./chat-completions/chat-completions.controller.js'),
          {
            ChatCompletionsController: {
              create: {
                summary:
                  "Runs one agent turn and answers as an OpenAI chat completion. The agent may call its tools\n(shell, file editor, task list) in the conversation's workspace as often as it needs.\nThe response header `X-OpenHands-ServerConversation-ID` names the conversation; send it back to\ncontinue it. With `stream: true` the turn streams as server-sent events as it happens.",
              },
            },
          },
        ],
        [
          import('./responses/responses.controller.js'),
          {
            ResponsesController: {
              create: {
                summary:
                  'Runs one agent turn and answers as an OpenAI `response`. The turn continues the conversation\nof `previous_response_id` or `conversation`, or starts a new one; the response header\n`X-OpenHands-ServerConversation-ID` names it (a chat completion sending that header continues\nthe same conversation). With `stream: true` the events stream as they happen; with\n`background: true` the answer comes at once (`in_progress`) and the turn runs without the\nclient: poll `GET /v1/responses/{id}` or resume its stream.',
              },
              retrieve: {
                summary:
                  'A stored response. With `stream=true`, its events as server-sent events: those after\n`starting_after` (all without it), then live until the response ends, from whichever replica\nruns it.',
              },
              delete: {
                summary:
                  'Deletes a stored response (cancelling it first when it still runs); its conversation stays.',
                type: t['./responses/dto/response.dto'].DeletedResponseDto,
              },
              cancel: {
                summary:
                  'Cancels a running response (background or not) in whichever replica runs it, and answers\nwith it once its end is recorded (`cancelled`). A finished response is returned unchanged.',
                type: t['./responses/dto/response.dto'].ResponseDto,
              },
              inputItems: {
                summary:
                  'The input items of a stored response, newest first unless `order=asc`, paged by `after`.',
                type: t['./responses/dto/response.dto'].ResponseInputItemListDto,
              },
            },
          },
        ],
      ],
    },
  };
};
