import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { MAIN_JS } from '../test/support/built-server';

export const BENCH_KEY = 'bench-session-key-0123456789';
const PROBE = join(__dirname, 'db-probe.mjs');

export interface DbStats {
  statements: number;
  rows: number;
  ms: number;
  byStatement: Record<string, { count: number; ms: number }>;
}

export interface StartOptions {
  env: Record<string, string>;
  /** Where the server's JSON log lines go. */
  logFile: string;
  /** Load bench/db-probe.mjs (statement counts over IPC). */
  probe?: boolean;
  /** Write a V8 CPU profile of the server into this directory (`--cpu-prof`). */
  cpuProfDir?: string;
  readyTimeoutMs?: number;
  /** Another build of the service (A/B comparisons); default this checkout's `dist/main.js`. */
  mainJs?: string;
}

/** The service as a child process (`node dist/main.js`), as it runs in production. */
export class BenchServer {
  private exited = false;
  private pendingStats: ((stats: DbStats) => void)[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly logFile: string,
  ) {
    child.once('exit', () => (this.exited = true));
    child.on('message', (message: { type?: string } & DbStats) => {
      if (message.type === 'db-stats') this.pendingStats.shift()?.(message);
    });
  }

  /** Starts the server and resolves once `/ready` answers 200, with the time that took. */
  static async start(options: StartOptions): Promise<{ server: BenchServer; readyMs: number }> {
    const port = await freePort();
    const log = openSync(options.logFile, 'a');
    const args = [
      ...(options.probe ? ['--import', PROBE] : []),
      ...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : []),
      options.mainJs ?? MAIN_JS,
    ];
    const started = performance.now();
    const child = spawn(process.execPath, args, {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        ...options.env,
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', log, log, ...(options.probe ? (['ipc'] as const) : [])],
    });
    closeSync(log);
    const server = new BenchServer(child, `http://127.0.0.1:${port}`, options.logFile);
    const until = started + (options.readyTimeoutMs ?? 60_000);
    while (performance.now() < until) {
      if (server.exited) throw new Error(`server exited before it was ready\n${server.tail()}`);
      try {
        const res = await fetch(`${server.url}/ready`, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        if (res.status === 200) return { server, readyMs: performance.now() - started };
      } catch {
        // not listening yet
      }
      await sleep(10);
    }
    await server.stop();
    throw new Error(`server not ready in time\n${server.tail()}`);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Resident set size now and at its peak so far (VmHWM), in bytes. */
  memory(): { rss: number; peak: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 };
  }

  /** The probe's running totals (the server must have been started with `probe: true`). */
  dbStats(): Promise<DbStats> {
    return new Promise((resolve) => {
      this.pendingStats.push(resolve);
      this.child.send('db-stats');
    });
  }

  /** SIGTERM (a clean shutdown writes the CPU profile), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exit = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exit;
    clearTimeout(timer);
  }

  tail(lines = 20): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}

export interface BenchDatabase {
  kind: 'postgres' | 'embedded';
  env: Record<string, string>;
  version: string;
  drop(): Promise<void>;
}

/**
 * A fresh database for the run: on the PostgreSQL server of `DATABASE_URL` (created here, dropped
 * at the end), else an embedded one on disk under `dir`.
 */
export async function benchDatabase(dir: string): Promise<BenchDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const pkg = JSON.parse(
      readFileSync(join(__dirname, '../node_modules/@electric-sql/pglite/package.json'), 'utf8'),
    ) as { version: string };
    return {
      kind: 'embedded',
      env: { PGLITE_DATA_DIR: join(dir, 'pglite') },
      version: `PGlite ${pkg.version} (embedded)`,
      drop: async () => {},
    };
  }
  const name = `gw_bench_${randomBytes(5).toString('hex')}`;
  const version = await admin(serverUrl, async (c) => {
    await c.query(`CREATE DATABASE "${name}"`);
    const { rows } = await c.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return `PostgreSQL ${rows[0].v}`;
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    kind: 'postgres',
    env: { DATABASE_URL: url.toString() },
    version,
    drop: () =>
      admin(serverUrl, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      }),
  };
}

async function admin<T>(serverUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
