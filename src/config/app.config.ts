import { registerAs } from '@nestjs/config';
import { resolve } from 'node:path';
import { loadEnv } from './load-env';

export const appConfig = registerAs('app', () => {
  const env = loadEnv();
  return {
    nodeEnv: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    persistenceDir: resolve(env.OH_PERSISTENCE_DIR),
    corsOrigins: env.corsOrigins,
    maxProfiles: env.OH_MAX_PROFILES,
    profileCacheTtlMs: Math.round(env.OH_PROFILE_CACHE_TTL_S * 1000),
  };
});
