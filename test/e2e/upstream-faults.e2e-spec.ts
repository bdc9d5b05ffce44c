import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { createTestApp, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply, type FakeReply } from '../support/fake-llm-server';
import { SseReader, reasoningOf } from '../support/sse';
import { freePort, waitFor } from '../support/wait';

const HEADER = 'x-openhands-serverconversation-id';
type ApiError = InstanceType<typeof OpenAI.APIError>;

/**
 * What a client sees when the LLM provider misbehaves, through the HTTP API and the official
 * `openai` client: bounded retries with backoff (fast here: OH_LLM_BACKOFF_MS), then one clear
 * 502/504 in the OpenAI error shape, and a conversation that works on the next request.
 * (The retry policy itself is unit-tested in src/models/llm-client.spec.ts.)
 */
describe('upstream faults', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    t = await createTestApp({ OH_LLM_BACKOFF_MS: '10' });
    // three attempts in all; a provider silent for 1 s has timed out
    await save('faulty', { num_retries: 2, timeout: 1 });
  });
  afterAll(async () => {
    await t.close();
    await llm.close();
  });
  beforeEach(() => llm.reset());

  async function save(name: string, config: Record<string, unknown>) {
    const llmConfig = {
      model: 'openai/gpt-4o-mini',
      base_url: llm.url,
      api_key: 'sk-upstream-faults-0000',
      ...config,
    };
    const res = await t.request(`/api/profiles/${name}`, {
      method: 'POST',
      json: { llm: llmConfig },
    });
    expect(res.status).toBe(201);
  }

  /** A non-streaming turn that must fail; the client's error. */
  async function failing(model: string, headers: Record<string, string> = {}): Promise<ApiError> {
    const error = await t.openai.chat.completions
      // a conversation of its own: an identical request right after a failure would get that failure
      .create(
        { model, messages: [{ role: 'user', content: 'hello' }] },
        { headers: { [HEADER]: randomUUID(), ...headers } },
      )
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    return error as ApiError;
  }

  /** The conversation the failed turn ran in recorded the failure and takes the next turn. */
  async function expectRecovers(id: string, model = 'openhands_faulty', asked = 'hello') {
    const failed = await (await t.request(`/api/conversations/${id}`)).json();
    expect(failed.execution_status).toBe('error');
    const log = await (await t.request(`/api/conversations/${id}/events/search?kind=error`)).json();
    expect(log.items).toHaveLength(1);

    llm.enqueue(fakeReply.text('Working again.'));
    const next = await t.openai.chat.completions.create(
      { model, messages: [{ role: 'user', content: 'and now?' }] },
      { headers: { [HEADER]: id } },
    );
    expect(next.choices[0].message.content).toBe('Working again.');
    // same conversation: the failed turn's input is in the history, as its own message followed
    // by a note of how it ended, never joined with the new one
    const sent = llm.lastRequest!.messages.map((m) => m.content);
    expect(sent.slice(-3)).toEqual([
      asked,
      expect.stringMatching(/^\[this request failed before an answer: .+\]$/),
      'and now?',
    ]);
  }

  it.each<
    [
      string,
      () => FakeReply,
      { status: number; type: string; code: string; says: RegExp; attempts?: number },
    ]
  >([
    [
      // nothing happened yet: safe to retry, so a 429 with Retry-After (a 502 once a step ran)
      '429 on every attempt → 429',
      () => fakeReply.rateLimited(50, 'ms'),
      { status: 429, type: 'rate_limit_error', code: 'upstream_rate_limited', says: /HTTP 429/ },
    ],
    [
      '500 on every attempt → 502',
      () => fakeReply.error(500, 'the provider is on fire'),
      { status: 502, type: 'upstream_error', code: 'upstream_error', says: /HTTP 500.*on fire/ },
    ],
    [
      'a connection reset on every attempt → 502',
      () => fakeReply.drop(),
      { status: 502, type: 'upstream_error', code: 'upstream_unreachable', says: /connect/i },
    ],
    [
      // a timed-out attempt is retried once (OH_LLM_TIMEOUT_RETRIES), whatever num_retries says
      'no answer within the profile timeout on every attempt → 504',
      () => fakeReply.hang(),
      {
        status: 504,
        type: 'server_error',
        code: 'upstream_timeout',
        says: /timed out/,
        attempts: 2,
      },
    ],
  ])(
    '%s after its attempts, in the OpenAI shape; the conversation works next',
    async (_, reply, expected) => {
      llm.setHandler(reply);
      const error = await failing('openhands_faulty');
      expect(error).toMatchObject({
        status: expected.status,
        type: expected.type,
        code: expected.code,
      });
      expect(error.error).toEqual({
        message: expect.stringMatching(expected.says),
        type: expected.type,
        param: null,
        code: expected.code,
      });
      const attempts = expected.attempts ?? 3;
      expect(error.message).toContain(`after ${attempts} attempts`);
      expect(error.message).not.toContain('sk-upstream-faults-0000');
      // the turn ran: a client must not blindly retry it (the openai client obeys this header);
      // after a 429 before anything happened it may, after Retry-After
      if (expected.status === 429) {
        expect(error.headers?.get('retry-after')).toBe('1');
        expect(error.headers?.get('x-should-retry')).toBeNull();
      } else {
        expect(error.headers?.get('x-should-retry')).toBe('false');
      }
      expect(llm.requests).toHaveLength(attempts); // bounded: num_retries + 1
      if (expected.status === 504) {
        // each attempt that timed out was aborted, not left open at the provider
        await waitFor(() => llm.requests.every((r) => r.clientClosedEarly));
      }

      llm.setHandler(null);
      await expectRecovers(error.headers!.get(HEADER)!);
    },
  );

  it('honours Retry-After: waits as long as the provider asked, then answers', async () => {
    const arrivals: number[] = [];
    llm.setHandler(() => {
      arrivals.push(Date.now());
      return arrivals.length === 1 ? fakeReply.rateLimited(1) : fakeReply.text('After the wait.');
    });
    const res = await t.openai.chat.completions.create({
      model: 'openhands_faulty',
      messages: [{ role: 'user', content: 'hello, after the wait' }],
    });
    expect(res.choices[0].message.content).toBe('After the wait.');
    expect(arrivals).toHaveLength(2);
    expect(arrivals[1] - arrivals[0]).toBeGreaterThanOrEqual(950); // Retry-After: 1
  });

  it('fails at once when Retry-After asks for longer than the gateway waits', async () => {
    llm.setHandler(() => fakeReply.rateLimited(3600));
    const error = await failing('openhands_faulty');
    // nothing ran: the provider's own wait goes to the client, which may retry after it
    expect(error).toMatchObject({ status: 429, code: 'upstream_rate_limited' });
    expect(error.headers?.get('retry-after')).toBe('3600');
    expect(llm.requests).toHaveLength(1);
    llm.setHandler(null);
    await expectRecovers(error.headers!.get(HEADER)!);
  });

  it('connection refused: 502 upstream_unreachable after 3 attempts; works once the profile is fixed', async () => {
    await save('refused', {
      num_retries: 2,
      base_url: `http://127.0.0.1:${await freePort()}/v1`,
    });
    const error = await failing('openhands_refused');
    expect(error).toMatchObject({
      status: 502,
      type: 'upstream_error',
      code: 'upstream_unreachable',
    });
    expect(error.message).toContain('after 3 attempts');
    expect(error.message).toMatch(/ECONNREFUSED|connect/i);

    await save('refused', { num_retries: 2 }); // the operator points it at a live provider
    await expectRecovers(error.headers!.get(HEADER)!, 'openhands_refused');
  });

  it('streams the retries as they happen, then one error frame and [DONE]', async () => {
    llm.setHandler(() => fakeReply.error(503, 'overloaded'));
    const res = await t.request('/v1/chat/completions', {
      method: 'POST',
      json: {
        model: 'openhands_faulty',
        stream: true,
        messages: [{ role: 'user', content: 'hello, streamed' }],
      },
    });
    expect(res.status).toBe(200); // the headers went out before the provider failed
    const sse = new SseReader(res);
    await sse.readAll();
    expect(reasoningOf(sse.data).match(/retrying/g)).toHaveLength(2);
    expect(sse.data.at(-1)).toEqual({
      error: {
        message: expect.stringMatching(/after 3 attempts \(HTTP 503/),
        type: 'upstream_error',
        param: null,
        code: 'upstream_error',
      },
    });
    expect(sse.lines.at(-1)).toBe('data: [DONE]');
    expect(llm.requests).toHaveLength(3);

    llm.setHandler(null);
    await expectRecovers(res.headers.get(HEADER)!, 'openhands_faulty', 'hello, streamed');
  });
});
