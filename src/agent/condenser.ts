import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { NewEvent, StoredEvent } from '../conversations/events.types';
import type { NewLlmCall } from '../conversations/usage.types';
import { LlmClient } from '../models/llm-client.service';
import type { LlmStepResult, ResolvedModel } from '../models/llm.types';
import { llmCallOf } from './llm-accounting';
import { latestCondensation } from './llm-history';

/** Share of the context window above which the history is condensed before the next call. */
const CONDENSE_AT = 0.75;
/**
 * Share of the window the kept recent events may take. With the summary's share, what is left after
 * a condensation (about 0.4 of the window) is well below the trigger: the next one is due only
 * after the history grew by a third of the window again, not at every turn.
 */
const KEEP_RECENT = 0.3;
/** Share of the window the summary may take (its call's max output), within these bounds. */
const SUMMARY_SHARE = 0.1;
const SUMMARY_MIN_TOKENS = 256;
const SUMMARY_MAX_TOKENS = 4_000;
/** Share of the window the summarising call's transcript may take. */
const TRANSCRIPT_SHARE = 0.5;
const CHARS_PER_TOKEN = 4;
/** Role, separators and the like, per message. */
const MESSAGE_OVERHEAD = 4;
/** What an image costs, roughly (a 1024×1024 tile set). */
const IMAGE_TOKENS = 1_000;
const MAX_RENDERED_OUTPUT = 2_000;

const SUMMARY_PROMPT = `You condense the history of a coding agent's conversation so that the agent can continue the work without it.
Write a concise summary with these sections:
USER GOAL: what the user wants, in their words where it matters.
DONE: tasks completed and decisions taken.
PENDING: what remains to do.
STATE: files created or changed and their current state; tests and builds and their latest results; facts the agent will need (paths, commands, ports, error messages).
Keep exact paths, identifiers and error texts. No preamble.`;

export interface Condensation {
  events: NewEvent[];
  calls: NewLlmCall[];
  result: LlmStepResult;
}

const tokensOf = new WeakMap<StoredEvent, number>();

/**
 * Rough token count of one event as the LLM sees it (its text, arguments or output, not the
 * stored JSON: a `turn_end`'s usage figures never reach the LLM). Computed once per event.
 */
export function eventTokens(event: StoredEvent): number {
  let tokens = tokensOf.get(event);
  if (tokens === undefined) {
    tokens = Math.ceil(visibleChars(event) / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD;
    if (event.kind === 'user_message') tokens += (event.payload.images?.length ?? 0) * IMAGE_TOKENS;
    tokensOf.set(event, tokens);
  }
  return tokens;
}

/** Rough token count of events as the LLM sees them. */
export const estimateTokens = (events: readonly StoredEvent[]): number =>
  events.reduce((n, e) => n + eventTokens(e), 0);

/**
 * Tokens the next LLM call's prompt will take, roughly: the provider's own count for the last
 * call (`prompt_tokens` of its response) plus what was added since; after a condensation, or
 * without any count, an estimate of what the LLM sees (the first message, the summary, the rest).
 * Reads the history from its end: the cost follows what was added, not the conversation's length.
 */
export function promptEstimate(history: readonly StoredEvent[], lastPromptTokens = 0): number {
  let since = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    const event = history[i];
    if (event.kind === 'condensation') break; // not seen by the LLM yet
    if (event.kind === 'llm_response') {
      const prompt = event.payload.prompt_tokens ?? (since === 0 ? lastPromptTokens : 0);
      if (prompt > 0) return prompt + eventTokens(event) + since;
    }
    since += eventTokens(event);
  }
  return visibleTokens(history);
}

/** The estimate of what the LLM sees: first message, latest summary, events after it. */
function visibleTokens(history: readonly StoredEvent[]): number {
  const condensation = latestCondensation(history);
  let tokens = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    const event = history[i];
    if (condensation && event.seq <= condensation.to_seq) break;
    if (event.kind !== 'condensation') tokens += eventTokens(event);
  }
  if (!condensation) return tokens;
  const first = history.find((e) => e.kind === 'user_message');
  return (
    tokens +
    Math.ceil(condensation.summary.length / CHARS_PER_TOKEN) +
    (first && first.seq < condensation.from_seq ? eventTokens(first) : 0)
  );
}

/** The summary's token budget for a context window. */
export const summaryTokens = (contextWindow: number | null): number =>
  Math.round(
    Math.min(
      SUMMARY_MAX_TOKENS,
      Math.max(SUMMARY_MIN_TOKENS, (contextWindow ?? 0) * SUMMARY_SHARE),
    ),
  );

/**
 * Replaces the middle of a long history with a summary written by the same LLM (usage id
 * `condenser`), keeping the first user message and the most recent events, and never separating
 * a tool call from its result (the kept part starts at a message or an LLM response).
 */
@Injectable()
export class Condenser {
  constructor(private readonly llm: LlmClient) {}

  /** Whether the next call would come too close to the model's context window. */
  shouldCondense(
    history: readonly StoredEvent[],
    contextWindow: number | null,
    lastPromptTokens: number,
  ): boolean {
    if (!contextWindow) return false;
    return promptEstimate(history, lastPromptTokens) > contextWindow * CONDENSE_AT;
  }

