import { readFileSync } from 'node:fs';
import { findTool } from '../support/system-tools';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createTestApp, type TestApp } from '../support/create-test-app';

const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as {
  name: string;
  version: string;
};

describe('health', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it.each(['/alive', '/health'])(
    'answers %s with 200 {"status":"ok"}, no key needed',
    async (path) => {
      const res = await t.request(path, { key: null });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    },
  );

  it('is ready once the database answers and the migrations ran', async () => {
    const res = await t.request('/ready', { key: null });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ready',
      database: true,
      migrations: true,
      connections: true,
    });
  });

  it("describes the server, its tools under the reference's name `usable_tools` too", async () => {
    const res = await t.request('/server_info', { key: null });
    expect(res.status).toBe(200);
    const info = (await res.json()) as { tools: string[]; usable_tools: string[] };
    expect(info).toEqual({
      name: pkg.name,
      version: pkg.version,
      uptime_s: expect.any(Number),
      database: process.env.DATABASE_URL ? 'postgres' : 'embedded',
      tools: expect.arrayContaining(['terminal', 'file_editor', 'finish']),
      usable_tools: info.tools,
      // how the agent is confined: bwrap where bubblewrap works (the default), else none
      sandbox: expect.stringMatching(/^(bwrap|none)$/),
      // the C program whenever a C compiler could build it (the default, OH_SANDBOX_PROGRAM=auto)
      sandbox_program: findTool('cc') ? 'native' : 'node',
    });
  });

  describe('when the database is gone', () => {
    beforeAll(async () => {
      await t.app.get(DataSource).destroy();
    });

    it('reports not ready with 503', async () => {
      const res = await t.request('/ready', { key: null });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        status: 'unavailable',
        database: false,
        migrations: true,
        connections: expect.any(Boolean), // PostgreSQL: false once a lease renewal has failed
      });
    });

    it('stays alive', async () => {
      expect((await t.request('/alive', { key: null })).status).toBe(200);
      expect((await t.request('/health', { key: null })).status).toBe(200);
    });

    it('answers requests that need it with a 500 that carries no stack trace', async () => {
      const api = await t.request('/api/profiles', { headers: { 'X-Request-ID': 'req-500' } });
      expect(api.status).toBe(500);
      expect(api.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = await api.json();
      expect(problem).toEqual({
        type: 'about:blank',
        title: 'Internal Server Error',
        status: 500,
        detail: 'Internal server error.',
        instance: '/api/profiles',
        code: 'server.internal',
        request_id: 'req-500',
      });

      const v1 = await t.request('/v1/models');
      expect(v1.status).toBe(500);
      expect(await v1.json()).toEqual({
        error: {
          message: 'Internal server error.',
          type: 'server_error',
          param: null,
          code: 'internal',
        },
      });
    });
  });
});
