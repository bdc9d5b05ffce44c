import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { NewEvent, NewLlmCall, StoredEvent } from '../conversations/conversation-events';
import { LlmClient } from '../models/llm-client';
import type { LlmStepResult, ResolvedModel } from '../models/llm-types';
import { llmCallOf } from './llm-accounting';
import { latestCondensation } from './llm-history';

/** Share of the context window above which the history is condensed before the next call. */
const CONDENSE_AT = 0.75;
/** Share of the window the kept recent events may take. */
const KEEP_RECENT = 0.3;
const CHARS_PER_TOKEN = 4;
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

/** Rough token count of events as the LLM sees them. */
export const estimateTokens = (events: readonly StoredEvent[]): number =>
  Math.ceil(events.reduce((n, e) => n + JSON.stringify(e.payload).length, 0) / CHARS_PER_TOKEN);

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
    const sincePrompt = history.filter((e) => e.seq > lastPromptSeq(history));
    const estimate = Math.max(
      lastPromptTokens + estimateTokens(sincePrompt),
      estimateTokens(history),
    );
    return estimate > contextWindow * CONDENSE_AT;
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
    const forgotten = history.filter(
      (e) =>
        e.seq >= Math.max(range.from, alreadyForgotten + 1) &&
        e.seq <= range.to &&
        e.kind !== 'condensation',
    );
    const transcript = [
      previous ? `Summary so far:\n${previous.summary}\n\nWhat happened next:` : 'The history:',
      ...forgotten.map(render).filter(Boolean),
    ].join('\n');

    const result = await this.llm.complete({
      model,
      system: SUMMARY_PROMPT,
      messages: [{ role: 'user', content: transcript }],
      signal,
      deadline,
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
            summary: result.text.trim(),
            from_seq: range.from,
            to_seq: range.to,
            llm_call_id: callId,
          },
        },
      ],
    };
  }

  /** From after the first user message to just before the kept recent part; null if nothing to forget. */
  private chooseRange(
    history: readonly StoredEvent[],
    contextWindow: number | null,
  ): { from: number; to: number } | null {
    const first = history.find((e) => e.kind === 'user_message');
    if (!first) return null;
    const budget = contextWindow ? contextWindow * KEEP_RECENT : Infinity;
    const candidates = history.filter(
      (e) =>
        e.seq > first.seq &&
        ['user_message', 'llm_response', 'nudge', 'assistant_message'].includes(e.kind),
    );
    // The earliest group start whose suffix fits the budget, but always forget at least one group.
    let keepFrom: StoredEvent | undefined;
    for (const candidate of candidates) {
      if (estimateTokens(history.filter((e) => e.seq >= candidate.seq)) <= budget) {
        keepFrom = candidate;
        break;
      }
    }
    keepFrom ??= candidates.at(-1);
    if (!keepFrom || keepFrom === candidates[0]) keepFrom = candidates[1] ?? candidates.at(-1);
    if (!keepFrom) return null;
    const from = first.seq + 1;
    const to = keepFrom.seq - 1;
    return to >= from ? { from, to } : null;
  }
}

function lastPromptSeq(history: readonly StoredEvent[]): number {
  for (let i = history.length - 1; i >= 0; i--)
    if (history[i].kind === 'llm_response') return history[i].seq;
  return 0;
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
