import type { z } from 'zod';
import type { TaskStore } from '../../conversations/tasks.types';

/** What a tool gets for one call. */
export interface ToolContext {
  conversationId: string;
  /** Absolute path of the conversation's workspace; it exists. */
  workspaceDir: string;
  /** Aborted when the turn is cancelled or times out: stop and return at once. */
  signal: AbortSignal;
  tasks: TaskStore;
}

/** What a call produced. */
export interface ToolOutcome {
  /** What the LLM sees as the tool result. */
  output: string;
  isError: boolean;
  /** Set by `finish`: the turn ends and this is the answer. */
  finish?: { message: string };
  /** Machine-readable extras recorded with the result (e.g. `exit_code` for `terminal`). */
  meta?: Record<string, unknown>;
}

/** A tool the LLM may call. Arguments are validated by `inputSchema` before `execute` runs. */
export interface AgentTool<Args = unknown> {
  readonly name: string;
  readonly description: string;
  /** Without `summary` / `security_risk`: the registry adds those to the schema the LLM sees. */
  readonly inputSchema: z.ZodType<Args>;
  /** Tools with side effects get the optional `security_risk` argument. */
  readonly hasSideEffects: boolean;
  execute(args: Args, ctx: ToolContext): Promise<ToolOutcome>;
  /** One short human-readable line for a call, shown while streaming ("Running `npm test`"). */
  describe(args: Args): string;
}
