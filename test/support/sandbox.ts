import { execFileSync } from 'node:child_process';
import { sandboxLauncher } from '../../src/agent/workspace/sandbox-launcher';
import { sandboxProgramDir } from '../../src/agent/workspace/sandbox-program';
import {
  SandboxRuntime,
  type SandboxRuntimeOptions,
} from '../../src/agent/workspace/sandbox-runtime';
import type { SandboxMode } from '../../src/agent/workspace/workspace-runtime';
import type { SandboxSettings } from '../../src/sandbox/protocol';

/** Whether bubblewrap can make a sandbox here (a real `bwrap … true`). */
export function bwrapWorks(): boolean {
  try {
    execFileSync('bwrap', ['--unshare-all', '--ro-bind', '/', '/', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const BWRAP = bwrapWorks();
let said = false;

/**
 * `describe` for tests that need bubblewrap: skipped, with one line saying how to install it,
 * where it does not work, except under CI (`CI=true`), where they run and fail without it.
 */
export const describeWithBwrap: jest.Describe = ((name: string, fn: () => void) => {
  if (BWRAP || process.env.CI === 'true') return describe(name, fn);
  if (!said) {
    said = true;
    console.warn('bubblewrap not usable here: sandbox tests skipped (apt-get install bubblewrap)');
  }
  return describe.skip(name, fn);
}) as jest.Describe;

export const TEST_SANDBOX_USER = { uid: 61000, gid: 61000 };

/** A runtime with real sandbox programs (separate processes), as the service makes them. */
export function testRuntime(
  mode: SandboxMode,
  env: Record<string, string>,
  settings: Omit<SandboxSettings, 'workspace'> = {},
  extra: Partial<SandboxRuntimeOptions> = {},
): SandboxRuntime {
  const user = mode === 'bwrap' && process.getuid?.() === 0 ? TEST_SANDBOX_USER : null;
  return new SandboxRuntime({
    mode,
    owner: user,
    settings,
    launcher: sandboxLauncher({
      mode,
      user,
      programDir: sandboxProgramDir(),
      env,
      limits: { cpuSeconds: 600, openFiles: 1024, cgroup: null },
    }),
    ...extra,
  });
}
