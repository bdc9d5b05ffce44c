import { request as httpRequest } from 'node:http';
import OpenAI from 'openai';
import { createTestApp, TEST_KEY, type TestApp } from '../support/create-test-app';
import { registeredRoutes, routeKey, samplePath } from '../support/routes';

/** Everything that may answer without a session key (API.md section 2). */
const PUBLIC_ROUTES = [
  'GET /alive',
  'GET /health',
  'GET /ready',
  'GET /server_info',
  'GET /docs',
  'GET /docs/',
  'GET /docs/index.html',
  'GET /docs/LICENSE',
  'GET /docs/swagger-ui-init.js',
  'GET /docs/docs/swagger-ui-init.js',
  'GET /openapi.json',
  'GET /openapi.yaml',
];

const KEYS = {
  indexed0: TEST_KEY,
  indexed1: 'rotated-session-key-1',
  jsonA: 'json-session-key-a',
  jsonB: 'json-session-key-b',
  single: 'single-session-key',
};
const ORIGIN = 'https://chat.example.com';

/** The 401 body of the route family: OpenAI envelope on /v1, problem+json elsewhere. */
async function expectUnauthorized(res: Response, path: string, code = 'invalid_api_key') {
  const body = await res.json();
  expect({ path, status: res.status }).toEqual({ path, status: 401 });
  if (path.startsWith('/v1')) {
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(body).toEqual({
      error: { message: expect.any(String), type: 'authentication_error', param: null, code },
    });
  } else {
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(body).toEqual({
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      detail: expect.any(String),
      instance: path.split('?')[0],
      code: `auth.${code}`,
      request_id: res.headers.get('x-request-id'),
    });
  }
  return body as unknown;
}

