import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = '/sys/fs/cgroup';
const GROUP = 'agent-gateway-sandboxes';

export interface CgroupLimits {
  memoryMb: number;
  pids: number;
}

/** One sandbox's cgroup: the `cgroup.procs` files it joins, and its removal once it ended. */
export interface SandboxCgroup {
  procs: string[];
  release(): void;
}

/** Makes a cgroup per sandbox with the given limits; null when the host allows none. */
export type CgroupFactory = () => SandboxCgroup | null;

/**
 * Per-sandbox cgroups where the host lets this process make them: cgroup v1 (`memory` and `pids`
 * hierarchies, as on hybrid hosts) or v2 (the unified hierarchy with the memory and pids
 * controllers). Returns null, and says why, where neither works (not root, a container without a
 * delegated cgroup): then processes and memory are bounded only by the container or host.
 */
export function cgroupFactory(limits: CgroupLimits): {
  factory: CgroupFactory | null;
  why: string;
} {
  if (limits.memoryMb <= 0 && limits.pids <= 0) return { factory: null, why: 'no limits asked' };
  const v1 = [path.join(ROOT, 'memory'), path.join(ROOT, 'pids')];
  try {
    if (v1.every((dir) => fs.existsSync(path.join(dir, 'cgroup.procs')))) {
      const parents = v1.map((dir) => path.join(dir, GROUP));
      for (const dir of parents) fs.mkdirSync(dir, { recursive: true });
      const factory = () => {
        const id = randomUUID();
        const [memory, pids] = parents.map((dir) => path.join(dir, id));
        fs.mkdirSync(memory);
        fs.mkdirSync(pids);
        if (limits.memoryMb > 0) {
          fs.writeFileSync(
            path.join(memory, 'memory.limit_in_bytes'),
            `${limits.memoryMb * 1024 * 1024}`,
          );
        }
        if (limits.pids > 0) fs.writeFileSync(path.join(pids, 'pids.max'), `${limits.pids}`);
        return {
          procs: [path.join(memory, 'cgroup.procs'), path.join(pids, 'cgroup.procs')],
          release: () => removeLater([memory, pids]),
        };
      };
      factory().release(); // proves it works here
      return { factory, why: 'cgroup v1 (memory, pids)' };
    }
    if (fs.existsSync(path.join(ROOT, 'cgroup.controllers'))) {
      const parent = path.join(ROOT, GROUP);
      fs.mkdirSync(parent, { recursive: true });
      fs.writeFileSync(path.join(ROOT, 'cgroup.subtree_control'), '+memory +pids');
      fs.writeFileSync(path.join(parent, 'cgroup.subtree_control'), '+memory +pids');
      const factory = () => {
        const dir = path.join(parent, randomUUID());
        fs.mkdirSync(dir);
        if (limits.memoryMb > 0) {
          fs.writeFileSync(path.join(dir, 'memory.max'), `${limits.memoryMb * 1024 * 1024}`);
        }
        if (limits.pids > 0) fs.writeFileSync(path.join(dir, 'pids.max'), `${limits.pids}`);
        return { procs: [path.join(dir, 'cgroup.procs')], release: () => removeLater([dir]) };
      };
      factory().release();
      return { factory, why: 'cgroup v2 (memory, pids)' };
    }
    return { factory: null, why: `no cgroup hierarchy at ${ROOT}` };
  } catch (error) {
    return { factory: null, why: (error as Error).message };
  }
}

/** A cgroup can be removed once its last process is gone; that may take a moment after a kill. */
function removeLater(dirs: string[], attempt = 0): void {
  const left = dirs.filter((dir) => {
    try {
      fs.rmdirSync(dir);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code !== 'ENOENT';
    }
  });
  if (left.length > 0 && attempt < 20) {
    setTimeout(() => removeLater(left, attempt + 1), 100 * (attempt + 1)).unref();
  }
}
