import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findSessionLeaderBelow, killProcessTree, signal } from './process-tree';
import { AnsiStripper, OutputCollector } from './terminal-output';
import { createFileInside, resolveWorkspacePath } from './workspace-paths';
import type {
  StillRunningReason,
  TerminalRefusal,
  TerminalRequest,
  TerminalResult,
} from './terminal.types';

/** How a shell process is started: the one place a sandbox (bubblewrap, …) plugs in. */
export interface ShellLaunch {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /**
   * Bash runs below `command`, in a session of its own (a sandbox started with a new session):
   * `C-c` then goes to that session's process group, not to the launched process's.
   */
  nested?: boolean;
}
/**
 * `controlDir` holds the session's command file and stdin FIFO; a sandbox must let bash read it.
 * `workspaceDir` is the conversation's workspace, `cwd` where the shell should start.
 */
export type ShellLauncher = (spec: {
  cwd: string;
  env: Record<string, string>;
  controlDir: string;
  workspaceDir: string;
}) => ShellLaunch;

export const launchLocalBash: ShellLauncher = ({ cwd, env }) => ({
  command: 'bash',
  args: ['--noprofile', '--norc'],
  cwd,
  env,
});

/**
 * A local shell outlives the service when the service is killed (SIGKILL, OOM): its process group
 * is detached on purpose. This watchdog, in the shell's group, waits for EOF on fd 3 — whose other
 * end only the service holds — and then kills the whole group. (A sandbox dies with its parent
 * by itself, and fd 3 may not reach inside it, so sandboxed shells do without.)
 */
const WATCHDOG = ['{ read -r -u 3 __oh_never; kill -KILL -- -$$; } &', 'exec 3<&-'];

export interface BashSessionOptions {
  /** Where the shell starts. */
  cwd: string;
  /** The conversation's workspace: long outputs are saved under `.openhands/outputs/` in it. */
  workspaceDir: string;
  /** Secrets already removed (`shellEnv`); pager and terminal settings are added. */
  env: Readonly<Record<string, string>>;
  launcher?: ShellLauncher;
  /** A call returns when a command has printed nothing for this long (default 30 s). */
  noOutputTimeoutMs?: number;
  /** Output longer than this keeps its head and tail (default 30,000 characters). */
  maxOutputChars?: number;
  /** A call returns early once it has gathered this much output (default 4 MiB of characters). */
  maxCallChars?: number;
  /** Cap of a saved full-output file (default 10 MiB). */
  maxLogBytes?: number;
  /** How long bash may take to start (default 10 s). */
  startTimeoutMs?: number;
  /** A command running longer than this is killed with the shell and all it started (0: never). */
  commandTimeoutMs?: number;
}

type CallEnd =
  | { status: 'completed' | 'exited'; exitCode: number }
  | { status: 'running'; stoppedBy: StillRunningReason }
  | { status: 'refused'; refusal: TerminalRefusal }
  | { status: 'cancelled' };

interface ActiveCall {
  output(text: string): void;
  end(how: CallEnd): void;
}

/** Output gathered while no call waits is kept up to this size; then bash is made to wait. */
const MAX_IDLE_OUTPUT = 256 * 1024;
const EXIT_FLUSH_MS = 100;
const MAX_SENTINEL_CHARS = 64 * 1024;

const KEYS: Record<string, string> = {
  enter: '\n',
  return: '\n',
  tab: '\t',
  escape: '\x1b',
  esc: '\x1b',
  space: ' ',
  bspace: '\x7f',
  backspace: '\x7f',
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  home: '\x1b[H',
  end: '\x1b[F',
  pageup: '\x1b[5~',
  ppage: '\x1b[5~',
  pagedown: '\x1b[6~',
  npage: '\x1b[6~',
  delete: '\x1b[3~',
  dc: '\x1b[3~',
};

