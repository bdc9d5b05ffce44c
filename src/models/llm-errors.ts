import { APICallError, LoadAPIKeyError, NoSuchModelError } from 'ai';
import { AppError } from '../common/errors/app-error';

export const LLM_ERROR_CATEGORIES = [
  'context_window',
  'authentication',
  'content_policy',
  'rate_limit',
  'server',
  'timeout',
  'connection',
  'bad_request',
  'not_found',
  'empty_response',
] as const;

export type LlmErrorCategory = (typeof LLM_ERROR_CATEGORIES)[number];

/** The stable code per category (`models.<reason>`; the reason is the OpenAI `code` on `/v1`). */
const CODE_OF: Record<LlmErrorCategory, string> = {
  context_window: 'models.context_length_exceeded',
  authentication: 'models.upstream_authentication_error',
  content_policy: 'models.upstream_content_policy',
  rate_limit: 'models.upstream_rate_limited',
  server: 'models.upstream_error',
  timeout: 'models.upstream_timeout',
  connection: 'models.upstream_unreachable',
  bad_request: 'models.upstream_bad_request',
  not_found: 'models.upstream_not_found',
  empty_response: 'models.upstream_empty_response',
};

const LABEL_OF: Record<LlmErrorCategory, string> = {
  context_window: 'the prompt is longer than the model accepts',
  authentication: 'authentication failed',
  content_policy: 'refused by the content policy',
  rate_limit: 'rate limited',
  server: 'server error',
  timeout: 'timed out',
  connection: 'could not connect',
  bad_request: 'bad request',
  not_found: 'not found',
  empty_response: 'empty response',
};

export interface LlmCallErrorDetails {
  /** The profile's LiteLLM model name. */
  model: string;
  /** The provider's HTTP status, when it answered. */
  providerStatus?: number;
  /** What the provider said (already redacted). */
  providerMessage: string;
  retryable: boolean;
  /** The wait the provider asked for (`Retry-After` / `retry-after-ms`). */
  retryAfterMs?: number;
  /** Attempts made, the first included. */
  attempts?: number;
  cause?: unknown;
}

/**
 * A failed LLM call, classified. `kind` is `upstream` (502) for everything but a timeout (504);
 * the message names the model, the provider's status and what the provider said, with secrets
 * removed. The agent condenses and retries on `category === 'context_window'`.
 */
export class LlmCallError extends AppError {
  readonly category: LlmErrorCategory;
  readonly providerStatus: number | undefined;
  readonly providerMessage: string;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly attempts: number;
  readonly model: string;

  constructor(category: LlmErrorCategory, details: LlmCallErrorDetails) {
    const attempts = details.attempts ?? 1;
    const status = details.providerStatus ? `HTTP ${details.providerStatus}, ` : '';
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    super(
      category === 'timeout' ? 'timeout' : 'upstream',
      CODE_OF[category],
      `LLM call to ${details.model} failed${tries} (${status}${LABEL_OF[category]}): ${details.providerMessage}`,
      {
        category,
        providerStatus: details.providerStatus,
        retryable: details.retryable,
        cause: details.cause,
      },
    );
    this.name = 'LlmCallError';
    this.category = category;
    this.providerStatus = details.providerStatus;
    this.providerMessage = details.providerMessage;
    this.retryable = details.retryable;
    this.retryAfterMs = details.retryAfterMs;
    this.attempts = attempts;
    this.model = details.model;
  }

  /** The same failure after `attempts` attempts (for the final error of a retry loop). */
  withAttempts(attempts: number): LlmCallError {
    return new LlmCallError(this.category, {
      model: this.model,
      providerStatus: this.providerStatus,
      providerMessage: this.providerMessage,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
      attempts,
      cause: this.meta.cause,
    });
  }
}

export const isContextWindowError = (error: unknown): boolean =>
  error instanceof LlmCallError && error.category === 'context_window';

// ---------------------------------------------------------------------------------------------
// Redaction

const REDACTED = '[REDACTED]';
const SECRET_PATTERNS: [RegExp, string][] = [
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/gi, `Bearer ${REDACTED}`],
  [/\bsk-[A-Za-z0-9_-]{6,}/g, REDACTED],
  [/\bAIza[0-9A-Za-z_-]{20,}/g, REDACTED],
  [
    /\b(x-api-key|api-key|api_key|apikey|key)(["']?\s*[:=]\s*["']?)[^\s"'&,}]{6,}/gi,
    `$1$2${REDACTED}`,
  ],
];

