import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

/** Where test apps find the embedded-database template (read by create-test-app.ts). */
export const TEMPLATE_ENV = 'AGENT_GATEWAY_TEST_PGLITE_TEMPLATE';

/**
 * Runs once before the suite. On the embedded database, every test app would otherwise run PGlite's
 * initdb (~4 s); instead one freshly initialised cluster is dumped here, and each app starts from a
 * copy of it (~0.5 s, `useEmbeddedTemplate` in database-options.ts) and runs the migrations itself.
 * The tarball is kept in the temp dir per PGlite version, so later runs skip even this step.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) return; // a real PostgreSQL: nothing to prepare
  const { version } = JSON.parse(
    readFileSync(join(__dirname, '../../node_modules/@electric-sql/pglite/package.json'), 'utf8'),
  ) as { version: string };
  const path = join(tmpdir(), `agent-gateway-pglite-${version}-initdb.tar`);
  if (!existsSync(path)) {
    const db = await PGlite.create();
    const dump = await db.dumpDataDir('none');
    await db.close();
    const partial = `${path}.${process.pid}.tmp`;
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, path); // atomic: a concurrent run never reads half a file
  }
  process.env[TEMPLATE_ENV] = path;
}
