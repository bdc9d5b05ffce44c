import type { CancelReason } from './active-turns';
import type { AgentEvent, TurnOutcome } from './agent-events';
import type { TurnTools } from './client-tools';
import type { AnswerFormat } from './structured-output';
import type { LlmRequest, ResolvedModel } from '../models/llm-types';
import type { NewEvent } from '../conversations/events.types';

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
