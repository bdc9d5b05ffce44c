import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PGliteOptions } from '@electric-sql/pglite';
import { ownerOnlyTree } from '../common/owner-only';
import type { WireError, WireResult, WorkerReply, WorkerRequest } from './embedded-database.worker';

type Callback<T> = (err: Error | null, value?: T) => void;
type Done = (err?: unknown) => void;

/** What TypeORM's PostgreSQL driver gets back from `client.query`: the `pg` result shape. */
interface PgResult {
  rows: unknown[];
  rowCount: number;
  command: string;
  fields: WireResult['fields'];
}

const COMMAND = /^\s*(?:WITH\b[\s\S]*?\)\s*)?(\w+)/i;

/**
 * The embedded database as a `pg`-compatible module for TypeORM (`driver` option).
 *
 * PGlite runs on its own thread (`embedded-database.worker.ts`), so its synchronous WebAssembly
 * never holds the service's event loop; statements and results travel as messages.
 *
 * PGlite is one single-user PostgreSQL session. Every `connect` gets a client at once, and their
 * statements go to the thread in order, one after another, so many requests' statements are in
 * flight together. A transaction holds the session alone, from its `BEGIN` to its `COMMIT` or
 * `ROLLBACK` ({@link TransactionGate}): other clients' statements wait, so one request's
 * `ROLLBACK` cannot undo (or miss) statements another request ran in between. The price: inside a
 * transaction use only its EntityManager; a second QueryRunner would wait for the first forever.
 */
export function embeddedPostgres(options: PGliteOptions): { Pool: new () => EventEmitter } {
  let instance: Promise<EmbeddedThread> | undefined;

  const database = () =>
    (instance ??= EmbeddedThread.start(options, () => (instance = undefined)).then((db) => {
      // PGlite creates its files 0666: owner-only, whatever the process umask.
      const dir = options.dataDir;
      if (dir && !dir.includes('://')) ownerOnlyTree(dir);
      return db;
    }));

  const gate = new TransactionGate();

  class EmbeddedClient extends EventEmitter {
    constructor(private readonly db: EmbeddedThread) {
      super();
    }

    async query(
      sql: string,
      params?: unknown[] | Callback<PgResult>,
      cb?: Callback<PgResult>,
    ): Promise<PgResult> {
      const callback = typeof params === 'function' ? params : cb;
      const values = Array.isArray(params) ? params : [];
      const opens = OPENS_TRANSACTION.test(sql);
      const closes = CLOSES_TRANSACTION.test(sql);
      try {
        const result = await gate
          .submit(this, opens, () => this.db.run(sql, values))
          .then(
            (ok) => {
              if (closes) gate.leave(this);
              return ok;
            },
            (err: unknown) => {
              if (closes || opens) gate.leave(this);
              throw err;
            },
          );
        const pg: PgResult = {
          rows: result.rows,
          rowCount: result.affectedRows || result.rows.length, // PGlite counts 0 for a SELECT
          command: COMMAND.exec(sql)?.[1]?.toUpperCase() ?? '',
          fields: result.fields,
        };
        callback?.(null, pg);
        return pg;
      } catch (err) {
        callback?.(err as Error);
        throw err;
      }
    }
  }

  class EmbeddedPool extends EventEmitter {
    async connect(
      cb: (err: Error | null, client?: EmbeddedClient, done?: Done) => void,
    ): Promise<void> {
      let client: EmbeddedClient;
      try {
        client = new EmbeddedClient(await database());
      } catch (err) {
        cb(err as Error, undefined, () => undefined);
        return;
      }
      // A client given back inside its transaction (it should not be) must not hold the session.
      const done: Done = () => {
        if (gate.holds(client)) void client.query('ROLLBACK').catch(() => gate.leave(client));
      };
      cb(null, client, done);
    }

    end(cb?: (err?: Error | null) => void): void {
      const closing = instance ? instance.then((db) => db.close()) : Promise.resolve();
      instance = undefined;
      closing.then(
        () => cb?.(null),
        (err: Error) => cb?.(err),
      );
    }
  }

  return { Pool: EmbeddedPool };
}

const OPENS_TRANSACTION = /^\s*(?:BEGIN|START\s+TRANSACTION)\b/i;
/** `COMMIT`, `END`, `ABORT` or `ROLLBACK`, but not `ROLLBACK TO SAVEPOINT`. */
const CLOSES_TRANSACTION =
  /^\s*(?:(?:COMMIT|END|ABORT)\b|ROLLBACK\b(?!\s+(?:WORK\s+|TRANSACTION\s+)?TO\b))/i;

