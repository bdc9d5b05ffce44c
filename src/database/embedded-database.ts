import { EventEmitter } from 'node:events';
import { PGlite, types, type PGliteOptions, type Results } from '@electric-sql/pglite';
import { ownerOnlyTree } from '../common/owner-only';

type Callback<T> = (err: Error | null, value?: T) => void;
type Done = (err?: unknown) => void;

/** What TypeORM's PostgreSQL driver gets back from `client.query`: the `pg` result shape. */
interface PgResult {
  rows: unknown[];
  rowCount: number;
  command: string;
  fields: Results['fields'];
}

const COMMAND = /^\s*(?:WITH\b[\s\S]*?\)\s*)?(\w+)/i;

/** pg's conventions, so both databases hand the application the same JavaScript types. */
const PG_COMPATIBLE_PARSERS = {
  [types.INT8]: (value: string) => value,
  [types.NUMERIC]: (value: string) => value,
};

/**
 * The embedded database as a `pg`-compatible module for TypeORM (`driver` option).
 *
 * PGlite is one single-user PostgreSQL session, so it is handed out as a pool of exactly one
 * connection: a QueryRunner holds it from `connect` until release, and everyone else waits.
 * Without this, one request's `ROLLBACK` could undo (or miss) statements another request ran in
 * between. The price: inside a transaction use only its EntityManager; a second QueryRunner
 * would wait for the first forever.
 */
export function embeddedPostgres(options: PGliteOptions): { Pool: new () => EventEmitter } {
  let instance: Promise<PGlite> | undefined;
  let tail: Promise<void> = Promise.resolve();

  const database = () =>
    (instance ??= PGlite.create({
      ...options,
      parsers: { ...PG_COMPATIBLE_PARSERS, ...options.parsers },
      serializers: { [types.BOOL]: serializeBool, ...options.serializers },
    }).then((db) => {
      // PGlite creates its files 0666: owner-only, whatever the process umask.
      const dir = options.dataDir;
      if (dir && !dir.includes('://')) ownerOnlyTree(dir);
      return db;
    }));

  /** Resolves when the single connection is ours, with the function that gives it back. */
  const acquire = (): Promise<() => void> => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const ready = tail.then(() => release);
    tail = tail.then(() => released);
    return ready;
  };

  class EmbeddedClient extends EventEmitter {
    constructor(private readonly db: PGlite) {
      super();
    }

    async query(
      sql: string,
      params?: unknown[] | Callback<PgResult>,
      cb?: Callback<PgResult>,
    ): Promise<PgResult> {
      const callback = typeof params === 'function' ? params : cb;
      const values = Array.isArray(params) ? params : [];
      try {
        const result =
          values.length > 0 ? await this.db.query(sql, values) : await this.execLast(sql);
        const pg: PgResult = {
          rows: result.rows,
          rowCount: result.affectedRows ?? result.rows.length,
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

    /** Parameterless text may hold several statements (migrations); TypeORM wants the last result. */
    private async execLast(sql: string): Promise<Results> {
      const results = await this.db.exec(sql);
      return results[results.length - 1] ?? { rows: [], fields: [] };
    }
  }

  class EmbeddedPool extends EventEmitter {
    async connect(
      cb: (err: Error | null, client?: EmbeddedClient, done?: Done) => void,
    ): Promise<void> {
      const slow = setTimeout(
        () => console.warn('[pglite] waited >10s for the single connection: a nested QueryRunner?'),
        10_000,
      );
      const release = await acquire();
      clearTimeout(slow);
      let returned = false;
      const done: Done = () => {
        if (!returned) {
          returned = true;
          release();
        }
      };
      try {
        cb(null, new EmbeddedClient(await database()), done);
      } catch (err) {
        done();
        cb(err as Error, undefined, done);
      }
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

function serializeBool(value: unknown): string {
  if (value === true || value === 'true' || value === 1) return 'TRUE';
  if (value === false || value === 'false' || value === 0) return 'FALSE';
  return String(value);
}
