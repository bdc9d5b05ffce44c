import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ApiExample } from '../../common/http/openapi-document';

export const RESPONSE_STATUSES = [
  'queued',
  'in_progress',
  'completed',
  'failed',
  'cancelled',
  'incomplete',
] as const;
export type ResponseStatus = (typeof RESPONSE_STATUSES)[number];

const USAGE = {
  input_tokens: 9120,
  input_tokens_details: { cached_tokens: 6144 },
  output_tokens: 456,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 9576,
  cost_usd: 0.00073,
};
const ANSWER = 'I wrote primes.py and ran it: 2, 3, 5, 7, 11, 13, 17, 19, 23, 29.';
const RESPONSE = {
  id: 'resp_3f0c5b4e8a0d4d639a554b7c3c1f2a10',
  object: 'response',
  created_at: 1767607200,
  status: 'completed',
  completed_at: 1767607242,
  background: false,
  model: 'openhands_default',
  output: [
    {
      type: 'message',
      id: 'msg_3f0c5b4e8a0d4d63',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: ANSWER, annotations: [], logprobs: [] }],
    },
  ],
  output_text: ANSWER,
  error: null,
  incomplete_details: null,
  instructions: 'You are a careful coding assistant. Run what you write.',
  metadata: {},
  conversation: { id: '3f0c5b4e-8a0d-4d63-9a55-4b7c3c1f2a10' },
  previous_response_id: null,
  max_output_tokens: null,
  temperature: null,
  top_p: null,
  parallel_tool_calls: true,
  tool_choice: 'auto',
  tools: [],
  text: { format: { type: 'text' } },
  store: true,
  truncation: 'disabled',
  usage: USAGE,
};

@ApiExample(USAGE.input_tokens_details)
export class ResponseInputTokensDetailsDto {
  cached_tokens!: number;
}

@ApiExample(USAGE.output_tokens_details)
export class ResponseOutputTokensDetailsDto {
  reasoning_tokens!: number;
}

/** Tokens of this response's turn: every LLM call of it (the condenser's included). */
@ApiExample(USAGE)
export class ResponseUsageDto {
  input_tokens!: number;
  input_tokens_details!: ResponseInputTokensDetailsDto;
  output_tokens!: number;
  output_tokens_details!: ResponseOutputTokensDetailsDto;
  total_tokens!: number;
  /** Cost of this turn in USD (an extension of the OpenAI object). */
  cost_usd!: number;
}

@ApiExample({ code: 'upstream_error', message: 'The LLM provider answered 503 after 3 retries.' })
export class ResponseErrorDto {
  /** `server_error`, `rate_limit_exceeded`, or the gateway's own code (`upstream_error`, `turn_timeout`, …). */
  code!: string;
  message!: string;
}

@ApiExample({ reason: 'max_output_tokens' })
export class ResponseIncompleteDetailsDto {
  /** `max_output_tokens`: the turn reached the agent's iteration limit (`OH_MAX_ITERATIONS`). */
  reason!: string;
}

@ApiExample(RESPONSE.conversation)
export class ResponseConversationDto {
  /** The server-side conversation (as in `X-OpenHands-ServerConversation-ID`). */
  id!: string;
}

/**
 * The OpenAI `response` object. `output` holds `reasoning` items (a summary of the agent's steps:
 * tool calls and their results), `message` items with `output_text` parts (the assistant's text,
 * the final answer last), and `function_call` items (calls of the client's function tools).
 */
@ApiExample(RESPONSE)
export class ResponseDto {
  /** @example "resp_0123456789abcdef0123456789abcdef" */
  id!: string;
  @ApiProperty({ enum: ['response'] })
  object!: 'response';
  /** Unix seconds. */
  created_at!: number;
  @ApiProperty({ enum: RESPONSE_STATUSES })
  status!: ResponseStatus;
  /** Unix seconds, once the response reached a final status. */
  completed_at!: number | null;
  background!: boolean;
  /** The requested model (`openhands_<profile>`). */
  model!: string;
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true } })
  output!: Record<string, unknown>[];
  /** The text of the `message` items, joined (the SDK computes it too). */
  output_text!: string;
  @ApiPropertyOptional({ type: ResponseErrorDto, nullable: true })
  error!: ResponseErrorDto | null;
  @ApiPropertyOptional({ type: ResponseIncompleteDetailsDto, nullable: true })
  incomplete_details!: ResponseIncompleteDetailsDto | null;
  instructions!: string | null;
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  metadata!: Record<string, string>;
  @ApiPropertyOptional({ type: ResponseConversationDto, nullable: true })
  conversation!: ResponseConversationDto | null;
  previous_response_id!: string | null;
  max_output_tokens!: number | null;
  temperature!: number | null;
  top_p!: number | null;
  parallel_tool_calls!: boolean;
  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'object', additionalProperties: true }] })
  tool_choice!: string | Record<string, unknown>;
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true } })
  tools!: Record<string, unknown>[];
  @ApiProperty({ type: 'object', additionalProperties: true })
  text!: { format: Record<string, unknown> };
  store!: boolean;
  truncation!: 'disabled';
  @ApiPropertyOptional({ type: ResponseUsageDto, nullable: true })
  usage!: ResponseUsageDto | null;
}

/** `DELETE /v1/responses/{id}`. */
@ApiExample({ id: RESPONSE.id, object: 'response', deleted: true })
export class DeletedResponseDto {
  id!: string;
  @ApiProperty({ enum: ['response'] })
  object!: 'response';
  deleted!: boolean;
}

/** A page of a response's input items (`message`, `function_call_output`). */
@ApiExample({
  object: 'list',
  data: [
    {
      type: 'message',
      id: 'msg_0b6f2c1e5d4a4c3b',
      role: 'user',
      status: 'completed',
      content: [
        { type: 'input_text', text: 'Write primes.py that prints the first 10 primes and run it.' },
      ],
    },
  ],
  first_id: 'msg_0b6f2c1e5d4a4c3b',
  last_id: 'msg_0b6f2c1e5d4a4c3b',
  has_more: false,
})
export class ResponseInputItemListDto {
  @ApiProperty({ enum: ['list'] })
  object!: 'list';
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true } })
  data!: Record<string, unknown>[];
  first_id!: string | null;
  last_id!: string | null;
  has_more!: boolean;
}
