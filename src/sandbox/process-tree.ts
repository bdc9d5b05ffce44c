import * as fs from 'node:fs';

interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  state: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Kills a shell started as its own session and process-group leader, and everything it started:
 * its process group, its session (`timeout` and friends move to their own group) and its
 * descendants. The leader is frozen first so it cannot fork, the others are killed, then the
 * leader is resumed for a moment so it reaps them (no zombies left behind), then killed too.
 * Without `/proc` (not Linux) it falls back to killing the process group.
 *
 * Once the leader has been reaped its pid may be reused, so then only processes still in its group
 * or session are touched (the kernel does not reuse a pid that is still a group or session id).
 */
export async function killProcessTree(leader: number, leaderAlive = true): Promise<void> {
  if (!fs.existsSync('/proc/self/stat')) {
    if (leaderAlive) signal(-leader, 'SIGKILL');
    return;
  }
  if (!leaderAlive) {
    for (const p of listProcesses()) {
      if (p.pgid === leader || p.sid === leader) signal(p.pid, 'SIGKILL');
    }
    return;
  }
  signal(leader, 'SIGSTOP');
  for (let round = 0; round < 10; round++) {
    const others = membersOf(leader).filter((p) => p.pid !== leader && p.state !== 'Z');
    if (others.length === 0) break;
    for (const p of others) signal(p.pid, 'SIGKILL');
    await sleep(5);
  }
  signal(leader, 'SIGCONT');
  for (let waited = 0; waited < 200; waited += 10) {
    if (!membersOf(leader).some((p) => p.pid !== leader && p.ppid === leader)) break;
    await sleep(10);
  }
  signal(-leader, 'SIGKILL');
  signal(leader, 'SIGKILL');
}

/**
 * The first process below `leader` (breadth first) that leads a session of its own, or null: the
 * shell a sandbox started with a new session (bubblewrap's `--new-session`), whose process group
 * is the one a `C-c` must reach. Linux only (`/proc`).
 */
export function findSessionLeaderBelow(leader: number): number | null {
  const all = listProcesses();
  const queue = [leader];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const child of all.filter((p) => p.ppid === parent)) {
      if (child.sid === child.pid && child.state !== 'Z') return child.pid;
      queue.push(child.pid);
    }
  }
  return null;
}

/** Sends a signal, ignoring processes that are already gone. */
export function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/** Processes in the leader's group or session, and its descendants. */
function membersOf(leader: number): ProcessInfo[] {
  const all = listProcesses();
  const children = new Map<number, ProcessInfo[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const found = new Map<number, ProcessInfo>();
  for (const p of all) if (p.pgid === leader || p.sid === leader) found.set(p.pid, p);
  const visited = new Set<number>([leader]);
  const queue = [...found.keys(), leader];
  while (queue.length > 0) {
    for (const child of children.get(queue.pop() as number) ?? []) {
      if (visited.has(child.pid)) continue;
      visited.add(child.pid);
      found.set(child.pid, child);
      queue.push(child.pid);
    }
  }
  return [...found.values()];
}

function listProcesses(): ProcessInfo[] {
  const result: ProcessInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    result.push({
      pid: Number(name),
      state: fields[0],
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      sid: Number(fields[3]),
    });
  }
  return result;
}
