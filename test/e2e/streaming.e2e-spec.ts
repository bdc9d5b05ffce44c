import OpenAI from 'openai';
import type { TestApp } from '../support/create-test-app';
import { closeAgentApp, startAgentApp } from '../support/agent-app';
import { type FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { contentOf, reasoningOf, SseReader } from '../support/sse';
import { processes, waitFor } from '../support/wait';

const HEADER = 'X-OpenHands-ServerConversation-ID';
const MODEL = 'openhands_stream';

describe('streaming turns (stream: true)', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    ({ t, llm } = await startAgentApp(
      { OH_LLM_BACKOFF_MS: '5', OH_KEEPALIVE_S: '0.2' },
      { stream: { num_retries: 0 } },
    ));
  });
  afterAll(() => closeAgentApp({ t, llm }));
  beforeEach(() => {
    llm.reset();
    llm.setHandler(null);
  });

  const post = (body: Record<string, unknown>, init: RequestInit = {}) =>
    t.request('/v1/chat/completions', {
      method: 'POST',
      json: { model: MODEL, stream: true, ...body },
      ...init,
    });
  const conversation = async (id: string) => (await t.request(`/api/conversations/${id}`)).json();

  it('delivers a multi-word answer in several content chunks, ending with finish_reason and [DONE]', async () => {
    llm.enqueue(
      fakeReply.text('The quick brown fox jumps over the lazy dog.', {
        chunks: 5,
        chunkDelayMs: 10,
      }),
    );
    const stream = await t.openai.chat.completions.create({
      model: MODEL,
      stream: true,
      messages: [{ role: 'user', content: 'Say the pangram.' }],
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const contents = chunks.map((c) => c.choices[0]?.delta?.content).filter(Boolean);
    expect(contents.length).toBeGreaterThanOrEqual(5);
    expect(contents.join('')).toBe('The quick brown fox jumps over the lazy dog.');
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('stop');
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === MODEL)).toBe(
      true,
    );
  });

  it('sends headers and the first chunk before a slow LLM has answered', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let asked = false;
    llm.setHandler(async () => {
      asked = true;
      await gate;
      return fakeReply.text('finally');
    });
    const res = await post({ messages: [{ role: 'user', content: 'slow one' }] });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('cache-control')).toContain('no-cache');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(res.headers.get(HEADER)).toMatch(/^[0-9a-f-]{36}$/);
    const sse = new SseReader(res);
    await sse.until((lines) => lines.some((l) => l.startsWith('data: ')));
    expect(sse.data[0].choices[0].delta.role).toBe('assistant'); // the LLM is still waiting on the gate
    await llm.waitForRequests(1);
    expect(asked).toBe(true);
    release();
    await sse.readAll();
    expect(contentOf(sse.data)).toBe('finally');
    expect(sse.lines.at(-1)).toBe('data: [DONE]');
  });

  it('shows a tool call and its result as reasoning_content, then the finish message as content', async () => {
    llm.enqueue(
      fakeReply.toolCall('terminal', {
        command: 'echo streamed-output',
        summary: 'Print a marker',
      }),
      fakeReply.toolCall('finish', { message: 'All done.' }),
    );
    const sse = new SseReader(await post({ messages: [{ role: 'user', content: 'run echo' }] }));
    await sse.readAll();
    const reasoning = reasoningOf(sse.data);
    expect(reasoning).toContain('Print a marker');
    expect(reasoning).toContain('exit 0');
    expect(reasoning).toContain('streamed-output');
    expect(contentOf(sse.data)).toBe('All done.');
  });

  it('renders steps inside <think> in content when asked, or not at all', async () => {
    llm.enqueue(fakeReply.toolCall('think', { thought: 'hmm' }), fakeReply.text('Answer.'));
    const think = new SseReader(
      await post(
        { messages: [{ role: 'user', content: 'think' }] },
        { headers: { 'X-OpenHands-Progress': 'think' } },
      ),
    );
    await think.readAll();
    expect(contentOf(think.data)).toMatch(/^<think>\n▸ [\s\S]*\n<\/think>\n\nAnswer\.$/);
    expect(reasoningOf(think.data)).toBe('');

    llm.enqueue(fakeReply.toolCall('think', { thought: 'hmm' }), fakeReply.text('Answer.'));
    const none = new SseReader(
      await post(
        { messages: [{ role: 'user', content: 'think' }] },
        { headers: { 'X-OpenHands-Progress': 'none' } },
      ),
    );
    await none.readAll();
    expect(contentOf(none.data)).toBe('Answer.');
    expect(reasoningOf(none.data)).toBe('');
  });

  it('sends the usage chunk only when stream_options.include_usage asks', async () => {
    llm.enqueue(fakeReply.text('one', { usage: { promptTokens: 50, completionTokens: 5 } }));
    const without = new SseReader(await post({ messages: [{ role: 'user', content: 'a' }] }));
    await without.readAll();
    expect(without.data.some((d) => d.usage)).toBe(false);
    expect(without.data.every((d) => d.choices.length === 1)).toBe(true);

    llm.enqueue(fakeReply.text('two', { usage: { promptTokens: 50, completionTokens: 5 } }));
    const withUsage = new SseReader(
      await post({
        messages: [{ role: 'user', content: 'b' }],
        stream_options: { include_usage: true },
      }),
    );
    await withUsage.readAll();
    const last = withUsage.data.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 50, completion_tokens: 5, total_tokens: 55 });
    expect(withUsage.lines.at(-1)).toBe('data: [DONE]');
  });

  it('surfaces a mid-stream upstream failure as an error in the client', async () => {
    llm.enqueue(fakeReply.text('this answer will break off', { chunks: 6, failAfterChunks: 2 }));
    const stream = await t.openai.chat.completions.create({
      model: MODEL,
      stream: true,
      messages: [{ role: 'user', content: 'fail' }],
    });
    const received: string[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta?.content ?? '');
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as Error).message).toMatch(/LLM|upstream|connection|terminated/i);
    expect(received.join('')).not.toBe('');
  });

  it('sends `: keepalive` while the LLM is silent', async () => {
    llm.enqueue(fakeReply.text('before after', { chunks: 2, pauseAfterChunks: 1, pauseMs: 900 }));
    const sse = new SseReader(await post({ messages: [{ role: 'user', content: 'pause' }] }));
    await sse.readAll();
    expect(sse.lines).toContain(': keepalive');
    expect(contentOf(sse.data)).toBe('before after');
  });

  it('cancels the turn when the client disconnects during `sleep`: no process left, conversation cancelled', async () => {
    llm.enqueue(fakeReply.toolCall('terminal', { command: 'sleep 60.4242' }));
    const controller = new AbortController();
    const res = await post(
      { messages: [{ role: 'user', content: 'sleep' }] },
      { signal: controller.signal },
    );
    const id = res.headers.get(HEADER)!;
    const sse = new SseReader(res);
    await sse.until(() => reasoningOf(sse.data).includes('sleep'));
    await waitFor(() => processes('sleep 60.4242').length > 0);
    controller.abort();
    await waitFor(() => processes('sleep 60.4242').length === 0, 2_000);
    await waitFor(async () => (await conversation(id)).execution_status === 'cancelled');
    const events = await (await t.request(`/api/conversations/${id}/events/search`)).json();
    expect(events.items.at(-1)).toMatchObject({
      kind: 'turn_end',
      payload: { reason: 'cancelled', status: 'cancelled' },
    });
    llm.enqueue(fakeReply.text('next turn works'));
    const next = await t.openai.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'still there?' }] },
      { headers: { [HEADER]: id } },
    );
    expect(next.choices[0].message.content).toBe('next turn works');
  });

  it('cancels from outside with POST /api/conversations/{id}/cancel, and the stream ends cleanly', async () => {
    llm.enqueue(fakeReply.toolCall('terminal', { command: 'sleep 60.4343' }));
    const res = await post({ messages: [{ role: 'user', content: 'sleep' }] });
    const id = res.headers.get(HEADER)!;
    const sse = new SseReader(res);
    await sse.until(() => reasoningOf(sse.data).includes('sleep'));
    await waitFor(() => processes('sleep 60.4343').length > 0);
    const cancel = await (
      await t.request(`/api/conversations/${id}/cancel`, { method: 'POST' })
    ).json();
    expect(cancel).toMatchObject({ success: true, cancelled: true, execution_status: 'cancelled' });
    await sse.readAll();
    expect(sse.lines.at(-1)).toBe('data: [DONE]');
    expect(processes('sleep 60.4343')).toEqual([]);
  });
});
