import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { TestDatabase } from '../support/database';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import {
  persistentDatabase,
  removeDir,
  serverEnv,
  ServerProcess,
  TEST_KEY,
  tempDir,
} from '../support/server-process';
import { findTool, needs } from '../support/system-tools';
import { freePort, waitFor } from '../support/wait';

/**
 * The service behind a real nginx under `/gateway/`, with a 1 s proxy_read_timeout (a stock nginx
 * has 60 s): OH_NONSTREAM_KEEPALIVE_S keeps a longer non-streamed turn alive, and OH_TRUST_PROXY
 * makes the logs name the real client and the API document name the prefixed URL.
 */
needs.nginx()('behind a reverse proxy (nginx)', () => {
  let dir: string;
  let db: TestDatabase;
  let llm: FakeLlmServer;
  let server: ServerProcess;
  let nginx: ChildProcess;
  let proxy: string;

  beforeAll(async () => {
    dir = tempDir('gw-proxy-');
    db = await persistentDatabase(dir);
    llm = await FakeLlmServer.start();
    server = await ServerProcess.start(
      serverEnv(dir, db.env, {
        LOG_LEVEL: 'info',
        OH_TRUST_PROXY: 'loopback',
        OH_NONSTREAM_KEEPALIVE_S: '0.3',
      }),
    );
    const saved = await server.request('/api/profiles/proxied', {
      method: 'POST',
      json: { llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-proxied-0000' } },
    });
    expect(saved.status).toBe(201);

    const port = await freePort();
    const root = join(dir, 'nginx');
    mkdirSync(join(root, 'logs'), { recursive: true });
    writeFileSync(
      join(root, 'nginx.conf'),
      `daemon off;
worker_processes 1;
pid ${root}/nginx.pid;
error_log ${root}/logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${root}/body;
  proxy_temp_path ${root}/proxy;
  fastcgi_temp_path ${root}/fastcgi;
  uwsgi_temp_path ${root}/uwsgi;
  scgi_temp_path ${root}/scgi;
  server {
    listen 127.0.0.1:${port};
    location /gateway/ {
      proxy_pass ${server.url}/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host:$server_port;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-Prefix /gateway;
      proxy_read_timeout 1s;
    }
  }
}
`,
    );
    nginx = spawn(findTool('nginx')!, ['-p', root, '-c', join(root, 'nginx.conf')], {
      stdio: 'ignore',
    });
    proxy = `http://127.0.0.1:${port}/gateway`;
    await waitFor(
      async () => {
        try {
          return (await fetch(`${proxy}/alive`)).status === 200;
        } catch {
          return false;
        }
      },
      15_000,
      'nginx to proxy',
    );
  }, 120_000);

  afterAll(async () => {
    nginx?.kill('SIGTERM');
    await server?.stop();
    await llm?.close();
    await db?.drop();
    removeDir(dir);
  });

  const client = () =>
    new OpenAI({ apiKey: TEST_KEY, baseURL: `${proxy}/v1`, maxRetries: 0, timeout: 30_000 });

  it('a non-streamed turn longer than proxy_read_timeout gets through, kept alive by whitespace', async () => {
    llm.enqueue(fakeReply.text('Worth the wait.', { delayMs: 2_500 }));
    const answer = await client().chat.completions.create({
      model: 'openhands_proxied',
      messages: [{ role: 'user', content: 'take your time' }],
    });
    expect(answer.choices[0].message.content).toBe('Worth the wait.');
  });

  it('a failure after the headers is still an OpenAI error body (with status 200)', async () => {
    llm.enqueue(fakeReply.error(400, 'bad request upstream', { delayMs: 1_500 }));
    const res = await fetch(`${proxy}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'openhands_proxied',
        messages: [{ role: 'user', content: 'fail late' }],
      }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.startsWith(' ')).toBe(true);
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'upstream_error' } });
  });

  it('logs the real client address (X-Forwarded-For through trusted proxies)', async () => {
    const res = await fetch(`${proxy}/v1/models`, {
      headers: {
        authorization: `Bearer ${TEST_KEY}`,
        'x-forwarded-for': '203.0.113.7',
        'x-request-id': 'proxied-models',
      },
    });
    expect(res.status).toBe(200);
    await waitFor(() => server.output.includes('proxied-models'), 5_000, 'the request log line');
    const line = server.output
      .split('\n')
      .filter((l) => l.includes('proxied-models') && l.startsWith('{'))
      .map((l) => JSON.parse(l) as { req?: { client_address?: string } })
      .find((l) => l.req);
    expect(line?.req?.client_address).toBe('203.0.113.7');
  });

  it('serves the API document with the prefixed, forwarded server URL, so "Try it out" works', async () => {
    const doc = (await (await fetch(`${proxy}/openapi.json`)).json()) as {
      servers?: { url: string }[];
    };
    expect(doc.servers?.[0]?.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/gateway$/);
    const direct = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      servers?: { url: string }[];
    };
    expect(direct.servers ?? []).toEqual([]);
    // the page's own copy (Swagger UI) too
    const init = await (await fetch(`${proxy}/docs/swagger-ui-init.js`)).text();
    expect(init).toMatch(/https:\/\/127\.0\.0\.1:\d+\/gateway/);
  });
});
