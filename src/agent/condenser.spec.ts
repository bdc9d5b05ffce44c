import { performance } from 'node:perf_hooks';
import type { NewEvent, StoredEvent } from '../conversations/events.types';
import type { LlmClient } from '../models/llm-client.service';
import type { LlmRequest, LlmStepResult, ResolvedModel } from '../models/llm.types';
import { llmStep } from '../../test/support/llm-step';
import { Condenser, promptEstimate, summaryTokens } from './condenser';
import { toModelMessages } from './llm-history';

const WINDOW = 8_000;
const model = { model: 'm', contextWindow: WINDOW } as ResolvedModel;

/** An LLM that answers every summarising call with `summary(request)`. */
function fakeLlm(summary: (request: LlmRequest) => string) {
  const requests: LlmRequest[] = [];
  const llm = {
    complete: (request: LlmRequest): Promise<LlmStepResult> => {
      requests.push(request);
      return Promise.resolve(llmStep({ text: summary(request) }));
    },
  };
  return { llm: llm as unknown as LlmClient, requests };
}

class History {
  readonly events: StoredEvent[] = [];
  add(...events: NewEvent[]): void {
    for (const e of events)
      this.events.push({
        ...e,
        id: `e${this.events.length + 1}`,
        seq: this.events.length + 1,
        createdAt: '',
      });
  }
  /** One short turn: the prompt, an answer that counts the prompt the way a provider would, its end. */
  turn(i: number): void {
    this.add({ kind: 'user_message', source: 'user', payload: { text: `Turn ${i}: say hello.` } });
    const prompt = JSON.stringify(toModelMessages(this.events)).length / 4 + 400; // + system
    this.add(
      {
        kind: 'llm_response',
        source: 'agent',
        payload: {
          text: `Hello from turn ${i}.`,
          finish_reason: 'stop',
          llm_call_id: 'c',
          model: 'm',
          prompt_tokens: Math.round(prompt),
        },
      },
      {
        kind: 'turn_end',
        source: 'agent',
        payload: {
          reason: 'stop',
          status: 'finished',
          answer: `Hello from turn ${i}.`,
          usage: {
            prompt_tokens: 123456,
            completion_tokens: 7,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
            cost_usd: 0.000123,
          },
        },
      },
    );
  }
}

describe('Condenser', () => {
  it('estimates the next prompt from the last real count plus what came since, not from stored rows', () => {
    const h = new History();
    for (let i = 1; i <= 3; i++) h.turn(i);
    const last = h.events.findLast((e) => e.kind === 'llm_response')!;
    const counted = (last.payload as { prompt_tokens: number }).prompt_tokens;
    h.add({ kind: 'user_message', source: 'user', payload: { text: 'x'.repeat(400) } });
    const estimate = promptEstimate(h.events);
    // the provider's count, the answer, the turn's end note, the new prompt (~100 tokens)
    expect(estimate).toBeGreaterThan(counted + 100);
    expect(estimate).toBeLessThan(counted + 140);
  });

  it('condenses rarely (hysteresis), keeps the prompt under the window, and stays fast over 1,000 turns', async () => {
    const { llm, requests } = fakeLlm(() => 'USER GOAL: hello. DONE: said hello many times.');
    const condenser = new Condenser(llm);
    const h = new History();
    let slowest = 0;
    for (let i = 1; i <= 1_000; i++) {
      h.turn(i);
      h.add({ kind: 'user_message', source: 'user', payload: { text: 'next' } });
      const started = performance.now();
      const c = condenser.shouldCondense(h.events, WINDOW, 0)
        ? await condenser.condense(h.events, model, new AbortController().signal)
        : null;
      slowest = Math.max(slowest, performance.now() - started);
      h.events.pop(); // the probe message
      if (c) h.add(...c.events);
    }
    expect(requests.length).toBeGreaterThan(2);
    expect(requests.length).toBeLessThan(40);
    expect(promptEstimate(h.events)).toBeLessThan(WINDOW * 0.75);
    expect(slowest).toBeLessThan(50);
  });

  it('bounds the summary: max output on the call, and a cut when the model ignores it', async () => {
    const { llm, requests } = fakeLlm(() => 'S'.repeat(100_000));
    const condenser = new Condenser(llm);
    const h = new History();
    for (let i = 1; i <= 400; i++) h.turn(i);
    const c = await condenser.condense(h.events, model, new AbortController().signal);
    expect(requests[0].overrides?.maxOutputTokens).toBe(summaryTokens(WINDOW));
    const summary = (c!.events[0].payload as { summary: string }).summary;
    expect(summary.length).toBeLessThan(summaryTokens(WINDOW) * 4 + 100);
    expect(summary).toContain('[summary cut at its length limit]');
    // and the transcript it was given fits half the window
    const transcript = requests[0].messages[0].content as string;
    expect(transcript.length).toBeLessThanOrEqual(WINDOW * 0.5 * 4);
  });
});
