import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { LogLevel } from '../../config/env.schema';

/** Query strings are dropped from logged URLs: nothing secret can ride in on them. */
const pathOf = (url: string | undefined) => (url ?? '').split('?')[0];

/**
 * Structured JSON logs; every line of a request carries its id. Headers are never logged, so
 * session keys and provider keys cannot reach a log line through them.
 */
export function loggingParams(level: LogLevel): Params {
  return {
    pinoHttp: {
      level,
      genReqId: (req: IncomingMessage) => req.id,
      quietReqLogger: true,
      customAttributeKeys: { reqId: 'request_id' },
      serializers: {
        req: (req: IncomingMessage & { id?: unknown }) => ({
          method: req.method,
          path: pathOf(req.url),
        }),
        res: (res: ServerResponse) => ({ status: res.statusCode }),
      },
      redact: {
        paths: [
          'req.headers',
          'headers.authorization',
          '*.api_key',
          '*.apiKey',
          'api_key',
          'apiKey',
        ],
        censor: '[redacted]',
      },
      autoLogging: {
        ignore: (req: IncomingMessage) => ['/alive', '/health', '/ready'].includes(pathOf(req.url)),
      },
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    },
  };
}
