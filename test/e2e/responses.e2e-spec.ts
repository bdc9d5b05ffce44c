import type OpenAI from 'openai';
import type { TestApp } from '../support/create-test-app';
import { closeAgentApp, startAgentApp } from '../support/agent-app';
import { type FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { waitFor } from '../support/wait';

const HEADER = 'X-OpenHands-ServerConversation-ID';
const MODEL = 'openhands_resp';

describe('Responses API (/v1/responses) through the official client', () => {
  let t: TestApp;
  let llm: FakeLlmServer;
  let client: OpenAI;

  beforeAll(async () => {
    ({ t, llm } = await startAgentApp({ OH_LLM_BACKOFF_MS: '5' }, { resp: { num_retries: 0 } }));
    client = t.openai;
  });
  afterAll(() => closeAgentApp({ t, llm }));
  beforeEach(() => {
    llm.reset();
    llm.setHandler(null);
  });

  it('answers a non-streamed request with a response object, usage and the conversation', async () => {
    llm.enqueue(
      fakeReply.text('Hello from the agent.', { usage: { promptTokens: 40, completionTokens: 6 } }),
    );
    const response = await client.responses.create({
      model: MODEL,
      input: 'Say hello.',
      instructions: 'Be brief.',
      metadata: { ticket: 'T-1' },
    });
    expect(response.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.model).toBe(MODEL);
    expect(response.output_text).toBe('Hello from the agent.');
    expect(response.output).toEqual([
      expect.objectContaining({
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [expect.objectContaining({ type: 'output_text', text: 'Hello from the agent.' })],
      }),
    ]);
    expect(response.usage).toMatchObject({
      input_tokens: 40,
      output_tokens: 6,
      total_tokens: 46,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
    });
    expect(response.metadata).toEqual({ ticket: 'T-1' });
    expect(response.instructions).toBe('Be brief.');
    expect(response.conversation?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(llm.requests[0].system).toContain('Be brief.');
    expect(llm.requests[0].lastUserText).toBe('Say hello.');

    const again = await client.responses.retrieve(response.id);
    expect(again).toMatchObject({
      id: response.id,
      status: 'completed',
      output_text: 'Hello from the agent.',
    });
    const conversation = await (
      await t.request(`/api/conversations/${response.conversation!.id}`)
    ).json();
    expect(conversation.stats.usage_to_metrics.agent.accumulated_token_usage.prompt_tokens).toBe(
      40,
    );
  });

  it('streams the documented event sequence with increasing sequence numbers', async () => {
    llm.enqueue(
      fakeReply.toolCall('think', { thought: 'plan it' }),
      fakeReply.text('The quick brown fox.', { chunks: 4 }),
    );
    const stream = await client.responses.create({ model: MODEL, input: 'Go.', stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 2)).toEqual(['response.created', 'response.in_progress']);
    expect(types.at(-1)).toBe('response.completed');
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    // the step as a reasoning item with a summary, then the answer as a message
    const reasoningAt = types.indexOf('response.reasoning_summary_text.delta');
    const textAt = types.indexOf('response.output_text.delta');
    expect(reasoningAt).toBeGreaterThan(1);
    expect(textAt).toBeGreaterThan(reasoningAt);
    const messageSequence = types
      .slice(types.lastIndexOf('response.output_item.added'))
      .filter((type, i, all) => type !== all[i - 1]);
    expect(messageSequence).toEqual([
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    expect(deltas.length).toBeGreaterThanOrEqual(4);
    expect(deltas.map((d) => (d as { delta: string }).delta).join('')).toBe('The quick brown fox.');
    const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(completed.response.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(completed.response.output_text).toBe('The quick brown fox.');

    // the SDK's stream helper accumulates the same response
    llm.enqueue(fakeReply.text('Helper works.', { chunks: 3 }));
    const helper = client.responses.stream({ model: MODEL, input: 'Again.' });
    const final = await helper.finalResponse();
    expect(final.output_text).toBe('Helper works.');
  });

  it('continues a conversation with previous_response_id and with conversation, and from chat completions', async () => {
    llm.enqueue(fakeReply.text('First answer.'));
    const first = await client.responses.create({ model: MODEL, input: 'First question.' });
    llm.enqueue(fakeReply.text('Second answer.'));
    const second = await client.responses.create({
      model: MODEL,
      input: 'Second question.',
      previous_response_id: first.id,
    });
    expect(second.previous_response_id).toBe(first.id);
    expect(second.conversation?.id).toBe(first.conversation?.id);
    const history = JSON.stringify(llm.requests[1].messages);
    expect(history).toContain('First question.');
    expect(history).toContain('First answer.');

    // the same conversation through chat completions, with the header
    llm.enqueue(fakeReply.text('Chat answer.'));
    const chat = await client.chat.completions
      .create(
        { model: MODEL, messages: [{ role: 'user', content: 'Third, by chat.' }] },
        { headers: { [HEADER]: first.conversation!.id } },
      )
      .withResponse();
    expect(chat.response.headers.get(HEADER)).toBe(first.conversation!.id);
    expect(JSON.stringify(llm.requests[2].messages)).toContain('Second answer.');

    // and back: previous_response_id after a chat turn continues it, as does `conversation`
    llm.enqueue(fakeReply.text('Fourth answer.'));
    const fourth = await client.responses.create({
      model: MODEL,
      input: 'Fourth.',
      previous_response_id: second.id,
    });
    expect(JSON.stringify(llm.requests[3].messages)).toContain('Chat answer.');
    llm.enqueue(fakeReply.text('Fifth answer.'));
    const fifth = await client.responses.create({
      model: MODEL,
      input: 'Fifth.',
      conversation: fourth.conversation!.id,
    });
    expect(fifth.conversation?.id).toBe(first.conversation?.id);
    expect(JSON.stringify(llm.requests[4].messages)).toContain('Fourth answer.');

    // forking from an earlier response is refused, clearly
    const fork = await t.request('/v1/responses', {
      method: 'POST',
      json: { model: MODEL, input: 'fork', previous_response_id: first.id },
    });
    expect(fork.status).toBe(400);
    expect((await fork.json()).error).toMatchObject({
      code: 'cannot_fork',
      param: 'previous_response_id',
    });
  });

  it('runs a background response without the client, resumes its stream, and lists input items', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    llm.setHandler(async () => {
      await gate;
      return fakeReply.text('Background done.', { chunks: 3 });
    });
    const started = await client.responses.create({
      model: MODEL,
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'Work in the background.' }] }],
      background: true,
    });
    expect(started.status).toBe('in_progress');
    expect(started.background).toBe(true);
    expect((await client.responses.retrieve(started.id)).status).toBe('in_progress');
    await llm.waitForRequests(1);

    // a stream resumed after the first two events, live until the end
    const resumed = await client.responses.retrieve(started.id, {
      stream: true,
      starting_after: 1,
    });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    const reading = (async () => {
      for await (const event of resumed) events.push(event);
    })();
    release();
    await reading;
    expect(events[0].sequence_number).toBe(2);
    expect(events.at(-1)!.type).toBe('response.completed');
    expect(
      events
        .filter((e) => e.type === 'response.output_text.delta')
        .map((e) => (e as { delta: string }).delta)
        .join(''),
    ).toBe('Background done.');

    const done = await client.responses.retrieve(started.id);
    expect(done).toMatchObject({ status: 'completed', output_text: 'Background done.' });
    // a full replay from the start, after the end
    const replay = await client.responses.retrieve(started.id, { stream: true });
    const all: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of replay) all.push(event);
    expect(all.map((e) => e.sequence_number)).toEqual(all.map((_, i) => i));
    expect(all.slice(2)).toEqual(events);

    const items = await client.responses.inputItems.list(started.id);
    expect(items.data).toEqual([
      expect.objectContaining({
        type: 'message',
        role: 'user',
        content: [{ type: 'input_text', text: 'Work in the background.' }],
      }),
    ]);
  });

  it("shows a running background response's output so far to a poll", async () => {
    llm.enqueue(
      fakeReply.text('First half, second half.', {
        chunks: 4,
        pauseAfterChunks: 2,
        pauseMs: 2_500,
      }),
    );
    const started = await client.responses.create({
      model: MODEL,
      input: 'Write slowly.',
      background: true,
    });
    let partial: OpenAI.Responses.Response | undefined;
    await waitFor(async () => {
      partial = await client.responses.retrieve(started.id);
      return partial.output_text.length > 0;
    }, 2_400);
    expect(partial!.status).toBe('in_progress');
    expect('First half, second half.'.startsWith(partial!.output_text)).toBe(true);
    expect(partial!.output_text.length).toBeLessThan('First half, second half.'.length);
    await waitFor(
      async () => (await client.responses.retrieve(started.id)).status === 'completed',
      10_000,
    );
    expect((await client.responses.retrieve(started.id)).output_text).toBe(
      'First half, second half.',
    );
  });

  it('pages input items', async () => {
    llm.enqueue(fakeReply.text('ok'));
    const r = await client.responses.create({
      model: MODEL,
      input: [
        { role: 'user', content: 'one' },
        { role: 'assistant', content: 'two' },
        { role: 'user', content: 'three' },
      ],
    });
    const first = await client.responses.inputItems.list(r.id, { limit: 2, order: 'asc' });
    expect(first.data.map((i) => (i as { content: { text: string }[] }).content[0].text)).toEqual([
      'one',
      'two',
    ]);
    expect(first.has_more).toBe(true);
    const all: string[] = [];
    for await (const item of client.responses.inputItems.list(r.id, { limit: 2 }))
      all.push((item as { content: { text: string }[] }).content[0].text);
    expect(all).toEqual(['three', 'two', 'one']);
    // the earlier turns seeded the new conversation
    expect(JSON.stringify(llm.requests[0].messages)).toContain('two');
  });

  it('cancels a running background response and deletes responses', async () => {
    llm.setHandler(() => fakeReply.hang());
    const started = await client.responses.create({
      model: MODEL,
      input: 'Take forever.',
      background: true,
    });
    await llm.waitForRequests(1);
    const cancelled = await client.responses.cancel(started.id);
    expect(cancelled.status).toBe('cancelled');
    const conversation = await (
      await t.request(`/api/conversations/${started.conversation!.id}`)
    ).json();
    expect(conversation.execution_status).toBe('cancelled');
    // its stream ends too
    const replay = await client.responses.retrieve(started.id, { stream: true });
    const types: string[] = [];
    for await (const event of replay) types.push(event.type);
    expect(types.at(-1)).toBe('response.failed');

    await client.responses.delete(started.id);
    await expect(client.responses.retrieve(started.id)).rejects.toMatchObject({
      status: 404,
      error: expect.objectContaining({ code: 'response_not_found' }),
    });
    await expect(client.responses.delete(started.id)).rejects.toMatchObject({ status: 404 });
  });

  it('cancels a streamed response when its client goes away', async () => {
    llm.setHandler(() => fakeReply.hang());
    const controller = new AbortController();
    const stream = await client.responses.create(
      { model: MODEL, input: 'stream and leave', stream: true },
      { signal: controller.signal },
    );
    let conversationId = '';
    for await (const event of stream) {
      if (event.type === 'response.created') {
        conversationId = event.response.conversation!.id;
        break; // leaves: the SDK aborts the request
      }
    }
    await waitFor(async () => {
      const c = await (await t.request(`/api/conversations/${conversationId}`)).json();
      return c.execution_status === 'cancelled';
    });
  });

  it('refuses what it cannot do, in the OpenAI error shape', async () => {
    const post = (json: Record<string, unknown>) =>
      t.request('/v1/responses', { method: 'POST', json: { model: MODEL, ...json } });
    const cases: [Record<string, unknown>, string][] = [
      [{ input: 'x', tools: [{ type: 'web_search' }] }, 'tools[0].type'],
      [{ input: 'x', text: { format: { type: 'xml' } } }, 'text.format'],
      [{ input: 'x', background: true, store: false }, 'background'],
      [{ input: [{ role: 'tool', content: 'x' }] }, 'input[0]'],
      [{ input: [{ type: 'item_reference', id: 'x' }] }, 'input[0].type'],
      [{ input: [{ role: 'assistant', content: 'only me' }] }, 'input'],
      [{ input: 'x', conversation: 'not-a-uuid' }, 'conversation'],
      [
        {
          input: 'x',
          previous_response_id: 'resp_x',
          conversation: '00000000-0000-4000-8000-000000000000',
        },
        'conversation',
      ],
      [{ input: 42 }, 'input'],
    ];
    for (const [body, param] of cases) {
      const res = await post(body);
      expect([res.status, JSON.stringify(body)]).toEqual([400, JSON.stringify(body)]);
      const { error } = await res.json();
      expect(error.type).toBe('invalid_request_error');
      expect(String(error.param)).toContain(param);
    }
    const missing = await post({ input: 'x', previous_response_id: 'resp_nope' });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('response_not_found');
    const model = await t.request('/v1/responses', {
      method: 'POST',
      json: { model: 'openhands_nope', input: 'x' },
    });
    expect(model.status).toBe(404);
    expect(llm.requests).toHaveLength(0);
  });

  it('with store: false answers but keeps nothing to retrieve', async () => {
    llm.enqueue(fakeReply.text('Ephemeral.'));
    const r = await client.responses.create({ model: MODEL, input: 'x', store: false });
    expect(r.output_text).toBe('Ephemeral.');
    expect((r as unknown as { store: boolean }).store).toBe(false);
    await expect(client.responses.retrieve(r.id)).rejects.toMatchObject({ status: 404 });
  });
});
