import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileEditor } from './file-editor';
import {
  PROTOCOL_VERSION,
  RPC_ERROR,
  type EditorParams,
  type HelloParams,
  type HelloResult,
  type RpcMessage,
  type RpcRequest,
  type SandboxSettings,
  type TerminalParams,
} from './protocol';
import { TerminalHost } from './terminal-host';

class RpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The sandbox side of the protocol (`protocol.ts`): one conversation's terminal and file editor,
 * against the workspace it was given at `hello`. Transport-agnostic: it gets lines, it sends
 * messages through `send`.
 */
export class SandboxServer {
  private settings: SandboxSettings | null = null;
  private terminal: TerminalHost | null = null;
  private editor: FileEditor | null = null;
  private readonly inFlight = new Map<number, AbortController>();
  private closing: Promise<void> | null = null;

  constructor(
    private readonly send: (message: RpcMessage) => void,
    /** The environment shells start with (the sandbox's own: already the allow-list). */
    private readonly env: Readonly<Record<string, string>>,
    /** Called once `shutdown` was answered. */
    private readonly onShutdown: () => void = () => undefined,
  ) {}

  handle(line: string): void {
    let message: RpcMessage;
    try {
      message = JSON.parse(line) as RpcMessage;
    } catch {
      return this.send({
        jsonrpc: '2.0',
        id: null,
        error: { code: RPC_ERROR.PARSE, message: 'not JSON' },
      });
    }
    if (typeof message !== 'object' || message === null || !('method' in message)) return;
    if (message.method === '$/cancel') {
      const id = (message.params as { id?: unknown } | undefined)?.id;
      if (typeof id === 'number') this.inFlight.get(id)?.abort();
      return;
    }
    if (!('id' in message) || typeof message.id !== 'number') return; // other notifications
    void this.answer(message);
  }

  /** Kills the shell and everything it started. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const controller of this.inFlight.values()) controller.abort();
      await this.terminal?.kill();
    })();
    return this.closing;
  }

  private async answer(request: RpcRequest): Promise<void> {
    const controller = new AbortController();
    this.inFlight.set(request.id, controller);
    try {
      const result = await this.dispatch(request, controller.signal);
      if (controller.signal.aborted && request.method !== 'terminal') {
        throw new RpcFailure(RPC_ERROR.CANCELLED, 'cancelled');
      }
      this.send({ jsonrpc: '2.0', id: request.id, result });
    } catch (error) {
      const code = error instanceof RpcFailure ? error.code : RPC_ERROR.INTERNAL;
      const message = error instanceof Error ? error.message : String(error);
      this.send({ jsonrpc: '2.0', id: request.id, error: { code, message } });
    } finally {
      this.inFlight.delete(request.id);
    }
    if (request.method === 'shutdown') this.onShutdown();
  }

  private async dispatch(request: RpcRequest, signal: AbortSignal): Promise<unknown> {
    if (request.method === 'hello') return this.hello(request.params as HelloParams);
    if (request.method === 'ping') return {};
    if (!this.settings) {
      throw new RpcFailure(RPC_ERROR.NOT_INITIALIZED, '`hello` must come first');
    }
    switch (request.method) {
      case 'terminal':
        return (this.terminal as TerminalHost).exec(request.params as TerminalParams, signal);
      case 'editor':
        return (this.editor as FileEditor).run(request.params as EditorParams);
      case 'workspace.clear':
        await this.terminal?.kill();
        this.editor = new FileEditor(this.settings.workspace);
        clearDirectory(this.settings.workspace);
        return {};
      case 'shutdown':
        await this.terminal?.kill();
        return {};
      default:
        throw new RpcFailure(RPC_ERROR.METHOD_NOT_FOUND, `no method ${request.method}`);
    }
  }

  private hello(params: HelloParams | undefined): HelloResult {
    if (params?.protocol !== PROTOCOL_VERSION) {
      throw new RpcFailure(
        RPC_ERROR.VERSION_MISMATCH,
        `this sandbox program speaks protocol ${PROTOCOL_VERSION}, not ${String(params?.protocol)}`,
      );
    }
    if (this.settings) throw new RpcFailure(RPC_ERROR.INVALID_REQUEST, '`hello` was already said');
    const settings = params.settings;
    if (typeof settings?.workspace !== 'string' || !path.isAbsolute(settings.workspace)) {
      throw new RpcFailure(RPC_ERROR.INVALID_PARAMS, 'settings.workspace must be an absolute path');
    }
    if (!fs.statSync(settings.workspace).isDirectory()) {
      throw new RpcFailure(RPC_ERROR.INVALID_PARAMS, `${settings.workspace} is not a directory`);
    }
    this.settings = settings;
    this.terminal = new TerminalHost({
      workspaceDir: settings.workspace,
      env: this.env,
      noOutputTimeoutMs: settings.noOutputTimeoutMs,
      maxOutputChars: settings.maxOutputChars,
      maxCallChars: settings.maxCallChars,
      commandTimeoutMs: settings.commandTimeoutMs,
    });
    this.editor = new FileEditor(settings.workspace);
    return { protocol: PROTOCOL_VERSION, pid: process.pid, workspace: settings.workspace };
  }
}

/** Removes everything inside `dir` (not `dir` itself: it is the sandbox's mount point). */
function clearDirectory(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    fs.rmSync(path.join(dir, name), { recursive: true, force: true, maxRetries: 2 });
  }
}
