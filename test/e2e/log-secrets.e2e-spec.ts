import { ensureBuilt } from '../support/built-server';
import {
  persistentDatabase,
  removeDir,
  serverEnv,
  ServerProcess,
  tempDir,
  TEST_KEY,
} from '../support/server-process';
import type { TestDatabase } from '../support/database';

const SECRET_KEY = 'log-test-secret-key-0123456789';
const PROVIDER_KEY = 'sk-provider-log-secret-5e4d3c2b1a';
const WRONG_KEY = 'wrong-session-key-7f6e5d4c';
const QUERY_TOKEN = 'query-token-9a8b7c6d';

/**
 * The real process at its most verbose log level, asked every way a secret can ride in on a
 * request; its whole output (JSON log lines) must not contain any of them.
 */
describe('logs', () => {
  let dir: string;
  let db: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    ensureBuilt();
    dir = tempDir();
    db = await persistentDatabase(dir);
    server = await ServerProcess.start(
      serverEnv(dir, db.env, { LOG_LEVEL: 'trace', OH_SECRET_KEY: SECRET_KEY }),
    );
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
    removeDir(dir);
  });

  it('never contain a session key, a provider key or a token, whatever the request', async () => {
    const statuses = [
      (await server.request('/v1/models')).status,
      (
        await server.request('/v1/models', {
          key: null,
          headers: { Authorization: `Bearer ${TEST_KEY}` },
        })
      ).status,
      (await server.request('/api/profiles', { key: WRONG_KEY })).status,
      (
        await server.request('/v1/models', {
          key: null,
          headers: { Authorization: `Bearer ${WRONG_KEY}` },
        })
      ).status,
      (await server.request(`/v1/models?access_token=${QUERY_TOKEN}`, { key: null })).status,
      (
        await server.request('/api/profiles/logged', {
          method: 'POST',
          json: { llm: { model: 'openai/gpt-4o-mini', api_key: PROVIDER_KEY } },
        })
      ).status,
      (
        await server.request('/api/profiles/logged', {
          method: 'POST',
          json: { llm: { model: 'unknown-provider/x', api_key: PROVIDER_KEY } },
        })
      ).status,
      (
        await server.request('/api/profiles/broken', {
          method: 'POST',
          body: `{"llm": {"api_key": "${PROVIDER_KEY}", `,
          headers: { 'Content-Type': 'application/json' },
        })
      ).status,
      (
        await server.request('/api/profiles/broken', {
          method: 'POST',
          body: `{"llm": {"api_key": ${PROVIDER_KEY}}}`, // V8 would quote the text at the fault
          headers: { 'Content-Type': 'application/json' },
        })
      ).status,
      (await server.request('/api/profiles/logged')).status,
    ];
    expect(statuses).toEqual([200, 200, 401, 401, 401, 201, 400, 400, 400, 200]);

    await new Promise((resolve) => setTimeout(resolve, 200)); // let the last lines flush
    const output = server.output;
    expect(output).toMatch(/"request_id":"req_[0-9a-f]{32}"/); // requests were logged...
    expect(output).toContain('"status":401');
    for (const secret of [TEST_KEY, SECRET_KEY, PROVIDER_KEY, WRONG_KEY, QUERY_TOKEN]) {
      // ...without secrets, or the first characters of one
      expect({ secret, logged: output.includes(secret.slice(0, 8)) }).toEqual({
        secret,
        logged: false,
      });
    }
  });
});
