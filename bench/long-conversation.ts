/**
 * One conversation of many short turns (issue 10: around turn 1,100 every turn condensed and one
 * turn blocked the event loop for 10 s). Measures each turn's latency, the largest event-loop delay
 * of the server (`nodejs_eventloop_lag_max_seconds`, `perf_hooks.monitorEventLoopDelay` reset at
 * every scrape) and how often the history was condensed.
 *
 * Part of `npm run bench`; alone: `npm run bench:long` (`BENCH_LONG_TURNS`, default 5,000;
 * `DATABASE_URL` for PostgreSQL; `BENCH_CPU_PROF=dir` writes the server's CPU profile there).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureBuilt } from '../test/support/built-server';
import { agent, post } from './http';
import { BENCH_KEY, BenchServer, benchDatabase } from './server';
import { percentile, round } from './stats';

const CONVERSATION_HEADER = 'x-openhands-serverconversation-id';
/** A small window, so that a few thousand short turns condense many times. */
const CONTEXT_WINDOW = 16_000;

export interface LongConversation {
  turns: number;
  contextWindow: number;
  /** p50 of the gateway's turn latency over the first and the last 100 turns, ms. */
  first100P50Ms: number;
  last100P50Ms: number;
  /** last ÷ first; the target is ≤ 2. */
  ratio: number;
  slowestTurnMs: number;
  slowestTurn: number;
  /** Largest event-loop delay the server saw during the run, ms. */
  maxEventLoopDelayMs: number;
  condensations: number;
  /** Prompt tokens the LLM received for the last turn (the provider's count). */
  lastPromptTokens: number;
  wallS: number;
}

/** An OpenAI-compatible LLM that counts prompt tokens (≈ bytes ÷ 4) and ignores max_tokens. */
class CountingLlm {
  condensations = 0;
  lastPromptTokens = 0;
  private constructor(private readonly server: Server) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  static async start(): Promise<CountingLlm> {
    const server = createServer();
    const llm = new CountingLlm(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString();
        const body = JSON.parse(raw) as { messages: { role: string; content: unknown }[] };
        const summarising = JSON.stringify(body.messages[0]?.content ?? '').includes(
          'You condense',
        );
        const promptTokens = Math.ceil(raw.length / 4);
        let text: string;
        if (summarising) {
          llm.condensations++;
          // three times longer than asked: the gateway must cut it
          text = `USER GOAL: say hello. DONE: ${'said hello; '.repeat(1_500)}`;
        } else {
          llm.lastPromptTokens = promptTokens;
          text = 'Hello!';
        }
        const usage = {
          prompt_tokens: promptTokens,
          completion_tokens: Math.ceil(text.length / 4),
          total_tokens: promptTokens + Math.ceil(text.length / 4),
        };
        const chunk = (delta: object, finish: string | null, extra: object = {}) =>
          `data: ${JSON.stringify({ id: 'chatcmpl-long', object: 'chat.completion.chunk', created: 1, model: 'bench-long', choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
        res.setHeader('content-type', 'text/event-stream');
        res.end(
          chunk({ role: 'assistant', content: text }, null) +
            chunk({}, 'stop', { usage }) +
            'data: [DONE]\n\n',
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return llm;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Runs `turns` turns on one conversation of a fresh profile on `gatewayUrl`. */
export async function measureLongConversation(
  gatewayUrl: string,
  turns: number,
): Promise<LongConversation> {
  const llm = await CountingLlm.start();
  const headers = { authorization: `Bearer ${BENCH_KEY}`, 'content-type': 'application/json' };
  try {
    const saved = await fetch(`${gatewayUrl}/api/profiles/long`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        llm: {
          model: 'openai/bench-long',
          base_url: llm.url,
          api_key: 'sk-bench',
          max_input_tokens: CONTEXT_WINDOW,
        },
      }),
    });
    if (!saved.ok) throw new Error(`profile: ${saved.status} ${await saved.text()}`);

    let maxLagS = 0;
    const scrape = async () => {
      const res = await fetch(`${gatewayUrl}/metrics`, { headers });
      const text = await res.text();
      const m = /^nodejs_eventloop_lag_max_seconds\s+([\d.e+-]+)/m.exec(text);
      if (m) maxLagS = Math.max(maxLagS, Number(m[1]));
    };
    // warm-up on another conversation (first LLM client, first condensation code paths)
    for (let i = 0; i < 10; i++) {
      await post({
        url: `${gatewayUrl}/v1/chat/completions`,
        body: JSON.stringify({
          model: 'openhands_long',
          messages: [{ role: 'user', content: 'warm-up' }],
        }),
        headers: { authorization: headers.authorization },
      });
    }
    await scrape(); // resets the histogram: start-up and earlier phases are not counted
    maxLagS = 0;
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        await scrape().catch(() => undefined);
      }
    })();

    const conversationId = randomUUID();
    const latencies: number[] = [];
    const started = performance.now();
    for (let i = 1; i <= turns; i++) {
      const r = await post({
        url: `${gatewayUrl}/v1/chat/completions`,
        body: JSON.stringify({
          model: 'openhands_long',
          messages: [{ role: 'user', content: `Turn ${i}: say hello.` }],
        }),
        headers: { authorization: headers.authorization, [CONVERSATION_HEADER]: conversationId },
        timeoutMs: 120_000,
      });
      if (r.status !== 200) throw new Error(`turn ${i}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
      latencies.push(r.totalMs);
      if (i % 1000 === 0) {
        const p50 = percentile(latencies.slice(-100), 50);
        console.log(
          `  turn ${i}: p50 of the last 100 ${p50.toFixed(1)} ms, ${llm.condensations} condensations`,
        );
      }
    }
    const wallS = (performance.now() - started) / 1000;
    scraping = false;
    await scraper;
    await scrape();

    const first = percentile(latencies.slice(0, 100), 50);
    const last = percentile(latencies.slice(-100), 50);
    const slowest = Math.max(...latencies);
    return {
      turns,
      contextWindow: CONTEXT_WINDOW,
      first100P50Ms: round(first),
      last100P50Ms: round(last),
      ratio: round(last / first),
      slowestTurnMs: round(slowest),
      slowestTurn: latencies.indexOf(slowest) + 1,
      maxEventLoopDelayMs: round(maxLagS * 1000, 1),
      condensations: llm.condensations,
      lastPromptTokens: llm.lastPromptTokens,
      wallS: round(wallS, 1),
    };
  } finally {
    await llm.close();
  }
}

async function main(): Promise<void> {
  const turns = Number(process.env.BENCH_LONG_TURNS ?? 5_000);
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-long-'));
  ensureBuilt();
  const db = await benchDatabase(dir);
  let server: BenchServer | undefined;
  try {
    ({ server } = await BenchServer.start({
      env: {
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        OH_SESSION_API_KEYS_0: BENCH_KEY,
        OH_SECRET_KEY: 'bench-secret-key-for-profiles-0123',
        OH_PERSISTENCE_DIR: join(dir, 'data'),
        OH_WORKSPACE_PATH: join(dir, 'workspace'),
        ...db.env,
      },
      logFile: join(dir, 'server.log'),
      cpuProfDir: process.env.BENCH_CPU_PROF,
      readyTimeoutMs: 180_000, // a loaded machine
    }));
    const result = await measureLongConversation(server.url, turns);
    console.log(JSON.stringify({ database: db.version, ...result }, null, 2));
  } finally {
    await server?.stop();
    agent.destroy();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (/long-conversation\.ts$/.test(process.argv[1] ?? '')) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
