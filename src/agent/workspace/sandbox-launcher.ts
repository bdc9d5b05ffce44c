import * as fs from 'node:fs';
import * as path from 'node:path';
import { isInside } from '../../sandbox/workspace-paths';
import type { SandboxLaunch } from './sandbox-client';
import type { CgroupFactory } from './sandbox-cgroup';
import type { SandboxProgram } from './sandbox-program';
import type { SandboxMode } from './workspace-runtime';

/** Where the agent sees its workspace inside bubblewrap, whatever its path on the host. */
export const SANDBOX_WORKSPACE = '/workspace';
/** Where the sandbox program is mounted inside bubblewrap. */
const SANDBOX_PROGRAM = '/sandbox';
/** The agent's home inside bubblewrap: a tmpfs, gone with the sandbox. */
const SANDBOX_HOME = '/home/agent';

/**
 * What sandboxes may see of the host, read-only: the system (programs, libraries,
 * configuration). Everything else (the service's code and data, home directories, /var, /opt,
 * /srv, /mnt, /run, other conversations' workspaces) is simply not mounted.
 */
export const SYSTEM_DIRS: readonly string[] = [
  '/usr',
  '/etc',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
];

/** Node's flags for a small, quick sandbox program (it holds one conversation's tools). */
const NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=256', '--no-warnings'];

export interface SandboxLimits {
  /** CPU seconds per process (RLIMIT_CPU), 0: none. */
  cpuSeconds: number;
  /** Open files per process (RLIMIT_NOFILE), 0: none. */
  openFiles: number;
  /** Makes the cgroup (processes and memory) each sandbox joins before anything starts, or null. */
  cgroup: CgroupFactory | null;
}

export interface SandboxLauncherOptions {
  mode: SandboxMode;
  /** The sandbox program (`sandboxProgram()`): the native one or the Node one. */
  program: SandboxProgram;
  /** The environment of the program and its shells: already the allow-list. */
  env: Readonly<Record<string, string>>;
  /** bwrap: keep the host's network (`OH_SANDBOX_NETWORK=on`); otherwise none, not even loopback. */
  network?: boolean;
  /** bwrap when the service is root: run as this unprivileged user (setpriv), never as root. */
  user?: { uid: number; gid: number } | null;
  /** The service's state (data dir, workspace root): hidden should one lie in a system dir. */
  privateDirs?: readonly string[];
  limits?: SandboxLimits;
  /** Read-only system directories (default `SYSTEM_DIRS`). */
  systemDirs?: readonly string[];
  bwrap?: string;
  node?: string;
}

/** How to start the sandbox program of the workspace at `workspaceDir` (a host path). */
export type SandboxLauncher = (workspaceDir: string) => LaunchPlan;

export interface LaunchPlan extends SandboxLaunch {
  /** The workspace as the sandbox program sees it. */
  workspace: string;
  /** Descriptors the sandbox inherits as fd 3, 4, … (closed here once it started). */
  fds: number[];
  /** To call once the sandbox ended (removes its cgroup). */
  release(): void;
}

export function sandboxLauncher(options: SandboxLauncherOptions): SandboxLauncher {
  const node = options.node ?? process.execPath;
  return (workspaceDir) => {
    const { kind, dir, entry } = options.program;
    const file = path.join(options.mode === 'bwrap' ? SANDBOX_PROGRAM : dir, entry);
    // The native program runs by itself; the Node one needs node (mounted when outside /usr).
    const program = kind === 'native' ? [file] : [node, ...NODE_FLAGS, file];
    if (options.mode === 'none') {
      return wrap(options, {
        command: program[0],
        args: program.slice(1),
        env: { ...options.env },
        cwd: workspaceDir,
        workspace: workspaceDir,
        fds: [],
        release: () => undefined,
      });
    }
    // The workspace and the program are handed over as open directories (fd 3 and 4): bwrap,
    // perhaps as the sandbox user, needs no right to the path that leads to them.
    const fds = [openDirectory(workspaceDir), openDirectory(dir)];
    return wrap(options, {
      command: options.bwrap ?? 'bwrap',
      args: [...bwrapArgs(workspaceDir, options, kind === 'node' ? node : null), ...program],
      fds,
      // For finding bwrap (and setpriv, prlimit); bwrap itself starts from a cleared environment.
      env: options.env.PATH === undefined ? {} : { PATH: options.env.PATH },
      cwd: '/',
      workspace: SANDBOX_WORKSPACE,
      release: () => undefined,
    });
  };
}

/**
 * Limits and identity around the launch, outermost first: join the cgroup (a tiny `sh` that
 * writes its own pid, then execs), drop to the sandbox user (`setpriv`), set rlimits (`prlimit`).
 * Each step execs the next, so the pid the service holds is the sandbox's own.
 */
