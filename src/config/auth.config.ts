import { registerAs } from '@nestjs/config';
import { resolve } from 'node:path';
import { loadEnv } from './load-env';

export const authConfig = registerAs('auth', () => {
  const env = loadEnv();
  return {
    /** Accepted session keys; empty means open access (only allowed on loopback). */
    sessionKeys: env.sessionKeys,
    /** Material for the secret-encryption key, in the order API.md section 1 gives. */
    secretKey: env.OH_SECRET_KEY ?? env.sessionKeys.at(0), // undefined: none configured
    /** Where a generated secret key is kept when none is configured. */
    generatedKeyFile: resolve(env.OH_PERSISTENCE_DIR, 'secret.key'),
  };
});
