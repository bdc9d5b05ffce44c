import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ShellLauncher } from './bash-session';
import { isInside } from './workspace-paths';

/**
 * What sandboxed shells may see of the host, read-only: the system (programs, libraries,
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

export interface BwrapSandboxOptions {
  /**
   * The service's own state (data directory, embedded database, the workspace root with every
   * conversation's workspace). They are not mounted anyway; should one lie inside a system
   * directory, an empty tmpfs covers it.
   */
  privateDirs: readonly string[];
  /** Mounted read-only (default `SYSTEM_DIRS`); a symlink such as `/bin -> usr/bin` stays one. */
  systemDirs?: readonly string[];
  /** The bubblewrap binary (default `bwrap`, looked up in the shells' `PATH`). */
  bwrap?: string;
}

/** `OH_SANDBOX=bwrap` was asked for but bubblewrap cannot sandbox anything here. */
export class SandboxUnavailableError extends Error {
  override readonly name = 'SandboxUnavailableError';
}

/**
 * The bubblewrap flags, each for a reason:
 * - `--unshare-user --disable-userns`: a user namespace of its own (implied anyway when the
 *   service is not root, as in the Docker image), in which no further one can be made: nested
 *   user namespaces are a large kernel attack surface and the usual first step of an escape.
 * - `--cap-drop ALL`: started by root, bwrap would otherwise hand the shell every capability
 *   (CAP_SYS_ADMIN could remount the read-only binds writable).
 * - `--unshare-pid --die-with-parent`: its own PID namespace, so host processes (and their
 *   environments in /proc, the service's secrets among them) are invisible, and killing the
 *   namespace's init kills every process the agent started, daemons included; when bwrap dies,
 *   the shell dies with it.
 * - `--new-session`: the shell cannot reach a controlling terminal of ours (TIOCSTI injection).
 * - `--unshare-net`: no network, only a loopback of its own.
 * - `--unshare-ipc`: no System V IPC or POSIX message queues shared with host processes.
 * - No new privileges: bwrap always sets PR_SET_NO_NEW_PRIVS, so setuid binaries do not elevate.
 * Not used: `--unshare-uts` and `--unshare-cgroup` (nothing to protect there without
 * capabilities), `--seccomp` (we ship no filter).
 */
const NAMESPACE_FLAGS = [
  '--unshare-user',
  '--disable-userns',
  '--cap-drop',
  'ALL',
  '--unshare-pid',
  '--die-with-parent',
  '--new-session',
  '--unshare-net',
  '--unshare-ipc',
];

interface ShellSpec {
  cwd: string;
  env: Record<string, string>;
  controlDir: string;
  workspaceDir: string;
}

/**
 * Runs each shell in a bubblewrap sandbox: the system read-only, a fresh /dev, /proc, /tmp and
 * home (tmpfs, gone with the shell), the conversation's workspace writable at the same path as
 * outside (so `file_editor`, which runs in the service, agrees on every path), the session's
 * control directory read-only, nothing else; no network.
 */
export function bwrapLauncher(options: BwrapSandboxOptions): ShellLauncher {
  return (spec) => ({
    command: options.bwrap ?? 'bwrap',
    args: [...bwrapArgs(spec, options), 'bash', '--noprofile', '--norc'],
    cwd: spec.workspaceDir,
    env: spec.env,
    nested: true,
  });
}

/**
 * Checks once that bubblewrap can build this sandbox here (`bwrap … true` on a scratch
 * workspace) and returns the launcher; throws `SandboxUnavailableError` saying why and what to
 * do. Missing, too old (no `--disable-userns`) or denied user namespaces all fail here.
 */
