import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export const RESPONSE_STATUSES = [
  'queued',
  'in_progress',
  'completed',
  'failed',
  'cancelled',
  'incomplete',
] as const;
export type ResponseStatus = (typeof RESPONSE_STATUSES)[number];

export class ResponseInputTokensDetailsDto {
  cached_tokens!: number;
}

export class ResponseOutputTokensDetailsDto {
  reasoning_tokens!: number;
}

/** Tokens of this response's turn: every LLM call of it (the condenser's included). */
export class ResponseUsageDto {
  input_tokens!: number;
  input_tokens_details!: ResponseInputTokensDetailsDto;
  output_tokens!: number;
  output_tokens_details!: ResponseOutputTokensDetailsDto;
  total_tokens!: number;
  /** Cost of this turn in USD (an extension of the OpenAI object). */
  cost_usd!: number;
}

export class ResponseErrorDto {
  /** `server_error`, `rate_limit_exceeded`, or the gateway's own code (`upstream_error`, `turn_timeout`, …). */
  code!: string;
  message!: string;
}

export class ResponseIncompleteDetailsDto {
  /** `max_output_tokens`: the turn reached the agent's iteration limit (`OH_MAX_ITERATIONS`). */
  reason!: string;
}

export class ResponseConversationDto {
  /** The server-side conversation (as in `X-OpenHands-ServerConversation-ID`). */
  id!: string;
}

/**
 * The OpenAI `response` object. `output` holds `reasoning` items (a summary of the agent's steps:
 * tool calls and their results), `message` items with `output_text` parts (the assistant's text,
 * the final answer last), and `function_call` items (calls of the client's function tools).
 */
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
export class DeletedResponseDto {
  id!: string;
  @ApiProperty({ enum: ['response'] })
  object!: 'response';
  deleted!: boolean;
}

/** A page of a response's input items (`message`, `function_call_output`). */
export class ResponseInputItemListDto {
  @ApiProperty({ enum: ['list'] })
  object!: 'list';
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true } })
  data!: Record<string, unknown>[];
  first_id!: string | null;
  last_id!: string | null;
  has_more!: boolean;
}