/** `C-c`, `ENTER`, `Up`… as a key, or null for text. */
export function parseKey(input: string): { name: string; bytes: string } | null {
  const text = input.trim();
  const ctrl = /^C-(.)$/i.exec(text);
  if (ctrl) {
    const code = ctrl[1].toUpperCase().charCodeAt(0);
    if (code >= 0x40 && code <= 0x5f)
      return { name: `C-${ctrl[1].toLowerCase()}`, bytes: String.fromCharCode(code & 0x1f) };
  }
  const named = KEYS[text.toLowerCase()];
  return named === undefined ? null : { name: text.toUpperCase(), bytes: named };
}

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

async function raceTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * One persistent, non-interactive bash talking over pipes. Each command is written to a file that
 * bash `source`s with its stdin from a FIFO (so input can be typed into it, and `C-d` closes it),
 * followed by a sentinel carrying a per-session nonce, the exit code and the cwd. The shell is its
 * own process group and session; it traps SIGINT so `C-c` stops the command, not the shell.
 */
export class BashSession {
  private readonly nonce = randomBytes(12).toString('hex');
  private readonly startToken = `__OH_${this.nonce}:`;
  private readonly endToken = `:${this.nonce}_HO__\n`;
  private readonly controlDir: string;
  private readonly commandFile: string;
  private readonly stdinFifo: string;
  private readonly ansi = new AnsiStripper();
  private readonly exited: Promise<void>;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly nested: boolean;
  /** The process group `C-c` goes to: the shell's own (found after start when `nested`). */
  private interruptGroup = -1;
  private stdinFd: number | null = null;
  private scan = '';
  private idleOutput = '';
  private unreportedExit: number | null = null;
  private call: ActiveCall | null = null;
  private running = true; // until the startup sentinel
  private killed = false;
  private exitStatus: number | null = null;
  private lastCwd: string;
  private onStarted: ((error?: Error) => void) | null = null;
  private limitTimer: NodeJS.Timeout | undefined;
  private limitHit = false;

  private constructor(private readonly options: BashSessionOptions) {
    this.lastCwd = options.cwd;
    this.controlDir = fs.mkdtempSync(path.join(os.tmpdir(), 'oh-shell-'));
    this.commandFile = path.join(this.controlDir, 'command.sh');
    this.stdinFifo = path.join(this.controlDir, 'stdin');
    this.ensureControlFiles();
    const env: Record<string, string> = { ...options.env };
    delete env.BASH_ENV; // non-interactive bash would source it despite --norc
    delete env.ENV;
    Object.assign(env, { PAGER: 'cat', GIT_PAGER: 'cat', TERM: 'dumb', PYTHONUNBUFFERED: '1' });
    const launch = (options.launcher ?? launchLocalBash)({
      cwd: options.cwd,
      env,
      controlDir: this.controlDir,
      workspaceDir: options.workspaceDir,
    });
    this.nested = launch.nested ?? false;
    this.child = spawn(launch.command, launch.args, {
      cwd: launch.cwd,
      env: launch.env,
      detached: true, // its own process group and session: killable as a whole
      // fd 3 is never written: it reaches EOF when this process dies, however it dies (see boot)
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => this.onData(chunk));
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => this.emit(chunk)); // before `exec 2>&1`
    this.child.stdin.on('error', () => undefined); // EPIPE once bash is gone
    this.child.stdio[3]?.on('error', () => undefined);
    this.child.on('error', (error) => {
      this.exitStatus ??= 127;
      this.onStarted?.(error);
    });
    this.child.on('exit', (code, sig) => this.onExit(code ?? 128 + signalNumber(sig)));
  }

  /** Starts bash and waits until it is ready. */
  static async start(options: BashSessionOptions): Promise<BashSession> {
    const session = new BashSession(options);
    await session.boot();
    return session;
  }

  /** The launched process (bash, or the sandbox around it): its pid, process group and session. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.exitStatus === null;
  }

  get cwd(): string {
    return this.lastCwd;
  }

  /** Whether a command outlived `commandTimeoutMs` and was killed for it. */
  get killedByLimit(): boolean {
    return this.limitHit;
  }

  /** How the shell ended: its exit status, and whether it was killed by us. */
  get ending(): { exitCode: number; killed: boolean } | null {
    return this.exitStatus === null ? null : { exitCode: this.exitStatus, killed: this.killed };
  }

