import { registerAs } from '@nestjs/config';
import { join, resolve } from 'node:path';
import { loadEnv } from './load-env';

export const databaseConfig = registerAs('database', () => {
  const env = loadEnv();
  const dataDir = env.PGLITE_DATA_DIR ?? join(env.OH_PERSISTENCE_DIR, 'pglite');
  return {
    /** PostgreSQL connection string; unset means the embedded database. */
    url: env.DATABASE_URL,
    pgliteDataDir: dataDir.startsWith('memory://') ? dataDir : resolve(dataDir),
    retryAttempts: env.NODE_ENV === 'test' ? 0 : 5,
    /** How often (PostgreSQL) turns locked by a process that died are looked for and freed. */
    recoveryIntervalMs: env.OH_RECOVERY_INTERVAL_S * 1000,
    /** How long (PostgreSQL) a process's lease lasts without renewal; see TurnLeases. */
    leaseTtlMs: env.OH_LEASE_TTL_S * 1000,
  };
});
