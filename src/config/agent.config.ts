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
    /** Environment of sandboxes: the allow-list (PATH, HOME, LANG, TERM, TZ, OH_SANDBOX_ENV). */
    shellEnv: env.shellEnv,
    /** `bwrap`, `none`, or unset: bwrap when it works here (`workspace/sandbox-backend.ts`). */
    sandbox: env.OH_SANDBOX,
    /** `native`, `node` or `auto` (native when built): which sandbox program runs. */
    sandboxProgram: env.OH_SANDBOX_PROGRAM,
    /** Where the service listens: an unsandboxed agent is refused beyond loopback. */
    host: env.HOST,
    sandboxNetwork: env.OH_SANDBOX_NETWORK === 'on',
    sandboxUser: { uid: env.OH_SANDBOX_UID, gid: env.OH_SANDBOX_GID },
    commandTimeoutMs: env.OH_SANDBOX_COMMAND_TIMEOUT_S * 1000,
    sandboxCpuSeconds: env.OH_SANDBOX_CPU_S,
    sandboxOpenFiles: env.OH_SANDBOX_NOFILE,
    sandboxMemoryMb: env.OH_SANDBOX_MEMORY_MB,
    sandboxPids: env.OH_SANDBOX_PIDS,
    maxLiveSandboxes: env.OH_MAX_LIVE_SANDBOXES,
    sandboxIdleMs: env.OH_SANDBOX_IDLE_S * 1000,
    /** The service's own state, which sandboxed shells must never see. */
    privateDirs: [
      resolve(env.OH_PERSISTENCE_DIR),
      ...(env.PGLITE_DATA_DIR && !env.PGLITE_DATA_DIR.startsWith('memory://')
        ? [resolve(env.PGLITE_DATA_DIR)]
        : []),
    ],
  };
});
