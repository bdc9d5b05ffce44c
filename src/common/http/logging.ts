import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { Params } from 'nestjs-pino';
import { stdSerializers } from 'pino';
import type { LogLevel } from '../../config/env.schema';

function traceIds(): Record<string, string> {
  const ids = trace.getActiveSpan()?.spanContext();
  return ids && isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}

/** Query strings are dropped from logged URLs: nothing secret can ride in on them. */
const pathOf = (url: string | undefined) => (url ?? '').split('?')[0];

/** What a failed query may tell the logs: where and why, never with which values. */
const QUERY_ERROR_FIELDS = [
  'name',
  'message',
  'stack',
  'code',
  'severity',
  'table',
  'column',
  'constraint',
  'routine',
  'query', // the SQL text, with $1 placeholders
] as const;

/**
 * pino's error serializer, minus what a failed query carries besides its SQL: the bound
 * `parameters` and the driver's `detail`/`where` (the failing row, key values) hold prompts,
 * tool output and encrypted secrets, and an operator debugging a failure needs none of them.
 */
export function serializeError(err: unknown): ReturnType<typeof stdSerializers.err> {
  return stdSerializers.errWithCause(withoutQueryValues(err) as Error);
}

function withoutQueryValues(err: unknown, depth = 0): unknown {
  if (typeof err !== 'object' || err === null || depth > 5) return err;
  const record = err as Record<string, unknown>;
  const cause = 'cause' in record ? withoutQueryValues(record.cause, depth + 1) : undefined;
  if (!('parameters' in record || 'driverError' in record)) {
    return cause === record.cause ? err : Object.assign(Object.create(err) as object, { cause });
  }
  const kept: Record<string, unknown> = {};
  for (const field of QUERY_ERROR_FIELDS)
    if (record[field] !== undefined) kept[field] = record[field];
  const safe = Object.assign(new Error(String(record.message)), kept);
  if (cause !== undefined) safe.cause = cause;
  return safe;
}

/**
 * Structured JSON logs; every line of a request carries its id. Headers are never logged, so
 * session keys and provider keys cannot reach a log line through them.
 */
export function loggingParams(level: LogLevel): Params {
  return {
    assignResponse: true, // fields assigned during a request (conversation_id) reach its last line too
    pinoHttp: {
      level,
      // With tracing on, each line names its trace and span, so logs and traces join up.
      mixin: traceIds,
      genReqId: (req: IncomingMessage) => req.id,
      quietReqLogger: true,
      customAttributeKeys: { reqId: 'request_id' },
      serializers: {
        req: (
          req: IncomingMessage & { id?: unknown; raw?: { ip?: string }; remoteAddress?: string },
        ) => ({
          method: req.method,
          path: pathOf(req.url),
          // the client's address: behind OH_TRUST_PROXY's proxies, from X-Forwarded-For
          client_address: req.raw?.ip ?? req.remoteAddress,
        }),
        res: (res: ServerResponse) => ({ status: res.statusCode }),
        err: serializeError,
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
