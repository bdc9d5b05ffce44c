import { gzipSync } from 'node:zlib';
import { getStorageToken, type ThrottlerStorageService } from '@nestjs/throttler';
import OpenAI from 'openai';
import { InvalidConfigError, parseAppEnv } from '../../src/config/load-env';
import { createTestApp, TEST_KEY, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';

const OTHER_KEY = 'second-session-key-9876543210';

const profile = (llm: FakeLlmServer) => ({
  llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-limits-test-key' },
});

/** `n` chat messages, the last one a user message. */
const messages = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    role: i % 2 === n % 2 ? 'assistant' : 'user',
    content: `message ${i}`,
  }));

/** `[[[ … 1 … ]]]`, `depth` levels of arrays, as JSON (JSON.stringify itself overflows on it). */
const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

function expectProblem(res: Response, body: unknown, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(body).toMatchObject({ status, code, detail: expect.any(String) });
}

function expectOpenAiError(
  res: Response,
  body: unknown,
  status: number,
  type: string,
  code: string,
  param: string | null = null,
) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(body).toEqual({ error: { message: expect.any(String), type, param, code } });
}

describe('limits: configuration', () => {
  it('defaults to a 10 MiB body, 2048 messages and no rate limit', () => {
    expect(parseAppEnv({})).toMatchObject({
      OH_MAX_BODY_SIZE: 10 * 1024 * 1024,
      OH_MAX_MESSAGES: 2048,
      OH_RATE_LIMIT_PER_MINUTE: 0,
    });
  });

  it('reads body sizes in bytes or with a unit', () => {
    const size = (value: string) => parseAppEnv({ OH_MAX_BODY_SIZE: value }).OH_MAX_BODY_SIZE;
    expect(size('65536')).toBe(65_536);
    expect(size('512kb')).toBe(512 * 1024);
    expect(size('10MB')).toBe(10 * 1024 * 1024);
    expect(size('1.5 mb')).toBe(1.5 * 1024 * 1024);
    expect(size('1gb')).toBe(1024 ** 3);
  });

  it('refuses bad limits, all of them in one error', () => {
    let error: unknown;
    try {
      parseAppEnv({
        OH_MAX_BODY_SIZE: 'huge',
        OH_MAX_MESSAGES: '0',
        OH_RATE_LIMIT_PER_MINUTE: '-1',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    const problems = (error as InvalidConfigError).problems;
    expect(problems).toEqual([
      expect.stringMatching(/^OH_MAX_BODY_SIZE="huge": .*10mb/),
      expect.stringMatching(/^OH_MAX_MESSAGES=0: /),
      expect.stringMatching(/^OH_RATE_LIMIT_PER_MINUTE=-1: /),
    ]);
    for (const value of ['512', '2gb', '-1kb', '10 parsecs']) {
      expect(() => parseAppEnv({ OH_MAX_BODY_SIZE: value })).toThrow(/OH_MAX_BODY_SIZE/);
    }
  });
});

describe('limits: body size and shape', () => {
  let t: TestApp;
  let llm: FakeLlmServer;
  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    t = await createTestApp({ OH_MAX_BODY_SIZE: '64kb', OH_MAX_MESSAGES: '4' });
    expect(
      (await t.request('/api/profiles/p', { method: 'POST', json: profile(llm) })).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await t.close();
    await llm.close();
  });
  beforeEach(() => {
    llm.reset();
    llm.setHandler(() => fakeReply.text('ok'));
  });

  const post = (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
    t.request(path, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/json', ...headers },
    });
  const padded = (bytes: number) =>
    JSON.stringify({ llm: { model: 'gpt-4o', notes: 'x'.repeat(bytes) } });

  it('takes a body just under OH_MAX_BODY_SIZE and answers 413 just over it, in each family', async () => {
    expect((await post('/api/profiles/under', padded(60 * 1024))).status).toBe(201);

    const api = await post('/api/profiles/over', padded(65 * 1024));
    const problem = await api.json();
    expectProblem(api, problem, 413, 'request.too_large');
    expect(problem.detail).toContain('65536 bytes');

    const v1 = await post('/v1/chat/completions', padded(65 * 1024));
    expectOpenAiError(v1, await v1.json(), 413, 'invalid_request_error', 'too_large');
    expect((await t.request('/api/profiles/over')).status).toBe(404);
  });

  it('counts bytes as they arrive when no Content-Length is sent (chunked)', async () => {
    const chunk = new TextEncoder().encode(
      `{"llm":{"model":"gpt-4o","notes":"${'y'.repeat(16 * 1024)}`,
    );
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await t.request('/api/profiles/chunked', {
      method: 'POST',
      body: stream,
      headers: { 'Content-Type': 'application/json' },
      duplex: 'half',
    } as RequestInit);
    expectProblem(res, await res.json(), 413, 'request.too_large');
    expect((await t.request('/api/profiles/chunked')).status).toBe(404);
  });

  it('measures a compressed body after inflating it (no zip bombs)', async () => {
    const small = gzipSync(padded(1024));
    const ok = await post('/api/profiles/gzipped', small, { 'Content-Encoding': 'gzip' });
    expect(ok.status).toBe(201);

    const bomb = gzipSync(padded(1024 * 1024)); // ~1 KiB on the wire, 1 MiB inflated
    expect(bomb.length).toBeLessThan(8 * 1024);
    const res = await post('/api/profiles/bomb', bomb, { 'Content-Encoding': 'gzip' });
    expectProblem(res, await res.json(), 413, 'request.too_large');
  });

  it('refuses more than OH_MAX_MESSAGES messages with a 400 that says so, before anything runs', async () => {
    const res = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'openhands_p', messages: messages(5) }),
    );
    const body = await res.json();
    expectOpenAiError(res, body, 400, 'invalid_request_error', 'invalid', 'messages');
    expect(body.error.message).toBe(
      'messages has 5 items; this server accepts at most 4 (OH_MAX_MESSAGES).',
    );
    expect(llm.requests).toHaveLength(0);

    const atLimit = await t.openai.chat.completions.create({
      model: 'openhands_p',
      messages: messages(4) as OpenAI.ChatCompletionMessageParam[],
    });
    expect(atLimit.choices[0].message.content).toBe('ok');
  });

  it('checks the count before validating items, so an oversized array costs one length check', async () => {
    // Every item is invalid; a cap checked after validation would list their errors instead.
    const res = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'openhands_p', messages: Array.from({ length: 5000 }, () => 7) }),
    );
    const body = await res.json();
    expect(res.status).toBe(400);
    expect(body.error.message).toMatch(/^messages has 5000 items; .* at most 4 /);
  });

  it('answers a deeply nested body with 400, not a stack overflow (500)', async () => {
    const chat = JSON.stringify({ model: 'openhands_p', messages: messages(1) }).slice(0, -1);
    for (const [path, body] of [
      ['/v1/chat/completions', `${chat},"tools":${nested(5000)}}`],
      ['/api/profiles/deep', `{"llm":{"model":"gpt-4o","extra":${nested(5000)}}}`],
      ['/api/profiles/deep', `{"llm":${nested(5000)}}`],
    ]) {
      const res = await post(path, body);
      const text = await res.text();
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(text).toContain('nested more than 100 levels');
    }
    // Realistic nesting (a tool schema some levels deep) is fine
    // (a JSON Schema object: tools are offered to the model now, so they must be valid)
    const schema = (depth: number): string =>
      depth === 0
        ? '{"type":"string"}'
        : `{"type":"object","properties":{"a":${schema(depth - 1)}}}`;
    const tools = `[{"type":"function","function":{"name":"f","parameters":${schema(40)}}}]`;
    const ok = await post('/v1/chat/completions', `${chat},"tools":${tools}}`);
    expect(ok.status).toBe(200);
    expect(llm.requests).toHaveLength(1);
    expect((await t.request('/api/profiles/deep')).status).toBe(404);
  });
});