/** Removes the given secrets and anything shaped like a key or a bearer token. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Classification

const CONTEXT_WINDOW =
  /context[ _-]?(length|window)|maximum context|prompt is too long|input is too long|too many (input )?tokens|reduce the length|exceeds? the (maximum|max|model'?s?)|token limit|input length.*exceed|request too large|request_too_large|string too long/i;
const CONTENT_POLICY =
  /content[ _-]?(policy|filter|management)|responsible ?ai|safety (system|filter|settings)|flagged (as|by)|prohibited content|violat(es|ing) (our|the) (usage )?polic/i;
const QUOTA = /insufficient[_ ]quota|exceeded your current quota|billing|credit balance/i;

export interface ClassifyContext {
  model: string;
  secrets: readonly string[];
}

/** Turns whatever one attempt threw into a classified, redacted `LlmCallError`. */
export function classifyLlmError(error: unknown, ctx: ClassifyContext): LlmCallError {
  if (error instanceof LlmCallError) return error;
  const make = (
    category: LlmErrorCategory,
    message: string,
    retryable: boolean,
    extra: { providerStatus?: number; retryAfterMs?: number } = {},
  ) =>
    new LlmCallError(category, {
      model: ctx.model,
      providerMessage: redact(truncate(message), ctx.secrets),
      retryable,
      cause: sanitizedCause(error, ctx.secrets),
      ...extra,
    });

  if (APICallError.isInstance(error)) {
    const status = error.statusCode;
    const message = providerMessageOf(error);
    const retryAfterMs = retryAfterOf(error.responseHeaders);
    const extra = { providerStatus: status, retryAfterMs };
    if (status === undefined || status === 200) {
      // no answer, or a stream cut off after a 200
      const cause = causeMessage(error);
      const text =
        status === 200
          ? `the response stream broke off${cause ? `: ${cause}` : ''}`
          : error.message;
      return make('connection', text, true, extra);
    }
    if (status === 429) return make('rate_limit', message, !QUOTA.test(message), extra);
    if (CONTEXT_WINDOW.test(message)) return make('context_window', message, false, extra);
    if (status === 401 || status === 403) return make('authentication', message, false, extra);
    if (status === 408) return make('timeout', message, true, extra);
    if (status === 404) return make('not_found', message, false, extra);
    if (status === 413) return make('context_window', message, false, extra);
    if (CONTENT_POLICY.test(message) && status < 500)
      return make('content_policy', message, false, extra);
    if (status === 409 || status >= 500) return make('server', message, true, extra);
    return make('bad_request', message, false, extra);
  }
  if (LoadAPIKeyError.isInstance(error)) {
    return make(
      'authentication',
      'the profile has no api key (set `api_key` on the profile)',
      false,
    );
  }
  if (NoSuchModelError.isInstance(error)) return make('not_found', error.message, false);
  if (SDK_USAGE_ERRORS.has(str(errorLike(error)?.name))) {
    return make('bad_request', errorMessage(error), false); // our request was malformed
  }
  if (isTimeout(error)) return make('timeout', errorMessage(error), true);
  if (isNetworkError(error)) return make('connection', errorMessage(error), true);
  // A response the provider library could not read (malformed JSON, schema mismatch): treat it
  // like a server hiccup, once more is worth a try.
  if (isAiSdkError(error)) return make('server', errorMessage(error), true);
  return make('server', errorMessage(error), false);
}

/** Milliseconds from `retry-after-ms` or `Retry-After` (seconds or an HTTP date). */
export function retryAfterOf(headers: Record<string, string> | undefined): number | undefined {
  if (!headers) return undefined;
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const ms = Number.parseFloat(lower['retry-after-ms'] ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = lower['retry-after'];
  if (raw === undefined) return undefined;
  const seconds = Number.parseFloat(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

function providerMessageOf(error: APICallError): string {
  const body = error.responseBody?.trim();
  const message = error.message?.trim();
  // The SDK extracts `error.message` from the usual JSON envelopes; fall back to the raw body.
  if (message && !/^(Bad Request|Internal Server Error|Not Found|Unauthorized)$/i.test(message))
    return message;
  return body || message || 'no message';
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: unknown;
  stack?: unknown;
}

/**
 * Duck-typed, not `instanceof`: fetch errors come from undici's realm (and under jest from
 * another one again), so `instanceof TypeError` is not reliable.
 */
function errorLike(value: unknown): ErrorLike | null {
  return typeof value === 'object' && value !== null && 'message' in value ? value : null;
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

function causeMessage(error: unknown): string {
  const cause = errorLike(error)?.cause;
  return typeof cause === 'string' ? cause : str(errorLike(cause)?.message);
}

/** `message: cause` (the cause chain's first link, when it adds anything). */
function errorMessage(error: unknown): string {
  const like = errorLike(error);
  if (!like) return String(error);
  const message = str(like.message);
  const cause = causeMessage(error);
  return cause && !message.includes(cause) ? `${message}: ${cause}` : message;
}

function isTimeout(error: unknown): boolean {
  return errorLike(error)?.name === 'TimeoutError';
}

/** AI SDK errors about the request we built: retrying cannot help. */
const SDK_USAGE_ERRORS = new Set([
  'AI_InvalidPromptError',
  'AI_InvalidArgumentError',
  'AI_InvalidMessageRoleError',
  'AI_MessageConversionError',
  'AI_InvalidDataContentError',
  'AI_UnsupportedFunctionalityError',
  'AI_UnsupportedModelVersionError',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function isNetworkError(error: unknown): boolean {
  let e = errorLike(error);
  for (let depth = 0; e && depth < 5; depth++) {
    const code = str(e.code);
    if (NETWORK_CODES.has(code)) return true;
    if (e.name === 'TypeError' && /fetch failed|terminated|socket/i.test(str(e.message))) {
      return true;
    }
    e = errorLike(e.cause);
  }
  return false;
}

/**
 * What is kept of the original error for the logs: its name, redacted message and stack, and the
 * cause chain's messages. Never the request or response bodies, which carry prompts and keys.
 */
function sanitizedCause(error: unknown, secrets: readonly string[]): Error {
  const like = errorLike(error);
  const sanitized = new Error(redact(errorMessage(error), secrets));
  sanitized.name = str(like?.name) || 'Error';
  const stack = str(like?.stack);
  sanitized.stack = stack ? redact(stack, secrets) : `${sanitized.name}: ${sanitized.message}`;
  const status = (like as { statusCode?: unknown } | null)?.statusCode;
  const url = (like as { url?: unknown } | null)?.url;
  Object.assign(sanitized, {
    ...(typeof status === 'number' ? { statusCode: status } : {}),
    ...(typeof url === 'string' ? { url: redact(url, secrets) } : {}),
  });
  return sanitized;
}

function isAiSdkError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    Object.getOwnPropertySymbols(error).some((s) => s.description === 'vercel.ai.error')
  );
}

function truncate(text: string, max = 1_000): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
