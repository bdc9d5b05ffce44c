import { spawnSync } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { embeddedPostgres } from './embedded-database';

interface Client {
  query(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; rowCount: number; command: string }>;
}
type Pool = EventEmitter & {
  connect(cb: (err: Error | null, client?: Client, done?: () => void) => void): Promise<void>;
  end(cb?: (err?: Error | null) => void): void;
};

/** A client of `pool`, with the function that gives it back. */
function connect(pool: Pool): Promise<{ client: Client; done: () => void }> {
  return new Promise((resolve, reject) => {
    void pool.connect((err, client, done) =>
      err ? reject(err) : resolve({ client: client!, done: done! }),
    );
  });
}

describe('the embedded database (PGlite on its own thread)', () => {
  let pool: Pool;
  let client: Client;
  let done: () => void;

  beforeAll(async () => {
    const { Pool } = embeddedPostgres({});
    pool = new Pool() as Pool;
    ({ client, done } = await connect(pool));
  });

  afterAll(async () => {
    done();
    await new Promise((resolve) => pool.end(resolve));
  });

  it("never holds the service's event loop while a statement runs", async () => {
    // PGlite's WebAssembly is synchronous: on this thread, pg_sleep would stop every timer for
    // its whole 300 ms (0 ticks), as a WAL segment or a checkpoint did in a long conversation.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      await client.query('SELECT pg_sleep(0.3)');
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThanOrEqual(5);
  });

  it('answers in the shape and the types node-postgres gives', async () => {
    const result = await client.query(
      'SELECT $1::bigint AS big, $2::numeric AS exact, $3::boolean AS flag, now() AS at, $4::jsonb AS doc',
      ['9007199254740993', '0.1', false, JSON.stringify({ a: [1] })],
    );
    expect(result).toMatchObject({ rowCount: 1, command: 'SELECT' });
    expect(result.rows[0]).toEqual({
      big: '9007199254740993',
      exact: '0.1',
      flag: false,
      at: expect.anything(),
      doc: { a: [1] },
    });
    // a Date of Node's main realm: jest runs the tests in another, with its own Date
    expect(Object.prototype.toString.call(result.rows[0]?.at)).toBe('[object Date]');
  });

  it('runs text of several statements and gives the last result', async () => {
    const result = await client.query(
      'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2); SELECT count(*)::int AS n FROM t',
    );
    expect(result.rows).toEqual([{ n: 2 }]);
  });

  it("rebuilds PostgreSQL's errors on this side, with their fields", async () => {
    const failure = await client
      .query('INSERT INTO t VALUES ($1)', [1])
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).toMatchObject({
      message: expect.stringContaining('duplicate key'),
      code: '23505',
      constraint: 't_pkey',
      table: 't',
    });
    // the session goes on
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('fails a statement whose parameter cannot be sent to the thread, and only that one', async () => {
    const failure = await client
      .query('SELECT $1::text AS v', [() => 'a function'])
      .catch((err: unknown) => err);
    expect(failure).toMatchObject({ name: 'DataCloneError' });
    expect((await client.query('SELECT $1::text AS v', ['text'])).rows).toEqual([{ v: 'text' }]);
    // nor does it keep the thread (and so a process that is done) alive
    const script = `
      const { embeddedPostgres } = require(${JSON.stringify(join(__dirname, 'embedded-database.ts'))});
      const pool = new (embeddedPostgres({}).Pool)();
      pool.connect((err, client) => client.query('SELECT $1::text', [() => 1]).catch(() => console.log('failed')));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: join(__dirname, '..', '..'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ status: child.status, signal: child.signal, stdout: child.stdout }).toEqual({
      status: 0,
      signal: null,
      stdout: 'failed\n',
    });
  });

  it("runs other clients' statements beside each other, but never inside a transaction", async () => {
    await client.query('CREATE TABLE u (id int PRIMARY KEY)');
    const other = await connect(pool);
    const third = await connect(pool);
    // many statements in flight together, from several clients
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 ? other : third).client.query('INSERT INTO u VALUES ($1)', [i]),
      ),
    );
    await client.query('BEGIN');
    await client.query('INSERT INTO u VALUES (100)');
    const outside = other.client.query('INSERT INTO u VALUES (101)');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.query('ROLLBACK TO SAVEPOINT nothing').catch(() => undefined); // fails: still inside
    await client.query('ROLLBACK');
    await outside;
    const ids = (await third.client.query('SELECT array_agg(id ORDER BY id) AS ids FROM u')).rows[0]
      ?.ids;
    expect(ids).toEqual([...Array.from({ length: 50 }, (_, i) => i), 101]);
    other.done();
    third.done();
  });

  it('rolls back a transaction whose client is given back inside it, and frees the session', async () => {
    const leaving = await connect(pool);
    await leaving.client.query('BEGIN');
    await leaving.client.query('INSERT INTO u VALUES (200)');
    leaving.done();
    expect((await client.query('SELECT count(*)::int AS n FROM u WHERE id = 200')).rows).toEqual([
      { n: 0 },
    ]);
  });
});
