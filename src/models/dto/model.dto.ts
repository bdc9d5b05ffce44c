import { ApiProperty } from '@nestjs/swagger';

export class ModelDto {
  /** `openhands_<profile name>` @example "openhands_default" */
  id!: string;
  @ApiProperty({ enum: ['model'] })
  object!: 'model';
  /** Unix seconds when the profile was created. */
  @ApiProperty({ type: 'integer' })
  created!: number;
  @ApiProperty({ enum: ['openhands'] })
  owned_by!: 'openhands';
}

export class ModelListDto {
  @ApiProperty({ enum: ['list'] })
  object!: 'list';
  /** Sorted by id. */
  data!: ModelDto[];
}
