import type {
  AssistantContent,
  ModelMessage,
  ProviderMetadata,
  ToolContent,
  UserContent,
} from 'ai';
import type { EventPayloads, StoredEvent } from '../conversations/events.types';

const INTERRUPTED_RESULT = '[No result: the turn was interrupted before this call finished.]';

/**
 * The LLM's view of a conversation, rebuilt from its event log: user messages, assistant steps
 * (text plus tool calls), tool results and nudges. The latest condensation replaces the events it
 * covers with its summary. Calls left without a result (an interrupted turn) get a placeholder one,
 * since providers reject a tool call without its result.
 */
export function toModelMessages(events: readonly StoredEvent[]): ModelMessage[] {
  const condensation = latestCondensation(events);
  const messages: ModelMessage[] = [];
  let assistant: Exclude<AssistantContent, string> | null = null;
  let pendingCalls = new Map<string, string>(); // id → tool name, awaiting results
  let results: ToolContent = [];

  const flushAssistant = () => {
    if (assistant && assistant.length > 0) messages.push({ role: 'assistant', content: assistant });
    assistant = null;
  };
  const flushResults = () => {
    for (const [id, tool] of pendingCalls)
      results.push(toolResult(id, tool, INTERRUPTED_RESULT, true));
    pendingCalls = new Map();
    if (results.length > 0) messages.push({ role: 'tool', content: results });
    results = [];
  };
  const flush = () => {
    flushAssistant();
    flushResults();
  };
  // A turn is open from its user message to its end; one left open (or ended without an answer)
  // is closed by a note, so that the next prompt stays a message of its own.
  let turnOpen = false;
  const closeTurn = (note: string | null) => {
    flush();
    if (note) messages.push({ role: 'assistant', content: note });
    turnOpen = false;
  };

  for (let i = 0; i < events.length; i++) {
    const event = events[i];
    if (condensation && event.seq >= condensation.from_seq && event.seq <= condensation.to_seq) {
      if (event.seq === condensation.from_seq) {
        flush();
        turnOpen = false; // the summary covers how the turns it replaces ended
        messages.push({ role: 'user', content: summaryMessage(condensation.summary) });
      }
      // over the covered events in one jump: a long conversation's log is mostly condensed
      i = Math.max(i, firstIndexAfter(events, condensation.to_seq) - 1);
      continue;
    }
    switch (event.kind) {
      case 'user_message':
        if (turnOpen && !event.payload.seeded) closeTurn(ABANDONED_NOTE);
        flush();
        turnOpen = !event.payload.seeded;
        messages.push({ role: 'user', content: userContent(event.payload) });
        break;
      case 'assistant_message':
        flush();
        messages.push({ role: 'assistant', content: event.payload.text });
        break;
      case 'llm_response':
        flush();
        assistant = [];
        for (const part of event.payload.reasoning_parts ?? []) {
          assistant.push({
            type: 'reasoning',
            text: part.text,
            ...providerOptions(part.provider_options),
          });
        }
        if (event.payload.text) assistant.push({ type: 'text', text: event.payload.text });
        break;
      case 'tool_call':
        assistant ??= [];
        assistant.push({
          type: 'tool-call',
          toolCallId: event.payload.tool_call_id,
          toolName: event.payload.tool,
          input: asObject(event.payload.arguments),
          ...providerOptions(event.payload.provider_options),
        });
        pendingCalls.set(event.payload.tool_call_id, event.payload.tool);
        break;
      case 'tool_result':
        flushAssistant();
        pendingCalls.delete(event.payload.tool_call_id);
        results.push(
          toolResult(
            event.payload.tool_call_id,
            event.payload.tool,
            event.payload.output,
            event.payload.is_error,
          ),
        );
        break;
      case 'nudge':
        flush();
        messages.push({ role: 'user', content: event.payload.text });
        break;
      case 'turn_end':
        // paused on client tool calls: their results follow and the same turn goes on
        if (event.payload.reason === 'tool_calls') break;
        closeTurn(endNote(event.payload));
        break;
      case 'interrupted':
        closeTurn(INTERRUPTED_NOTE);
        break;
      case 'condensation':
      case 'error':
        break;
    }
  }
  flush();
  return mergeConsecutiveUsers(messages);
}

