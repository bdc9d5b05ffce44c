import { APICallError, LoadAPIKeyError } from 'ai';
import { openAiErrorBody } from '../common/errors/error-body';
import {
  classifyLlmError,
  isContextWindowError,
  LlmCallError,
  redact,
  retryAfterOf,
} from './llm-errors';

const ctx = { model: 'openai/gpt-4o', secrets: ['sk-live-0123456789abcdef'] };

const apiError = (
  statusCode: number | undefined,
  message: string,
  headers: Record<string, string> = {},
  cause?: unknown,
) =>
  new APICallError({
    message,
    url: 'http://127.0.0.1/v1/chat/completions',
    requestBodyValues: {},
    statusCode,
    responseHeaders: headers,
    responseBody: JSON.stringify({ error: { message } }),
    cause,
    isRetryable: statusCode === undefined || statusCode >= 429,
  });

describe('classifyLlmError', () => {
  it.each([
    [400, "This model's maximum context length is 8192 tokens", 'context_window', false],
    [400, 'prompt is too long: 210000 tokens > 200000 maximum', 'context_window', false],
    [413, 'Request entity too large', 'context_window', false],
    [401, 'Incorrect API key provided', 'authentication', false],
    [403, 'Forbidden', 'authentication', false],
    [404, 'The model `gpt-9` does not exist', 'not_found', false],
    [400, 'Your request was rejected by our content management policy', 'content_policy', false],
    [400, "Invalid value for 'temperature'", 'bad_request', false],
    [422, 'Unprocessable', 'bad_request', false],
    [429, 'Rate limit reached for requests', 'rate_limit', true],
    [
      429,
      'You exceeded your current quota, please check your plan and billing',
      'rate_limit',
      false,
    ],
    [408, 'Request timeout', 'timeout', true],
    [409, 'Conflict', 'server', true],
    [500, 'Internal error', 'server', true],
    [503, 'Service unavailable', 'server', true],
    [529, 'Overloaded', 'server', true],
  ] as const)('HTTP %i "%s" → %s (retryable: %s)', (status, message, category, retryable) => {
    const error = classifyLlmError(apiError(status, message), ctx);
    expect(error).toBeInstanceOf(LlmCallError);
    expect(error).toMatchObject({ category, retryable, providerStatus: status });
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).toContain(message);
  });

  it('reports a failure after retries as a 502 upstream error, a timeout as a 504', () => {
    const server = classifyLlmError(apiError(500, 'boom'), ctx).withAttempts(4);
    expect(server.status).toBe(502);
    expect(server.kind).toBe('upstream');
    expect(server.message).toMatch(/after 4 attempts \(HTTP 500, server error\): boom/);
    expect(openAiErrorBody(server).error).toMatchObject({
      type: 'upstream_error',
      code: 'upstream_error',
    });

    const timeout = classifyLlmError(apiError(408, 'slow'), ctx);
    expect(timeout.status).toBe(504);
    expect(timeout.code).toBe('models.upstream_timeout');
  });

  it('makes context-too-long recognisable to the agent', () => {
    const error = classifyLlmError(apiError(400, 'context_length_exceeded'), ctx);
    expect(isContextWindowError(error)).toBe(true);
    expect(error.code).toBe('models.context_length_exceeded');
    expect(isContextWindowError(classifyLlmError(apiError(500, 'x'), ctx))).toBe(false);
    expect(isContextWindowError(new Error('context length'))).toBe(false);
  });

  it('treats no answer and a broken stream as retryable connection failures', () => {
    const refused = classifyLlmError(
      apiError(undefined, 'Cannot connect to API: connect ECONNREFUSED 127.0.0.1:9'),
      ctx,
    );
    expect(refused).toMatchObject({ category: 'connection', retryable: true });
    expect(refused.message).toContain('ECONNREFUSED');

    const broken = classifyLlmError(
      apiError(200, 'Failed to process successful response', {}, new TypeError('terminated')),
      ctx,
    );
    expect(broken).toMatchObject({ category: 'connection', retryable: true });
    expect(broken.message).toContain('broke off: terminated');

    const socket = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    expect(classifyLlmError(new TypeError('fetch failed', { cause: socket }), ctx)).toMatchObject({
      category: 'connection',
      retryable: true,
    });
  });

  it('classifies timeouts, a missing key and unknown errors', () => {
    const timeout = new DOMException('The operation timed out', 'TimeoutError');
    expect(classifyLlmError(timeout, ctx)).toMatchObject({ category: 'timeout', retryable: true });
    expect(
      classifyLlmError(new LoadAPIKeyError({ message: 'OpenAI API key is missing' }), ctx),
    ).toMatchObject({ category: 'authentication', retryable: false });
    expect(classifyLlmError(new Error('weird'), ctx)).toMatchObject({
      category: 'server',
      retryable: false,
    });
  });

  it('carries the wait the provider asked for', () => {
    expect(
      classifyLlmError(apiError(429, 'slow down', { 'Retry-After': '3' }), ctx).retryAfterMs,
    ).toBe(3000);
    expect(
      classifyLlmError(apiError(429, 'slow down', { 'retry-after-ms': '250' }), ctx).retryAfterMs,
    ).toBe(250);
  });

  it('never lets the api key or a bearer token through', () => {
    const error = classifyLlmError(
      apiError(
        401,
        'Incorrect API key provided: sk-live-0123456789abcdef. Header was Authorization: Bearer abc.def-123; other key sk-proj-ZZZZZZZZZZZZ',
      ),
      ctx,
    );
    expect(error.message).not.toContain('sk-live-0123456789abcdef');
    expect(error.message).not.toContain('abc.def-123');
    expect(error.message).not.toContain('sk-proj-ZZZZZZZZZZZZ');
    expect(error.message).toContain('[REDACTED]');
    expect(error.providerMessage).not.toContain('0123456789abcdef');
  });
});

describe('redact', () => {
  it('removes the given secrets and key-shaped strings, and leaves the rest alone', () => {
    expect(redact('key is my-secret-value!', ['my-secret-value'])).toBe('key is [REDACTED]!');
    expect(redact('Bearer eyJhbGciOi.x-y_z')).toBe('Bearer [REDACTED]');
    expect(redact('sk-ant-api03-abcdefgh rest')).toBe('[REDACTED] rest');
    expect(redact('url ?key=AIzaSyA1234567890abcdefghijklmnopqrstu')).not.toContain('AIza');
    expect(redact('{"api_key": "hunter2hunter2"}')).toBe('{"api_key": "[REDACTED]"}');
    expect(redact('The model `gpt-4o` does not exist')).toBe('The model `gpt-4o` does not exist');
  });
});

describe('retryAfterOf', () => {
  it('reads retry-after-ms, seconds and HTTP dates, case-insensitively', () => {
    expect(retryAfterOf({ 'retry-after-ms': '120.5' })).toBe(120.5);
    expect(retryAfterOf({ 'Retry-After': '2' })).toBe(2000);
    const date = new Date(Date.now() + 5_000).toUTCString();
    expect(retryAfterOf({ 'retry-after': date })).toBeGreaterThan(3_000);
    expect(retryAfterOf({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfterOf(undefined)).toBeUndefined();
  });
});
