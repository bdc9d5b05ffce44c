import { AppError } from '../common/errors/app-error';

/** SQLSTATE classes and codes that mean "the database is not there", not "the query is wrong". */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown: the server is stopping (restart, failover)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or in recovery
  '53300', // too_many_connections
]);
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** What node-postgres says when a connection died under it or could not be made in time. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection ended|connect ECONNREFUSED/i;

/**
 * Whether `err` says the database could not be reached (down, restarting, connection cut), as
 * opposed to a failed statement. Looks through TypeORM's `QueryFailedError` to the driver's error.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as Record<string, unknown> | undefined, depth = 0; e && depth < 4; depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08') || UNAVAILABLE_ERRNOS.has(code))
      return true;
    if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) return true;
    e = (e.driverError ?? e.cause) as Record<string, unknown> | undefined;
  }
  return false;
}

/** 503 `database_unavailable`: the request can be retried once the database is back. */
export const databaseUnavailable = (cause?: unknown) =>
  new AppError(
    'unavailable',
    'database.database_unavailable',
    'The database is unavailable (restarting or unreachable); retry in a few seconds.',
    { headers: { 'Retry-After': '2' }, cause },
  );
