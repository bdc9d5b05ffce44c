import { HttpException } from '@nestjs/common';
import { databaseUnavailable, isDatabaseUnavailable } from '../../database/database-errors';
import { JsonBudgetError } from '../http/json-budget';
import { AppError, type ErrorKind, invalidRequest } from './app-error';

const KIND_OF_STATUS: Record<number, ErrorKind> = {
  400: 'invalid',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'invalid',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'invalid',
  429: 'rate_limited',
  502: 'upstream',
  503: 'unavailable',
  504: 'timeout',
};

/** Errors thrown by body-parser carry a `type` and a `status`. */
interface ParserError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
  /** `entity.too.large`: the configured limit in bytes. */
  limit?: number;
}

/** Normalises anything thrown while handling a request into an `AppError`. */
export function toAppError(exception: unknown): AppError {
  if (exception instanceof AppError) return exception;
  if (exception instanceof HttpException) return fromHttpException(exception);
  const parser = exception as ParserError | undefined;
  if (parser?.type === 'entity.parse.failed') {
    return new AppError(
      'invalid',
      'request.malformed_json',
      `Malformed JSON body: ${withoutExcerpt(parser.message)}`,
    );
  }
  if (exception instanceof JsonBudgetError) {
    return exception.status === 413
      ? new AppError('payload_too_large', 'request.too_complex', exception.message)
      : invalidRequest(exception.message);
  }
  if (parser?.type === 'entity.too.large') {
    const limit = typeof parser.limit === 'number' ? ` of ${parser.limit} bytes` : '';
    return new AppError(
      'payload_too_large',
      'request.too_large',
      `The request body is larger than this server's limit${limit} (OH_MAX_BODY_SIZE).`,
    );
  }
  const status = parser?.status ?? parser?.statusCode;
  if (status && status >= 400 && status < 500 && parser?.expose) {
    return new AppError(
      KIND_OF_STATUS[status] ?? 'invalid',
      'request.rejected',
      parser.message ?? 'Bad request.',
    );
  }
  // a database restart or failover is a moment to retry, not a server bug
  if (isDatabaseUnavailable(exception)) return databaseUnavailable(exception);
  return new AppError('internal', 'server.internal', 'Internal server error.', {
    cause: exception,
  });
}

/**
 * V8 quotes the body around the fault (`Unexpected token 's', ..."api_key": sk-provide"... is not
 * valid JSON`), and that excerpt may be part of a secret; keep the description, drop the quote.
 */
function withoutExcerpt(message = ''): string {
  const excerpt = message.search(/(?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/);
  if (excerpt === -1) return message;
  const head = message.slice(0, excerpt).replace(/[,\s]+$/, '');
  return head ? `${head}; not valid JSON` : 'not valid JSON';
}

function fromHttpException(exception: HttpException): AppError {
  const status = exception.getStatus();
  const response = exception.getResponse();
  const raw =
    typeof response === 'string'
      ? response
      : ((response as { message?: string | string[] }).message ?? exception.message);
  const message = Array.isArray(raw) ? raw.join('; ') : raw;
  if (status === 404 && /^Cannot [A-Z]+ /.test(message)) {
    return new AppError(
      'not_found',
      'route.not_found',
      `${message.replace('Cannot', 'No route for')}.`,
    );
  }
  if (status === 429)
    return new AppError('rate_limited', 'request.rate_limited', 'Too many requests; slow down.');
  const kind = KIND_OF_STATUS[status] ?? (status >= 500 ? 'internal' : 'invalid');
  return new AppError(kind, `request.${kind}`, message);
}
