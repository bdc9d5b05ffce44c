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
 * hierarchies, as on hybrid hosts) or v2 (the unified hierarchy with the controllers the limits
 * need). Returns null, and says why, where neither works (not root, a container without a
 * delegated cgroup, a v2 hierarchy without those controllers): then processes and memory are
 * bounded only by the container or host. `root` is where the hierarchies are mounted.
 */
export function cgroupFactory(
  limits: CgroupLimits,
  root = ROOT,
): {
  factory: CgroupFactory | null;
  why: string;
} {
  if (limits.memoryMb <= 0 && limits.pids <= 0) return { factory: null, why: 'no limits asked' };
  const v1 = [path.join(root, 'memory'), path.join(root, 'pids')];
  try {
    if (v1.every((dir) => fs.existsSync(path.join(dir, 'cgroup.procs')))) {
      const parents = v1.map((dir) => path.join(dir, GROUP));
      for (const dir of parents) makeGroup(dir);
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
    if (fs.existsSync(path.join(root, 'cgroup.controllers'))) return cgroupV2(limits, root);
    return { factory: null, why: `no cgroup hierarchy at ${root}` };
  } catch (error) {
    return { factory: null, why: (error as Error).message };
  }
}

/**
 * The unified hierarchy: a parent group with the needed controllers enabled for its children, one
 * child per sandbox. A v2 controller is unavailable while a v1 hierarchy holds it (hybrid hosts),
 * and a group that holds processes cannot hand controllers down (a container's own cgroup
 * namespace): both are said as such, and nothing is left behind.
 */
function cgroupV2(limits: CgroupLimits, root: string): ReturnType<typeof cgroupFactory> {
  const needed = [limits.memoryMb > 0 && 'memory', limits.pids > 0 && 'pids'].filter(
    (c): c is string => c !== false,
  );
  const available = fs
    .readFileSync(path.join(root, 'cgroup.controllers'), 'utf8')
    .split(/\s+/)
    .filter(Boolean);
  const missing = needed.filter((c) => !available.includes(c));
  if (missing.length > 0) {
    return {
      factory: null,
      why:
        `cgroup v2 at ${root} without the ${missing.join(' and ')} controller ` +
        `(it offers: ${available.join(' ') || 'none'})`,
    };
  }
  const enable = needed.map((c) => `+${c}`).join(' ');
  try {
    fs.writeFileSync(path.join(root, 'cgroup.subtree_control'), enable);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      factory: null,
      why:
        code === 'EBUSY'
          ? `cgroup v2: ${root} holds processes itself, so it cannot give controllers to sandbox groups`
          : `cgroup v2: cannot enable ${needed.join(', ')} at ${root} (${(error as Error).message})`,
    };
  }
  const parent = path.join(root, GROUP);
  const made = !fs.existsSync(parent);
  try {
    makeGroup(parent);
    fs.writeFileSync(path.join(parent, 'cgroup.subtree_control'), enable);
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
    return { factory, why: `cgroup v2 (${needed.join(', ')})` };
  } catch (error) {
    if (made) removeLater([parent]);
    throw error;
  }
}

/**
 * mkdir of a group under an existing one. Not `recursive`: Node then reports a read-only cgroup
 * mount (a container's) as ENOENT instead of EROFS.
 */
function makeGroup(dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
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
