import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestDatabase } from '../support/database';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { ensureBuilt } from '../support/built-server';
import {
  persistentDatabase,
  removeDir,
  serverEnv,
  ServerProcess,
  tempDir,
} from '../support/server-process';
import { waitFor } from '../support/wait';

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
};
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: AnyValue }[];
  status?: { code?: number };
}
interface Span {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
  status: number;
  service: unknown;
}

const valueOf = (v: AnyValue): unknown =>
  v.stringValue ??
  (v.intValue !== undefined ? Number(v.intValue) : undefined) ??
  v.doubleValue ??
  v.boolValue ??
  v.arrayValue?.values?.map(valueOf);

/** A loopback OTLP/HTTP collector for the JSON protocol: keeps every span it receives. */
class OtlpReceiver {
  readonly spans: Span[] = [];
  private constructor(readonly server: Server) {}

  static async start(): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver(
      createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          if (req.url === '/v1/traces') receiver.collect(JSON.parse(body));
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
      }),
    );
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private collect(body: {
    resourceSpans?: {
      resource?: { attributes?: { key: string; value: AnyValue }[] };
      scopeSpans?: { spans?: OtlpSpan[] }[];
    }[];
  }): void {
    for (const rs of body.resourceSpans ?? []) {
      const service = rs.resource?.attributes?.find((a) => a.key === 'service.name');
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? [])
          this.spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            attributes: Object.fromEntries(
              (s.attributes ?? []).map((a) => [a.key, valueOf(a.value)]),
            ),
            status: s.status?.code ?? 0,
            service: service && valueOf(service.value),
          });
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const SECRET_PROMPT = 'the-launch-code-is-4711';
const SECRET_ANSWER = 'answer-only-for-the-user-0815';

