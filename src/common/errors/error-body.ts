import { STATUS_CODES } from 'node:http';
import type { AppError } from './app-error';

const OPENAI_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'invalid_request_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
  502: 'upstream_error',
};

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** `/v1/*`: the OpenAI error envelope. */
export function openAiErrorBody(error: AppError): OpenAiErrorBody {
  return {
    error: {
      message: error.message,
      type:
        OPENAI_TYPES[error.status] ??
        (error.status >= 500 ? 'server_error' : 'invalid_request_error'),
      param: error.meta.param ?? null,
      code: error.code.split('.').pop() ?? null,
    },
  };
}

/** Everything else: RFC 9457 problem details (`detail` keeps clients of the reference working). */
export function problemDetailsBody(error: AppError, instance: string, requestId: string) {
  return {
    type: 'about:blank',
    title: STATUS_CODES[error.status] ?? 'Error',
    status: error.status,
    detail: error.message,
    instance,
    code: error.code,
    request_id: requestId,
    ...(error.meta.errors ? { errors: error.meta.errors } : {}),
  };
}

/** The OpenAI-shaped families: everything under `/v1`. */
export const isOpenAiPath = (path: string) => path === '/v1' || path.startsWith('/v1/');
