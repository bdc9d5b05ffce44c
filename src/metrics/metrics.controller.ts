import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiSessionAuth } from '../common/auth/api-key-auth.decorator';
import { MetricsService } from './metrics.service';

/**
 * Prometheus metrics. They need a session key like the rest of the API (a Prometheus scrape job
 * sends it as `authorization: { credentials: <key> }`): request counts and a process's internals
 * are not for anyone who can reach the port.
 */
@ApiTags('operations')
@ApiSessionAuth()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /**
   * Requests, turns, LLM tokens, cost and errors, disconnects and keepalives, and the process's
   * own figures, in the Prometheus text format (or as JSON with `Accept: application/json`).
   */
  @Get()
  @ApiProduces('text/plain', 'application/json')
  @ApiHeader({
    name: 'Accept',
    required: false,
    description: '`application/json` for JSON; anything else gets the Prometheus text format.',
  })
  @ApiOkResponse({
    description: 'Every metric with its current values.',
    content: {
      'text/plain': { schema: { type: 'string', example: 'gateway_turns_active 0\n' } },
      'application/json': {
        schema: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              help: { type: 'string' },
              type: { type: 'string' },
              values: { type: 'array', items: { type: 'object' } },
            },
          },
        },
      },
    },
  })
  async scrape(@Headers('accept') accept: string | undefined, @Res() res: Response): Promise<void> {
    if (accept?.includes('application/json')) {
      res.json(await this.metrics.json());
      return;
    }
    res.setHeader('Content-Type', this.metrics.contentType);
    res.send(await this.metrics.text());
  }
}
