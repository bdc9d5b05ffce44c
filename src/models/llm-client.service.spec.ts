import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { Logger } from '@nestjs/common';
import { jsonSchema, tool } from 'ai';
import { FakeLlmServer, fakeReply } from '../../test/support/fake-llm-server';
import type { LlmConfig } from '../profiles/llm-config.types';
import { createLanguageModel } from './language-model.factory';
import { LlmClient, type LlmClientOptions } from './llm-client.service';
import { LlmCallError } from './llm-errors';
import type { LlmRequest, LlmStepResult, LlmStreamPart, ResolvedModel } from './llm.types';

const API_KEY = 'sk-test-SECRET-0123456789';

const tools = {
  terminal: tool({
    description: 'Run a command',
    inputSchema: jsonSchema<{ command: string }>({
      type: 'object',
      properties: { command: { type: 'string' } },
      required: ['command'],
    }),
  }),
};

function resolved(config: LlmConfig, over: Partial<ResolvedModel> = {}): ResolvedModel {
  return {
    gatewayModel: 'openhands_test',
    profileName: 'test',
    model: config.model,
    config,
    languageModel: createLanguageModel(config, API_KEY),
    timeoutMs: 5_000,
    maxRetries: 3,
    contextWindow: null,
    secrets: [API_KEY],
    ...over,
  };
}

const fastClient = (options: Partial<LlmClientOptions> = {}) =>
  new LlmClient({ backoffBaseMs: 10, backoffMaxMs: 40, minAttemptMs: 5, ...options });

interface Outcome {
  parts: LlmStreamPart[];
  result?: LlmStepResult;
  error?: unknown;
  ms: number;
}

async function run(client: LlmClient, request: LlmRequest): Promise<Outcome> {
  const parts: LlmStreamPart[] = [];
  const started = Date.now();
  try {
    for await (const part of client.stream(request)) parts.push(part);
  } catch (error) {
    return { parts, error, ms: Date.now() - started };
  }
  const finish = parts.find((p) => p.type === 'finish');
  return { parts, result: finish?.result, ms: Date.now() - started };
}

const textDeltas = (o: Outcome) =>
  o.parts.flatMap((p) => (p.type === 'text-delta' ? [p.text] : []));
const retries = (o: Outcome) => o.parts.filter((p) => p.type === 'retry');

v8.setFlagsFromString('--expose-gc'); // for vm.runInNewContext('gc')

beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(new Logger()));

