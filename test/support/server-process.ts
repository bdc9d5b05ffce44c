import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { MAIN_JS, ensureBuilt } from './built-server';
import { trackChild } from './child-processes';
import { createTestDatabase, type TestDatabase } from './database';
import { TEMPLATE_ENV } from './global-setup';
import { freePort, sleep } from './wait';

/** The session key of server children (the same as create-test-app's, without loading the app). */
export const TEST_KEY = 'test-session-key-0123456789';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type RequestInitWithJson = RequestInit & { key?: string | null; json?: unknown };

/**
 * The service as a real child process (`node dist/main.js`), for what an in-process app cannot
 * show: several processes on one database, SIGKILL, SIGTERM and the exit code.
 *
 * ```ts
 * beforeAll(() => ensureBuilt(), 180_000);
 * const dir = tempDir();
 * const db = await persistentDatabase(dir);
 * const server = await ServerProcess.start(serverEnv(dir, db.env));
 * await server.request('/api/profiles/p', { method: 'POST', json: { llm: { … } } });
 * server.kill('SIGTERM');
 * expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
 * ```
 */
export class ServerProcess {
  private out = '';
  private err = '';
  private exit: ExitStatus | null = null;
  readonly exited: Promise<ExitStatus>;
  /** The official OpenAI client, pointed at `/v1` with the session key. */
  readonly openai: OpenAI;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.err += d.toString()));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    this.openai = new OpenAI({
      apiKey: TEST_KEY,
      baseURL: `${url}/v1`,
      maxRetries: 0,
      timeout: 60_000,
    });
  }

  /**
   * Starts `dist/main.js` (call `ensureBuilt()` in `beforeAll` first, with a long timeout) on a
   * free loopback port with exactly `env` (plus PATH and HOME), and resolves once `GET /ready`
   * answers 200. A start that fails (a port taken in between, say) is retried on another port; a
   * server that never gets ready is killed.
   */
  static async start(
    env: Record<string, string>,
    options: { readyTimeoutMs?: number } = {},
  ): Promise<ServerProcess> {
    if (!existsSync(MAIN_JS)) ensureBuilt(); // call ensureBuilt() in beforeAll: it may take a while
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const cwd = env.OH_PERSISTENCE_DIR ?? tmpdir();
      mkdirSync(cwd, { recursive: true });
      const child = spawn(process.execPath, [MAIN_JS], {
        cwd,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? tmpdir(),
          ...env,
          PORT: String(port),
          HOST: '127.0.0.1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const server = new ServerProcess(child, `http://127.0.0.1:${port}`);
      trackChild(child); // killed after the test file, even if a test times out mid-start
      try {
        await server.waitUntilReady(options.readyTimeoutMs ?? 45_000);
        return server;
      } catch (err) {
        lastError = err as Error;
        await server.stop();
        if (!/EADDRINUSE/.test(server.output)) break;
      }
    }
    throw lastError ?? new Error('server did not start');
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** stdout and stderr so far (JSON log lines, start-up errors). */
  get output(): string {
    return `${this.out}${this.err}`;
  }

  get running(): boolean {
    return this.exit === null;
  }

  /** fetch against the server with the session key header (unless `key: null`). */
  request(path: string, init: RequestInitWithJson = {}): Promise<Response> {
    const { key, json, ...rest } = init;
    const headers = new Headers(rest.headers);
    const sent = key === undefined ? TEST_KEY : key;
    if (sent !== null) headers.set('X-Session-API-Key', sent);
    if (json !== undefined) headers.set('Content-Type', 'application/json');
    return fetch(`${this.url}${path}`, {
      ...rest,
      headers,
      body: json !== undefined ? JSON.stringify(json) : rest.body,
    });
  }

  /** GET a JSON document, failing the test on a non-2xx answer. */
  async json<T = Record<string, unknown>>(path: string): Promise<T> {
    const res = await this.request(path);
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Resolves with how the process ended; rejects (with its output) when it outlives `timeoutMs`. */
  async waitForExit(timeoutMs = 30_000): Promise<ExitStatus> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`server ${this.pid} still running after ${timeoutMs} ms\n${this.tail()}`),
          ),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Cleanup: SIGKILL when still running, and wait for the exit. */
  async stop(): Promise<void> {
    this.kill('SIGKILL');
    await this.exited;
  }

  /** The last lines of output, for failure messages. */
  tail(lines = 30): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (!this.running) throw new Error(`server exited before it was ready\n${this.tail()}`);
      try {
        const res = await fetch(`${this.url}/ready`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) return;
        await res.body?.cancel();
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`server not ready within ${timeoutMs} ms\n${this.tail()}`);
  }
}

/** A fresh temporary directory (persistence, workspaces, the embedded database's files). */
export function tempDir(prefix = 'gw-proc-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o711); // run as root, sandboxes run as another user, who must get through it
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A database that outlives the process using it: a fresh database on the PostgreSQL server the
 * suite runs with (`DATABASE_URL`), else an embedded one on disk in `dir` (not `memory://`).
 */
export async function persistentDatabase(dir: string): Promise<TestDatabase> {
  if (process.env.DATABASE_URL) return createTestDatabase();
  const dataDir = join(dir, 'pglite');
  const template = process.env[TEMPLATE_ENV];
  if (template) {
    // the initialised cluster global-setup.ts made: the first start skips initdb (~10 s)
    mkdirSync(dataDir, { recursive: true });
    execFileSync('tar', ['-xf', template, '-C', dataDir], { stdio: 'ignore' });
  }
  return { env: { PGLITE_DATA_DIR: dataDir }, drop: async () => {} };
}

/** The environment of a server child: its own directories under `dir`, the test key, quiet logs. */
export function serverEnv(
  dir: string,
  databaseEnv: Record<string, string>,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    OH_SESSION_API_KEYS_0: TEST_KEY,
    OH_SECRET_KEY: 'test-secret-key-for-profiles-0123',
    OH_PERSISTENCE_DIR: join(dir, 'data'),
    OH_WORKSPACE_PATH: join(dir, 'workspace'),
    OH_LLM_BACKOFF_MS: '20',
    ...databaseEnv,
    ...extra,
  };
}