/** A raw HTTP/1.1 request, so header names go out exactly as written. */
function rawGet(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('authentication', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      OH_SESSION_API_KEYS_1: KEYS.indexed1,
      OH_SESSION_API_KEYS: JSON.stringify([KEYS.jsonA, KEYS.jsonB]),
      SESSION_API_KEY: KEYS.single,
      OH_ALLOW_CORS_ORIGINS_0: ORIGIN,
    });
  });
  afterAll(() => t.close());

  describe('every registered route', () => {
    it('sees the controllers and the docs (the walk itself works)', () => {
      const routes = registeredRoutes(t.app).map(routeKey);
      expect(routes).toEqual(
        expect.arrayContaining([
          ...PUBLIC_ROUTES,
          'GET /v1/models',
          'GET /v1/models/:id',
          'GET /api/profiles',
          'GET /api/profiles/:name',
          'POST /api/profiles/:name',
          'DELETE /api/profiles/:name',
        ]),
      );
    });

    it('answers without a key only on the public allow-list', async () => {
      const routes = registeredRoutes(t.app);
      const outcomes = await Promise.all(
        routes.map(async (route) => {
          const path = samplePath(route.path);
          const res = await t.request(path, { method: route.method, key: null });
          return { route: routeKey(route), path, res };
        }),
      );
      for (const { route, path, res } of outcomes) {
        if (PUBLIC_ROUTES.includes(route)) {
          // (Swagger's /docs/LICENSE answers 404: the file is not shipped; it still needs no key)
          expect({ route, unauthorized: res.status === 401 }).toEqual({
            route,
            unauthorized: false,
          });
        } else {
          await expectUnauthorized(res, path);
        }
      }
      expect(outcomes.filter((o) => !PUBLIC_ROUTES.includes(o.route)).length).toBeGreaterThan(5);
    });

    it('refuses a wrong key on every non-public route, HEAD included', async () => {
      const routes = registeredRoutes(t.app).filter((r) => !PUBLIC_ROUTES.includes(routeKey(r)));
      for (const route of routes) {
        const path = samplePath(route.path);
        await expectUnauthorized(
          await t.request(path, { method: route.method, key: 'not-a-valid-key' }),
          path,
        );
        if (route.method === 'GET') {
          const head = await t.request(path, { method: 'HEAD', key: null });
          expect({ path, head: head.status }).toEqual({ path, head: 401 });
        }
      }
    });

    it('answers an unknown path with 404 in its family shape, not with data', async () => {
      const v1 = await t.request('/v1/nothing-here', { key: null });
      expect(v1.status).toBe(404);
      expect((await v1.json()).error.type).toBe('not_found_error');
      const api = await t.request('/api/nothing-here', { key: null });
      expect(api.status).toBe(404);
      expect((await api.json()).code).toBe('route.not_found');
    });
  });

  describe('accepted keys', () => {
    it.each(Object.entries(KEYS))('accepts the %s key in either header', async (_source, key) => {
      for (const path of ['/v1/models', '/api/profiles']) {
        const viaHeader = await t.request(path, { key });
        expect({ path, status: viaHeader.status }).toEqual({ path, status: 200 });
        const viaBearer = await t.request(path, {
          key: null,
          headers: { Authorization: `Bearer ${key}` },
        });
        expect({ path, status: viaBearer.status }).toEqual({ path, status: 200 });
      }
    });

    it('reads header names case-insensitively', async () => {
      const spellings: Record<string, string>[] = [
        { 'X-SESSION-API-KEY': TEST_KEY },
        { 'x-session-api-key': TEST_KEY },
        { AUTHORIZATION: `Bearer ${TEST_KEY}` },
        { authorization: `bearer ${TEST_KEY}` },
      ];
      for (const headers of spellings) {
        expect(await rawGet(`${t.url}/v1/models`, headers)).toBe(200);
      }
    });

    it('lets the official OpenAI client in with the key as its api key', async () => {
      const client = new OpenAI({ apiKey: KEYS.jsonB, baseURL: `${t.url}/v1`, maxRetries: 0 });
      await expect(client.models.list()).resolves.toMatchObject({ data: [] });
    });
  });

  describe('refused keys', () => {
    const wrong = [
      ['a wrong key', 'wrong-key-1234567890'],
      ['the key in another case', TEST_KEY.toUpperCase()],
      ['a prefix of the key', TEST_KEY.slice(0, -1)],
      ['the key plus a character', `${TEST_KEY}x`],
    ];

    it.each(wrong)('refuses %s in X-Session-API-Key, without echoing it', async (_what, key) => {
      const body = await expectUnauthorized(
        await t.request('/api/profiles', { key }),
        '/api/profiles',
      );
      expect(JSON.stringify(body)).not.toContain(key);
    });

    it.each(wrong)('refuses %s as a Bearer token, without echoing it', async (_what, key) => {
      const res = await t.request('/v1/models', {
        key: null,
        headers: { Authorization: `Bearer ${key}` },
      });
      const body = await expectUnauthorized(res, '/v1/models');
      expect(JSON.stringify(body)).not.toContain(key);
    });

    it('refuses other Authorization schemes and empty tokens', async () => {
      for (const authorization of [
        `Basic ${Buffer.from(`user:${TEST_KEY}`).toString('base64')}`,
        `Token ${TEST_KEY}`,
        'Bearer',
        'Bearer ',
        TEST_KEY,
      ]) {
        const res = await t.request('/v1/models', {
          key: null,
          headers: { Authorization: authorization },
        });
        await expectUnauthorized(res, '/v1/models');
      }
      await expectUnauthorized(await t.request('/api/profiles', { key: '' }), '/api/profiles');
    });

    it('raises AuthenticationError in the official OpenAI client', async () => {
      const client = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${t.url}/v1`, maxRetries: 0 });
      const error = await client.models.list().catch((err: unknown) => err);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(error).toMatchObject({ status: 401, code: 'invalid_api_key' });
    });
  });

  describe('keys outside headers', () => {
    it('refuses access_token in the query string, even with a valid header', async () => {
      for (const path of [
        `/v1/models?access_token=${TEST_KEY}`,
        `/api/profiles?access_token=${TEST_KEY}`,
      ]) {
        await expectUnauthorized(await t.request(path, { key: null }), path, 'key_outside_headers');
        await expectUnauthorized(await t.request(path), path, 'key_outside_headers');
      }
    });

    it('refuses access_token in a JSON body, even with a valid header', async () => {
      const json = { access_token: TEST_KEY, llm: { model: 'openai/gpt-4o-mini' } };
      const path = '/api/profiles/sneaky';
      await expectUnauthorized(
        await t.request(path, { method: 'POST', json, key: null }),
        path,
        'key_outside_headers',
      );
      await expectUnauthorized(
        await t.request(path, { method: 'POST', json }),
        path,
        'key_outside_headers',
      );
      expect((await t.request(path)).status).toBe(404); // nothing was stored
    });

    it('refuses access_token in a form body', async () => {
      const res = await t.request('/api/profiles/sneaky', {
        method: 'POST',
        key: null,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `access_token=${TEST_KEY}`,
      });
      await expectUnauthorized(res, '/api/profiles/sneaky'); // the form is not a key source
    });
  });

  describe('CORS', () => {
    it('answers a preflight from an allowed origin without a key', async () => {
      const res = await t.request('/v1/models', {
        method: 'OPTIONS',
        key: null,
        headers: {
          Origin: ORIGIN,
          'Access-Control-Request-Method': 'GET',
          'Access-Control-Request-Headers': 'authorization',
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    });

    it('gives no CORS grant to other origins', async () => {
      const res = await t.request('/v1/models', {
        method: 'OPTIONS',
        key: null,
        headers: { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'GET' },
      });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('exposes the request and conversation id headers to the allowed origin', async () => {
      const res = await t.request('/v1/models', { headers: { Origin: ORIGIN } });
      expect(res.status).toBe(200);
      const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase();
      expect(exposed).toContain('x-request-id');
      expect(exposed).toContain('x-openhands-serverconversation-id');
    });
  });
});

describe('authentication with no key configured', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ OH_SESSION_API_KEYS_0: '' });
  });
  afterAll(() => t.close());

  it('gives open access on loopback', async () => {
    expect((await t.request('/v1/models', { key: null })).status).toBe(200);
    expect((await t.request('/api/profiles', { key: null })).status).toBe(200);
    const saved = await t.request('/api/profiles/open', {
      method: 'POST',
      key: null,
      json: { llm: { model: 'gpt-4o-mini' } },
    });
    expect(saved.status).toBe(201);
  });

  it('still refuses access_token outside headers', async () => {
    const path = '/v1/models?access_token=anything';
    await expectUnauthorized(await t.request(path, { key: null }), path, 'key_outside_headers');
  });
});
