import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { TurnsService } from '../agent/turns.service';
import { Public } from '../common/auth/public.decorator';
import { ReadinessDto, ServerInfoDto, StatusDto } from './dto/health.dto';
import { HealthService } from './health.service';

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly turns: TurnsService,
  ) {}

  /** Liveness: the process answers. */
  @Get('alive')
  alive(): StatusDto {
    return { status: 'ok' };
  }

  /** Liveness, under the name load balancers often probe. */
  @Get('health')
  healthz(): StatusDto {
    return { status: 'ok' };
  }

  /** Readiness: the database is reachable and migrations ran; 503 otherwise. */
  @Get('ready')
  @ApiServiceUnavailableResponse({ type: ReadinessDto })
  async ready(@Res({ passthrough: true }) res: Response): Promise<ReadinessDto> {
    const readiness = await this.health.readiness();
    if (readiness.status !== 'ready') res.status(HttpStatus.SERVICE_UNAVAILABLE);
    return readiness;
  }

  /** Name, version, uptime, the agent's tools and how they are sandboxed. */
  @Get('server_info')
  serverInfo(): ServerInfoDto {
    const { names, sandbox, sandboxProgram } = this.turns.tools;
    return this.health.info(names, sandbox, sandboxProgram);
  }
}