describe('limits: per-key rate limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ OH_RATE_LIMIT_PER_MINUTE: '3', OH_SESSION_API_KEYS_1: OTHER_KEY });
  });
  afterAll(() => t.close());

  it('counts every route against one budget per key, then answers 429 in the family shape', async () => {
    const seen: [string | null, string | null][] = [];
    for (const path of ['/v1/models', '/api/profiles', '/api/conversations/count']) {
      const res = await t.request(path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect(res.headers.get('x-ratelimit-limit')).toBe('3');
      seen.push([res.headers.get('x-ratelimit-remaining'), res.headers.get('x-ratelimit-reset')]);
    }
    expect(seen.map(([remaining]) => remaining)).toEqual(['2', '1', '0']);
    for (const [, reset] of seen) expect(Number(reset)).toBeGreaterThan(0);

    const v1 = await t.request('/v1/models');
    const body = await v1.json();
    expectOpenAiError(v1, body, 429, 'rate_limit_error', 'rate_limit_exceeded');
    expect(body.error.message).toMatch(/Rate limit of 3 requests per minute/);
    const retryAfter = Number(v1.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(v1.headers.get('x-ratelimit-limit')).toBe('3');
    expect(v1.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(v1.headers.get('x-ratelimit-reset')).toBe(String(retryAfter));
    expect(v1.headers.get('x-request-id')).toBeTruthy();

    const api = await t.request('/api/profiles');
    expectProblem(api, await api.json(), 429, 'request.rate_limit_exceeded');
    expect(api.headers.get('retry-after')).toBeTruthy();

    // The official client surfaces it as a RateLimitError
    await expect(t.openai.models.list()).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('gives another key its own budget (by key, not by address), whichever header carries it', async () => {
    const bearer = await t.request('/v1/models', {
      key: null,
      headers: { Authorization: `Bearer ${OTHER_KEY}` },
    });
    expect(bearer.status).toBe(200);
    expect(bearer.headers.get('x-ratelimit-remaining')).toBe('2');
    // the same key in the other header shares that budget
    const header = await t.request('/v1/models', { key: OTHER_KEY });
    expect(header.headers.get('x-ratelimit-remaining')).toBe('1');
  });

  it('answers a wrong key 401 before counting anything', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await t.request('/v1/models', { key: `wrong-${i}` })).status).toBe(401);
    }
    const res = await t.request('/v1/models', { key: OTHER_KEY });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('never limits health, readiness and the docs', async () => {
    for (let i = 0; i < 5; i++) {
      for (const path of [
        '/alive',
        '/health',
        '/ready',
        '/server_info',
        '/docs',
        '/openapi.json',
      ]) {
        const res = await t.request(path);
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
        expect(res.headers.get('x-ratelimit-limit')).toBeNull();
      }
    }
  });

  it('tracks keys by their SHA-256 digest, never the key itself', () => {
    const storage = t.app.get<ThrottlerStorageService>(getStorageToken());
    const keys = [...storage.storage.keys()];
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      expect(key).toMatch(/^default:key:[0-9a-f]{64}$/);
      expect(key).not.toContain(TEST_KEY);
      expect(key).not.toContain(OTHER_KEY);
    }
  });
});