const ABANDONED_NOTE = '[this request ended without an answer]';
const INTERRUPTED_NOTE = '[the server stopped during this request, before an answer]';

/**
 * How a turn that gave no answer ended, as the LLM sees it after that turn's own messages: without
 * it, the abandoned request and the next one would read as one prompt and the agent might redo
 * abandoned work. Null for a turn that ended normally (its answer is already in the history).
 */
export function endNote(end: EventPayloads['turn_end']): string | null {
  switch (end.reason) {
    case 'cancelled':
      return cancelNote(end.cancelled_by);
    case 'timeout':
      return '[this request ran past the time limit and was stopped before an answer]';
    case 'error':
      return `[this request failed before an answer${end.error ? `: ${end.error.message}` : ''}]`;
    case 'finish':
    case 'stop':
    case 'length':
    case 'stuck':
    case 'tool_calls':
      return null;
  }
}

function cancelNote(by: EventPayloads['turn_end']['cancelled_by']): string {
  switch (by) {
    case 'client_disconnected':
      return '[the client disconnected before an answer to this request]';
    case 'shutdown':
      return '[the server shut down during this request, before an answer]';
    case 'deleted':
    case 'cancelled':
    case undefined:
      return '[the client cancelled this request before an answer]';
  }
}

/** The index of the first event with a `seq` above `seq` (the log is in `seq` order). */
function firstIndexAfter(events: readonly StoredEvent[], seq: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid].seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function latestCondensation(
  events: readonly StoredEvent[],
): EventPayloads['condensation'] | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i];
    if (event.kind === 'condensation') return event.payload;
  }
  return null;
}

/** Provider data as the AI SDK takes it back (`providerOptions` on a part). */
const providerOptions = (options: Record<string, unknown> | undefined) =>
  options ? { providerOptions: options as ProviderMetadata } : {};

export const summaryMessage = (summary: string) =>
  `[Summary of the earlier part of this conversation, which was condensed to fit the context window]\n${summary}`;

function userContent(payload: EventPayloads['user_message']): UserContent {
  if (!payload.images?.length) return payload.text;
  return [
    { type: 'text', text: payload.text },
    ...payload.images.map((url) => {
      const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
      return data
        ? { type: 'image' as const, image: data[2], mediaType: data[1] }
        : { type: 'image' as const, image: new URL(url) };
    }),
  ];
}

function toolResult(
  toolCallId: string,
  toolName: string,
  output: string,
  isError: boolean,
): ToolContent[number] {
  return {
    type: 'tool-result',
    toolCallId,
    toolName,
    output: isError ? { type: 'error-text', value: output } : { type: 'text', value: output },
  };
}

/** Providers want tool inputs as objects; a malformed one is kept visible rather than dropped. */
function asObject(input: unknown): Record<string, unknown> {
  if (typeof input === 'object' && input !== null && !Array.isArray(input))
    return input as Record<string, unknown>;
  return { invalid_arguments: typeof input === 'string' ? input : JSON.stringify(input) };
}

/** Two user messages in a row (a nudge after an interrupted turn, say) are joined: some providers insist on alternation. */
function mergeConsecutiveUsers(messages: ModelMessage[]): ModelMessage[] {
  const merged: ModelMessage[] = [];
  for (const message of messages) {
    const previous = merged.at(-1);
    if (previous?.role === 'user' && message.role === 'user') {
      previous.content = [...asParts(previous.content), ...asParts(message.content)];
    } else {
      merged.push(message);
    }
  }
  return merged;
}

const asParts = (content: UserContent): Exclude<UserContent, string> =>
  typeof content === 'string' ? [{ type: 'text', text: content }] : content;