function wrap(options: SandboxLauncherOptions, launch: LaunchPlan): LaunchPlan {
  let argv = [launch.command, ...launch.args];
  const limits = options.limits;
  if (limits && (limits.cpuSeconds > 0 || limits.openFiles > 0)) {
    argv = [
      'prlimit',
      ...(limits.cpuSeconds > 0 ? [`--cpu=${limits.cpuSeconds}`] : []),
      ...(limits.openFiles > 0 ? [`--nofile=${limits.openFiles}`] : []),
      '--',
      ...argv,
    ];
  }
  if (options.user) {
    argv = [
      'setpriv',
      `--reuid=${options.user.uid}`,
      `--regid=${options.user.gid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
      ...argv,
    ];
  }
  const cgroup = limits?.cgroup?.() ?? null;
  if (cgroup) {
    const writes = cgroup.procs.map((file) => `echo $$ > ${shellQuote(file)}`).join(' && ');
    argv = ['/bin/sh', '-c', `${writes} && exec "$@"`, 'sandbox', ...argv];
  }
  return { ...launch, command: argv[0], args: argv.slice(1), release: () => cgroup?.release() };
}

const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * Every bubblewrap argument up to the command, each for a reason:
 * - `--unshare-all` (user, pid, net, ipc, uts, cgroup) and `--disable-userns`: no nested user
 *   namespace (a large kernel attack surface); its own PID namespace, so host processes and their
 *   environments in /proc (the service's secrets) are invisible, and the end of bwrap ends every
 *   process of the sandbox, daemons and `setsid` ones included; no network, not even the host's
 *   loopback (`--share-net` only with OH_SANDBOX_NETWORK=on).
 * - `--die-with-parent`: the sandbox dies with the service, even on `kill -9`.
 * - `--as-pid-1` (the native program): the program is PID 1 itself, without bwrap's init beside
 *   it. That init holds the protocol's pipes too, and a shell of the same user could write forged
 *   answers into /proc/1/fd/1; the native program makes itself non-dumpable, which closes its own
 *   /proc/<pid>/fd, and as PID 1 adopts every orphan, so its process-tree kill finds daemons.
 * - `--new-session`: no way to the controlling terminal of ours (TIOCSTI injection).
 * - `--cap-drop ALL`: no capability inside, even for uid 0 of the namespace.
 * - `--clearenv` + the allow-list: nothing of the service's environment.
 * - Mounts: the system read-only, its own /proc, a private /dev, /tmp and home, the sandbox
 *   program read-only at /sandbox, and the conversation's workspace, the only writable mount, at
 *   /workspace. Nothing else of the host: not the service's code, `.env`, data or key file, not
 *   the other workspaces. `--remount-ro /` leaves the root itself read-only.
 * - PR_SET_NO_NEW_PRIVS is always set by bwrap: setuid files do not elevate.
 */
export function bwrapArgs(
  _workspaceDir: string,
  options: SandboxLauncherOptions,
  node: string | null = process.execPath,
): string[] {
  const mounts: { at: string; args: string[] }[] = [];
  const mount = (at: string, ...args: string[]) => mounts.push({ at, args });

  const systemDirs: string[] = [];
  for (const dir of options.systemDirs ?? SYSTEM_DIRS) {
    const stat = lstatOrNull(dir);
    if (stat?.isSymbolicLink()) mount(dir, '--symlink', fs.readlinkSync(dir), dir);
    else if (stat?.isDirectory()) {
      mount(dir, '--ro-bind', dir, dir);
      systemDirs.push(realPathOrNull(dir) ?? dir);
    }
  }
  mount('/proc', '--proc', '/proc');
  mount('/dev', '--dev', '/dev');
  mount('/tmp', '--tmpfs', '/tmp');
  mount('/home', '--tmpfs', '/home');
  mount(SANDBOX_HOME, '--dir', SANDBOX_HOME);
  // The service's state, should it lie inside a system directory: covered by an empty tmpfs.
  for (const dir of options.privateDirs ?? []) {
    const real = realPathOrNull(dir);
    if (real !== null && systemDirs.some((root) => isInside(root, real))) {
      mount(real, '--tmpfs', real);
    }
  }
  // Node, to run the Node sandbox program, when the system directories do not hold it already.
  // (The native program needs only the C library, in the system directories.)
  const realNode = node === null ? null : fs.realpathSync(node);
  if (node !== null && realNode !== null && !systemDirs.some((root) => isInside(root, realNode))) {
    mount(node, '--ro-bind', realNode, node);
  }
  mount(SANDBOX_PROGRAM, '--ro-bind-fd', '4', SANDBOX_PROGRAM);
  mount(SANDBOX_WORKSPACE, '--bind-fd', '3', SANDBOX_WORKSPACE);

  const depth = (at: string) => at.split('/').filter(Boolean).length;
  const ordered = mounts
    .map((m, index) => ({ ...m, index }))
    .sort((a, b) => depth(a.at) - depth(b.at) || a.index - b.index);

  const env: Record<string, string> = { ...options.env, HOME: SANDBOX_HOME };
  return [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    ...(options.network ? ['--share-net'] : []),
    '--die-with-parent',
    ...(options.program.kind === 'native' ? ['--as-pid-1'] : []),
    '--new-session',
    '--cap-drop',
    'ALL',
    '--clearenv',
    ...Object.entries(env).flatMap(([name, value]) => ['--setenv', name, value]),
    ...ordered.flatMap((m) => m.args),
    '--remount-ro',
    '/',
    '--chdir',
    SANDBOX_WORKSPACE,
    '--',
  ];
}

/** The directory itself, never through a symlink at its last component. */
function openDirectory(dir: string): number {
  const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC } = fs.constants as Record<string, number>;
  return fs.openSync(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | (O_CLOEXEC ?? 0));
}

function lstatOrNull(target: string): fs.Stats | null {
  try {
    return fs.lstatSync(target);
  } catch {
    return null;
  }
}

function realPathOrNull(target: string): string | null {
  try {
    return fs.realpathSync(target);
  } catch {
    return null;
  }
}
