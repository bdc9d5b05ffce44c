import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMinSize,
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
import { MaxItemsFrom } from '../../common/http/validation';
import { ApiExample } from '../../common/http/openapi-document';

export const MESSAGE_ROLES = ['system', 'developer', 'user', 'assistant', 'tool'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: string } };

const SUPPORTED_PARTS = "'text' and 'image_url'";

function contentProblem(value: unknown): string | null {
  if (value === null || value === undefined || typeof value === 'string') return null;
  if (!Array.isArray(value)) return 'must be a string or an array of content parts';
  for (const [i, part] of value.entries()) {
    const p = part as { type?: unknown; text?: unknown; image_url?: { url?: unknown } | string };
    if (typeof p !== 'object' || p === null) return `part ${i} must be an object`;
    if (p.type === 'text') {
      if (typeof p.text !== 'string') return `part ${i} (text) needs a string 'text'`;
    } else if (p.type === 'image_url') {
      const url = typeof p.image_url === 'string' ? p.image_url : p.image_url?.url;
      if (typeof url !== 'string' || !/^(https?:|data:image\/)/.test(url)) {
        return `part ${i} (image_url) needs image_url.url as an http(s) or data:image URL`;
      }
    } else {
      return `part ${i} has type ${JSON.stringify(p.type)}; supported are ${SUPPORTED_PARTS}`;
    }
  }
  return null;
}

const IsChatContent = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isChatContent',
      validator: {
        validate: (value: unknown) => contentProblem(value) === null,
        defaultMessage: (args) => `$property ${contentProblem(args?.value)}`,
      },
    },
    options,
  );

const IsStop = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isStop',
      validator: {
        validate: (v: unknown) =>
          typeof v === 'string' ||
          (Array.isArray(v) && v.length <= 4 && v.every((s) => typeof s === 'string')),
        defaultMessage: () => '$property must be a string or an array of at most 4 strings',
      },
    },
    options,
  );

const TOOL_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Why `tools` is malformed, or null. */
function toolsProblem(value: unknown): string | null {
  if (!Array.isArray(value)) return 'must be an array of function tools';
  if (value.length > 128) return 'must have at most 128 tools';
  for (const [i, item] of value.entries()) {
    const t = item as { type?: unknown; function?: Record<string, unknown> };
    if (typeof t !== 'object' || t === null) return `tools[${i}] must be an object`;
    if (t.type !== 'function')
      return `tools[${i}].type is ${JSON.stringify(t.type)}; only 'function' tools are supported`;
    const f = t.function;
    if (typeof f !== 'object' || f === null) return `tools[${i}].function must be an object`;
    if (typeof f.name !== 'string' || !TOOL_NAME.test(f.name))
      return `tools[${i}].function.name must match ${TOOL_NAME.source}`;
    if (f.description !== undefined && f.description !== null && typeof f.description !== 'string')
      return `tools[${i}].function.description must be a string`;
    if (
      f.parameters !== undefined &&
      f.parameters !== null &&
      (typeof f.parameters !== 'object' || Array.isArray(f.parameters))
    )
      return `tools[${i}].function.parameters must be a JSON Schema object`;
  }
  return null;
}

/** Why `tool_choice` is malformed, or null. */
function toolChoiceProblem(value: unknown): string | null {
  if (value === 'none' || value === 'auto' || value === 'required') return null;
  const v = value as { type?: unknown; function?: { name?: unknown } };
  if (
    typeof v === 'object' &&
    v !== null &&
    v.type === 'function' &&
    typeof v.function?.name === 'string'
  )
    return null;
  return "must be 'none', 'auto', 'required' or {type: 'function', function: {name}}";
}

/** Why `response_format` is malformed, or null. */
function responseFormatProblem(value: unknown): string | null {
  const v = value as { type?: unknown; json_schema?: { name?: unknown; schema?: unknown } };
  if (typeof v !== 'object' || v === null) return 'must be an object';
  if (v.type === 'text' || v.type === 'json_object') return null;
  if (v.type !== 'json_schema') return "type must be 'text', 'json_object' or 'json_schema'";
  if (typeof v.json_schema !== 'object' || v.json_schema === null)
    return 'json_schema must be an object with name and schema';
  if (typeof v.json_schema.name !== 'string') return 'json_schema.name must be a string';
  const schema = v.json_schema.schema;
  if (
    schema !== undefined &&
    (typeof schema !== 'object' || schema === null || Array.isArray(schema))
  )
    return 'json_schema.schema must be a JSON Schema object';
  return null;
}

const Checked = (
  name: string,
  problem: (value: unknown) => string | null,
  options?: ValidationOptions,
) =>
  ValidateBy(
    {
      name,
      validator: {
        validate: (value: unknown) => problem(value) === null,
        defaultMessage: (args) => `$property ${problem(args?.value)}`,
      },
    },
    options,
  );

/** A function tool the client declares (OpenAI shape). */
export interface ChatToolDto {
  type: 'function';
  function: {
    name: string;
    description?: string | null;
    parameters?: Record<string, unknown> | null;
    strict?: boolean | null;
  };
}

export type ChatToolChoice =
  'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

export type ChatResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      json_schema: {
        name: string;
        description?: string;
        schema?: Record<string, unknown>;
        strict?: boolean | null;
      };
    };

