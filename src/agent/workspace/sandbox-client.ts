import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import {
  LineSplitter,
  PROTOCOL_VERSION,
  RPC_ERROR,
  type HelloResult,
  type RpcMessage,
  type SandboxSettings,
} from '../../sandbox/protocol';

/**
 * A byte stream to a sandbox program, message per line. Stdio of a child process today
 * (`ChildProcessTransport`); a socket to a sandbox in its own container would fit the same shape.
 */
export interface SandboxTransport {
  send(line: string): void;
  onLine(listener: (line: string) => void): void;
  /** Called once when the stream ends (the sandbox exited or was killed). */
  onClose(listener: (why: string) => void): void;
  /** Ends the sandbox and everything in it; resolves when it is gone. */
  close(): Promise<void>;
}

/** How to start one sandbox program (see `sandbox-launcher.ts`). */
export interface SandboxLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Descriptors handed to the sandbox as fd 3, 4, …; closed in this process once it started. */
  fds?: number[];
}

/** The sandbox program as a child process, the protocol on its stdin and stdout. */
export class ChildProcessTransport implements SandboxTransport {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly exited: Promise<void>;
  private readonly splitter = new LineSplitter();
  private readonly lineListeners: ((line: string) => void)[] = [];
  private readonly closeListeners: ((why: string) => void)[] = [];
  private stderr = '';
  private closed = false;

  constructor(launch: SandboxLaunch) {
    this.child = spawn(launch.command, launch.args, {
      cwd: launch.cwd,
      env: launch.env,
      detached: true, // its own process group: signals meant for the service do not reach it
      stdio: ['pipe', 'pipe', 'pipe', ...(launch.fds ?? [])],
    }) as ChildProcessWithoutNullStreams;
    for (const fd of launch.fds ?? []) fs.closeSync(fd);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.once('error', () => resolve());
    });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      let lines: string[];
      try {
        lines = this.splitter.push(chunk);
      } catch (error) {
        this.finish((error as Error).message);
        void this.close();
        return;
      }
      for (const line of lines) for (const listener of this.lineListeners) listener(line);
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-2000);
    });
    this.child.stdin.on('error', () => undefined);
    this.child.on('error', (error) => this.finish(`it could not be started: ${error.message}`));
    this.child.on('exit', (code, signal) => {
      const said = this.stderr.trim();
      this.finish(`it exited (${signal ?? `code ${code}`})${said ? `: ${said}` : ''}`);
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  send(line: string): void {
    if (!this.closed) this.child.stdin.write(`${line}\n`);
  }

  onLine(listener: (line: string) => void): void {
    this.lineListeners.push(listener);
  }

  onClose(listener: (why: string) => void): void {
    this.closeListeners.push(listener);
  }

  /**
   * Closes stdin (the program then kills its shell and everything it started, and exits), and
   * kills the process group if it is still there after a moment. Inside bubblewrap, the kill of
   * bwrap ends the sandbox's PID namespace: every process in it, daemons included.
   */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid) {
      this.child.stdin.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.exited,
        new Promise((resolve) => (timer = setTimeout(resolve, 1500))),
      ]);
      clearTimeout(timer);
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await this.exited;
    this.finish('it was closed');
  }

  private finish(why: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.closeListeners) listener(why);
  }
}

/** The sandbox failed or answered with an error. */
export class SandboxError extends Error {
  override readonly name = 'SandboxError';
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export interface SandboxClientOptions {
  /** How long `hello` may take (the sandbox's cold start), default 10 s. */
  helloTimeoutMs?: number;
  /** A `ping` every this long while the sandbox lives; 0: none. Default 10 s. */
  heartbeatMs?: number;
}

/** The service's end of the protocol (`src/sandbox/protocol.ts`) with one sandbox program. */
export class SandboxClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedWhy: string | null = null;
  private heartbeat: NodeJS.Timeout | undefined;

  private constructor(private readonly transport: SandboxTransport) {
    transport.onLine((line) => this.onLine(line));
    transport.onClose((why) => this.onClose(why));
  }

  /** Connects and says `hello`; throws when the program does not answer as it should. */
  static async start(
    transport: SandboxTransport,
    settings: SandboxSettings,
    options: SandboxClientOptions = {},
  ): Promise<SandboxClient> {
    const client = new SandboxClient(transport);
    const hello = client.request<HelloResult>('hello', { protocol: PROTOCOL_VERSION, settings });
    let timer: NodeJS.Timeout | undefined;
    const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new SandboxError(`the sandbox did not start within ${helloTimeoutMs} ms`)),
        helloTimeoutMs,
      );
    });
    try {
      const answer = await Promise.race([hello, late]);
      if (answer.protocol !== PROTOCOL_VERSION) {
        throw new SandboxError(`the sandbox speaks protocol ${answer.protocol}`);
      }
    } catch (error) {
      await transport.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    client.startHeartbeat(options.heartbeatMs ?? 10_000);
    return client;
  }

  get alive(): boolean {
    return this.closedWhy === null;
  }

  /** Sends a request; aborting `signal` sends `$/cancel` for it. */
  request<T>(method: string, params?: unknown, signal?: AbortSignal): Promise<T> {
    if (this.closedWhy !== null) {
      return Promise.reject(new SandboxError(`the sandbox is gone: ${this.closedWhy}`));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => this.notify('$/cancel', { id });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (value) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(value as T);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      this.transport.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      if (signal?.aborted) onAbort();
    });
  }

  /** Ends the sandbox: every process in it. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.transport.close();
  }

  private notify(method: string, params: unknown): void {
    if (this.closedWhy === null) {
      this.transport.send(JSON.stringify({ jsonrpc: '2.0', method, params }));
    }
  }

  private startHeartbeat(everyMs: number): void {
    if (everyMs <= 0) return;
    let waiting = false;
    this.heartbeat = setInterval(() => {
      if (waiting) {
        // No answer to the last ping within a whole period: the program hangs.
        this.onClose(`it did not answer a heartbeat within ${everyMs} ms`);
        void this.transport.close();
        return;
      }
      waiting = true;
      this.request('ping').then(
        () => (waiting = false),
        () => undefined,
      );
    }, everyMs);
    this.heartbeat.unref();
  }

  private onLine(line: string): void {
    let message: RpcMessage;
    try {
      message = JSON.parse(line) as RpcMessage;
    } catch {
      return;
    }
    // Whatever the program writes is untrusted: `null`, a number or an array is no answer (and
    // `'method' in null` would throw out of the stream's listener, killing the service).
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return;
    if ('method' in message || !('id' in message)) return;
    const response = message;
    if (typeof response.id !== 'number') return;
    const pending = this.pending.get(response.id);
    if (!pending) return;
    this.pending.delete(response.id);
    if (response.error) {
      pending.reject(new SandboxError(response.error.message, response.error.code));
    } else pending.resolve(response.result);
  }

  private onClose(why: string): void {
    if (this.closedWhy !== null) return;
    this.closedWhy = why;
    clearInterval(this.heartbeat);
    for (const pending of this.pending.values()) {
      pending.reject(new SandboxError(`the sandbox ended: ${why}`, RPC_ERROR.INTERNAL));
    }
    this.pending.clear();
  }
}
