import type { StoredEvent } from '../conversations/events.types';

export type StuckVerdict =
  { kind: 'ok' } | { kind: 'nudge'; message: string } | { kind: 'stuck'; reason: string };

interface Step {
  call: string;
  tool: string;
  output: string;
  isError: boolean;
}

const IGNORED_ARGS = new Set(['summary', 'security_risk']);

/** Canonical JSON: sorted keys, no summary/security_risk; ids and timestamps never enter it. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([k]) => !IGNORED_ARGS.has(k))
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Looks at the events since the last user message (AGENT.md "Stuck detection"): the same call
 * with the same result four times; the same call failing the same way three times (one nudge),
 * then a fourth (stuck); three empty replies in a row; an A,B,A,B,A,B loop.
 */
export function detectStuck(events: readonly StoredEvent[]): StuckVerdict {
  const since = events.slice(lastUserMessageIndex(events) + 1);
  const steps = completedSteps(since);
  const same = (a: Step, b: Step) => a.call === b.call && a.output === b.output;
  const tail = (n: number) => (steps.length >= n ? steps.slice(-n) : null);

  const lastFour = tail(4);
  if (lastFour?.every((s) => same(s, lastFour[0]))) {
    return lastFour[0].isError
      ? {
          kind: 'stuck',
          reason: `called ${lastFour[0].tool} with the same arguments four times and got the same error`,
        }
      : {
          kind: 'stuck',
          reason: `called ${lastFour[0].tool} with the same arguments four times with the same result`,
        };
  }
  const lastThree = tail(3);
  const nudged = since.some((e) => e.kind === 'nudge' && e.payload.text.startsWith(REPEATED_ERROR));
  if (lastThree?.every((s) => s.isError && same(s, lastThree[0])) && !nudged) {
    return {
      kind: 'nudge',
      message: `${REPEATED_ERROR} You called ${lastThree[0].tool} with the same arguments three times and got the same error. Read the error and change your approach.`,
    };
  }
  const lastSix = tail(6);
  if (
    lastSix &&
    !same(lastSix[0], lastSix[1]) &&
    lastSix.every((s, i) => same(s, lastSix[i % 2]))
  ) {
    return {
      kind: 'stuck',
      reason: `alternated between the same two ${lastSix[0].tool}/${lastSix[1].tool} calls six times`,
    };
  }
  if (emptyRepliesInARow(since) >= 3) {
    return { kind: 'stuck', reason: 'replied with no text and no tool call three times in a row' };
  }
  return { kind: 'ok' };
}

export const REPEATED_ERROR = '[Repeated error]';

function lastUserMessageIndex(events: readonly StoredEvent[]): number {
  for (let i = events.length - 1; i >= 0; i--) if (events[i].kind === 'user_message') return i;
  return -1;
}

function completedSteps(events: readonly StoredEvent[]): Step[] {
  const calls = new Map<string, { tool: string; call: string }>();
  const steps: Step[] = [];
  for (const event of events) {
    if (event.kind === 'tool_call') {
      calls.set(event.payload.tool_call_id, {
        tool: event.payload.tool,
        call: `${event.payload.tool}:${canonical(event.payload.arguments)}`,
      });
    } else if (event.kind === 'tool_result') {
      const call = calls.get(event.payload.tool_call_id);
      if (call)
        steps.push({ ...call, output: event.payload.output, isError: event.payload.is_error });
    }
  }
  return steps;
}

function emptyRepliesInARow(events: readonly StoredEvent[]): number {
  let count = 0;
  for (const event of events) {
    if (event.kind === 'llm_response') count = event.payload.text.trim() ? 0 : count + 1;
    else if (event.kind === 'tool_call') count = 0;
  }
  return count;
}
