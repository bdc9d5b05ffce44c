import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './wait';

const BIN_DIRS = ['/usr/local/bin', '/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin'];

/** The directory holding `initdb` and `pg_ctl`, or null when PostgreSQL's server tools are missing. */
export function postgresBinDir(): string | null {
  for (const dir of BIN_DIRS) {
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  return null;
}

/**
 * `describe` when a private PostgreSQL cluster can be made here; otherwise, outside CI, a skip
 * announced in one line (under `CI=true` the file runs and fails: the tools are mandatory there).
 */
export function describeWithInitdb(name: string, fn: () => void): void {
  if (postgresBinDir() || process.env.CI === 'true') {
    describe(name, fn);
    return;
  }
  console.warn(
    `skipped "${name}": initdb not found (apt-get install postgresql-15, or set CI=true to require it)`,
  );
  describe.skip(name, fn);
}

/**
 * A PostgreSQL 15 cluster of the test's own, in a temp dir on a free port, that the test can stop
 * and start (a database failover as the service meets it). initdb refuses to run as root, so as
 * root the server runs as the `postgres` user. `remove()` stops it and deletes its files; it also
 * runs at process exit, so a failed or interrupted test leaves nothing behind.
 */
export class PrivatePostgres {
  private removed = false;

  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<PrivatePostgres> {
    const bin = postgresBinDir();
    if (!bin) throw new Error('initdb not found: apt-get install postgresql-15');
    const dir = mkdtempSync(join(tmpdir(), 'gw-private-pg-'));
    const pg = new PrivatePostgres(bin, dir, await freePort());
    process.once('exit', pg.removeSync);
    try {
      if (process.getuid?.() === 0) chownSync(dir, ...postgresIds());
      pg.run('initdb', [
        '-D',
        pg.dataDir,
        '-U',
        'postgres',
        '--auth=trust',
        '-E',
        'UTF8',
        '--no-sync',
      ]);
      await pg.start();
    } catch (err) {
      pg.removeSync();
      throw err;
    }
    return pg;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Starts the cluster (again) on its port; resolves once it accepts connections. */
  async start(): Promise<void> {
    this.run('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'server.log'),
      '-o',
      `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=off -c max_connections=200`,
      '-w',
      '-t',
      '30',
      'start',
    ]);
  }

  /**
   * Stops the cluster. `fast` disconnects every session (what a failover or restart does to the
   * service); `immediate` is a crash (no checkpoint, recovery at the next start).
   */
  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    this.run('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '30', 'stop']);
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: this.url() });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  async createDatabase(name: string): Promise<string> {
    await this.query(`CREATE DATABASE "${name}"`);
    return this.url(name);
  }

  /** Stops the server (if it runs) and deletes its files. Safe to call twice. */
  async remove(): Promise<void> {
    this.removeSync();
    process.removeListener('exit', this.removeSync);
  }

  private readonly removeSync = (): void => {
    if (this.removed) return;
    this.removed = true;
    try {
      if (existsSync(join(this.dataDir, 'postmaster.pid'))) this.stop('immediate');
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  };

  private run(tool: string, args: string[]): void {
    const path = join(this.bin, tool);
    const [command, argv] =
      process.getuid?.() === 0
        ? ['runuser', ['-u', 'postgres', '--', path, ...args]]
        : [path, args];
    execFileSync(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir });
  }
}

function postgresIds(): [number, number] {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return [uid, gid];
}