describe('OpenTelemetry tracing', () => {
  let dir: string;
  let db: TestDatabase;
  let llm: FakeLlmServer;
  let otlp: OtlpReceiver;

  beforeAll(async () => {
    ensureBuilt();
    dir = tempDir();
    db = await persistentDatabase(dir);
    llm = await FakeLlmServer.start();
    otlp = await OtlpReceiver.start();
  }, 180_000);

  afterAll(async () => {
    await llm?.close();
    await otlp?.close();
    await db?.drop();
    removeDir(dir);
  });

  async function serve(extra: Record<string, string>): Promise<ServerProcess> {
    const server = await ServerProcess.start(
      serverEnv(dir, db.env, {
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'gateway-under-test',
        OTEL_BSP_SCHEDULE_DELAY: '50',
        ...extra,
      }),
    );
    const saved = await server.request('/api/profiles/traced', {
      method: 'POST',
      json: { llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-traced-0000' } },
    });
    expect(saved.status).toBe(201);
    return server;
  }

  /** One turn with a tool call, under the client's trace; the spans of that trace once all arrived. */
  async function tracedTurn(server: ServerProcess, headers: Record<string, string> = {}) {
    const traceId = [...crypto.getRandomValues(new Uint8Array(16))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
    const clientSpanId = '00f067aa0ba902b7';
    llm.enqueue(
      fakeReply.toolCall(
        'terminal',
        { command: 'echo traced' },
        { usage: { promptTokens: 120, completionTokens: 7 } },
      ),
      fakeReply.text(SECRET_ANSWER, { usage: { promptTokens: 150, completionTokens: 9 } }),
    );
    const res = await server.request('/v1/chat/completions', {
      method: 'POST',
      headers: { traceparent: `00-${traceId}-${clientSpanId}-01`, ...headers },
      json: {
        model: 'openhands_traced',
        messages: [{ role: 'user', content: `Run it. ${SECRET_PROMPT}` }],
      },
    });
    expect(res.status).toBe(200);
    const ofTrace = () => otlp.spans.filter((s) => s.traceId === traceId);
    await waitFor(
      () =>
        ofTrace().filter((s) => s.attributes['gen_ai.operation.name'] === 'chat').length === 2 &&
        ofTrace().some((s) => /^POST /.test(s.name)) &&
        ofTrace().some((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent'),
      15_000,
      'the spans of the turn',
    );
    return { spans: ofTrace(), clientSpanId };
  }

  it('exports the request, the turn, each LLM step and each tool call, under the client traceparent', async () => {
    const server = await serve({});
    try {
      const { spans, clientSpanId } = await tracedTurn(server);
      const http = spans.find((s) => s.name === 'POST /v1/chat/completions')!;
      expect(http).toBeDefined();
      expect(http.parentSpanId).toBe(clientSpanId); // the client's traceparent was continued
      expect(http.attributes['http.route']).toBe('/v1/chat/completions');
      expect(http.service).toBe('gateway-under-test');

      const turn = spans.find((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent')!;
      expect(turn.parentSpanId).toBe(http.spanId);
      expect(turn.name).toBe('invoke_agent openhands');
      expect(turn.attributes).toMatchObject({
        'gen_ai.agent.name': 'openhands',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.provider.name': 'openai',
        'gen_ai.conversation.id': expect.stringMatching(/^[0-9a-f-]{36}$/),
        'gen_ai.usage.input_tokens': 270,
        'gen_ai.usage.output_tokens': 16,
        'openhands.turn.end_reason': 'stop',
      });

      const steps = spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'chat');
      expect(steps).toHaveLength(2);
      for (const step of steps) {
        expect(step.parentSpanId).toBe(turn.spanId);
        expect(step.name).toBe('chat gpt-4o-mini');
      }
      expect(steps.map((s) => s.attributes)).toEqual([
        expect.objectContaining({
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.usage.input_tokens': 120,
          'gen_ai.usage.output_tokens': 7,
          'gen_ai.response.finish_reasons': ['tool-calls'],
        }),
        expect.objectContaining({
          'gen_ai.usage.input_tokens': 150,
          'gen_ai.usage.output_tokens': 9,
          'gen_ai.response.finish_reasons': ['stop'],
        }),
      ]);

      const tool = spans.find((s) => s.attributes['gen_ai.operation.name'] === 'execute_tool')!;
      expect(tool).toMatchObject({
        name: 'execute_tool terminal',
        parentSpanId: turn.spanId,
        attributes: expect.objectContaining({
          'gen_ai.tool.name': 'terminal',
          'gen_ai.tool.call.id': expect.any(String),
        }),
      });

      // No prompt, completion or tool text unless the operator opts in; no key either.
      const exported = JSON.stringify(spans);
      for (const secret of [SECRET_PROMPT, SECRET_ANSWER, 'echo traced', 'sk-traced-0000'])
        expect({ secret, exported: exported.includes(secret) }).toEqual({
          secret,
          exported: false,
        });

      // The log lines of the request name its trace.
      const logged = server.output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logged.some((l) => l.trace_id === http.traceId)).toBe(true);
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('carries the observability headers onto the spans and into the logs; content only when opted in', async () => {
    const server = await serve({ OH_OTEL_CAPTURE_CONTENT: 'true' });
    try {
      const { spans } = await tracedTurn(server, {
        'X-OpenHands-Observability-Span-Name': 'nightly:triage/v2',
        'X-OpenHands-Observability-Tags': 'repo, nightly ,,',
        'X-OpenHands-Observability-Metadata': JSON.stringify({
          run: 42,
          repo: 'acme/api',
          ok: true,
          ids: [1, 2],
        }),
      });
      const turn = spans.find((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent')!;
      expect(turn.name).toBe('nightly:triage/v2');
      expect(turn.attributes).toMatchObject({
        'openhands.observability.tags': ['repo', 'nightly'],
        'openhands.observability.metadata.run': 42,
        'openhands.observability.metadata.repo': 'acme/api',
        'openhands.observability.metadata.ok': true,
        'openhands.observability.metadata.ids': [1, 2],
      });
      const http = spans.find((s) => s.name === 'POST /v1/chat/completions')!;
      expect(http.attributes['openhands.observability.span_name']).toBe('nightly:triage/v2');

      expect(String(turn.attributes['gen_ai.input.messages'])).toContain(SECRET_PROMPT);
      expect(String(turn.attributes['gen_ai.output.messages'])).toContain(SECRET_ANSWER);
      const tool = spans.find((s) => s.attributes['gen_ai.operation.name'] === 'execute_tool')!;
      expect(String(tool.attributes['gen_ai.tool.call.arguments'])).toContain('echo traced');
      expect(JSON.stringify(spans)).not.toContain('sk-traced-0000');

      const logged = server.output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logged.find((l) => l.observability)?.observability).toEqual({
        span_name: 'nightly:triage/v2',
        tags: ['repo', 'nightly'],
        metadata: { run: 42, repo: 'acme/api', ok: true, ids: [1, 2] },
      });
    } finally {
      await server.stop();
    }
  }, 60_000);
});
