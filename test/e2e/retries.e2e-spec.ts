import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { TEST_KEY, type TestApp } from '../support/create-test-app';
import { closeAgentApp, startAgentApp } from '../support/agent-app';
import { type FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { waitFor } from '../support/wait';

const HEADER = 'X-OpenHands-ServerConversation-ID';

/** Safe retries: Idempotency-Key, identical requests without one, upstream 429. */
describe('retries', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    ({ t, llm } = await startAgentApp(
      { OH_LLM_BACKOFF_MS: '5', OH_RETRY_GRACE_S: '2' },
      { agent: { num_retries: 1 } },
    ));
  });
  afterAll(() => closeAgentApp({ t, llm }));
  beforeEach(() => {
    llm.reset();
    llm.setHandler(null);
  });

  const client = (options: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}) =>
    new OpenAI({ apiKey: TEST_KEY, baseURL: `${t.url}/v1`, maxRetries: 0, ...options });
  const userMessages = async (id: string) =>
    (
      await (
        await t.request(`/api/conversations/${id}/events/search?kind=user_message&limit=100`)
      ).json()
    ).items.length;

  it('Idempotency-Key: a repeat during the turn is attached to it, one after gets the stored answer, streamed or not', async () => {
    const key = randomUUID();
    const content = `ping ${key}`;
    llm.enqueue(fakeReply.text('pong', { delayMs: 600 }));
    const ask = () =>
      client()
        .chat.completions.create(
          { model: 'openhands_agent', messages: [{ role: 'user', content }] },
          { headers: { 'Idempotency-Key': key } },
        )
        .withResponse();
    const first = ask();
    await llm.waitForRequests(1);
    const attached = await ask();
    const { data, response } = await first;
    expect(data.choices[0].message.content).toBe('pong');
    expect(attached.data).toEqual(data);
    const id = response.headers.get(HEADER)!;
    expect(attached.response.headers.get(HEADER)).toBe(id);

    const later = await ask();
    expect(later.data).toEqual(data);
    const stream = await client().chat.completions.create(
      { model: 'openhands_agent', messages: [{ role: 'user', content }], stream: true },
      { headers: { 'Idempotency-Key': key } },
    );
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
    expect(streamed).toBe('pong');

    expect(llm.requests).toHaveLength(1);
    expect(await userMessages(id)).toBe(1);
  });

  it('Idempotency-Key: the same key with another body is a 400', async () => {
    const key = randomUUID();
    llm.enqueue(fakeReply.text('one'));
    const ask = (content: string) =>
      client().chat.completions.create(
        { model: 'openhands_agent', messages: [{ role: 'user', content }] },
        { headers: { 'Idempotency-Key': key } },
      );
    await ask('first');
    await expect(ask('second')).rejects.toMatchObject({
      status: 400,
      error: { code: 'idempotency_key_reused', param: 'Idempotency-Key' },
    });
  });

  it.each([
    ['with an Idempotency-Key', true],
    ['without a key (within OH_RETRY_GRACE_S)', false],
  ])(
    "%s: the openai client's timeout retries attach to the one turn instead of cancelling it",
    async (_, withKey) => {
      const key = randomUUID();
      llm.enqueue(fakeReply.text('slow answer', { delayMs: 1_500 }));
      const impatient = client({ timeout: 600, maxRetries: 4 });
      const { data, response } = await impatient.chat.completions
        .create(
          { model: 'openhands_agent', messages: [{ role: 'user', content: `slow ${key}` }] },
          withKey ? { headers: { 'Idempotency-Key': key } } : {},
        )
        .withResponse();
      expect(data.choices[0].message.content).toBe('slow answer');
      expect(llm.requests).toHaveLength(1);
      expect(llm.requests[0].clientClosedEarly).toBe(false);
      expect(await userMessages(response.headers.get(HEADER)!)).toBe(1);
    },
  );

  it('without a key: a non-streamed request whose client left for good is cancelled after OH_RETRY_GRACE_S', async () => {
    llm.enqueue(fakeReply.text('never read', { delayMs: 20_000 }));
    const id = randomUUID();
    const gone = new AbortController();
    const request = client()
      .chat.completions.create(
        { model: 'openhands_agent', messages: [{ role: 'user', content: `leave ${id}` }] },
        { headers: { [HEADER]: id }, signal: gone.signal },
      )
      .catch((e: unknown) => e);
    await llm.waitForRequests(1);
    gone.abort();
    await request;
    const left = Date.now();
    await waitFor(() => llm.requests[0].clientClosedEarly, 10_000);
    expect(Date.now() - left).toBeGreaterThanOrEqual(1_500); // the grace, not the disconnect
    const next = await (async () => {
      llm.enqueue(fakeReply.text('after'));
      return client().chat.completions.create(
        { model: 'openhands_agent', messages: [{ role: 'user', content: 'next' }] },
        { headers: { [HEADER]: id } },
      );
    })();
    expect(next.choices[0].message.content).toBe('after');
    const history = JSON.stringify(llm.requests[1].body.messages);
    expect(history).toContain('[the client disconnected before an answer to this request]');
  });

  it('without a key: a stream whose client left is cancelled at once', async () => {
    llm.enqueue(fakeReply.text('never read', { delayMs: 20_000 }));
    const gone = new AbortController();
    const stream = await client().chat.completions.create(
      {
        model: 'openhands_agent',
        messages: [{ role: 'user', content: `stream ${randomUUID()}` }],
        stream: true,
      },
      { signal: gone.signal },
    );
    await llm.waitForRequests(1);
    const left = Date.now();
    gone.abort();
    await (async () => {
      for await (const _ of stream);
    })().catch(() => undefined);
    await waitFor(() => llm.requests[0].clientClosedEarly, 10_000);
    expect(Date.now() - left).toBeLessThan(1_500);
  });

  it('without a key: 7 identical attempts after a failure (LangChain) run one turn', async () => {
    llm.setHandler(() => fakeReply.error(500, 'the provider is on fire'));
    const body = {
      model: 'openhands_agent',
      messages: [{ role: 'user' as const, content: `fail ${randomUUID()}` }],
    };
    const statuses: number[] = [];
    const conversations = new Set<string>();
    for (let i = 0; i < 7; i++) {
      const error = (await client()
        .chat.completions.create(body)
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      statuses.push(error.status ?? 0);
      conversations.add(error.headers!.get(HEADER)!);
    }
    expect(statuses).toEqual([502, 502, 502, 502, 502, 502, 502]);
    expect(conversations.size).toBe(1);
    expect(llm.requests).toHaveLength(2); // one turn: num_retries + 1 upstream calls
  });

  it('without a key: an identical request in flight is attached; one after a success runs again', async () => {
    const content = `twice ${randomUUID()}`;
    llm.enqueue(fakeReply.text('A', { delayMs: 500 }), fakeReply.text('B'));
    const ask = () =>
      client().chat.completions.create({
        model: 'openhands_agent',
        messages: [{ role: 'user', content }],
      });
    const first = ask();
    await llm.waitForRequests(1);
    const second = await ask();
    expect((await first).choices[0].message.content).toBe('A');
    expect(second.choices[0].message.content).toBe('A');
    expect((await ask()).choices[0].message.content).toBe('B');
    expect(llm.requests).toHaveLength(2);
  });

  it("an upstream 429 before the turn did anything is a 429 with Retry-After: the openai client's retry runs the turn", async () => {
    llm.enqueue(fakeReply.rateLimited(0), fakeReply.text('after the limit'));
    await t.saveProfile('strict', {
      model: 'openai/gpt-4o-mini',
      base_url: llm.url,
      api_key: 'sk-test',
      num_retries: 0,
    });
    const raw = await t.request('/v1/chat/completions', {
      method: 'POST',
      json: { model: 'openhands_strict', messages: [{ role: 'user', content: 'limited' }] },
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('1');
    expect(raw.headers.get('x-should-retry')).toBeNull();

    llm.enqueue(fakeReply.rateLimited(0), fakeReply.text('after the limit'));
    const retrying = client({ maxRetries: 2 });
    const answer = await retrying.chat.completions.create({
      model: 'openhands_strict',
      messages: [{ role: 'user', content: 'limited again' }],
    });
    expect(answer.choices[0].message.content).toBe('after the limit');
  });

  it('an upstream 429 after the turn did something is a 502', async () => {
    llm.enqueue(fakeReply.toolCall('think', { thought: 'x' }), fakeReply.rateLimited(0));
    await t.saveProfile('strict', {
      model: 'openai/gpt-4o-mini',
      base_url: llm.url,
      api_key: 'sk-test',
      num_retries: 0,
    });
    const error = await client()
      .chat.completions.create({
        model: 'openhands_strict',
        messages: [{ role: 'user', content: `worked ${randomUUID()}` }],
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 502, error: { code: 'upstream_rate_limited' } });
    await waitFor(() => llm.requests.length === 2);
  });
});

/** Requests attached to a turn in flight get the keepalives a request of its own would get. */
describe('retries: attached requests keep alive', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    ({ t, llm } = await startAgentApp({ OH_KEEPALIVE_S: '0.1', OH_NONSTREAM_KEEPALIVE_S: '0.1' }));
  });
  afterAll(() => closeAgentApp({ t, llm }));

  it('a streamed and a non-streamed repeat of a request in flight get headers at once, keepalives, then its answer', async () => {
    const json = {
      model: 'openhands_agent',
      messages: [{ role: 'user', content: `keep alive ${randomUUID()}` }],
    };
    llm.enqueue(fakeReply.text('kept', { delayMs: 1_200 }));
    const first = t.request('/v1/chat/completions', { method: 'POST', json });
    await llm.waitForRequests(1);
    const streamed = await t.request('/v1/chat/completions', {
      method: 'POST',
      json: { ...json, stream: true },
    });
    const plain = await t.request('/v1/chat/completions', { method: 'POST', json });
    // both answered with headers while the turn still runs
    expect(llm.requests[0].clientClosedEarly).toBe(false);
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get('content-type')).toContain('text/event-stream');
    expect(streamed.headers.get('x-openhands-repeated')).toBe('true');
    expect(plain.status).toBe(200);

    const events = await streamed.text();
    expect(events).toContain(': keepalive');
    const chunks = events
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => JSON.parse(e.slice(6)));
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('kept');
    expect(events.trimEnd().endsWith('data: [DONE]')).toBe(true);

    const text = await plain.text();
    expect(text.startsWith(' ')).toBe(true);
    const body = JSON.parse(text);
    expect(body.choices[0].message.content).toBe('kept');
    expect(body).toEqual(await (await first).json());
    expect(llm.requests).toHaveLength(1);
  });
});
