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

  /** Upper bound of tokens per LLM response in this turn. */
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

  /** `conversation_id` here continues that conversation (or the one a client chat id maps to). */
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, string> | null;
}
