import { ApiProperty } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsUUID,
  Max,
  Min,
} from 'class-validator';
import { EXECUTION_STATUSES, type ExecutionStatus } from '../events.types';

export const SORT_ORDERS = [
  'CREATED_AT',
  'CREATED_AT_DESC',
  'UPDATED_AT',
  'UPDATED_AT_DESC',
] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

export class SearchConversationsQueryDto {
  /** Page size, 1–100. @default 100 */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  /** `next_page_id` of the previous page. */
  @IsOptional()
  @IsUUID()
  page_id?: string;

  @ApiProperty({ enum: EXECUTION_STATUSES, enumName: 'ExecutionStatus', required: false })
  @IsOptional()
  @IsIn(EXECUTION_STATUSES)
  status?: ExecutionStatus;

  /** @default "CREATED_AT_DESC" */
  @ApiProperty({ enum: SORT_ORDERS, required: false })
  @IsOptional()
  @IsIn(SORT_ORDERS)
  sort_order?: SortOrder;
}

export class CountConversationsQueryDto {
  @ApiProperty({ enum: EXECUTION_STATUSES, enumName: 'ExecutionStatus', required: false })
  @IsOptional()
  @IsIn(EXECUTION_STATUSES)
  status?: ExecutionStatus;
}

/** Most ids one batch read takes (the reference takes fewer than 100 too). */
export const MAX_BATCH_IDS = 99;

export class BatchGetConversationsQueryDto {
  /**
   * Conversation ids, repeated (`?ids=…&ids=…`) or comma-separated; at most 99.
   * @example ["3f0c5b4e-8a0d-4d63-9a55-4b7c3c1f2a10"]
   */
  @ApiProperty({ type: [String], format: 'uuid', maxItems: MAX_BATCH_IDS, minItems: 1 })
  @Transform(({ value }: { value: unknown }) =>
    (Array.isArray(value) ? (value as unknown[]) : [value]).flatMap((v): unknown[] =>
      typeof v === 'string' ? v.split(',').filter(Boolean) : [v],
    ),
  )
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH_IDS)
  @IsUUID('all', { each: true })
  ids!: string[];
}
