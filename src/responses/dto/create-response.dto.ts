import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';
import { ApiExample } from '../../common/http/openapi-document';

const IsStringOrObjectArray = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isStringOrObjectArray',
      validator: {
        validate: (v: unknown) =>
          typeof v === 'string' ||
          (Array.isArray(v) && v.every((i) => typeof i === 'object' && i !== null)),
        defaultMessage: () => '$property must be a string or an array of input items (objects)',
      },
    },
    options,
  );

const IsStringOrObject = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isStringOrObject',
      validator: {
        validate: (v: unknown) =>
          typeof v === 'string' || (typeof v === 'object' && v !== null && !Array.isArray(v)),
        defaultMessage: () => '$property must be a string or an object',
      },
    },
    options,
  );

const IsMetadata = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isMetadata',
      validator: {
        validate: (v: unknown) =>
          typeof v === 'object' &&
          v !== null &&
          !Array.isArray(v) &&
          Object.keys(v).length <= 16 &&
          Object.entries(v).every(
            ([k, s]) => k.length <= 64 && typeof s === 'string' && s.length <= 512,
          ),
        defaultMessage: () =>
          '$property must be an object of at most 16 string values (keys up to 64, values up to 512 characters)',
      },
    },
    options,
  );

/** `text`: the format of the final answer. */
@ApiExample({ format: { type: 'text' } })
export class ResponseTextConfigDto {
  /**
   * `{"type": "text"}` (default), `{"type": "json_object"}`, or
   * `{"type": "json_schema", "name": …, "schema": {…}, "strict": true}`.
   */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  format?: Record<string, unknown> | null;
}

/** `reasoning`: the effort of reasoning models. */
@ApiExample({ effort: 'medium' })
export class ResponseReasoningDto {
  /** Overrides the profile's `reasoning_effort` for this turn. */
  @IsOptional()
  @IsIn(['none', 'minimal', 'low', 'medium', 'high', 'xhigh'])
  effort?: 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh' | null;
}

/**
 * The OpenAI Responses request. One response is one agent turn of a conversation. Fields not
 * listed (`include`, `truncation`, `user`, `prompt_cache_key`, `service_tier`, …) are
 * accepted and ignored.
 */
@ApiExample({
  model: 'openhands_default',
  instructions: 'You are a careful coding assistant. Run what you write.',
  input: 'Write primes.py that prints the first 10 prime numbers, run it, and show the output.',
})
export class CreateResponseDto {
  /** `openhands_<profile>`, as listed by `GET /v1/models`. @example "openhands_default" */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  model!: string;

  /**
   * The turn's input: a string (one user message), or a list of input items: messages (`role`
   * `user`, `system`, `developer` or `assistant`; `content` a string or `input_text` /
   * `input_image` parts) and `function_call_output` items answering this conversation's pending
   * function calls. In a new conversation, earlier user and assistant messages become its prior
   * context; the last user message is the turn's input.
   */
  @ApiProperty({
    oneOf: [
      { type: 'string' },
      { type: 'array', items: { type: 'object', additionalProperties: true } },
    ],
  })
  @IsStringOrObjectArray()
  input!: string | Record<string, unknown>[];

  /** Extends the agent's system prompt of a new conversation (like system messages in chat). */
  @IsOptional()
  @IsString()
  instructions?: string | null;

  /** Continue the conversation of this response (`resp_…`). Not together with `conversation`. */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  previous_response_id?: string | null;

  /**
   * Continue this conversation: its id (a UUID, as in `X-OpenHands-ServerConversation-ID`), as a
   * string or `{"id": …}`. An unknown well-formed id starts a conversation with that id.
   */
  @ApiPropertyOptional({
    oneOf: [
      { type: 'string', format: 'uuid' },
      { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] },
    ],
  })
  @IsOptional()
  @IsStringOrObject()
  conversation?: string | { id: string } | null;

  /** Keep the response retrievable (default true). `false`: nothing to retrieve, resume or list. */
  @IsOptional()
  @IsBoolean()
  store?: boolean | null;

  /** Answer at once (`in_progress`); the turn runs with no client attached. Needs `store`. */
  @IsOptional()
  @IsBoolean()
  background?: boolean | null;

  /** Stream the response as server-sent events (`response.created` … `response.completed`). */
  @IsOptional()
  @IsBoolean()
  stream?: boolean | null;

  /** Function tools (`{"type": "function", "name", "parameters", …}`) the client executes. */
  @ApiPropertyOptional({ type: 'array', items: { type: 'object', additionalProperties: true } })
  @IsOptional()
  @IsArray()
  @IsObject({ each: true })
  tools?: Record<string, unknown>[] | null;

  /** `none`, `auto`, `required`, or `{"type": "function", "name": …}`. */
  @ApiPropertyOptional({
    oneOf: [
      { type: 'string', enum: ['none', 'auto', 'required'] },
      { type: 'object', additionalProperties: true },
    ],
  })
  @IsOptional()
  @IsStringOrObject()
  tool_choice?: string | Record<string, unknown> | null;

  @IsOptional()
  @IsBoolean()
  parallel_tool_calls?: boolean | null;

  /**
   * Upper bound of tokens per LLM response in this turn, clamped to the profile's
   * `max_output_tokens`, else to the model's known output limit.
   */
  @IsOptional()
  @IsInt()
  @Min(1)
  max_output_tokens?: number | null;

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

  @IsOptional()
  @IsObject()
  text?: ResponseTextConfigDto | null;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ResponseReasoningDto)
  reasoning?: ResponseReasoningDto | null;

  /** Up to 16 string values, stored with the response and returned with it. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string> | null;
}
