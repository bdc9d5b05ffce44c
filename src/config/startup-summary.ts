import { resolve } from 'node:path';
import type { AppEnv } from './load-env';

/** What the service tells an operator once it listens: where, on what, how protected. */
export interface StartupSummary {
  url: string;
  database: string;
  sandbox: string;
  auth: string;
  docs: string;
}

/** The database in use, never with its password: `PostgreSQL db.example.com:5432/gateway`. */
export function describeDatabase(
  env: Pick<AppEnv, 'DATABASE_URL' | 'PGLITE_DATA_DIR' | 'OH_PERSISTENCE_DIR'>,
): string {
  if (env.DATABASE_URL) {
    try {
      const url = new URL(env.DATABASE_URL);
      return `PostgreSQL ${url.hostname || 'localhost'}:${url.port || '5432'}${url.pathname || '/'}`;
    } catch {
      return 'PostgreSQL';
    }
  }
  const dir = env.PGLITE_DATA_DIR ?? resolve(env.OH_PERSISTENCE_DIR, 'pglite');
  return dir.startsWith('memory://')
    ? 'embedded PGlite in memory'
    : `embedded PGlite at ${resolve(dir)}`;
}

export function startupSummary(
  env: Pick<
    AppEnv,
    'DATABASE_URL' | 'PGLITE_DATA_DIR' | 'OH_PERSISTENCE_DIR' | 'HOST' | 'sessionKeys'
  >,
  port: number,
  sandbox: string,
): StartupSummary {
  const host = env.HOST.includes(':') && !env.HOST.startsWith('[') ? `[${env.HOST}]` : env.HOST;
  const url = `http://${host}:${port}`;
  const keys = env.sessionKeys.length;
  return {
    url,
    database: describeDatabase(env),
    sandbox,
    auth:
      keys === 0
        ? 'OPEN (no session key; loopback only)'
        : `${keys} session key${keys === 1 ? '' : 's'}`,
    docs: `${url}/docs`,
  };
}

/** One line: `agent-gateway listening on … · database: … · sandbox: … · auth: … · docs: …`. */
export const formatStartupSummary = (s: StartupSummary): string =>
  `agent-gateway listening on ${s.url} · database: ${s.database} · sandbox: ${s.sandbox} · ` +
  `auth: ${s.auth} · docs: ${s.docs}`;
