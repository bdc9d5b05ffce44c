import { randomUUID } from 'node:crypto';
import type { TestApp } from '../support/create-test-app';
import { closeAgentApp, startAgentApp } from '../support/agent-app';
import { type FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { waitFor } from '../support/wait';

const HEADER = 'X-OpenHands-ServerConversation-ID';

/**
 * A turn that ended without an answer stays in the LLM's history as its own request, followed by
 * a note of how it ended: the next prompt is never merged into it.
 */
describe('honest history: turns that ended without an answer', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    ({ t, llm } = await startAgentApp(
      // a disconnect cancels at once (OH_RETRY_GRACE_S=0): the note says the client left
      { OH_LLM_BACKOFF_MS: '5', OH_TURN_TIMEOUT_S: '1', OH_RETRY_GRACE_S: '0' },
      { agent: { num_retries: 0 } },
    ));
  });
  afterAll(() => closeAgentApp({ t, llm }));
  beforeEach(() => {
    llm.reset();
    llm.setHandler(null);
  });

  const ask = (id: string, content: string) =>
    t.openai.chat.completions.create(
      { model: 'openhands_agent', messages: [{ role: 'user', content }] },
      { headers: { [HEADER]: id } },
    );
  const lastRequestMessages = () =>
    llm.requests.at(-1)!.messages.map((m) => ({ role: m.role, content: m.content }));

  it('a cancelled turn: its prompt, then "[the client cancelled this request before an answer]", then the new prompt', async () => {
    const id = randomUUID();
    llm.enqueue(fakeReply.hang());
    const first = ask(id, 'delete the build folder').catch((err: unknown) => err);
    await waitFor(() => llm.requests.length === 1, 10_000, 'the first LLM call');
    const cancel = await t.request(`/api/conversations/${id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBeLessThan(300);
    await first;

    llm.enqueue(fakeReply.text('Fine.'));
    await ask(id, 'never mind, just list it');
    expect(lastRequestMessages()).toEqual([
      { role: 'user', content: 'delete the build folder' },
      { role: 'assistant', content: '[the client cancelled this request before an answer]' },
      { role: 'user', content: 'never mind, just list it' },
    ]);
  });

  it('a failed turn and a timed-out one: each followed by how it ended', async () => {
    const id = randomUUID();
    llm.enqueue(fakeReply.error(400, 'bad things'));
    await expect(ask(id, 'first')).rejects.toMatchObject({ status: 502 });
    llm.enqueue(fakeReply.hang());
    await expect(ask(id, 'second')).rejects.toMatchObject({ status: 504 });

    llm.enqueue(fakeReply.text('Third.'));
    await ask(id, 'third');
    const messages = lastRequestMessages();
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
    expect(messages[0].content).toBe('first');
    expect(messages[1].content).toMatch(/^\[this request failed before an answer: .+\]$/);
    expect(messages[2].content).toBe('second');
    expect(messages[3].content).toBe(
      '[this request ran past the time limit and was stopped before an answer]',
    );
    expect(messages[4].content).toBe('third');
  });

  it('a turn cut by a client that went away mid-step: its tool call, a placeholder result, the note', async () => {
    const id = randomUUID();
    llm.enqueue(fakeReply.toolCall('think', { thought: 'plan' }), fakeReply.hang());
    const controller = new AbortController();
    const first = t.openai.chat.completions
      .create(
        { model: 'openhands_agent', messages: [{ role: 'user', content: 'refactor' }] },
        { headers: { [HEADER]: id }, signal: controller.signal },
      )
      .catch((err: unknown) => err);
    await waitFor(() => llm.requests.length === 2, 10_000, 'the second LLM call');
    controller.abort();
    await first;
    await waitFor(
      async () =>
        (await (await t.request(`/api/conversations/${id}`)).json()).execution_status !== 'running',
      10_000,
      'the turn to end',
    );

    llm.enqueue(fakeReply.text('OK.'));
    await ask(id, 'stop that');
    const messages = lastRequestMessages();
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant', 'user']);
    expect(messages[3].content).toBe('[the client disconnected before an answer to this request]');
    expect(messages[4].content).toBe('stop that');
  });
});
