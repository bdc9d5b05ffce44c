import type { AppError } from '../common/errors/app-error';
import type { ExecutionStatus, StoredEvent, TurnEndReason } from '../conversations/events.types';
import type { TurnUsage } from '../conversations/usage.types';
import type { PendingToolCall } from './client-tools';

/** How a turn ended. */
export interface TurnOutcome {
  conversationId: string;
  reason: TurnEndReason;
  status: ExecutionStatus;
  /** The final answer: the `finish` message or the last assistant text. */
  answer: string;
  usage: TurnUsage;
  /** Set when the turn failed (`error`, `timeout`); `cancelled` has none. */
  error?: AppError;
  /** `tool_calls`: the client tool calls the turn paused on. */
  toolCalls?: PendingToolCall[];
}

/** What a running turn yields, in order; the chat-completions renderers consume it. */
export type AgentEvent =
  /** Assistant text as the LLM produces it, separators between steps included. */
  | { type: 'content-delta'; text: string }
  /** The model's own reasoning, as it produces it. */
  | { type: 'reasoning-delta'; text: string }
  /** An LLM attempt failed and will be retried after `delayMs`. */
  | { type: 'retry'; attempt: number; delayMs: number; reason: string }
  /** A persisted step event (LLM response, tool call, tool result, nudge, condensation). */
  | { type: 'event'; event: StoredEvent; display?: string }
  | { type: 'end'; outcome: TurnOutcome };
