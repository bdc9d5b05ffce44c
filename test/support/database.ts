import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Where a test app keeps its data: a fresh in-memory PGlite, or, when the suite runs with
 * `DATABASE_URL` (CI), a fresh database on that PostgreSQL server, dropped afterwards.
 */
export interface TestDatabase {
  env: Record<string, string>;
  drop(): Promise<void>;
}

/**
 * The server the suite was started with, read once: createTestApp points `DATABASE_URL` at each
 * app's own database, so a second app in the same file must not take that for the server.
 */
const SERVER_URL = process.env.DATABASE_URL;

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = SERVER_URL;
  if (!serverUrl) return { env: { PGLITE_DATA_DIR: 'memory://' }, drop: async () => {} };
  const name = `gw_test_${randomBytes(6).toString('hex')}`;
  await admin(serverUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    drop: () => admin(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