describe('limits: rate limit with open access', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ OH_SESSION_API_KEYS_0: '', OH_RATE_LIMIT_PER_MINUTE: '2' });
  });
  afterAll(() => t.close());

  it('counts per client address when no key is configured', async () => {
    expect((await t.request('/v1/models', { key: null })).status).toBe(200);
    expect((await t.request('/v1/models', { key: 'anything' })).status).toBe(200);
    const res = await t.request('/api/profiles', { key: null });
    expectProblem(res, await res.json(), 429, 'request.rate_limit_exceeded');
    const storage = t.app.get<ThrottlerStorageService>(getStorageToken());
    expect([...storage.storage.keys()]).toEqual(['default:ip:127.0.0.1']);
  });
});

describe('limits: defaults', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('has no rate limit unless OH_RATE_LIMIT_PER_MINUTE is set', async () => {
    const answers = await Promise.all(Array.from({ length: 200 }, () => t.request('/v1/models')));
    expect(answers.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    expect(answers[0].headers.get('x-ratelimit-limit')).toBeNull();
    await Promise.all(answers.map((r) => r.text()));
  });

  it('takes 2048 messages and refuses 2049', async () => {
    const res = await t.request('/v1/chat/completions', {
      method: 'POST',
      json: { model: 'openhands_none', messages: messages(2049) },
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/at most 2048 \(OH_MAX_MESSAGES\)/);
    const allowed = await t.request('/v1/chat/completions', {
      method: 'POST',
      json: { model: 'openhands_none', messages: messages(2048) },
    });
    expect(allowed.status).toBe(404); // validated, then the unknown model: the count was accepted
    expect((await allowed.json()).error.code).toBe('model_not_found');
  });
});
