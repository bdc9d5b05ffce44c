import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from '../support/built-server';
import { cleanUp } from '../support/clean-up';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { TEMPLATE_ENV } from '../support/global-setup';
import { removeDir, ServerProcess, serverEnv, tempDir } from '../support/server-process';

const HEADER = 'x-openhands-serverconversation-id';

/** Every path under `root` (itself included) whose mode gives group or others any access. */
function loosePaths(root: string): string[] {
  const found: string[] = [];
  const visit = (path: string): void => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    if (stat.mode & 0o077) found.push(`${path} ${(stat.mode & 0o777).toString(8)}`);
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(root);
  return found;
}

const mode = (path: string) => (lstatSync(path).mode & 0o777).toString(8);

/**
 * The service as a developer starts it (`node dist/main.js`, default umask 022, no key configured,
 * so it generates its key file), on a data directory an earlier version left world-readable: what it
 * keeps on disk ends up readable by its own user only.
 */
describe('host hygiene: the data directory, database files, key file and workspaces are owner-only', () => {
  let llm: FakeLlmServer;
  let dir: string;
  let db: TestDatabase | undefined;
  let server: ServerProcess | undefined;

  beforeAll(() => ensureBuilt(), 180_000);
  afterAll(() =>
    cleanUp(
      () => server?.stop(),
      () => llm?.close(),
      () => db?.drop(),
      () => dir && removeDir(dir),
    ),
  );

  it('fixes loose modes at start, creates new files owner-only, and keeps workspaces 0700', async () => {
    llm = await FakeLlmServer.start();
    dir = tempDir('gw-hygiene-');
    const data = join(dir, 'data');
    const pglite = join(data, 'pglite');
    mkdirSync(data, { mode: 0o755 });
    chmodSync(data, 0o755);
    const template = process.env[TEMPLATE_ENV];
    if (process.env.DATABASE_URL) {
      db = await createTestDatabase();
    } else if (template) {
      // an initialised cluster, extracted with the files' loose modes (as PGlite writes them)
      mkdirSync(pglite, { mode: 0o755 });
      execFileSync('tar', ['-xf', template, '-C', pglite], { stdio: 'ignore' });
      execFileSync('chmod', ['-R', 'go+rX', pglite]);
      expect(loosePaths(pglite).length).toBeGreaterThan(100);
    }
    writeFileSync(join(data, 'notes.txt'), 'left by an earlier version', { mode: 0o644 });
    chmodSync(join(data, 'notes.txt'), 0o644);

    const env = serverEnv(dir, db?.env ?? {});
    // no secret key and no session key to derive one from: the service generates data/secret.key
    delete env.OH_SECRET_KEY;
    delete env.OH_SESSION_API_KEYS_0;
    server = await ServerProcess.start(env);
    expect(
      (
        await server.request('/api/profiles/hygiene', {
          method: 'POST',
          json: { llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-hygiene' } },
        })
      ).status,
    ).toBe(201);
    llm.enqueue(
      fakeReply.toolCall('terminal', { command: 'mkdir sub && echo made > sub/made.txt' }),
      fakeReply.text('Done.'),
    );
    const { data: answer, response } = await server.openai.chat.completions
      .create({ model: 'openhands_hygiene', messages: [{ role: 'user', content: 'make a file' }] })
      .withResponse();
    expect(answer.choices[0].message.content).toBe('Done.');
    const conversation = await server.json<{ workspace: { working_dir: string } }>(
      `/api/conversations/${response.headers.get(HEADER)}`,
    );

    // the start-up line names the URL, the database, the sandbox, the auth mode and the docs
    expect(server.output).toContain(
      `agent-gateway listening on ${server.url} · database: ${
        process.env.DATABASE_URL ? 'PostgreSQL ' : `embedded PGlite at ${pglite}`
      }`,
    );
    expect(server.output).toMatch(
      / · sandbox: \w+ \((native|node) sandbox program\) · auth: OPEN \(no session key; loopback only\) · docs: http:\/\/[^ ]+\/docs"/,
    );

    expect(mode(data)).toBe('700');
    expect(mode(join(data, 'secret.key'))).toBe('600');
    expect(loosePaths(data)).toEqual([]); // notes.txt, the key, every database file
    if (!process.env.DATABASE_URL) expect(readdirSync(pglite).length).toBeGreaterThan(5);
    const workspace = conversation.workspace.working_dir;
    expect(mode(workspace)).toBe('700');
    expect(loosePaths(workspace)).toEqual([]); // what the agent made, too
  }, 120_000);
});
