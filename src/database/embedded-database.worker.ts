/**
 * The embedded database's own thread.
 *
 * PGlite runs PostgreSQL as WebAssembly, synchronously, on the thread that calls it. On the
 * service's thread a statement that had to create a WAL segment (16 MB of zeros) took 30–60 ms,
 * and the statements of one turn's end, chained by microtasks, held the event loop for up to
 * 130 ms (issue 10); a checkpoint would hold it longer. Here they hold only this thread: the
 * service posts each statement and gets its result back as a message.
 *
 * Self-contained on purpose: it imports only PGlite and Node, because when the service runs
 * from the TypeScript sources this file is transpiled alone (see `embedded-database.ts`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, types, type PGliteOptions, type Results } from '@electric-sql/pglite';

/** One statement (`params` absent: text that may hold several), or the request to close. */
export type WorkerRequest =
  { id: number; sql: string; params?: unknown[] } | { id: number; close: true };

/** A statement's result; id 0 answers the start. */
export type WorkerReply = { id: number; result: WireResult } | { id: number; error: WireError };

export interface WireResult {
  rows: unknown[];
  affectedRows?: number | undefined;
  fields: Results['fields'];
}

/** An error's message, name and PostgreSQL fields (`code`, `detail`, `constraint`…). */
export type WireError = { message: string } & Record<string, string | number | undefined>;

/** pg's conventions, so both databases hand the application the same JavaScript types. */
const PG_COMPATIBLE_PARSERS = {
  [types.INT8]: (value: string) => value,
  [types.NUMERIC]: (value: string) => value,
};

const NO_ROWS: WireResult = { rows: [], fields: [] };

const port = parentPort;
if (port) {
  const opening = PGlite.create({
    ...(workerData as PGliteOptions),
    parsers: PG_COMPATIBLE_PARSERS,
    serializers: { [types.BOOL]: serializeBool },
  });
  const reply = async (id: number, run: () => Promise<WireResult>) => {
    try {
      port.postMessage({ id, result: await run() } satisfies WorkerReply);
    } catch (err) {
      port.postMessage({ id, error: wireError(err) } satisfies WorkerReply);
    }
  };
  void reply(0, async () => {
    await opening;
    return NO_ROWS;
  });
  port.on('message', (request: WorkerRequest) => {
    void reply(request.id, async () => {
      const db = await opening;
      if ('close' in request) {
        await db.close();
        return NO_ROWS;
      }
      const { rows, affectedRows, fields } =
        request.params && request.params.length > 0
          ? await db.query(request.sql, request.params)
          : lastResult(await db.exec(request.sql));
      return { rows, affectedRows, fields };
    });
  });
}

/** Text may hold several statements (migrations); TypeORM wants the last result. */
function lastResult(results: Results[]): WireResult {
  return results[results.length - 1] ?? NO_ROWS;
}

function wireError(err: unknown): WireError {
  if (!(err instanceof Error)) return { message: String(err) };
  const wire: WireError = { message: err.message, name: err.name };
  for (const [key, value] of Object.entries(err)) {
    if (typeof value === 'string' || typeof value === 'number') wire[key] = value;
  }
  return wire;
}

function serializeBool(value: unknown): string {
  if (value === true || value === 'true' || value === 1) return 'TRUE';
  if (value === false || value === 'false' || value === 0) return 'FALSE';
  return String(value);
}
