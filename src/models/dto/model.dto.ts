import { ApiProperty } from '@nestjs/swagger';
import { ApiExample } from '../../common/http/openapi-document';

const MODEL = {
  id: 'openhands_default',
  object: 'model',
  created: 1767607200,
  owned_by: 'openhands',
};

@ApiExample(MODEL)
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

@ApiExample({ object: 'list', data: [MODEL] })
export class ModelListDto {
  @ApiProperty({ enum: ['list'] })
  object!: 'list';
  /** Sorted by id. */
  data!: ModelDto[];
}