describe.each([
  [
    'OpenAI',
    (llm: FakeLlmServer): LlmConfig => ({ model: 'openai/gpt-4o-mini', base_url: llm.url }),
  ],
  [
    'Anthropic',
    (llm: FakeLlmServer): LlmConfig => ({
      model: 'anthropic/claude-sonnet-4-5',
      base_url: llm.origin,
    }),
  ],
] as const)('%s protocol', (_protocol, configFor) => {
  let llm: FakeLlmServer;
  let config: LlmConfig;
  const client = fastClient();
  const request = (over: Partial<LlmRequest> = {}, model: Partial<ResolvedModel> = {}) => ({
    model: resolved(config, model),
    system: 'You are a test.',
    messages: [{ role: 'user' as const, content: 'Hello' }],
    tools,
    signal: new AbortController().signal,
    ...over,
  });

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    config = configFor(llm);
  });
  afterEach(() => llm.reset());
  afterAll(() => llm.close());

  it('streams text deltas as they arrive, then one finish with usage and cost', async () => {
    llm.enqueue(
      fakeReply.text('Hello, world!', {
        chunks: 4,
        usage: { promptTokens: 1_000, completionTokens: 50, cacheReadTokens: 400 },
      }),
    );
    const outcome = await run(client, request());
    expect(outcome.error).toBeUndefined();
    expect(textDeltas(outcome).length).toBe(4);
    expect(textDeltas(outcome).join('')).toBe('Hello, world!');
    expect(outcome.parts.at(-1)?.type).toBe('finish');
    expect(outcome.parts.filter((p) => p.type === 'finish')).toHaveLength(1);
    expect(outcome.result).toMatchObject({
      text: 'Hello, world!',
      toolCalls: [],
      finishReason: 'stop',
      usage: {
        promptTokens: 1_000,
        completionTokens: 50,
        cacheReadTokens: 400,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
      },
      priced: true,
      responseModel: config.model.split('/')[1],
      attempts: 1,
    });
    expect(outcome.result!.costUsd).toBeGreaterThan(0);
    expect(outcome.result!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(llm.lastRequest).toMatchObject({
      stream: true,
      system: 'You are a test.',
      lastUserText: 'Hello',
      toolNames: ['terminal'],
    });
  });

  it('passes tool calls through, unknown tools and invalid JSON included', async () => {
    llm.enqueue(
      fakeReply.toolCalls([
        { name: 'terminal', arguments: { command: 'ls' } },
        { name: 'no_such_tool', arguments: { a: 1 } },
        { name: 'terminal', arguments: '{"command": "ls", oops' },
      ]),
    );
    const { result, error } = await run(client, request());
    expect(error).toBeUndefined();
    expect(result?.finishReason).toBe('tool-calls');
    expect(result?.toolCalls.map(({ name, input }) => ({ name, input }))).toEqual([
      { name: 'terminal', input: { command: 'ls' } },
      { name: 'no_such_tool', input: { a: 1 } },
      { name: 'terminal', input: '{"command": "ls", oops' },
    ]);
    expect(result?.toolCalls.every((c) => typeof c.id === 'string' && c.id.length > 0)).toBe(true);
  });

  it('streams reasoning separately from the text', async () => {
    llm.enqueue({ reasoning: ['Let me ', 'think.'], text: 'Done.' });
    const outcome = await run(client, request());
    expect(outcome.parts.flatMap((p) => (p.type === 'reasoning-delta' ? [p.text] : []))).toEqual([
      'Let me ',
      'think.',
    ]);
    expect(outcome.result).toMatchObject({ reasoning: 'Let me think.', text: 'Done.' });
    expect(outcome.result?.reasoningParts?.map((p) => p.text)).toEqual(['Let me think.']);
  });

  it('sends the profile settings, overridden by the request', async () => {
    config = { ...config, temperature: 0.3, max_output_tokens: 321 };
    try {
      llm.enqueue(fakeReply.text('ok'));
      await run(client, request({ overrides: { maxOutputTokens: 123, stop: ['END'], seed: 7 } }));
      const body = llm.lastRequest!.body;
      expect(body.temperature).toBe(0.3);
      expect(body.max_tokens).toBe(123);
      expect(body.stop ?? body.stop_sequences).toEqual(['END']);
    } finally {
      config = configFor(llm);
    }
  });

  it('costs 0 and says so for a model nobody prices; profile prices win', async () => {
    llm.enqueue(
      fakeReply.text('a'),
      fakeReply.text('b', { usage: { promptTokens: 10, completionTokens: 5 } }),
    );
    const unknown = { ...config, model: `${config.model.split('/')[0]}/model-nobody-prices` };
    const unpriced = await run(client, request({}, { config: unknown, model: unknown.model }));
    expect(unpriced.result).toMatchObject({ costUsd: 0, priced: false });

    const own = { ...config, input_cost_per_token: 0.01, output_cost_per_token: 0.1 };
    const priced = await run(client, request({}, { config: own }));
    expect(priced.result?.priced).toBe(true);
    expect(priced.result?.costUsd).toBeCloseTo(0.6, 10);
  });

  it('waits as long as retry-after-ms says before retrying a 429', async () => {
    llm.enqueue(fakeReply.rateLimited(150, 'ms'), fakeReply.text('finally'));
    const outcome = await run(client, request());
    expect(outcome.result?.text).toBe('finally');
    expect(outcome.result?.attempts).toBe(2);
    expect(retries(outcome)).toEqual([
      { type: 'retry', attempt: 1, delayMs: 150, reason: expect.stringContaining('HTTP 429') },
    ]);
    expect(outcome.ms).toBeGreaterThanOrEqual(150);
    expect(llm.requests).toHaveLength(2);
  });

  it('retries a 500, then succeeds', async () => {
    llm.enqueue(fakeReply.error(500, 'boom'), fakeReply.error(503, 'busy'), fakeReply.text('ok'));
    const outcome = await run(client, request());
    expect(outcome.result?.text).toBe('ok');
    expect(retries(outcome).map((r) => r.type === 'retry' && r.attempt)).toEqual([1, 2]);
    expect(llm.requests).toHaveLength(3);
  });

  it('gives up after num_retries and reports the provider status', async () => {
    llm.setHandler(() => fakeReply.error(502, 'bad gateway upstream'));
    const outcome = await run(client, request({}, { maxRetries: 2 }));
    expect(outcome.error).toBeInstanceOf(LlmCallError);
    expect(outcome.error).toMatchObject({
      category: 'server',
      status: 502,
      providerStatus: 502,
      attempts: 3,
      code: 'models.upstream_error',
    });
    expect((outcome.error as Error).message).toMatch(
      /after 3 attempts \(HTTP 502.*bad gateway upstream/,
    );
    expect(llm.requests).toHaveLength(3);
  });

  it('retries an empty answer', async () => {
    llm.enqueue({}, fakeReply.text('second time'));
    const outcome = await run(client, request());
    expect(outcome.result?.text).toBe('second time');
    expect(retries(outcome)[0]).toMatchObject({ reason: expect.stringContaining('empty') });
  });

  it('does not retry a context-too-long error, and marks it for condensation', async () => {
    llm.enqueue(fakeReply.contextTooLong());
    const { error } = await run(client, request());
    expect(error).toMatchObject({ category: 'context_window', status: 502, retryable: false });
    expect(llm.requests).toHaveLength(1);
  });

  it('never lets the api key into an error message', async () => {
    llm.enqueue(
      fakeReply.error(
        401,
        `Incorrect API key provided: ${API_KEY}. (Authorization: Bearer ${API_KEY})`,
      ),
    );
    const { error } = await run(client, request());
    expect(error).toMatchObject({ category: 'authentication' });
    const cause = (error as LlmCallError).meta.cause as Error;
    const text = `${(error as Error).message} ${JSON.stringify(error)} ${cause.stack} ${(error as Error).stack}`;
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain('SECRET-0123456789');
    expect((error as Error).message).toContain('[REDACTED]');
  });

  it('times out a hanging provider, retries, then fails with a 504', async () => {
    llm.setHandler(() => fakeReply.hang());
    const outcome = await run(client, request({}, { timeoutMs: 100, maxRetries: 1 }));
    expect(outcome.error).toMatchObject({ category: 'timeout', status: 504, attempts: 2 });
    expect(retries(outcome)).toHaveLength(1);
    expect(llm.requests).toHaveLength(2);
    expect(outcome.ms).toBeLessThan(1_500);
    await new Promise((r) => setTimeout(r, 20));
    expect(llm.requests.every((r) => r.clientClosedEarly)).toBe(true);
  });

  it('times out the first byte on its own clock, and retries a timed-out attempt once by default', async () => {
    llm.setHandler(() => fakeReply.hang());
    const outcome = await run(
      client,
      request({}, { timeoutMs: 60_000, firstByteTimeoutMs: 100, maxRetries: 3 }),
    );
    expect(outcome.error).toMatchObject({ category: 'timeout', status: 504, attempts: 2 });
    expect((outcome.error as Error).message).toContain('time to first byte');
    expect(llm.requests).toHaveLength(2);
    expect(outcome.ms).toBeLessThan(1_500);
  });

  it('retries timeouts as often as timeoutRetries says, never beyond num_retries', async () => {
    llm.setHandler(() => fakeReply.hang());
    const none = await run(client, request({}, { timeoutMs: 80, timeoutRetries: 0 }));
    expect(none.error).toMatchObject({ category: 'timeout', attempts: 1 });
    llm.reset();
    llm.setHandler(() => fakeReply.hang());
    const more = await run(
      client,
      request({}, { timeoutMs: 80, timeoutRetries: 5, maxRetries: 2 }),
    );
    expect(more.error).toMatchObject({ category: 'timeout', attempts: 3 });
  });

  it('fails a response that started and then stalled on the idle clock', async () => {
    llm.enqueue(
      fakeReply.text('ab', { chunks: 2, pauseAfterChunks: 0 }),
      fakeReply.text('ab', { chunks: 2, pauseAfterChunks: 0 }),
    );
    const outcome = await run(
      client,
      request({}, { timeoutMs: 100, firstByteTimeoutMs: 60_000, maxRetries: 3 }),
    );
    expect(outcome.error).toMatchObject({ category: 'timeout', attempts: 2 });
    expect((outcome.error as Error).message).toContain('stalled');
    expect(outcome.ms).toBeLessThan(1_500);
  });

  it('keeps a slow but steady stream alive: the timeout is per silence, not per answer', async () => {
    llm.enqueue(fakeReply.text('abcdef', { chunks: 6, chunkDelayMs: 60 }));
    const outcome = await run(client, request({}, { timeoutMs: 150 }));
    expect(outcome.result?.text).toBe('abcdef');
    expect(outcome.ms).toBeGreaterThan(300);
  });

  it('stops at once on abort, with the signal reason, and does not retry', async () => {
    llm.setHandler(() => fakeReply.hang());
    const controller = new AbortController();
    const reason = new Error('client went away');
    const pending = run(client, request({ signal: controller.signal }));
    await llm.waitForRequests(1);
    const aborted = Date.now();
    controller.abort(reason);
    const outcome = await pending;
    expect(outcome.error).toBe(reason);
    expect(Date.now() - aborted).toBeLessThan(250);
    await new Promise((r) => setTimeout(r, 50));
    expect(llm.requests).toHaveLength(1);
    expect(retries(outcome)).toHaveLength(0);
  });

  it('stops at once when aborted during a backoff wait', async () => {
    llm.setHandler(() => fakeReply.error(500, 'down'));
    const controller = new AbortController();
    const slow = fastClient({ backoffBaseMs: 5_000, backoffMaxMs: 5_000 });
    const parts: LlmStreamPart[] = [];
    const pending = (async () => {
      for await (const part of slow.stream(request({ signal: controller.signal }))) {
        parts.push(part);
        if (part.type === 'retry') controller.abort();
      }
    })();
    const started = Date.now();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(llm.requests).toHaveLength(1);
  });

  it('does not retry once a delta went out: a stream broken mid-way fails', async () => {
    llm.enqueue(
      fakeReply.text('abcdef', { chunks: 6, failAfterChunks: 2 }),
      fakeReply.text('never'),
    );
    const outcome = await run(client, request());
    expect(textDeltas(outcome)).toEqual(['a', 'b']);
    expect(outcome.error).toMatchObject({ category: 'connection', retryable: true, attempts: 1 });
    expect(llm.requests).toHaveLength(1);
    expect(llm.pending).toBe(1);
  });

  it('fails a stream that goes silent after a delta, without retrying', async () => {
    llm.enqueue(fakeReply.text('ab', { chunks: 2, pauseAfterChunks: 1 }));
    const outcome = await run(client, request({}, { timeoutMs: 100 }));
    expect(textDeltas(outcome)).toEqual(['a']);
    expect(outcome.error).toMatchObject({ category: 'timeout', status: 504 });
    expect(llm.requests).toHaveLength(1);
  });

  it('retries a stream broken before any delta', async () => {
    llm.enqueue(
      fakeReply.text('abc', { chunks: 3, failAfterChunks: 0 }),
      fakeReply.drop(),
      fakeReply.text('ok'),
    );
    const outcome = await run(client, request());
    expect(outcome.result?.text).toBe('ok');
    expect(retries(outcome)).toHaveLength(2);
  });

  it('fits the retries into the deadline', async () => {
    llm.setHandler(() => fakeReply.error(500, 'down'));
    const slow = fastClient({ backoffBaseMs: 200, backoffMaxMs: 200, random: () => 1 });
    const outcome = await run(slow, request({ deadline: Date.now() + 300 }, { maxRetries: 5 }));
    expect(outcome.error).toMatchObject({ category: 'server', attempts: 2 });
    expect(llm.requests).toHaveLength(2);
    expect(outcome.ms).toBeLessThan(1_000);
  });

  it('cancels the provider request when the caller stops reading', async () => {
    llm.enqueue(fakeReply.text('abcdef', { chunks: 6, chunkDelayMs: 30 }));
    for await (const part of client.stream(request())) {
      if (part.type === 'text-delta') break;
    }
    await new Promise((r) => setTimeout(r, 30));
    expect(llm.lastRequest?.clientClosedEarly).toBe(true);
  });

  it('does not call at all once the deadline has passed', async () => {
    const { error } = await run(client, request({ deadline: Date.now() - 1 }));
    expect(error).toMatchObject({ category: 'timeout', status: 504 });
    expect(llm.requests).toHaveLength(0);
  });

  it('completes without streaming to the caller', async () => {
    llm.enqueue(fakeReply.text('Summary.', { chunks: 3 }));
    const result = await client.complete(request({ tools: undefined }));
    expect(result.text).toBe('Summary.');
    expect(llm.lastRequest?.toolNames).toEqual([]);
  });
});

