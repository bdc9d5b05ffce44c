import { request as httpRequest } from 'node:http';
import { cleanUp } from '../support/clean-up';
import { createTestApp, TEST_KEY, type TestApp } from '../support/create-test-app';

interface Answer {
  status: number;
  type: string;
  body: Record<string, unknown>;
  ms: number;
}

/** A raw HTTP/1.1 request (fetch cannot set `Host`), timed from the first byte sent. */
function raw(
  url: string,
  path: string,
  options: { method?: string; host?: string; key?: string; body?: string | Buffer } = {},
): Promise<Answer> {
  const { port } = new URL(url);
  const headers: Record<string, string> = { Host: options.host ?? `127.0.0.1:${port}` };
  if (options.key) headers['X-Session-API-Key'] = options.key;
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(options.body));
  }
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type'] ?? ''),
            body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
            ms: performance.now() - started,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('open access serves loopback Host names only (DNS rebinding)', () => {
  let open: TestApp;
  let keyed: TestApp;

  beforeAll(async () => {
    open = await createTestApp({ OH_SESSION_API_KEYS_0: '' });
    keyed = await createTestApp();
  });
  afterAll(() =>
    cleanUp(
      () => open?.close(),
      () => keyed?.close(),
    ),
  );

  it.each(['127.0.0.1:PORT', 'localhost:PORT', 'localhost', '[::1]:PORT', 'app.localhost:PORT'])(
    'serves Host %s',
    async (host) => {
      const answer = await raw(open.url, '/api/profiles', {
        host: host.replace('PORT', new URL(open.url).port),
      });
      expect(answer.status).toBe(200);
    },
  );

  it('refuses a foreign Host in the problem shape, and in the OpenAI shape on /v1', async () => {
    const port = new URL(open.url).port;
    const rebound = `attacker.example:${port}`;
    const problem = await raw(open.url, '/api/profiles', { host: rebound });
    expect(problem.status).toBe(403);
    expect(problem.type).toContain('application/problem+json');
    expect(problem.body).toMatchObject({
      status: 403,
      code: 'request.host_not_allowed',
      detail: expect.stringContaining(`Host "${rebound}" is not served`),
    });
    const openai = await raw(open.url, '/v1/chat/completions', {
      method: 'POST',
      host: rebound,
      body: JSON.stringify({ model: 'openhands_x', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(openai.status).toBe(403);
    expect(openai.body).toEqual({
      error: {
        message: expect.stringContaining('OH_SESSION_API_KEYS_0'),
        type: 'permission_error',
        param: null,
        code: 'host_not_allowed',
      },
    });
    for (const host of ['127.0.0.1.attacker.example', 'localhost.attacker.example', '10.0.0.1']) {
      expect((await raw(open.url, '/alive', { host })).status).toBe(403);
    }
  });

  it('serves any Host once a session key protects the routes', async () => {
    const answer = await raw(keyed.url, '/api/profiles', {
      host: 'gateway.example.com',
      key: TEST_KEY,
    });
    expect(answer.status).toBe(200);
  });
});

describe('JSON bodies over the key and depth budget are refused before validation', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => cleanUp(() => t?.close()));

  /** `{"k0":0,"k1":0,…}` with `n` keys, built as a string (no giant object in the test either). */
  const wideObject = (n: number) =>
    `{${Array.from({ length: n }, (_, i) => `"k${i}":0`).join(',')}}`;

  it('answers a 400,000-key chat body with 413 in milliseconds, and /alive stays responsive', async () => {
    const body = `{"model":"openhands_x","messages":[{"role":"user","content":"hi"}],"metadata":${wideObject(400_000)}}`;
    expect(body.length).toBeGreaterThan(4_000_000);
    const pings: number[] = [];
    let sending = true;
    const pinger = (async () => {
      while (sending) {
        pings.push((await raw(t.url, '/alive')).ms);
      }
    })();
    const answer = await raw(t.url, '/v1/chat/completions', {
      method: 'POST',
      key: TEST_KEY,
      body,
    });
    sending = false;
    await pinger;
    expect(answer.status).toBe(413);
    expect(answer.body).toEqual({
      error: {
        message: 'The JSON body has more than 20000 keys in all (OH_MAX_JSON_KEYS).',
        type: 'invalid_request_error',
        param: null,
        code: 'too_complex',
      },
    });
    // Uploading ~5 MB over loopback included (~0.3 s idle, more on a busy CI machine); validating
    // such a body took minutes. The check itself is timed in json-budget.spec.ts.
    expect(answer.ms).toBeLessThan(5_000);
    expect(Math.max(...pings)).toBeLessThan(1_000);
  });

  it('refuses deep nesting before parsing, with the 400 validation gives, in the problem shape', async () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const answer = await raw(t.url, '/api/profiles/deep', {
      method: 'POST',
      key: TEST_KEY,
      body: `{"llm":{"model":"openai/gpt-4o-mini","extra_body":${deep}}}`,
    });
    expect(answer.status).toBe(400);
    expect(answer.type).toContain('application/problem+json');
    expect(answer.body).toMatchObject({
      status: 400,
      code: 'request.invalid',
      detail: 'The body is nested more than 100 levels deep.',
    });
  });

  it('lets a body within budget through to validation, whatever its strings contain', async () => {
    // colons and brackets inside strings (escaped quotes too) are not structure
    const content = `"a:b" {[[ \\" ]]} :::: `.repeat(5_000);
    // the most messages a request may have that end with the user's (2048 is the limit)
    const messages = Array.from({ length: 2047 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: i === 0 ? content : 'x',
    }));
    const answer = await raw(t.url, '/v1/chat/completions', {
      method: 'POST',
      key: TEST_KEY,
      body: JSON.stringify({ model: 'openhands_missing', messages }),
    });
    expect(answer.status).toBe(404); // validated and routed: the model does not exist
  });
});