  async execute(request: TerminalRequest): Promise<TerminalResult> {
    if (request.signal.aborted) {
      await this.kill();
      return this.immediate({ status: 'cancelled' }, '');
    }
    if (!this.alive) {
      return this.immediate({ status: 'exited', exitCode: this.exitStatus ?? -1 }, this.takeIdle());
    }
    const key = parseKey(request.command);
    if (this.running) {
      if (request.command === '') return this.wait(request);
      if (!request.isInput && !key) {
        return this.immediate({ status: 'refused', refusal: 'busy' }, this.takeIdle());
      }
      const refusal = this.sendInput(request.command, key);
      return refusal ? this.immediate({ status: 'refused', refusal }, '') : this.wait(request);
    }
    if (request.command === '' || request.isInput || key?.name.startsWith('C-')) {
      if (this.unreportedExit !== null) {
        // It finished between calls: report that rather than "nothing runs".
        const exitCode = this.unreportedExit;
        this.unreportedExit = null;
        return this.immediate({ status: 'completed', exitCode }, this.takeIdle());
      }
      return this.immediate({ status: 'refused', refusal: 'not_running' }, '');
    }
    const notes: string[] = [];
    if (this.unreportedExit !== null) {
      notes.push(
        `The previous command finished meanwhile with exit code ${this.unreportedExit}` +
          (this.idleOutput.trim() ? '; its last output comes first below.' : '.'),
      );
      this.unreportedExit = null;
    }
    this.ensureControlFiles();
    fs.writeFileSync(this.commandFile, `${request.command}\n`);
    this.openStdin();
    this.running = true;
    const limit = this.options.commandTimeoutMs ?? 0;
    if (limit > 0) {
      clearTimeout(this.limitTimer);
      this.limitTimer = setTimeout(() => {
        this.limitHit = true;
        void this.kill();
      }, limit);
    }
    this.child.stdin.write(
      `__OH_BUSY=1; builtin source ${quote(this.commandFile)} < ${quote(this.stdinFifo)}; ` +
        `__oh_ec=$? __OH_BUSY=; ${this.sentinel('$__oh_ec')}\n`,
    );
    const result = await this.wait(request);
    return { ...result, notes: [...notes, ...result.notes] };
  }

  /** Kills the shell and everything it started; resolves once bash is gone. */
  async kill(): Promise<void> {
    this.killed = true;
    clearTimeout(this.limitTimer);
    if (this.child.pid !== undefined) await killProcessTree(this.child.pid, this.alive);
    if (this.exitStatus === null) await raceTimeout(this.exited, 2000);
    this.call?.end({ status: 'cancelled' });
    this.closeStdin();
    fs.rmSync(this.controlDir, { recursive: true, force: true });
  }

