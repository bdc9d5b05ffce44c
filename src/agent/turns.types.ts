import type { AppError } from '../common/errors/app-error';
import type {
  ExecutionStatus,
  NewEvent,
  StoredEvent,
  TurnEndReason,
} from '../conversations/events.types';
import type { TurnUsage } from '../conversations/usage.types';
import type { LlmRequest, ResolvedModel } from '../models/llm.types';
import type { CancelReason } from './active-turns';
import type { PendingToolCall, TurnTools } from './client-tools';
import type { AnswerFormat } from './structured-output';

// The agent's public types (what chat completions and the Responses API see of a turn).
export type { CancelReason } from './active-turns';
export type { AgentRun } from './agent-run';
export {
  TOOL_MODES,
  type ClientTool,
  type ClientToolResult,
  type PendingToolCall,
  type ToolChoice,
  type ToolMode,
  type TurnTools,
} from './client-tools';
export type { AnswerFormat } from './structured-output';

/** A message as the agent takes it: text plus image URLs. */
export interface ChatText {
  role: 'user' | 'assistant';
  text: string;
  images: string[];
}

/** A request (chat completion, response) mapped onto an agent turn (API.md section 5). */
export interface TurnRequest {
  /** `system` and `developer` texts, joined; they extend the system prompt of a new conversation. */
  systemText: string | null;
  /** The last `user` message: the turn's input. */
  input: ChatText;
  /** Earlier user/assistant turns, before the input: prior context of a new conversation. */
  prior: ChatText[];
}

/** How a turn runs, whichever API asked for it. */
export interface TurnSettings {
  model: ResolvedModel;
  /** The request's own sampling settings (temperature, seed, …). */
  overrides?: LlmRequest['overrides'];
  /** Whether the client receives content as it streams (decides what its transcript shows). */
  streamed: boolean;
  /** The client's tools and how tools are offered; default: the server's tools only. */
  tools?: TurnTools;
  /** The final answer must be this JSON (`response_format`); checked, repaired once, else an error. */
  answerFormat?: AnswerFormat;
}

/** A new turn of a conversation: its input is the request's last user message. */
export interface NewTurn extends TurnSettings {
  conversationId: string;
  request: TurnRequest;
  /** Set when the conversation may be new: what to create it with (see `BeginTurn.create`). */
  create?: { title: string | null; seed: NewEvent[]; ifMissing?: boolean };
  /** A client's own key for the conversation, saved once the turn holds its lock. */
  alias?: string;
}

/** A started turn (or an auxiliary request, which has no conversation): iterate `events` to render it. */
export interface StartedTurn {
  conversationId: string | null;
  events: AsyncIterable<AgentEvent>;
  /** Settles once the turn's end has been recorded. */
  outcome: Promise<TurnOutcome>;
  cancel(reason: CancelReason): void;
}

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
