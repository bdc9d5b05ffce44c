import type { TestApp } from '../support/create-test-app';
import { closeAgentApp, startAgentApp } from '../support/agent-app';
import { type FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { SseReader } from '../support/sse';

/** One sample of the Prometheus text format: `name{label="value",…} number`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
      );
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

describe('GET /metrics', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    ({ t, llm } = await startAgentApp(
      { OH_LLM_BACKOFF_MS: '5', OH_KEEPALIVE_S: '0.05' },
      { metered: {} },
    ));
  });
  afterAll(() => closeAgentApp({ t, llm }));

  const scrape = async (): Promise<Sample[]> => {
    const res = await t.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
    return parse(await res.text());
  };
  const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
    samples.find(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    )?.value;

  it('needs a session key, like every non-public route', async () => {
    expect((await t.request('/metrics', { key: null })).status).toBe(401);
    expect((await t.request('/metrics', { key: 'wrong-key-0123456789' })).status).toBe(401);
  });

  it('counts a streamed turn with a tool call: requests, turn, tokens, cost, errors, keepalives', async () => {
    llm.enqueue(
      fakeReply.error(500, 'upstream hiccup'), // retried once
      fakeReply.toolCall(
        'think',
        { thought: 'A short plan.' },
        { usage: { promptTokens: 1000, completionTokens: 40 }, delayMs: 200 }, // silence: keepalives
      ),
      fakeReply.text('All done.', {
        chunks: 3,
        usage: { promptTokens: 1200, completionTokens: 10, cacheReadTokens: 800 },
      }),
    );
    const res = await t.request('/v1/chat/completions', {
      method: 'POST',
      json: {
        model: 'openhands_metered',
        messages: [{ role: 'user', content: 'Plan, then answer.' }],
        stream: true,
        stream_options: { include_usage: true },
      },
    });
    expect(res.status).toBe(200);
    const stream = new SseReader(res);
    await stream.readAll();
    const usage = stream.data.find((c) => c.usage)?.usage as { cost_usd: number };
    expect(usage.cost_usd).toBeGreaterThan(0);
    // A client that leaves a stream early
    llm.enqueue(fakeReply.text('never read', { delayMs: 2_000 }));
    const abort = new AbortController();
    const left = await t.request('/v1/chat/completions', {
      method: 'POST',
      json: {
        model: 'openhands_metered',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      },
      signal: abort.signal,
    });
    expect(left.status).toBe(200);
    abort.abort();
    await left.body?.cancel().catch(() => undefined);
    await t.request('/api/conversations/6f1c1c9e-3c1a-4c8e-9d61-0a3c0b1e2f40');
    await t.request('/no/such/route');

    let samples = await scrape();
    for (let i = 0; i < 50 && value(samples, 'gateway_turns_active') !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50)); // the abandoned turn winds down
      samples = await scrape();
    }

    const chat = { method: 'POST', route: '/v1/chat/completions', status: '200' };
    expect(value(samples, 'http_request_duration_seconds_count', chat)).toBe(2);
    expect(value(samples, 'http_request_duration_seconds_sum', chat)).toBeGreaterThan(0.2);
    expect(
      value(samples, 'http_request_duration_seconds_count', {
        route: '/api/conversations/:id',
        status: '404',
      }),
    ).toBe(1);
    expect(
      value(samples, 'http_request_duration_seconds_count', { route: 'unmatched', status: '404' }),
    ).toBe(1);
    expect(value(samples, 'gateway_client_disconnects_total', { route: chat.route })).toBe(1);
    expect(value(samples, 'gateway_sse_keepalives_total')).toBeGreaterThanOrEqual(1);

    expect(value(samples, 'gateway_turns_active')).toBe(0);
    expect(value(samples, 'gateway_turn_duration_seconds_count', { outcome: 'stop' })).toBe(1);
    expect(
      value(samples, 'gateway_turn_duration_seconds_sum', { outcome: 'stop' }),
    ).toBeGreaterThan(0.2);
    expect(value(samples, 'gateway_turn_duration_seconds_count', { outcome: 'cancelled' })).toBe(1);

    const profile = { profile: 'metered' };
    expect(value(samples, 'gateway_llm_call_duration_seconds_count', profile)).toBe(2);
    expect(value(samples, 'gateway_llm_tokens_total', { ...profile, type: 'prompt' })).toBe(2200);
    expect(value(samples, 'gateway_llm_tokens_total', { ...profile, type: 'completion' })).toBe(50);
    expect(value(samples, 'gateway_llm_tokens_total', { ...profile, type: 'cache_read' })).toBe(
      800,
    );
    expect(value(samples, 'gateway_llm_cost_usd_total', profile)).toBeCloseTo(usage.cost_usd, 10);
    expect(
      value(samples, 'gateway_llm_errors_total', {
        ...profile,
        category: 'server',
        retried: 'true',
      }),
    ).toBe(1);

    expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    expect(value(samples, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('serves the same metrics as JSON on request', async () => {
    const res = await t.request('/metrics', { headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    const metrics = (await res.json()) as { name: string; values: { value: number }[] }[];
    const active = metrics.find((m) => m.name === 'gateway_turns_active');
    expect(active?.values).toEqual([expect.objectContaining({ value: 0 })]);
  });
});
