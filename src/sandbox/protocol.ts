/**
 * The protocol between the service and a conversation's sandbox program: JSON-RPC 2.0, one JSON
 * object per line (newline-delimited), over any byte stream (the child's stdio today, a socket
 * tomorrow). The service sends requests; the sandbox answers each with a result or an error.
 *
 * - `hello` first, always: the service says which protocol version it speaks and how the sandbox
 *   is configured; the sandbox answers with its own version, or an error when they differ.
 * - `ping`: a heartbeat; a sandbox that stops answering is killed.
 * - `$/cancel` (notification, `{ id }`): abort that request; it then ends with `CANCELLED`.
 * - `terminal`, `editor`, `workspace.clear`, `shutdown`: the work.
 *
 * This file is shared by both sides and imports nothing: the sandbox program runs standalone.
 */
export const PROTOCOL_VERSION = 1;

export interface RpcRequest {
  jsonrpc: '2.0';
  id: number;
  method: string;
  params?: unknown;
}

export interface RpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: unknown;
}

export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

export interface RpcResponse {
  jsonrpc: '2.0';
  id: number | null;
  result?: unknown;
  error?: RpcError;
}

export type RpcMessage = RpcRequest | RpcNotification | RpcResponse;

export const RPC_ERROR = {
  PARSE: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL: -32603,
  /** Any request before a successful `hello`. */
  NOT_INITIALIZED: -32002,
  /** `hello` with a protocol version this program does not speak. */
  VERSION_MISMATCH: -32001,
  /** The request was cancelled by `$/cancel`. */
  CANCELLED: -32800,
} as const;

/** What `hello` configures; every field has a default in the sandbox program. */
export interface SandboxSettings {
  /** The workspace as this program sees it (`/workspace` inside bubblewrap). */
  workspace: string;
  /** A terminal call returns when its command printed nothing for this long. */
  noOutputTimeoutMs?: number;
  /** Output longer than this keeps head and tail. */
  maxOutputChars?: number;
  /** A call returns early after this much output. */
  maxCallChars?: number;
  /** A command running longer than this is killed with everything it started (0: no limit). */
  commandTimeoutMs?: number;
}

export interface HelloParams {
  protocol: number;
  settings: SandboxSettings;
}

export interface HelloResult {
  protocol: number;
  pid: number;
  workspace: string;
}

/** `terminal`: the request of `TerminalRequest` without its signal (cancel with `$/cancel`). */
export interface TerminalParams {
  command: string;
  isInput: boolean;
  timeoutMs?: number;
  reset: boolean;
}

/** `editor`: the `file_editor` arguments, already validated by the service. */
export interface EditorParams {
  command: 'view' | 'create' | 'str_replace' | 'insert' | 'undo_edit';
  path: string;
  file_text?: string;
  old_str?: string;
  new_str?: string;
  insert_line?: number;
  view_range?: number[];
}

export interface EditorResult {
  output: string;
  isError: boolean;
}

/** Frames messages as lines; feed it chunks, get whole lines (a partial line is kept). */
export class LineSplitter {
  private buffer = '';

  constructor(private readonly maxLineChars = 64 * 1024 * 1024) {}

  push(chunk: string): string[] {
    // Only the new chunk is searched: a long line arriving in many chunks costs linear time, not
    // a split of the whole buffer per chunk (a 64 MB line in 64 KB chunks blocked the event loop).
    let lines: string[] = [];
    if (chunk.includes('\n')) {
      lines = (this.buffer + chunk).split('\n');
      this.buffer = lines.pop() ?? '';
    } else this.buffer += chunk;
    if (this.buffer.length > this.maxLineChars) {
      throw new Error(`a protocol line exceeds ${this.maxLineChars} characters`);
    }
    return lines.filter((line) => line.trim() !== '');
  }
}

export function isRequest(message: RpcMessage): message is RpcRequest {
  return 'method' in message && 'id' in message && typeof message.id === 'number';
}

export function isResponse(message: RpcMessage): message is RpcResponse {
  return !('method' in message) && 'id' in message;
}
