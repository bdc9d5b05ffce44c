import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';

const toBool = ({ value }: { value: unknown }) =>
  value === 'true' || value === true ? true : value === 'false' || value === false ? false : value;
const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;

export class RetrieveResponseQueryDto {
  /** Stream the response's events (all of them, or those after `starting_after`) as server-sent events, live until it ends. */
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  stream?: boolean;

  /** With `stream=true`: resume after the event with this `sequence_number`. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  starting_after?: number;
}

export class InputItemsQueryDto {
  /** Items after this item id (cursor from the previous page's `last_id`). */
  @IsOptional()
  @IsString()
  after?: string;

  /** Page size, 1–100 (default 20). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  /** `desc` (default, newest first) or `asc`. */
  @IsOptional()
  @IsIn(['asc', 'desc'])
  order?: 'asc' | 'desc';
}
