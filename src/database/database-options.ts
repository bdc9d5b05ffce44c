import type { ConfigType } from '@nestjs/config';
import type { DataSourceOptions } from 'typeorm';
import { ownerOnlyDir } from '../common/owner-only';
import type { databaseConfig } from '../config/database.config';
import { embeddedPostgres } from './embedded-database';
import { MIGRATIONS } from './migration-list';
import { SnakeNamingStrategy } from './snake-naming.strategy';

export type DatabaseConfig = ConfigType<typeof databaseConfig>;

let memoryTemplate: Blob | undefined;

/**
 * Test hook, never used by the application: in-memory (`memory://`) embedded databases created
 * after this call start from `template`, a PGlite `dumpDataDir()` tarball of a freshly initialised
 * cluster, instead of running initdb (~4 s each). The jest globalSetup
 * (`test/support/global-setup.ts`) makes the tarball once; migrations still run on every start.
 */
export function useEmbeddedTemplate(template: Blob | undefined): void {
  memoryTemplate = template;
}

/** One definition for the app and the TypeORM CLI: PostgreSQL when a URL is set, else embedded PGlite. */
export function databaseOptions(config: DatabaseConfig): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    uuidExtension: 'pgcrypto' as const,
    installExtensions: false,
    namingStrategy: new SnakeNamingStrategy(),
  };
  if (config.url) {
    return {
      ...common,
      url: config.url,
      poolSize: 20,
      applicationName: 'agent-gateway',
      // An unreachable server fails a request in 5 s (503) instead of holding it; TCP keepalive
      // finds connections a failover left half-open. Broken connections leave the pool on error.
      connectTimeoutMS: 5_000,
      extra: { keepAlive: true },
    };
  }
  const dataDir = config.pgliteDataDir;
  if (!dataDir.startsWith('memory://')) ownerOnlyDir(dataDir);
  const loadDataDir = dataDir.startsWith('memory://') ? memoryTemplate : undefined;
  return { ...common, driver: embeddedPostgres({ dataDir, ...(loadDataDir && { loadDataDir }) }) };
}
