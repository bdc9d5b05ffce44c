import { sandboxLauncher } from '../../src/agent/workspace/sandbox-launcher';
import {
  sandboxProgram,
  type SandboxProgramChoice,
} from '../../src/agent/workspace/sandbox-program';
import {
  SandboxRuntime,
  type SandboxRuntimeOptions,
} from '../../src/agent/workspace/sandbox-runtime';
import type { SandboxMode } from '../../src/agent/workspace/workspace-runtime';
import type { SandboxSettings } from '../../src/sandbox/protocol';

export const TEST_SANDBOX_USER = { uid: 61000, gid: 61000 };

/** A runtime with real sandbox programs (separate processes), as the service makes them. */
export function testRuntime(
  mode: SandboxMode,
  env: Record<string, string>,
  settings: Omit<SandboxSettings, 'workspace'> = {},
  extra: Partial<SandboxRuntimeOptions> = {},
  choice: SandboxProgramChoice = 'auto',
): SandboxRuntime {
  const user = mode === 'bwrap' && process.getuid?.() === 0 ? TEST_SANDBOX_USER : null;
  const program = sandboxProgram(choice);
  return new SandboxRuntime({
    mode,
    program: program.kind,
    owner: user,
    settings,
    launcher: sandboxLauncher({
      mode,
      user,
      program,
      env,
      limits: { cpuSeconds: 600, openFiles: 1024, cgroup: null },
    }),
    ...extra,
  });
}
