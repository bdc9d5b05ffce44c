import { Controller, Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiTags } from '@nestjs/swagger';
import { ApiSessionAuth } from '../common/auth/api-key-auth.decorator';
import { ModelDto, ModelListDto } from './dto/model.dto';
import { ModelsService } from './models.service';

@ApiTags('models')
@ApiSessionAuth()
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  /** Every stored profile as an OpenAI model, `openhands_<profile>`. */
  @Get()
  async list(): Promise<ModelListDto> {
    return { object: 'list', data: await this.models.list() };
  }

  /** One model, or 404 `model_not_found`. */
  @Get(':id')
  @ApiNotFoundResponse({ description: 'No such model (`model_not_found`).' })
  get(@Param('id') id: string): Promise<ModelDto> {
    return this.models.get(id);
  }
}
