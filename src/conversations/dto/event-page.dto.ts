import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { EVENT_KINDS, type StoredEvent } from '../conversation-events';

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

export class EventPageDto {
  /** Oldest first. */
  items!: EventDto[];
  next_page_id!: string | null;
}
