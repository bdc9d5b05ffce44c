import type { EditorParams, EditorResult } from '../../sandbox/protocol';
import type { TerminalRequest, TerminalResult } from '../../sandbox/terminal.types';
import type { SandboxProgramKind } from './sandbox-program';

export type * from '../../sandbox/terminal.types';

/** How agents are confined: `bwrap` (bubblewrap) or `none` (the sandbox program runs unconfined). */
export type SandboxMode = 'bwrap' | 'none';

/**
 * Access to conversations' workspaces, always through the conversation's sandbox program
 * (`src/sandbox/`): the service itself never touches a path inside a workspace.
 */
export interface WorkspaceRuntime {
  readonly mode: SandboxMode;
  /** Which sandbox program runs in the sandboxes: the C one (`native`) or the Node one. */
  readonly program: SandboxProgramKind;
  /** Runs one terminal call in the conversation's shell, started lazily. */
  exec(
    conversationId: string,
    workspaceDir: string,
    request: TerminalRequest,
  ): Promise<TerminalResult>;
  /** Runs one `file_editor` command (arguments already validated). */
  editor(
    conversationId: string,
    workspaceDir: string,
    args: EditorParams,
    signal: AbortSignal,
  ): Promise<EditorResult>;
  /** Ends the conversation's sandbox: its shell and every process in it. The workspace stays. */
  dispose(conversationId: string): Promise<void>;
  /** Ends the sandbox and removes the workspace (emptied from inside a sandbox). */
  deleteWorkspace(conversationId: string, workspaceDir: string): Promise<void>;
  /** Ends every sandbox (shutdown). */
  disposeAll(): Promise<void>;
}

export const WORKSPACE_RUNTIME = Symbol('WORKSPACE_RUNTIME');