const MESSAGES = [
  { role: 'system', content: 'You are a careful coding assistant. Run what you write.' },
  {
    role: 'user',
    content: 'Write primes.py that prints the first 10 prime numbers, run it, and show the output.',
  },
];

@ApiExample(MESSAGES[1])
export class ChatMessageDto {
  @ApiProperty({ enum: MESSAGE_ROLES })
  @IsIn(MESSAGE_ROLES)
  role!: MessageRole;

  /** A string, or content parts (`text`, `image_url`). `null` for an assistant message with tool calls. */
  @ApiProperty({
    oneOf: [
      { type: 'string' },
      { type: 'array', items: { type: 'object', additionalProperties: true } },
    ],
    nullable: true,
    required: false,
  })
  @IsOptional()
  @IsChatContent()
  content?: string | ContentPart[] | null;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  name?: string;

  /** Accepted on assistant messages of earlier turns. */
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    required: false,
  })
  @IsOptional()
  @IsArray()
  tool_calls?: unknown[];

  @IsOptional()
  @IsString()
  tool_call_id?: string;
}

@ApiExample({ include_usage: true })
export class StreamOptionsDto {
  /** Send one more chunk with this turn's `usage` before `[DONE]`. */
  @IsOptional()
  @IsBoolean()
  include_usage?: boolean;
}

/**
 * The OpenAI Chat Completions request. Fields not listed are accepted and ignored (clients send many).
 */
@ApiExample({ model: 'openhands_default', messages: MESSAGES })
export class CreateChatCompletionDto {
  /** `openhands_<profile>`, as listed by `GET /v1/models`. @example "openhands_default" */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  model!: string;

  /**
   * The conversation so far. The last `user` message is this turn's input; `system`/`developer`
   * texts extend the agent's system prompt of a new conversation; earlier user/assistant turns seed
   * a new conversation. At most `OH_MAX_MESSAGES` (default 2048) messages.
   */
  @IsArray()
  @ArrayMinSize(1)
  @MaxItemsFrom('maxMessages')
  @IsObject({ each: true }) // @ValidateNested alone lets arrays through as messages
  @ValidateNested({ each: true })
  @Type(() => ChatMessageDto)
  messages!: ChatMessageDto[];

  /** Stream the turn as server-sent events: text as it is produced, tool steps as reasoning. */
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto | null;

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
   * Upper bound of tokens per LLM response in this turn, clamped to the profile's
   * `max_output_tokens`, else to the model's known output limit.
   */
  @IsOptional()
  @IsInt()
  @Min(1)
  max_completion_tokens?: number | null;

  /** Older name of `max_completion_tokens`. */
  @IsOptional()
  @IsInt()
  @Min(1)
  max_tokens?: number | null;

  @IsOptional()
  @IsInt()
  seed?: number | null;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 4 }],
    required: false,
  })
  @IsOptional()
  @IsStop()
  stop?: string | string[] | null;

  /** Only 1 is supported: a turn has one answer. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1, { message: 'n must be 1: an agent turn has exactly one answer' })
  n?: number | null;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  user?: string;

  /**
   * The client's own function tools, offered to the model beside the server's (or instead of
   * them: `X-OpenHands-Tools`). A call to one pauses the turn: the answer carries `tool_calls` and
   * `finish_reason: "tool_calls"`; the next request ending with the `tool` results resumes it.
   */
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    required: false,
  })
  @IsOptional()
  @Checked('isChatTools', toolsProblem)
  tools?: ChatToolDto[] | null;

  /** `none`, `auto` (default), `required`, or `{type: "function", function: {name}}`. */
  @ApiProperty({
    oneOf: [
      { type: 'string', enum: ['none', 'auto', 'required'] },
      { type: 'object', additionalProperties: true },
    ],
    required: false,
  })
  @IsOptional()
  @Checked('isToolChoice', toolChoiceProblem)
  tool_choice?: ChatToolChoice | null;

  /** `false`: at most one client tool call per answer. @default true */
  @IsOptional()
  @IsBoolean()
  parallel_tool_calls?: boolean | null;

  /** `json_object` or `json_schema` (strict included): the final answer is JSON (fitting the schema). */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @Checked('isResponseFormat', responseFormatProblem)
  response_format?: ChatResponseFormat | null;

  /** Penalises repeated tokens (-2 to 2), passed to the provider on every step of the turn. */
  @IsOptional()
  @IsNumber()
  @Min(-2)
  @Max(2)
  frequency_penalty?: number | null;

  /** Penalises tokens already present (-2 to 2), passed to the provider on every step of the turn. */
  @IsOptional()
  @IsNumber()
  @Min(-2)
  @Max(2)
  presence_penalty?: number | null;

  /** Overrides the profile's `reasoning_effort` for this turn. */
  @IsOptional()
  @IsIn(['none', 'minimal', 'low', 'medium', 'high', 'xhigh'])
  reasoning_effort?: 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh' | null;

  /** Deprecated OpenAI function calling: refused with a 400 that points at `tools`. */
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    required: false,
    deprecated: true,
  })
  @IsOptional()
  functions?: unknown[] | null;

  /** Deprecated with `functions`: refused with a 400 that points at `tool_choice`. */
  @ApiProperty({ required: false, deprecated: true })
  @IsOptional()
  function_call?: unknown;

  /** `conversation_id` here continues that conversation (or the one a client chat id maps to). */
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, string> | null;
}
