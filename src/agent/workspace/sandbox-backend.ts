import { Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { agentConfig } from '../../config/agent.config';
import { isLoopback } from '../../config/load-env';
import { cgroupFactory } from './sandbox-cgroup';
import { sandboxLauncher, type SandboxLauncherOptions } from './sandbox-launcher';
import { sandboxProgram } from './sandbox-program';
import { SandboxRuntime } from './sandbox-runtime';
import type { SandboxMode } from './workspace-runtime';

/** The sandbox cannot be made here, and the configuration does not allow running without it. */
export class SandboxUnavailableError extends Error {
  override readonly name = 'SandboxUnavailableError';
}

const FIX =
  'Install bubblewrap 0.8 or later (Debian/Ubuntu: apt-get install bubblewrap) and allow user ' +
  'namespaces (in a container: the seccomp profile and `systempaths=unconfined` of ' +
  'docker-compose.yml), or set OH_SANDBOX=none to run the agent unsandboxed (it then acts with ' +
  "the service's own authority).";

type AgentConfig = ConfigType<typeof agentConfig>;

const PROBES = new Map<string, Promise<string | null>>();

/**
 * The workspace runtime the configuration asks for. `OH_SANDBOX` unset: bubblewrap if a real
 * sandbox starts here (probed now); if not, refusing to start when listening beyond loopback,
 * else (a developer's machine) unsandboxed, loudly.
 */
export async function createWorkspaceRuntime(
  config: AgentConfig,
  logger = new Logger('Sandbox'),
): Promise<SandboxRuntime> {
  const program = sandboxProgram(config.sandboxProgram);
  const asRoot = process.getuid?.() === 0;
  const limits = {
    cpuSeconds: config.sandboxCpuSeconds,
    openFiles: config.sandboxOpenFiles,
    cgroup: null as ReturnType<typeof cgroupFactory>['factory'],
  };
  if (!hasProgram('prlimit', config.shellEnv.PATH)) {
    logger.warn(
      'prlimit (util-linux) was not found: sandboxes run without CPU and open-file limits',
    );
    limits.cpuSeconds = 0;
    limits.openFiles = 0;
  }
  const cgroup = cgroupFactory({ memoryMb: config.sandboxMemoryMb, pids: config.sandboxPids });
  limits.cgroup = cgroup.factory;
  if (!cgroup.factory && (config.sandboxMemoryMb > 0 || config.sandboxPids > 0)) {
    logger.log(
      `No cgroup for sandboxes (${cgroup.why}): their processes and memory are bounded only by ` +
        'the host or container (compose: mem_limit, pids_limit)',
    );
  }
  const base: Omit<SandboxLauncherOptions, 'mode'> = {
    program,
    env: config.shellEnv,
    network: config.sandboxNetwork,
    privateDirs: [config.workspaceRoot, ...config.privateDirs],
    limits,
  };
  const runtime = (mode: SandboxMode, user: { uid: number; gid: number } | null) =>
    new SandboxRuntime({
      mode,
      program: program.kind,
      launcher: sandboxLauncher({ ...base, mode, user: mode === 'bwrap' ? user : null }),
      owner: mode === 'bwrap' ? user : null,
      settings: { commandTimeoutMs: config.commandTimeoutMs },
      maxLive: config.maxLiveSandboxes,
      idleMs: config.sandboxIdleMs,
    });

  if (config.sandbox === 'none') {
    logger.warn(
      "OH_SANDBOX=none: the agent runs UNSANDBOXED, with the service's own authority (its files, " +
        `keys and network). ${FIX.replace(/, or set OH_SANDBOX=none.*$/, '')} to sandbox it. ` +
        `(Sandbox program: ${program.kind}.)`,
    );
    return runtime('none', null);
  }
  const user = asRoot ? config.sandboxUser : null;
  const candidate = runtime('bwrap', user);
  // Once per process and set-up: test apps start many services in one process.
  const key = JSON.stringify([
    user,
    base.env.PATH,
    config.sandboxNetwork,
    config.workspaceRoot,
    program.kind,
  ]);
  let probed = PROBES.get(key);
  if (!probed) PROBES.set(key, (probed = probe(candidate)));
  const problem = await probed;
  if (problem === null) {
    logger.log(
      `Agents run in bubblewrap sandboxes${user ? ` as uid ${user.uid}` : ''}` +
        `${config.sandboxNetwork ? ', with network' : ', without network'}` +
        ` (sandbox program: ${program.kind})`,
    );
    return candidate;
  }
  if (config.sandbox === 'bwrap') {
    throw new SandboxUnavailableError(
      `OH_SANDBOX=bwrap, but bubblewrap cannot create the sandbox on this machine: ${problem}. ${FIX}`,
    );
  }
  if (!isLoopback(config.host)) {
    throw new SandboxUnavailableError(
      `Refusing to listen on ${config.host} with an unsandboxed agent: bubblewrap cannot create ` +
        `the sandbox on this machine (${problem}). ${FIX}`,
    );
  }
  logger.warn(
    `THE AGENT RUNS UNSANDBOXED: bubblewrap cannot create the sandbox here (${problem}). Any ` +
      "command the model asks for runs with the service's own authority. Allowed only because " +
      `the service listens on loopback (${config.host}). ${FIX} (Sandbox program: ${program.kind}.)`,
  );
  return runtime('none', null);
}

/** Starts a real sandbox on a scratch workspace and runs `true` in it; null or what went wrong. */
async function probe(runtime: SandboxRuntime): Promise<string | null> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'oh-sandbox-probe-'));
  fs.chmodSync(scratch, 0o711); // the sandbox user must get through it
  const workspace = path.join(scratch, 'ws', 'probe');
  try {
    const result = await runtime.exec('probe', workspace, {
      command: 'true',
      isInput: false,
      reset: false,
      signal: AbortSignal.timeout(15_000),
    });
    return result.status === 'completed' && result.exitCode === 0
      ? null
      : `the probe command ended with ${result.status} ${result.exitCode}: ${result.output.trim()}`;
  } catch (error) {
    return (error as Error).message.replace(/^the sandbox ended: it exited \([^)]*\)(: )?/, '');
  } finally {
    await runtime.dispose('probe');
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function hasProgram(name: string, searchPath = '/usr/bin:/bin'): boolean {
  return searchPath.split(':').some((dir) => dir !== '' && fs.existsSync(path.join(dir, name)));
}
