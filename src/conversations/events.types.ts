import type { TurnUsage } from './usage.types';

export const EXECUTION_STATUSES = [
  'idle',
  'running',
  'finished',
  'error',
  'stuck',
  'cancelled',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export type EventSource = 'user' | 'agent' | 'environment' | 'system';

/** Why a turn ended; `finish_reason` and the conversation status derive from it. */
export type TurnEndReason =
  | 'finish'
  | 'stop'
  | 'length'
  | 'stuck'
  | 'cancelled'
  | 'timeout'
  | 'error'
  /** Paused on calls to the client's tools; the client's results resume it. */
  | 'tool_calls';

/** The payload of each kind of event in a conversation's append-only log. */
export interface EventPayloads {
  /** The turn's input; `seeded` for earlier turns a client sent with a new conversation. */
  user_message: { text: string; images?: string[]; seeded?: boolean };
  /** An earlier assistant answer a client sent with a new conversation. */
  assistant_message: { text: string; seeded?: boolean };
  /** One LLM response; its tool calls follow as `tool_call` events. */
  llm_response: {
    text: string;
    reasoning?: string;
    /** Reasoning blocks with their provider data (Anthropic signatures), replayed to the provider. */
    reasoning_parts?: { text: string; provider_options?: Record<string, unknown> }[];
    finish_reason: string;
    llm_call_id: string;
    model: string;
    /** The provider's count of this call's prompt tokens: where the next prompt's estimate starts. */
    prompt_tokens?: number;
  };
  tool_call: {
    tool_call_id: string;
    tool: string;
    arguments: unknown;
    summary?: string;
    /** Provider data to send back with this call (Gemini thought signatures). */
    provider_options?: Record<string, unknown>;
    /** A call to a client tool: the id the client got for it (the client runs it). */
    client_call_id?: string;
  };
  tool_result: {
    tool_call_id: string;
    tool: string;
    output: string;
    is_error: boolean;
    meta?: Record<string, unknown>;
    /** The client ran this call and sent the result. */
    client?: boolean;
  };
  /** A note from the agent loop to the LLM (empty reply, repeated error). */
  nudge: { text: string };
  /** Events `from_seq`…`to_seq` are replaced by `summary` in the LLM's view. */
  condensation: { summary: string; from_seq: number; to_seq: number; llm_call_id: string };
  turn_end: {
    reason: TurnEndReason;
    status: ExecutionStatus;
    /** The final answer (`finish` message or last assistant text); empty when the turn failed. */
    answer: string;
    /** What a streaming client received as `content`, when it differs from `answer`. */
    content?: string;
    usage: TurnUsage;
    error?: { code: string; message: string };
    /** Who stopped a `cancelled` turn: the cancel API, a client that went away, a shutdown. */
    cancelled_by?: 'cancelled' | 'client_disconnected' | 'shutdown' | 'deleted';
    /** `tool_calls`: the client tool calls the turn waits for (ids as the client got them). */
    pending_tool_calls?: { id: string; name: string; arguments: string }[];
  };
  error: { code: string; message: string; status?: number };
  /** The process running the turn went away (crash, kill); written at the next start. */
  interrupted: { message: string };
}

export type EventKind = keyof EventPayloads;
export const EVENT_KINDS = [
  'user_message',
  'assistant_message',
  'llm_response',
  'tool_call',
  'tool_result',
  'nudge',
  'condensation',
  'turn_end',
  'error',
  'interrupted',
] as const satisfies readonly EventKind[];

export type NewEvent = {
  [K in EventKind]: { kind: K; source: EventSource; payload: EventPayloads[K] };
}[EventKind];

export type StoredEvent = NewEvent & {
  id: string;
  seq: number;
  /** ISO 8601 */
  createdAt: string;
};

export const isKind = <K extends EventKind>(
  event: StoredEvent,
  kind: K,
): event is StoredEvent & { kind: K; payload: EventPayloads[K] } => event.kind === kind;
