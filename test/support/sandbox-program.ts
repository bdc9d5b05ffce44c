import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import {
  sandboxProgram,
  type SandboxProgram,
  type SandboxProgramKind,
} from '../../src/agent/workspace/sandbox-program';
import { LineSplitter, PROTOCOL_VERSION, type RpcResponse } from '../../src/sandbox/protocol';
import type { SandboxSettings } from '../../src/sandbox/protocol';
import { needs } from './system-tools';
import { waitFor } from './wait';

/**
 * Runs `body` once per sandbox program, as a suite of its own: the Node program always, the
 * native (C) one when a C compiler can build it — mandatory under CI (test/support/system-tools).
 * Both must behave the same: the same specs, the same expected texts.
 */
export function describeEachProgram(title: string, body: (kind: SandboxProgramKind) => void): void {
  describe(`${title} [node program]`, () => body('node'));
  needs.cc()(`${title} [native program]`, () => body('native'));
}

/** The command line that starts a sandbox program unsandboxed. */
export function programCommand(program: SandboxProgram): string[] {
  const file = path.join(program.dir, program.entry);
  return program.kind === 'native' ? [file] : [process.execPath, file];
}

/** One sandbox program as a separate process, spoken to in raw protocol lines. */
export class SandboxProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly answers = new Map<number, RpcResponse>();
  readonly lines: string[] = [];
  private nextId = 1;

  /** `wrapper`: a command line the program runs under, e.g. `['prlimit', '--nofile=64', '--']`. */
  constructor(
    kind: SandboxProgramKind,
    env: Record<string, string> = defaultEnv(),
    wrapper: string[] = [],
  ) {
    const [command, ...args] = [...wrapper, ...programCommand(sandboxProgram(kind))];
    this.child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const splitter = new LineSplitter();
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      for (const line of splitter.push(chunk)) {
        this.lines.push(line);
        const message = JSON.parse(line) as RpcResponse;
        if (typeof message.id === 'number') this.answers.set(message.id, message);
      }
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  send(message: object | string): void {
    this.child.stdin.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
  }

  /** Sends a request; returns its id (for `$/cancel`) without waiting. */
  request(method: string, params?: unknown, id = this.nextId++): number {
    this.send({ jsonrpc: '2.0', id, method, params });
    return id;
  }

  async answer(id: number, timeoutMs = 10_000): Promise<RpcResponse> {
    await waitFor(() => this.answers.has(id), timeoutMs, `an answer to request ${id}`);
    return this.answers.get(id) as RpcResponse;
  }

  call(method: string, params?: unknown, timeoutMs = 10_000): Promise<RpcResponse> {
    return this.answer(this.request(method, params), timeoutMs);
  }

  /** `hello` with the workspace and settings; throws unless it succeeds. */
  async hello(workspace: string, settings: Omit<SandboxSettings, 'workspace'> = {}) {
    const answer = await this.call('hello', {
      protocol: PROTOCOL_VERSION,
      settings: { workspace, ...settings },
    });
    if (answer.error) throw new Error(`hello failed: ${answer.error.message}`);
    return answer;
  }

  /** Closes its input (the program then ends with all it started) and waits for its exit. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

function defaultEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };
}
