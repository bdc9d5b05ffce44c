export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'rate_limited'
  | 'internal'
  | 'upstream'
  | 'unavailable'
  | 'timeout';

export const STATUS_OF: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  upstream: 502,
  unavailable: 503,
  timeout: 504,
};

export interface FieldError {
  field: string;
  message: string;
}

/**
 * The one error type services raise. `code` is stable (`<module>.<reason>`); the reason part is
 * the OpenAI `code` on `/v1`. HTTP learns about it in `HttpErrorFilter` only.
 */
export class AppError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly meta: {
      /** Per-field validation failures. */
      errors?: FieldError[];
      /** The request parameter at fault (OpenAI `param`). */
      param?: string;
      /** Extra response headers, e.g. `Retry-After`. */
      headers?: Record<string, string>;
      [key: string]: unknown;
    } = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return STATUS_OF[this.kind];
  }
}

export const invalidRequest = (message: string, errors?: FieldError[], param?: string) =>
  new AppError('invalid', 'request.invalid', message, {
    errors,
    param: param ?? errors?.[0]?.field,
  });
