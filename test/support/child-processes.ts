import type { ChildProcess } from 'node:child_process';

/** Every tracked child of this test file that has not exited yet. */
const live = new Set<ChildProcess>();
let closed = false;

/**
 * Registers a long-running child (a server): it is killed after the test file (jest-setup.ts)
 * even when the test that started it timed out before it could stop it. One live child keeps jest
 * from ever exiting. A child tracked after the file is over is killed at once.
 */
export function trackChild(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (closed) child.kill('SIGKILL');
}

/** SIGKILLs every tracked child still running and waits for their exit. */
export async function killTrackedChildren(): Promise<void> {
  closed = true;
  await Promise.all(
    [...live].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          if (!child.kill('SIGKILL') || child.exitCode !== null) resolve();
        }),
    ),
  );
}
