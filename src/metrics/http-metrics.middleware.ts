import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { MetricsService } from './metrics.service';

/** The path Nest mounts its all-routes middleware on; a request that ends there matched no route. */
const MIDDLEWARE_PATH = '/{*path}';

/**
 * Times every request to its end (a stream: to its last byte) and counts the clients that leave
 * before it. Labelled with the route template (`/api/conversations/:id`), never the raw path, so
 * unknown paths all count as `unmatched`.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      const template = (req.route as { path?: string } | undefined)?.path;
      const route = template && template !== MIDDLEWARE_PATH ? template : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.httpRequest(req.method, route, res.statusCode, seconds);
      if (!res.writableFinished) this.metrics.clientDisconnected(route);
    });
    next();
  }
}
