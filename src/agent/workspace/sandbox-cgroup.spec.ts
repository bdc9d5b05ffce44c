import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from '../../../test/support/system-tools';

const ROOT = join(__dirname, '..', '..', '..');

/** What cgroupFactory makes of each `limits` in a fresh mount of the unified hierarchy. */
interface Outcome {
  why: string;
  /** One sandbox group's limit files, when a factory was made. */
  files?: Record<string, string>;
  /** Whether the parent group exists afterwards. */
  parentLeft: boolean;
}

/**
 * Runs cgroupFactory against cgroup v2 mounted at a private directory, in a mount namespace of its
 * own (nothing outlives the child): the real kernel interface, on any host whose kernel has cgroup2,
 * hybrid ones included. Root only.
 */
function inUnifiedHierarchy(limits: { memoryMb: number; pids: number }[]): {
  controllers: string[];
  outcomes: Outcome[];
} {
  const script = `
    import * as fs from 'node:fs';
    import * as path from 'node:path';
    import { cgroupFactory } from './src/agent/workspace/sandbox-cgroup';
    const root = process.env.CG_ROOT!;
    const parent = path.join(root, 'agent-gateway-sandboxes');
    const outcomes = (${JSON.stringify(limits)}).map((limits) => {
      const { factory, why } = cgroupFactory(limits, root);
      let files;
      if (factory) {
        const group = factory();
        const dir = path.dirname(group.procs[0]);
        files = Object.fromEntries(['memory.max', 'pids.max'].map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8').trim()]));
        group.release();
        fs.rmdirSync(dir);
      }
      const parentLeft = fs.existsSync(parent);
      if (parentLeft) fs.rmdirSync(parent);
      return { why, files, parentLeft };
    });
    const controllers = fs.readFileSync(path.join(root, 'cgroup.controllers'), 'utf8').split(/\\s+/).filter(Boolean);
    console.log(JSON.stringify({ controllers, outcomes }));`;
  const mountPoint = mkdtempSync(join(tmpdir(), 'cgroup2-'));
  const run = spawnSync(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount -t cgroup2 cgroup2 "$CG_ROOT" && exec "$0" -e "$1"',
      join(ROOT, 'node_modules/.bin/tsx'),
      script,
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, CG_ROOT: mountPoint } },
  );
  rmdirSync(mountPoint); // the mount ended with the child's namespace
  if (run.status !== 0) throw new Error(`the child failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as { controllers: string[]; outcomes: Outcome[] };
}

requireTool('unshare', 'run as root (mounts cgroup2 in a private mount namespace)', {
  probe: ['-m', '--propagation', 'private', 'mount', '-t', 'cgroup2', 'cgroup2', '/mnt'],
})('cgroupFactory in a real cgroup v2 hierarchy', () => {
  it('limits a sandbox where the controllers are there, and says which are missing where not', () => {
    const asked = [
      { memoryMb: 64, pids: 32 },
      { memoryMb: 0, pids: 16 },
    ];
    const { controllers, outcomes } = inUnifiedHierarchy(asked);
    asked.forEach((limits, i) => {
      const needed = [limits.memoryMb > 0 && 'memory', 'pids'].filter(Boolean) as string[];
      const missing = needed.filter((c) => !controllers.includes(c));
      const outcome = outcomes[i];
      if (missing.length === 0) {
        // a v2 host with the controllers (and root): the limits land in the sandbox's group
        expect(outcome.why).toBe(`cgroup v2 (${needed.join(', ')})`);
        expect(outcome.files?.['pids.max']).toBe(String(limits.pids));
        if (limits.memoryMb > 0) expect(outcome.files?.['memory.max']).toBe(`${64 * 1024 * 1024}`);
      } else {
        // a hybrid host: v1 hierarchies hold the controllers; say so, leave nothing behind
        expect(outcome).toEqual({
          why: expect.stringContaining(
            `without the ${missing.join(' and ')} controller (it offers: ${controllers.join(' ') || 'none'})`,
          ),
          parentLeft: false,
        });
      }
    });
  });
});
