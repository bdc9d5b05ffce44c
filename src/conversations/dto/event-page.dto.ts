import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { EVENT_KINDS, type StoredEvent } from '../events.types';
import { ApiExample } from '../../common/http/openapi-document';

export class SearchEventsQueryDto {
  /** Page size, 1–100. @default 100 */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  /** `next_page_id` of the previous page. */
  @IsOptional()
  @Matches(/^\d{1,10}$/, { message: 'page_id must be a next_page_id from a previous page' })
  page_id?: string;

  /** Only these kinds (comma-separated), e.g. `tool_call,tool_result`. */
  @ApiProperty({
    required: false,
    example: 'tool_call,tool_result',
    description: `Kinds: ${EVENT_KINDS.join(', ')}`,
  })
  @IsOptional()
  @IsString()
  kind?: string;
}

const EVENT = {
  id: '0b6f2c1e-5d4a-4c3b-9e8f-7a6b5c4d3e2f',
  seq: 3,
  kind: 'tool_call',
  source: 'agent',
  timestamp: '2026-01-05T10:00:07.000Z',
  payload: {
    tool_call_id: 'call_8Yk2',
    tool: 'terminal',
    arguments: { command: 'python3 primes.py' },
    summary: 'python3 primes.py',
  },
};

@ApiExample(EVENT)
export class EventDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  /** 1, 2, 3… within the conversation. */
  @ApiProperty({ type: 'integer' })
  seq!: number;
  @ApiProperty({ enum: EVENT_KINDS, enumName: 'EventKind' })
  kind!: string;
  @ApiProperty({ enum: ['user', 'agent', 'environment', 'system'] })
  source!: string;
  timestamp!: string;
  /** Kind-specific content (message text, tool call arguments, tool output, usage…). */
  @ApiProperty({ type: 'object', additionalProperties: true })
  payload!: Record<string, unknown>;

  static from(e: StoredEvent): EventDto {
    return {
      id: e.id,
      seq: e.seq,
      kind: e.kind,
      source: e.source,
      timestamp: e.createdAt,
      payload: e.payload,
    };
  }
}

@ApiExample({ items: [EVENT], next_page_id: '3' })
export class EventPageDto {
  /** Oldest first. */
  items!: EventDto[];
  next_page_id!: string | null;
}
