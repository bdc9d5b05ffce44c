import type { TestApp } from '../support/create-test-app';
import { closeAgentApp, startAgentApp } from '../support/agent-app';
import { type FakeLlmServer, fakeReply } from '../support/fake-llm-server';

/** OH_LLM_FIRST_BYTE_TIMEOUT_S, OH_LLM_IDLE_TIMEOUT_S and OH_LLM_TIMEOUT_RETRIES through the API. */
describe('upstream timeouts', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    ({ t, llm } = await startAgentApp({
      OH_LLM_BACKOFF_MS: '5',
      OH_LLM_FIRST_BYTE_TIMEOUT_S: '0.3',
      OH_LLM_IDLE_TIMEOUT_S: '0.3',
    }));
    // num_retries left at its default (3): only one of them may go to a timed-out attempt
  });
  afterAll(() => closeAgentApp({ t, llm }));
  beforeEach(() => {
    llm.reset();
    llm.setHandler(null);
  });

  // A new prompt each time: an identical request right after a failure gets that failure back
  // (safe retries), and these tests want a fresh turn each.
  let asked = 0;
  const ask = () =>
    t.openai.chat.completions.create({
      model: 'openhands_agent',
      messages: [{ role: 'user', content: `hello ${++asked}` }],
    });

  it('a provider that never answers: two attempts, then a 504, well within the budget', async () => {
    llm.setHandler(() => fakeReply.hang());
    const started = Date.now();
    await expect(ask()).rejects.toMatchObject({
      status: 504,
      error: { code: 'upstream_timeout' },
    });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(llm.requests).toHaveLength(2);
  });

  it('a response that starts and stalls: failed on the idle clock, retried once', async () => {
    llm.setHandler(() => fakeReply.text('ab', { chunks: 2, pauseAfterChunks: 0 }));
    await expect(ask()).rejects.toMatchObject({ status: 504 });
    expect(llm.requests).toHaveLength(2);
  });

  it('a slow but steady answer is not cut: the clocks measure silence', async () => {
    llm.enqueue(fakeReply.text('abcdef', { chunks: 6, chunkDelayMs: 150 }));
    const answer = await ask();
    expect(answer.choices[0].message.content).toBe('abcdef');
  });
});