export async function createBwrapLauncher(
  options: BwrapSandboxOptions,
  env: Readonly<Record<string, string>>,
): Promise<ShellLauncher> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'oh-sandbox-check-'));
  try {
    const spec = {
      cwd: path.join(scratch, 'workspace'),
      env: { ...env },
      controlDir: path.join(scratch, 'control'),
      workspaceDir: path.join(scratch, 'workspace'),
    };
    fs.mkdirSync(spec.workspaceDir);
    fs.mkdirSync(spec.controlDir);
    const bwrap = options.bwrap ?? 'bwrap';
    const problem = await new Promise<string | null>((resolve) => {
      execFile(
        bwrap,
        [...bwrapArgs(spec, options), 'true'],
        { cwd: spec.workspaceDir, env: spec.env, timeout: 10_000 },
        (error, _stdout, stderr) => {
          if (!error) return resolve(null);
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') return resolve(`\`${bwrap}\` was not found`);
          const said = String(stderr).trim();
          resolve(said || (error.killed ? 'it did not finish within 10 s' : error.message));
        },
      );
    });
    if (problem !== null) {
      throw new SandboxUnavailableError(
        `OH_SANDBOX=bwrap, but bubblewrap cannot create the sandbox on this machine: ${problem}. ` +
          'Install bubblewrap 0.8 or later (Debian: apt-get install bubblewrap) and allow user ' +
          'namespaces (in a container: a seccomp and AppArmor profile that permits them), or ' +
          'set OH_SANDBOX=none to run agent shells unsandboxed.',
      );
    }
    return bwrapLauncher(options);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Every bubblewrap argument up to the command. Mounts go parents first, whatever their kind. */
export function bwrapArgs(spec: ShellSpec, options: BwrapSandboxOptions): string[] {
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
  /** Whether the host path (or, if missing, its nearest existing ancestor) is mounted read-only. */
  const shownBySystem = (target: string) => {
    const real = nearestRealPath(target);
    return systemDirs.some((root) => isInside(root, real));
  };
  mount('/proc', '--proc', '/proc');
  mount('/dev', '--dev', '/dev');
  mount('/tmp', '--tmpfs', '/tmp');

  // A fresh home: tools write caches and settings there, and the real one is not shown (keys).
  // Not over a system directory or the workspace, and not where a mount point cannot be made.
  const workspace = path.resolve(spec.workspaceDir);
  const home = spec.env.HOME && path.isAbsolute(spec.env.HOME) ? path.resolve(spec.env.HOME) : '/';
  if (
    home !== '/' &&
    !['/proc', '/dev'].some((dir) => isInside(dir, home)) &&
    !isInside(workspace, home) &&
    !systemDirs.some((root) => isInside(home, root)) &&
    (lstatOrNull(home)?.isDirectory() || !shownBySystem(home))
  ) {
    mount(home, '--tmpfs', home);
  }
  const hidden = options.privateDirs
    .map((dir) => realPathOrNull(dir))
    .filter((dir): dir is string => dir !== null && systemDirs.some((root) => isInside(root, dir)));
  for (const dir of hidden) mount(dir, '--tmpfs', dir);

  const realWorkspace = fs.realpathSync(workspace);
  mount(workspace, '--bind', realWorkspace, workspace);
  if (realWorkspace !== workspace) mount(realWorkspace, '--bind', realWorkspace, realWorkspace);
  mount(spec.controlDir, '--ro-bind', spec.controlDir, spec.controlDir);

  const depth = (at: string) => at.split('/').filter(Boolean).length;
  const ordered = mounts
    .map((m, index) => ({ ...m, index }))
    .sort((a, b) => depth(a.at) - depth(b.at) || a.index - b.index);

  // A cwd the sandbox shows as on the host; anything else (another sandbox's /tmp) is gone.
  const cwd = path.resolve(spec.cwd);
  const realCwd = realPathOrNull(cwd);
  const visible =
    isInside(workspace, cwd) ||
    (realCwd !== null &&
      systemDirs.some((root) => isInside(root, realCwd)) &&
      !hidden.some((dir) => isInside(dir, realCwd)));
  return [
    ...NAMESPACE_FLAGS,
    ...ordered.flatMap((m) => m.args),
    '--remount-ro',
    '/',
    '--chdir',
    visible ? cwd : workspace,
    '--',
  ];
}

function lstatOrNull(target: string): fs.Stats | null {
  try {
    return fs.lstatSync(target);
  } catch {
    return null;
  }
}

/** The real path of `target`, or of its nearest existing ancestor joined with the rest. */
function nearestRealPath(target: string): string {
  const real = realPathOrNull(target);
  if (real !== null) return real;
  const parent = path.dirname(target);
  return parent === target ? target : path.join(nearestRealPath(parent), path.basename(target));
}

function realPathOrNull(target: string): string | null {
  try {
    return fs.realpathSync(target);
  } catch {
    return null;
  }
}
