import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { EXECUTION_STATUSES, type ExecutionStatus } from '../entities/conversation.entity';

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
