import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import OpenAI from 'openai';
import { chromium, type BrowserContext } from 'playwright-core';
import { createTestApp, TEST_KEY, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { CHROMIUM, CHROMIUM_FLAGS } from '../support/browser';
import { cleanUp } from '../support/clean-up';
import { needs } from '../support/system-tools';

const CHAT_UI = 'https://chat.example.com';
const LOCAL_UI = 'http://localhost:3000';
const FOREIGN = 'https://evil.example.com';
const CONVERSATION = 'x-openhands-serverconversation-id';

/** Headers helmet (configure-app.ts) puts on every response, with the values it gives them. */
const HELMET: Record<string, string | RegExp> = {
  'content-security-policy': /default-src 'self'.*script-src 'self'/,
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': /^max-age=\d+; includeSubDomains$/,
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

/**
 * Headers on top of what the installed SDK sent: the ones other SDK versions and settings add
 * (CLIENTS.md 5.6), and our own clients' (API.md sections 2 and 5).
 */
const MORE_HEADERS = [
  'x-stainless-timeout',
  'x-stainless-helper-method',
  'openai-organization',
  'openai-project',
  'x-session-api-key',
  'x-openhands-serverconversation-id',
  'x-openwebui-chat-id',
  'x-openhands-progress',
  'x-request-id',
];

function expectHelmet(res: Response, what: string) {
  for (const [name, value] of Object.entries(HELMET)) {
    const got = res.headers.get(name);
    const ok = typeof value === 'string' ? got === value : got !== null && value.test(got);
    expect({ what, name, got, ok }).toEqual({ what, name, got, ok: true });
  }
  expect(res.headers.get('x-powered-by')).toBeNull();
  expect(res.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
}

const corsHeaders = (res: Response) =>
  [...res.headers.keys()].filter((name) => name.startsWith('access-control-'));

const listOf = (value: string | null) =>
  (value ?? '').split(',').map((h) => h.trim().toLowerCase());

describe('CORS and security headers', () => {
  let t: TestApp;
  let llm: FakeLlmServer;
  /** The header names the official OpenAI client sent on its requests, lower-cased. */
  let sdkHeaders: string[];

  beforeAll(async () => {
    llm = await FakeLlmServer.start({ handler: () => fakeReply.text('hello from the agent') });
    t = await createTestApp({
      OH_ALLOW_CORS_ORIGINS_0: CHAT_UI,
      OH_ALLOW_CORS_ORIGINS_1: LOCAL_UI,
    });
    const saved = await t.request('/api/profiles/web', {
      method: 'POST',
      json: { llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-web' } },
    });
    expect(saved.status).toBe(201);

    // Record what the installed OpenAI SDK puts on the wire, so the preflights below ask for
    // exactly that (and keep asking for it when a later SDK version adds headers).
    const seen = new Set<string>();
    const recording = new OpenAI({
      apiKey: TEST_KEY,
      baseURL: `${t.url}/v1`,
      maxRetries: 1,
      fetch: async (url: string | URL | Request, init?: RequestInit) => {
        new Headers(init?.headers).forEach((_value, name) => seen.add(name.toLowerCase()));
        return fetch(url, init);
      },
    });
    await recording.models.list();
    const stream = await recording.chat.completions.create({
      model: 'openhands_web',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    for await (const _ of stream);
    sdkHeaders = [...seen].sort();
  });

  afterAll(async () => {
    await t?.close();
    await llm?.close();
  });

  describe('preflight', () => {
    it('the SDK really sends non-simple headers that need one', () => {
      expect(sdkHeaders).toEqual(
        expect.arrayContaining([
          'authorization',
          'content-type',
          'x-stainless-retry-count',
          'x-stainless-lang',
          'x-stainless-package-version',
          'x-stainless-runtime',
        ]),
      );
    });

    it.each([CHAT_UI, LOCAL_UI])(
      'from %s passes with every header the OpenAI SDK and our clients send',
      async (origin) => {
        const requested = [...sdkHeaders, ...MORE_HEADERS];
        for (const method of ['POST', 'GET', 'DELETE']) {
          const res = await t.request('/v1/chat/completions', {
            method: 'OPTIONS',
            key: null,
            headers: {
              Origin: origin,
              'Access-Control-Request-Method': method,
              'Access-Control-Request-Headers': requested.join(','),
            },
          });
          expect(res.status).toBe(204);
          expect(res.headers.get('access-control-allow-origin')).toBe(origin);
          expect(listOf(res.headers.get('access-control-allow-methods'))).toContain(
            method.toLowerCase(),
          );
          expect(listOf(res.headers.get('access-control-allow-headers'))).toEqual(
            expect.arrayContaining(requested),
          );
          expect(res.headers.get('access-control-max-age')).toBe('600');
          expect(res.headers.get('access-control-allow-credentials')).toBeNull();
          expect(listOf(res.headers.get('vary'))).toContain('origin');
          expectHelmet(res, `preflight from ${origin}`);
        }
      },
    );

    it.each([
      FOREIGN,
      'https://chat.example.com.evil.com',
      'http://chat.example.com',
      'https://chat.example.com:8443',
      'http://localhost:3001',
      'null',
    ])('from %s gets no CORS header at all', async (origin) => {
      const res = await t.request('/v1/chat/completions', {
        method: 'OPTIONS',
        key: null,
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'authorization,content-type,x-stainless-lang',
        },
      });
      expect(corsHeaders(res)).toEqual([]);
      expect(res.status).toBeGreaterThanOrEqual(400); // not the 204 of a granted preflight
      expect(res.headers.get('x-request-id')).toBeTruthy();
      expectHelmet(res, `preflight from ${origin}`);
    });
  });

  describe('responses', () => {
    it('let an allowed origin read the body and the conversation and request ids', async () => {
      const res = await t.request('/v1/chat/completions', {
        method: 'POST',
        headers: { Origin: CHAT_UI },
        json: { model: 'openhands_web', messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe(CHAT_UI);
      const exposed = listOf(res.headers.get('access-control-expose-headers'));
      expect(exposed).toEqual(expect.arrayContaining([CONVERSATION, 'x-request-id']));
      expect(exposed).toEqual(
        expect.arrayContaining(['retry-after', 'x-should-retry', 'x-ratelimit-remaining']),
      );
      expect(res.headers.get(CONVERSATION)).toMatch(/^[0-9a-f-]{36}$/);
      expect(listOf(res.headers.get('vary'))).toContain('origin');
      expectHelmet(res, 'chat completion');
      await res.text();
    });

    it('do the same for a stream, whose headers go out before the turn ends', async () => {
      const res = await t.request('/v1/chat/completions', {
        method: 'POST',
        headers: { Origin: LOCAL_UI },
        json: { model: 'openhands_web', messages: [{ role: 'user', content: 'hi' }], stream: true },
      });
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(res.headers.get('access-control-allow-origin')).toBe(LOCAL_UI);
      expect(listOf(res.headers.get('access-control-expose-headers'))).toContain(CONVERSATION);
      expectHelmet(res, 'stream');
      expect(await res.text()).toContain('data: [DONE]');
    });

    it('carry the grant on errors too, so a browser client can read why it failed', async () => {
      const cases: [string, RequestInit & { key?: string | null; json?: unknown }, number][] = [
        ['/v1/models', { key: 'wrong' }, 401],
        ['/api/profiles', { key: null }, 401],
        ['/v1/models/openhands_nope', {}, 404],
        ['/v1/chat/completions', { method: 'POST', json: { model: 'x', messages: [] } }, 400],
        ['/api/profiles/p', { method: 'POST', body: '{', headers: {} }, 400],
      ];
      for (const [path, init, status] of cases) {
        const res = await t.request(path, {
          ...init,
          headers: { ...(init.headers as Record<string, string>), Origin: CHAT_UI },
        });
        expect({ path, status: res.status }).toEqual({ path, status });
        expect(res.headers.get('access-control-allow-origin')).toBe(CHAT_UI);
        expect(listOf(res.headers.get('access-control-expose-headers'))).toContain('x-request-id');
        expectHelmet(res, `${status} on ${path}`);
        await res.text();
      }
    });

    it('give a foreign origin nothing to read with, though the server answers', async () => {
      const res = await t.request('/v1/models', { headers: { Origin: FOREIGN } });
      expect(res.status).toBe(200);
      expect(corsHeaders(res)).toEqual([]);
      await res.text();
    });

    it('carry helmet headers on health, docs and the OpenAPI document, no CORS grant needed', async () => {
      for (const path of ['/health', '/docs', '/docs/swagger-ui-init.js', '/openapi.json']) {
        const res = await t.request(path, { key: null });
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
        expectHelmet(res, path);
        await res.text();
      }
    });
  });
});

describe('CORS off (no OH_ALLOW_CORS_ORIGINS_<n>)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('grants no origin anything, and helmet still guards every response', async () => {
    for (const origin of [CHAT_UI, LOCAL_UI, FOREIGN]) {
      const preflight = await t.request('/v1/chat/completions', {
        method: 'OPTIONS',
        key: null,
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
      });
      expect(corsHeaders(preflight)).toEqual([]);
      const res = await t.request('/v1/models', { headers: { Origin: origin } });
      expect(res.status).toBe(200);
      expect(corsHeaders(res)).toEqual([]);
      expectHelmet(res, `GET /v1/models from ${origin}`);
      await res.text();
    }
  });
});

const OPENAI_PACKAGE = join(__dirname, '..', '..', 'node_modules', 'openai');

/**
 * A page that loads the official OpenAI SDK (its ESM build, straight from node_modules) and calls
 * the gateway: what a browser chat UI on another origin does.
 */
function pageServer(): Promise<Server> {
  const html = `<!doctype html><meta charset="utf-8"><title>chat ui</title>
<script type="module">
  import OpenAI from '/openai/index.mjs';
  window.callGateway = async ({ baseURL, apiKey, headers }) => {
    const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, dangerouslyAllowBrowser: true, defaultHeaders: headers });
    try {
      const { data, response } = await client.chat.completions
        .create({ model: 'openhands_web', messages: [{ role: 'user', content: 'hi from a browser' }] })
        .withResponse();
      const stream = await client.chat.completions.create({
        model: 'openhands_web', messages: [{ role: 'user', content: 'stream please' }], stream: true,
      });
      let streamed = '';
      for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
      return {
        ok: true,
        answer: data.choices[0].message.content,
        streamed,
        conversation: response.headers.get('X-OpenHands-ServerConversation-ID'),
        requestId: response.headers.get('X-Request-ID'),
      };
    } catch (err) {
      return { ok: false, error: String(err && err.constructor && err.constructor.name) + ': ' + String(err && err.message) };
    }
  };
  window.ready = true;
</script>`;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(html);
      return;
    }
    const file = normalize(join(OPENAI_PACKAGE, path.replace(/^\/openai\//, '')));
    if (path.startsWith('/openai/') && file.startsWith(OPENAI_PACKAGE) && existsSync(file)) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

interface BrowserCall {
  ok: boolean;
  answer?: string;
  streamed?: string;
  conversation?: string | null;
  requestId?: string | null;
  error?: string;
}

needs.chromium()('CORS in a real browser, with the official OpenAI SDK', () => {
  let t: TestApp;
  let llm: FakeLlmServer;
  let pages: Server;
  let allowedOrigin: string;
  let foreignOrigin: string;
  let profileDir: string;
  let browser: BrowserContext;

  beforeAll(async () => {
    pages = await pageServer();
    const { port } = pages.address() as AddressInfo;
    allowedOrigin = `http://127.0.0.1:${port}`;
    foreignOrigin = `http://localhost:${port}`; // same server, another origin
    llm = await FakeLlmServer.start({ handler: () => fakeReply.text('hi browser') });
    t = await createTestApp({ OH_ALLOW_CORS_ORIGINS_0: allowedOrigin });
    await t.request('/api/profiles/web', {
      method: 'POST',
      json: { llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-web' } },
    });
    profileDir = mkdtempSync(join(tmpdir(), 'gw-chromium-cors-'));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
    });
  });

  afterAll(async () => {
    // Each step runs even when setup stopped half-way (or an earlier step failed).
    await cleanUp(
      () => browser?.close(),
      () => profileDir && rmSync(profileDir, { recursive: true, force: true }),
      () => t?.close(),
      () => llm?.close(),
      () => pages && new Promise<void>((resolve) => pages.close(() => resolve())),
    );
  });

  async function callFrom(origin: string, auth: 'bearer' | 'header'): Promise<BrowserCall> {
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => (window as { ready?: boolean }).ready === true);
      return await page.evaluate(
        async ({ baseURL, key, auth }): Promise<BrowserCall> =>
          (
            window as unknown as {
              callGateway(o: {
                baseURL: string;
                apiKey: string;
                headers: Record<string, string | null>;
              }): Promise<BrowserCall>;
            }
          ).callGateway({
            baseURL,
            apiKey: auth === 'bearer' ? key : 'unused',
            // null removes the SDK's own Authorization header
            headers: auth === 'header' ? { 'X-Session-API-Key': key, Authorization: null } : {},
          }),
        { baseURL: `${t.url}/v1`, key: TEST_KEY, auth },
      );
    } finally {
      await page.close();
    }
  }

  it.each(['bearer', 'header'] as const)(
    'works from the allowed origin (key as %s), reading the exposed headers',
    async (auth) => {
      const result = await callFrom(allowedOrigin, auth);
      expect(result).toEqual({
        ok: true,
        answer: 'hi browser',
        streamed: 'hi browser',
        conversation: expect.stringMatching(/^[0-9a-f-]{36}$/),
        requestId: expect.stringMatching(/^req_[0-9a-f]{32}$/),
      });
    },
  );

  it('is refused by the browser from any other origin', async () => {
    const before = llm.requests.length;
    const result = await callFrom(foreignOrigin, 'bearer');
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/^APIConnectionError/) });
    expect(llm.requests.length).toBe(before); // the preflight failed: the POST never went out
  });
});