/** Which client's transaction holds PGlite's one session, if any. */
class TransactionGate {
  private holder: object | null = null;
  private closed: Promise<void> = Promise.resolve();
  private release: () => void = () => undefined;

  holds(client: object): boolean {
    return this.holder === client;
  }

  /**
   * Calls `send` (which posts the statement at once) when no other client's transaction is open,
   * in the same tick as that check, so no other `BEGIN` can come in between; a statement that
   * `opens` a transaction holds the session for `client` from then on.
   */
  submit<T>(client: object, opens: boolean, send: () => Promise<T>): Promise<T> {
    if (this.holder !== null && this.holder !== client) {
      const slow = setTimeout(
        () => console.warn('[pglite] waited >10s for a transaction to end: a nested QueryRunner?'),
        10_000,
      );
      return this.closed.then(() => {
        clearTimeout(slow);
        return this.submit(client, opens, send);
      });
    }
    if (opens && this.holder === null) {
      this.holder = client;
      this.closed = new Promise((resolve) => (this.release = resolve));
    }
    return send();
  }

  leave(client: object): void {
    if (this.holder !== client) return;
    this.holder = null;
    this.release();
  }
}

interface Waiter {
  resolve: (result: WireResult) => void;
  reject: (err: Error) => void;
}

/**
 * PGlite on a worker thread. Holds the process open only while a statement is in flight, so a
 * pool nobody ended cannot keep a finished process (or a test run) alive.
 */
class EmbeddedThread {
  private readonly pending = new Map<number, Waiter>();
  private nextId = 1;
  private stopped: Error | undefined;

  private constructor(private readonly worker: Worker) {}

  /** Starts the thread and resolves once PGlite is open; `onExit` runs if the thread ends. */
  static start(options: PGliteOptions, onExit: () => void): Promise<EmbeddedThread> {
    const worker = workerThread(options);
    const thread = new EmbeddedThread(worker);
    worker.on('message', (reply: WorkerReply) => thread.settle(reply));
    worker.on('error', (err) => thread.stop(err));
    worker.on('exit', (code) => {
      thread.stop(new Error(`the embedded database's thread stopped (exit code ${code})`));
      onExit();
    });
    return thread.call(0, undefined).then(() => thread);
  }

  run(sql: string, params: unknown[]): Promise<WireResult> {
    const id = this.nextId++;
    return this.call(id, params.length > 0 ? { id, sql, params } : { id, sql });
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    const id = this.nextId++;
    await this.call(id, { id, close: true });
    await this.worker.terminate();
  }

  /** Sends `request` (none for the start, id 0) and waits for the reply with its id. */
  private call(id: number, request: WorkerRequest | undefined): Promise<WireResult> {
    if (this.stopped) return Promise.reject(this.stopped);
    const reply = new Promise<WireResult>((resolve, reject) =>
      this.pending.set(id, { resolve, reject }),
    );
    if (this.pending.size === 1) this.worker.ref();
    try {
      if (request) this.worker.postMessage(request);
    } catch (err) {
      // a parameter that cannot be sent (a function, a symbol): this statement fails, alone
      this.settle({ id, error: { message: (err as Error).message, name: (err as Error).name } });
    }
    return reply;
  }

  private settle(reply: WorkerReply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if ('result' in reply) waiter.resolve(reply.result);
    else waiter.reject(databaseError(reply.error));
  }

  private stop(err: Error): void {
    this.stopped ??= err;
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}

/** The error PGlite threw, rebuilt on this side with its PostgreSQL fields (`code`, `detail`…). */
function databaseError(wire: WireError): Error {
  return Object.assign(new Error(wire.message), wire);
}

/**
 * The worker: built, `dist/database/embedded-database.worker.js`. Run from the TypeScript sources
 * (tests, `tsx`), the `.ts` file transpiled by esbuild (a dev dependency) and evaluated, with
 * `require` resolving from this directory.
 */
function workerThread(options: PGliteOptions): Worker {
  const built = path.join(__dirname, 'embedded-database.worker.js');
  const worker = fs.existsSync(built)
    ? new Worker(built, { workerData: options })
    : new Worker(workerSource(), { eval: true, workerData: options });
  worker.unref();
  return worker;
}

let transpiled: string | undefined;

function workerSource(): string {
  if (transpiled) return transpiled;
  const file = path.join(__dirname, 'embedded-database.worker.ts');
  // A dev dependency, needed only when running from sources.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const { code } = esbuild.transformSync(fs.readFileSync(file, 'utf8'), {
    loader: 'ts',
    format: 'cjs',
    target: 'node20',
    sourcefile: file,
  });
  transpiled = `(function (require) {\n${code}\n})(require('node:module').createRequire(${JSON.stringify(file)}));`;
  return transpiled;
}
