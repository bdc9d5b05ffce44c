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
    trustProxy: trustProxyOf(env.OH_TRUST_PROXY),
  };
});

/** OH_TRUST_PROXY as Express's `trust proxy` setting: a hop count, a list, or `false`. */
export function trustProxyOf(value: string | undefined): number | string[] | false {
  const text = value?.trim() ?? '';
  if (text === '' || text === 'false' || text === '0') return false;
  if (/^\d+$/.test(text)) return Number(text);
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}
