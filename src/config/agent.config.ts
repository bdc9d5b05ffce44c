import { registerAs } from '@nestjs/config';
import { resolve } from 'node:path';
import { loadEnv } from './load-env';

export const agentConfig = registerAs('agent', () => {
  const env = loadEnv();
  return {
    workspaceRoot: resolve(env.OH_WORKSPACE_PATH),
    maxIterations: env.OH_MAX_ITERATIONS,
    turnTimeoutMs: env.OH_TURN_TIMEOUT_S * 1000,
    shutdownGraceMs: env.OH_SHUTDOWN_GRACE_S * 1000,
    maxConcurrentTurns: env.OH_MAX_CONCURRENT_TURNS,
    /** Environment of agent shells: no session keys, secret key, database URL or other credentials. */
    shellEnv: env.shellEnv,
    /** `bwrap`: agent shells run sandboxed (`workspace/bwrap-launcher.ts`). */
    sandbox: env.OH_SANDBOX,
    /** The service's own state, which sandboxed shells must never see. */
    privateDirs: [
      resolve(env.OH_PERSISTENCE_DIR),
      ...(env.PGLITE_DATA_DIR && !env.PGLITE_DATA_DIR.startsWith('memory://')
        ? [resolve(env.PGLITE_DATA_DIR)]
        : []),
    ],
  };
});