  private async boot(): Promise<void> {
    const started = new Promise<void>((resolve, reject) => {
      this.onStarted = (error) => (error ? reject(error) : resolve());
    });
    this.child.stdin.write(
      [
        'exec 2>&1',
        ...(this.nested ? [] : WATCHDOG),
        'exec {__oh_fd}>&1',
        'shopt -s expand_aliases',
        `trap '[ -n "\${__OH_BUSY-}" ] && return 130 2>/dev/null' INT`,
        this.sentinel('0'),
        '',
      ].join('\n'),
    );
    const timeoutMs = this.options.startTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`bash did not start within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([started, timeout]);
    } catch (error) {
      await this.kill();
      throw error;
    } finally {
      clearTimeout(timer);
      this.onStarted = null;
    }
    this.idleOutput = '';
    this.interruptGroup = this.nested ? (findSessionLeaderBelow(this.pid) ?? -1) : this.pid;
    if (this.interruptGroup === -1) {
      await this.kill();
      throw new Error(`the shell's session was not found below process ${this.pid}`);
    }
  }

  /** Prints the sentinel on the shell's original stdout, whatever the command did with fd 1. */
  private sentinel(exitCode: string): string {
    return (
      `builtin printf '%s%s:%s%s\\n' ${quote(this.startToken)} "${exitCode}" "$PWD" ` +
      `${quote(this.endToken.trimEnd())} >&\${__oh_fd:-1}`
    );
  }

  private wait(request: TerminalRequest): Promise<TerminalResult> {
    const startedAt = Date.now();
    const collector = this.newCollector();
    collector.push(this.takeIdle());
    return new Promise<TerminalResult>((resolve) => {
      let idleTimer: NodeJS.Timeout | undefined;
      let hardTimer: NodeJS.Timeout | undefined;
      const idleMs = this.options.noOutputTimeoutMs ?? 30_000;
      const onAbort = () => void this.kill();
      const armIdle = () => {
        if (request.timeoutMs !== undefined) return;
        clearTimeout(idleTimer);
        idleTimer = setTimeout(
          () => call.end({ status: 'running', stoppedBy: 'no_output' }),
          idleMs,
        );
      };
      const call: ActiveCall = {
        output: (text) => {
          collector.push(text);
          armIdle();
          if (collector.totalChars > (this.options.maxCallChars ?? 4 * 1024 * 1024)) {
            call.end({ status: 'running', stoppedBy: 'output_limit' });
          }
        },
        end: (how) => {
          if (this.call !== call) return;
          this.call = null;
          clearTimeout(idleTimer);
          clearTimeout(hardTimer);
          request.signal.removeEventListener('abort', onAbort);
          if (how.status === 'running') this.flushPartial();
          const collected = collector.finish();
          resolve({
            ...this.result(how, collected.text, Date.now() - startedAt),
            fullOutputPath: collected.fullOutputPath,
            idleMs: how.status === 'running' && how.stoppedBy === 'no_output' ? idleMs : undefined,
          });
        },
      };
      this.call = call;
      if (request.timeoutMs !== undefined) {
        hardTimer = setTimeout(
          () => call.end({ status: 'running', stoppedBy: 'timeout' }),
          request.timeoutMs,
        );
      }
      armIdle();
      request.signal.addEventListener('abort', onAbort, { once: true });
      this.child.stdout.resume();
    });
  }

  private onData(chunk: string): void {
    this.scan += chunk;
    for (;;) {
      const start = this.scan.indexOf(this.startToken);
      if (start === -1) {
        const keep = partialPrefixLength(this.scan, this.startToken);
        this.emit(this.scan.slice(0, this.scan.length - keep));
        this.scan = this.scan.slice(this.scan.length - keep);
        return;
      }
      const end = this.scan.indexOf(this.endToken, start);
      if (end === -1) {
        this.emit(this.scan.slice(0, start));
        this.scan = this.scan.slice(start);
        // The sentinel is one short printf; this long without its end, it was not the sentinel.
        if (this.scan.length > MAX_SENTINEL_CHARS) {
          this.emit(this.scan);
          this.scan = '';
        }
        return;
      }
      this.emit(this.scan.slice(0, start));
      const body = this.scan.slice(start + this.startToken.length, end);
      this.scan = this.scan.slice(end + this.endToken.length);
      const colon = body.indexOf(':');
      this.onSentinel(Number(body.slice(0, colon)), body.slice(colon + 1));
    }
  }

  private onSentinel(exitCode: number, cwd: string): void {
    this.lastCwd = cwd;
    this.emitText(this.ansi.flush());
    this.running = false;
    clearTimeout(this.limitTimer);
    this.closeStdin();
    if (this.onStarted) return this.onStarted();
    if (this.killed) return; // bash reaps the killed command before it dies: not a completion
    if (this.call) this.call.end({ status: 'completed', exitCode });
    else this.unreportedExit = exitCode;
  }

  private onExit(exitCode: number): void {
    this.exitStatus = exitCode;
    clearTimeout(this.limitTimer);
    this.closeStdin();
    this.onStarted?.(new Error(`bash exited with status ${exitCode} while starting`));
    // Let the last output arrive (orphans may keep the pipe open, so don't wait for its end).
    setTimeout(() => {
      this.flushPartial();
      this.running = false;
      if (!this.killed) this.call?.end({ status: 'exited', exitCode });
      fs.rmSync(this.controlDir, { recursive: true, force: true });
    }, EXIT_FLUSH_MS);
  }

  private emit(raw: string): void {
    if (raw !== '') this.emitText(this.ansi.push(raw));
  }

  private emitText(text: string): void {
    if (text === '') return;
    if (this.call) return this.call.output(text);
    this.idleOutput += text;
    if (this.idleOutput.length > MAX_IDLE_OUTPUT) this.child.stdout.pause(); // bash waits for us
  }

  /** Output held back as a possible start of the sentinel, once a call returns without one. */
  private flushPartial(): void {
    if (this.scan.startsWith(this.startToken)) return;
    this.emit(this.scan);
    this.scan = '';
  }

  private takeIdle(): string {
    const text = this.idleOutput;
    this.idleOutput = '';
    this.child.stdout.resume();
    return text;
  }

  private sendInput(
    command: string,
    key: { name: string; bytes: string } | null,
  ): TerminalRefusal | null {
    if (key?.name === 'C-c') {
      // bash traps it; the command's processes get the default action
      signal(-this.interruptGroup, 'SIGINT');
      return null;
    }
    if (key?.name === 'C-d') {
      this.closeStdin(); // end of input for the command
      return null;
    }
    if (key?.name === 'C-z') return 'unsupported_key';
    const text = key ? key.bytes : command.endsWith('\n') ? command : `${command}\n`;
    const bytes = Buffer.from(text, 'utf8');
    try {
      this.openStdin();
      const written = fs.writeSync(this.stdinFd as number, bytes);
      return written < bytes.length ? 'input_blocked' : null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return 'input_blocked';
      throw error;
    }
  }

  /** A result without waiting; output gathered meanwhile is bounded and cleaned like any other. */
  private immediate(how: CallEnd, output: string): TerminalResult {
    const collector = this.newCollector();
    collector.push(output);
    const collected = collector.finish();
    return { ...this.result(how, collected.text, 0), fullOutputPath: collected.fullOutputPath };
  }

  private result(how: CallEnd, output: string, waitedMs: number): TerminalResult {
    return {
      status: how.status,
      stoppedBy: how.status === 'running' ? how.stoppedBy : undefined,
      refusal: how.status === 'refused' ? how.refusal : undefined,
      output,
      exitCode: how.status === 'completed' || how.status === 'exited' ? how.exitCode : -1,
      cwd: this.lastCwd,
      waitedMs,
      notes: [],
    };
  }

  private newCollector(): OutputCollector {
    return new OutputCollector({
      maxChars: this.options.maxOutputChars ?? 30_000,
      maxLogBytes: this.options.maxLogBytes ?? 10 * 1024 * 1024,
      openLog: () => {
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const name = `terminal-${stamp}-${randomBytes(3).toString('hex')}.log`;
        const dir = path.join(this.options.workspaceDir, '.openhands', 'outputs');
        try {
          // Checked before anything is created: `.openhands` may be a symlink the agent made.
          const target = resolveWorkspacePath(this.options.workspaceDir, path.join(dir, name));
          fs.mkdirSync(path.dirname(target), { recursive: true });
          // Checked again once created: a command still running may swap a directory for a link.
          return { fd: createFileInside(this.options.workspaceDir, target), path: target };
        } catch {
          return null; // e.g. `.openhands` is a symlink out of the workspace
        }
      },
    });
  }

  private ensureControlFiles(): void {
    fs.mkdirSync(this.controlDir, { recursive: true, mode: 0o700 });
    if (fs.existsSync(this.stdinFifo)) return;
    const made = spawnSync('mkfifo', ['-m', '600', this.stdinFifo]);
    if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString().trim()}`);
  }

  private openStdin(): void {
    this.stdinFd ??= fs.openSync(this.stdinFifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  }

  private closeStdin(): void {
    if (this.stdinFd !== null) fs.closeSync(this.stdinFd);
    this.stdinFd = null;
  }
}

/** The length of the longest end of `text` that is a beginning of `token`. */
function partialPrefixLength(text: string, token: string): number {
  for (let length = Math.min(token.length - 1, text.length); length > 0; length--) {
    if (text.endsWith(token.slice(0, length))) return length;
  }
  return 0;
}

function signalNumber(name: NodeJS.Signals | null): number {
  return name ? (os.constants.signals[name] ?? 0) : 0;
}