describe('LlmClient specifics', () => {
  let llm: FakeLlmServer;
  const client = fastClient();
  const request = (config: LlmConfig, over: Partial<ResolvedModel> = {}): LlmRequest => ({
    model: resolved(config, over),
    system: '',
    messages: [{ role: 'user', content: 'Hi' }],
    signal: new AbortController().signal,
  });

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
  });
  afterEach(() => llm.reset());
  afterAll(() => llm.close());

  it("lets a finished step's messages go at the next collection (nothing the fetch keeps holds them)", async () => {
    // undici keeps a fetch's signal until a major GC collects the Request; a listener of ours left
    // on it kept every step's messages alive past that GC (the heap of a 5,000-turn conversation
    // grew to 230 MB, and its collections held the event loop for 60 ms).
    const gc = vm.runInNewContext('gc') as () => void;
    const config = { model: 'openai/gpt-4o-mini', base_url: llm.url };
    const step = async (): Promise<WeakRef<object>> => {
      const messages: LlmRequest['messages'] = [{ role: 'user', content: 'Hi' }];
      llm.enqueue(fakeReply.text('ok'));
      expect((await run(client, { ...request(config), messages })).result?.text).toBe('ok');
      return new WeakRef(messages);
    };
    const messages = await step();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(messages.deref()).toBeUndefined();
  });

  it('honours Retry-After in seconds', async () => {
    llm.enqueue(fakeReply.rateLimited(1), fakeReply.text('ok'));
    const outcome = await run(client, request({ model: 'openai/gpt-4o-mini', base_url: llm.url }));
    expect(outcome.result?.text).toBe('ok');
    expect(retries(outcome)[0]).toMatchObject({ delayMs: 1_000 });
    expect(outcome.ms).toBeGreaterThanOrEqual(1_000);
  });

  it('fails at once when the provider asks for a longer wait than allowed', async () => {
    llm.enqueue(fakeReply.rateLimited(120), fakeReply.text('never'));
    const outcome = await run(client, request({ model: 'openai/gpt-4o-mini', base_url: llm.url }));
    expect(outcome.error).toMatchObject({ category: 'rate_limit', retryAfterMs: 120_000 });
    expect(llm.requests).toHaveLength(1);
  });

  it('reports connection refused after its retries', async () => {
    const closed = await FakeLlmServer.start();
    const url = closed.url;
    await closed.close();
    for (const config of [
      { model: 'openai/gpt-4o-mini', base_url: url },
      { model: 'anthropic/claude-sonnet-4-5', base_url: url },
    ]) {
      const outcome = await run(client, request(config, { maxRetries: 2 }));
      expect(outcome.error).toMatchObject({ category: 'connection', status: 502, attempts: 3 });
      expect((outcome.error as Error).message).toContain('ECONNREFUSED');
      expect(retries(outcome)).toHaveLength(2);
    }
  });

  it('replays what Anthropic needs: the thinking signature', async () => {
    llm.enqueue({ reasoning: 'Hmm.', text: 'Hi.' });
    const { result } = await run(
      client,
      request({ model: 'anthropic/claude-sonnet-4-5', base_url: llm.url }),
    );
    expect(result?.reasoningParts).toEqual([
      { text: 'Hmm.', providerOptions: { anthropic: { signature: 'fake-signature' } } },
    ]);
  });

  it('sends reasoning_effort to reasoning models only', async () => {
    llm.setHandler(() => fakeReply.text('ok'));
    await run(
      client,
      request({ model: 'openai/o3-mini', base_url: llm.url, reasoning_effort: 'high' }),
    );
    expect(llm.lastRequest?.body.reasoning_effort).toBe('high');
    await run(
      client,
      request({ model: 'openai/gpt-4o', base_url: llm.url, reasoning_effort: 'high' }),
    );
    expect(llm.lastRequest?.body).not.toHaveProperty('reasoning_effort');
    await run(
      client,
      request({ model: 'anthropic/claude-sonnet-4-5', base_url: llm.url, reasoning_effort: 'low' }),
    );
    expect(llm.lastRequest?.body.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
  });

  it('always gives Anthropic a max_tokens', async () => {
    llm.enqueue(fakeReply.text('ok'));
    await run(client, request({ model: 'anthropic/claude-sonnet-4-5', base_url: llm.url }));
    expect(llm.lastRequest?.body.max_tokens).toEqual(expect.any(Number));
  });

  it('does not start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('already'));
    const outcome = await run(client, {
      ...request({ model: 'openai/gpt-4o-mini', base_url: llm.url }),
      signal: controller.signal,
    });
    expect(outcome.error).toEqual(new Error('already'));
    expect(llm.requests).toHaveLength(0);
  });
});
