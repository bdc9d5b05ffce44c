import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import type { Request } from 'express';
import { PinoLogger } from 'nestjs-pino';
import type { Observable } from 'rxjs';
import { parseObservabilityHeaders, withObservability } from './observability-headers';
import { observabilityAttributes } from './spans';

/**
 * Names the request's HTTP span by its route (`POST /v1/chat/completions`), and validates the
 * reference's observability headers: a bad one is a 400 before the handler runs; good ones go
 * onto the HTTP span, into every log line of the request, and (through the request's async
 * context) onto the spans of the turn it starts. Runs after the guards: a request without a
 * valid key is a 401 whatever its headers.
 */
@Injectable()
export class ObservabilityInterceptor implements NestInterceptor {
  constructor(private readonly log: PinoLogger) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    const span = trace.getActiveSpan();
    const route = (req.route as { path?: string } | undefined)?.path;
    if (span && route) {
      span.updateName(`${req.method} ${route}`);
      span.setAttribute('http.route', route);
    }
    const observability = parseObservabilityHeaders((name) => req.header(name));
    if (!observability) return next.handle();
    span?.setAttributes(observabilityAttributes(observability));
    this.log.assign({
      observability: {
        ...(observability.spanName ? { span_name: observability.spanName } : {}),
        ...(observability.tags.length ? { tags: observability.tags } : {}),
        ...(Object.keys(observability.metadata).length ? { metadata: observability.metadata } : {}),
      },
    });
    // `handle()` binds the handler to the async context it is called in: this one.
    return withObservability(observability, () => next.handle());
  }
}
