import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { createTestApp, TEST_KEY, type TestApp } from '../support/create-test-app';

const MINTED = /^req_[0-9a-f]{32}$/;

function expectOpenAiError(body: unknown, type: string, code: string) {
  expect(body).toEqual({
    error: { message: expect.any(String), type, param: null, code },
  });
}

function expectProblem(res: Response, body: unknown, status: number, code: string) {
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(body).toMatchObject({
    type: 'about:blank',
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
    request_id: res.headers.get('x-request-id'),
  });
}

/** A path segment carrying `value`; an empty one stands for `x`. */
const segment = (value: string) => encodeURIComponent(value) || 'x';

/**
 * A request with the path sent exactly as written: fetch (WHATWG URL) would resolve `.`, `..`
 * and even `%2E` segments, so `/v1/models/.` would become `/v1/models/`.
 */
function rawRequest(
  url: string,
  path: string,
  init: { method?: string; body?: string } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}/`,
      {
        path,
        method: init.method ?? 'GET',
        headers: { 'X-Session-API-Key': TEST_KEY, 'Content-Type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** What a stack trace or a source path in a body would look like. */
const STACK = /\bat [\w.<>]+ \(|node_modules|\/src\/|\.ts:\d+/;

describe('errors', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const post = (path: string, body: string, type = 'application/json') =>
    t.request(path, { method: 'POST', body, headers: { 'Content-Type': type } });

  describe('malformed JSON', () => {
    it('is a 400 problem on /api', async () => {
      const res = await post('/api/profiles/p', '{"llm": {"model": ');
      const body = await res.json();
      expect(res.status).toBe(400);
      expectProblem(res, body, 400, 'request.malformed_json');
      expect(body.detail).toMatch(/^Malformed JSON body/);
      expect(JSON.stringify(body)).not.toMatch(STACK);
    });

    it('is a 400 OpenAI error on /v1', async () => {
      const res = await post('/v1/chat/completions', '{"model": "x", "messages": [}');
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = await res.json();
      expectOpenAiError(body, 'invalid_request_error', 'malformed_json');
      expect(JSON.stringify(body)).not.toMatch(STACK);
    });

    it('never quotes the body back, where a secret may sit next to the fault', async () => {
      for (const path of ['/api/profiles/p', '/v1/chat/completions']) {
        const res = await post(path, '{"llm": {"api_key": sk-secret-0123456789}}');
        expect(res.status).toBe(400);
        const text = await res.text();
        expect(text).toMatch(/Unexpected token/);
        expect(text).not.toMatch(/sk-sec/);
      }
    });

    it('refuses a JSON scalar as the body', async () => {
      for (const raw of ['"just a string"', '42', 'null', 'true']) {
        const res = await post('/api/profiles/p', raw);
        expect({ raw, status: res.status }).toEqual({ raw, status: 400 });
      }
    });
  });

  describe('validation', () => {
    it('is a 400 problem with per-field errors on /api', async () => {
      const res = await t.request('/api/profiles/p', {
        method: 'POST',
        json: { llm: { temperature: 'hot', top_p: 7 } },
      });
      const body = await res.json();
      expect(res.status).toBe(400);
      expectProblem(res, body, 400, 'request.invalid');
      expect(body.errors).toEqual(
        expect.arrayContaining([
          { field: 'llm.model', message: expect.any(String) },
          { field: 'llm.temperature', message: expect.any(String) },
          { field: 'llm.top_p', message: expect.any(String) },
        ]),
      );
    });

    it('is a 400 (not 422) OpenAI error naming the parameter on /v1', async () => {
      const res = await t.request('/v1/chat/completions', { method: 'POST', json: {} });
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid' });
      expect(typeof body.error.param).toBe('string');
    });

    it('is a 413 in the family shape for an oversized body', async () => {
      const huge = JSON.stringify({ llm: { model: 'gpt-4o', pad: 'x'.repeat(11 * 1024 * 1024) } });
      const api = await post('/api/profiles/p', huge);
      expect(api.status).toBe(413);
      expectProblem(api, await api.json(), 413, 'request.too_large');
      const v1 = await post('/v1/chat/completions', huge);
      expect(v1.status).toBe(413);
      expect((await v1.json()).error.code).toBe('too_large');
    });
  });

  describe('unknown routes', () => {
    it('answer 404 in the OpenAI shape under /v1', async () => {
      for (const [method, path] of [
        ['GET', '/v1/nope'],
        ['POST', '/v1/models'],
        ['GET', '/v1'],
      ]) {
        const res = await t.request(path, { method });
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
        expectOpenAiError(await res.json(), 'not_found_error', 'not_found');
      }
    });

    it('answer 404 problem+json elsewhere', async () => {
      for (const [method, path] of [
        ['GET', '/api/nope'],
        ['PUT', '/api/profiles/p'],
        ['GET', '/'],
        ['GET', '/v2/models'],
      ]) {
        const res = await t.request(path, { method });
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
        expectProblem(res, await res.json(), 404, 'route.not_found');
      }
    });

    it('answers a malformed percent-encoding with 400, not 500', async () => {
      const res = await t.request('/api/profiles/%E0%A4%A');
      expect(res.status).toBe(400);
      const body = await res.json();
      expectProblem(res, body, 400, 'request.invalid');
      expect(body.detail).toMatch(/decode/i);
    });
  });

  describe('X-Request-ID', () => {
    const paths: [string, string, number][] = [
      ['GET', '/health', 200],
      ['GET', '/v1/models', 200],
      ['GET', '/docs', 200],
      ['GET', '/openapi.json', 200],
      ['GET', '/api/profiles/ghost', 404],
      ['GET', '/v1/nope', 404],
      ['POST', '/api/profiles/-bad', 400],
    ];

    it.each(paths)('echoes a sane id on %s %s (%i)', async (method, path, status) => {
      const id = 'client-ID_1.2:3/4+5=6@x';
      const res = await t.request(path, {
        method,
        headers: { 'X-Request-ID': id },
        json: method === 'POST' ? {} : undefined,
      });
      expect(res.status).toBe(status);
      expect(res.headers.get('x-request-id')).toBe(id);
    });

    it('echoes it on 401s and on malformed bodies too', async () => {
      const unauthorized = await t.request('/api/profiles', {
        key: 'wrong',
        headers: { 'X-Request-ID': 'req-401' },
      });
      expect(unauthorized.status).toBe(401);
      expect(unauthorized.headers.get('x-request-id')).toBe('req-401');
      expect((await unauthorized.json()).request_id).toBe('req-401');

      const malformed = await t.request('/api/profiles/p', {
        method: 'POST',
        body: '{',
        headers: { 'Content-Type': 'application/json', 'X-Request-ID': 'req-400' },
      });
      expect(malformed.headers.get('x-request-id')).toBe('req-400');
      expect((await malformed.json()).request_id).toBe('req-400');
    });

    it('mints one when absent, different for every request', async () => {
      const ids = await Promise.all(
        ['/health', '/v1/models', '/api/nope'].map(async (path) => {
          const res = await t.request(path);
          return res.headers.get('x-request-id');
        }),
      );
      for (const id of ids) expect(id).toMatch(MINTED);
      expect(new Set(ids).size).toBe(3);
    });

    it.each([
      ['with spaces', 'two words'],
      ['too long', 'x'.repeat(129)],
      ['with quotes and angle brackets', '"><script>'],
      ['with a semicolon', 'a;b'],
    ])('replaces an insane id (%s) with a minted one', async (_what, id) => {
      const res = await t.request('/api/nope', { headers: { 'X-Request-ID': id } });
      const minted = res.headers.get('x-request-id');
      expect(minted).toMatch(MINTED);
      expect((await res.json()).request_id).toBe(minted);
    });
  });

  describe('bad input of any shape', () => {
    it('never gets a 5xx from the profile routes', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ maxLength: 80 }),
          fc.jsonValue({ maxDepth: 4 }),
          async (name, body) => {
            const path = `/api/profiles/${segment(name)}`;
            const res = await rawRequest(t.url, path, {
              method: 'POST',
              body: JSON.stringify(body),
            });
            const text = res.text;
            expect({ name, body, status: res.status < 500 }).toEqual({ name, body, status: true });
            expect(text).not.toMatch(STACK);
          },
        ),
        {
          numRuns: 150,
          examples: [
            ['.', {}],
            ['..', null],
            ['%', []],
          ],
        },
      );
    });

    it('never gets a 5xx for an odd model id', async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 80 }), async (id) => {
          const res = await rawRequest(t.url, `/v1/models/${segment(id)}`);
          expect({ id, status: res.status }).toEqual({ id, status: 404 });
        }),
        { numRuns: 100, examples: [['.'], ['..'], ['%'], ['openhands_.']] },
      );
    });

    it('survives prototype-pollution payloads', async () => {
      const res = await post(
        '/api/profiles/proto',
        '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "llm": {"model": "gpt-4o", "__proto__": {"api_key": "x"}}}',
      );
      expect(res.status).toBe(201);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const stored = await (await t.request('/api/profiles/proto')).json();
      expect(stored.config).toEqual({ model: 'gpt-4o', api_key: null });
      expect(stored.api_key_set).toBe(false);
    });
  });
});