  async condense(
    history: readonly StoredEvent[],
    model: ResolvedModel,
    signal: AbortSignal,
    deadline?: number,
  ): Promise<Condensation | null> {
    const range = this.chooseRange(history, model.contextWindow);
    const previous = latestCondensation(history);
    const alreadyForgotten = previous?.to_seq ?? 0;
    if (!range || range.to <= alreadyForgotten) return null;
    const rendered: string[] = [];
    for (
      let i = indexOfSeq(history, Math.max(range.from, alreadyForgotten + 1));
      i < history.length;
      i++
    ) {
      const event = history[i];
      if (event.seq > range.to) break;
      const line = event.kind === 'condensation' ? '' : render(event);
      if (line) rendered.push(line);
    }
    const head = previous
      ? `Summary so far:\n${previous.summary}\n\nWhat happened next:`
      : 'The history:';
    const maxChars = model.contextWindow
      ? model.contextWindow * TRANSCRIPT_SHARE * CHARS_PER_TOKEN
      : Infinity;
    const transcript = [head, ...latestLines(rendered, maxChars - head.length)].join('\n');

    const maxTokens = summaryTokens(model.contextWindow);
    const result = await this.llm.complete({
      model,
      system: SUMMARY_PROMPT,
      messages: [{ role: 'user', content: transcript }],
      signal,
      deadline,
      overrides: { maxOutputTokens: maxTokens },
    });
    const callId = randomUUID();
    return {
      result,
      calls: [llmCallOf(callId, 'condenser', model, result)],
      events: [
        {
          kind: 'condensation',
          source: 'system',
          payload: {
            summary: cut(result.text.trim(), maxTokens * CHARS_PER_TOKEN),
            from_seq: range.from,
            to_seq: range.to,
            llm_call_id: callId,
          },
        },
      ],
    };
  }

  /**
   * From after the first user message to just before the kept recent part; null if nothing to
   * forget. One pass from the end, which stops once the kept part's budget is spent.
   */
  private chooseRange(
    history: readonly StoredEvent[],
    contextWindow: number | null,
  ): { from: number; to: number } | null {
    const firstAt = history.findIndex((e) => e.kind === 'user_message');
    if (firstAt === -1) return null;
    const first = history[firstAt];
    // the two earliest group starts after the first message: at least the first group is forgotten
    const starts: StoredEvent[] = [];
    for (let i = firstAt + 1; i < history.length && starts.length < 2; i++)
      if (isGroupStart(history[i])) starts.push(history[i]);
    if (starts.length === 0) return null;

    const budget = contextWindow ? contextWindow * KEEP_RECENT : Infinity;
    let kept = 0;
    let keepFrom: StoredEvent | undefined; // the earliest group start whose suffix fits the budget
    let lastStart: StoredEvent | undefined;
    for (let i = history.length - 1; i > firstAt; i--) {
      const event = history[i];
      if (event.kind !== 'condensation') kept += eventTokens(event);
      if (!isGroupStart(event)) continue;
      lastStart ??= event;
      if (kept > budget) break;
      keepFrom = event;
    }
    keepFrom ??= lastStart;
    if (!keepFrom || keepFrom === starts[0]) keepFrom = starts[1] ?? lastStart;
    if (!keepFrom) return null;
    const from = first.seq + 1;
    const to = keepFrom.seq - 1;
    return to >= from ? { from, to } : null;
  }
}

const GROUP_STARTS = new Set(['user_message', 'llm_response', 'nudge', 'assistant_message']);
const isGroupStart = (event: StoredEvent) => GROUP_STARTS.has(event.kind);

/** The index of the event with this seq, or of the first after it (the history is in seq order). */
function indexOfSeq(history: readonly StoredEvent[], seq: number): number {
  let lo = 0;
  let hi = history.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (history[mid].seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The latest lines that fit `maxChars`, after a note of how many earlier ones were left out. */
function latestLines(lines: string[], maxChars: number): string[] {
  let chars = 40; // the note
  let from = lines.length;
  while (from > 0 && chars + lines[from - 1].length + 1 <= maxChars) {
    from--;
    chars += lines[from].length + 1;
  }
  return from === 0 ? lines : [`[${from} earlier entries left out]`, ...lines.slice(from)];
}

/** A summary longer than asked for (a model that ignores max tokens) is cut. */
const cut = (text: string, maxChars: number) =>
  text.length <= maxChars ? text : `${text.slice(0, maxChars)}\n[summary cut at its length limit]`;

function visibleChars(e: StoredEvent): number {
  switch (e.kind) {
    case 'user_message':
    case 'assistant_message':
    case 'nudge':
      return e.payload.text.length;
    case 'llm_response':
      return (
        e.payload.text.length +
        (e.payload.reasoning_parts ?? []).reduce((n, part) => n + part.text.length, 0)
      );
    case 'tool_call':
      return e.payload.tool.length + (JSON.stringify(e.payload.arguments) ?? '').length;
    case 'tool_result':
      return e.payload.output.length;
    case 'condensation':
      return e.payload.summary.length;
    case 'turn_end':
    case 'interrupted':
      return 60; // at most a note of how the turn ended
    case 'error':
      return 0;
  }
}

function render(e: StoredEvent): string {
  switch (e.kind) {
    case 'user_message':
      return `[user] ${e.payload.text}`;
    case 'assistant_message':
      return `[assistant] ${e.payload.text}`;
    case 'llm_response':
      return e.payload.text ? `[assistant] ${e.payload.text}` : '';
    case 'tool_call':
      return `[call ${e.payload.tool}] ${JSON.stringify(e.payload.arguments)}`;
    case 'tool_result':
      return `[result${e.payload.is_error ? ' (error)' : ''}] ${clip(e.payload.output)}`;
    case 'nudge':
      return `[note] ${e.payload.text}`;
    case 'turn_end':
      return e.payload.answer ? `[final answer] ${e.payload.answer}` : '';
    case 'condensation':
    case 'error':
    case 'interrupted':
      return '';
  }
}

const clip = (text: string) =>
  text.length <= MAX_RENDERED_OUTPUT
    ? text
    : `${text.slice(0, MAX_RENDERED_OUTPUT / 2)}\n…\n${text.slice(-MAX_RENDERED_OUTPUT / 2)}`;
