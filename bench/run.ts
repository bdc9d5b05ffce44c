/**
 * `npm run bench`: the gateway against the direct-LLM limit, in one run (docs/benchmarks.md).
 *
 * Environment: `DATABASE_URL` (PostgreSQL server; a fresh database is created and dropped),
 * `BENCH_SCALE` (e.g. 0.3 for a quick run), `BENCH_CPU_PROF=<dir>` (V8 CPU profile of the server).
 * Writes to bench/results/ (git-ignored); `npm run bench -- --write-docs` updates the committed
 * bench/results.json, docs/benchmarks.md and docs/benchmarks-latency.svg.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { countTokens } from 'gpt-tokenizer';
import { ensureBuilt } from '../test/support/built-server';
import { BenchLlm, FAST_MODEL, SLOW_MODEL } from './fake-llm';
import { agent, post, type Timed } from './http';
import { consoleTable, latencyChart, markdown, tableRows } from './report';
import type {
  BenchResults,
  ColdStart,
  Comparison,
  ConcurrentStreams,
  DbPerTurn,
  PromptTokens,
  Target,
  ThroughputLevel,
  TurnWindow,
} from './results';
import { BENCH_KEY, BenchServer, benchDatabase, type DbStats, sleep } from './server';
import { distribution, mean, percentile, round } from './stats';

const ROOT = join(__dirname, '..');
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const scaled = (n: number, min = 1) => Math.max(min, Math.round(n * SCALE));
const MiB = 1024 * 1024;
const CONVERSATION_HEADER = 'x-openhands-serverconversation-id';

const load: Record<string, number> = {};
const phase = (name: string) => {
  load[name] = round(loadavg()[0]);
  console.log(`▸ ${name} (load ${load[name].toFixed(2)})`);
};

async function main(): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
  console.log(`agent-gateway benchmark — scratch dir ${dir}`);

  phase('build');
  ensureBuilt();

  phase('cold start');
  const coldStart = await measureColdStart(dir);

  const llm = await BenchLlm.start();
  const db = await benchDatabase(dir);
  let server: BenchServer | undefined;
  try {
    phase('start');
    ({ server } = await BenchServer.start({
      env: serverEnv(dir, db.env),
      logFile: join(dir, 'server.log'),
      probe: true,
      cpuProfDir: process.env.BENCH_CPU_PROF,
    }));
    const gw = new Gateway(server.url);
    await gw.profile('bench', `openai/${FAST_MODEL}`, llm.url);
    await gw.profile('slow', `openai/${SLOW_MODEL}`, llm.url);

    phase('warm-up');
    const captured = llm.capture();
    for (let i = 0; i < scaled(300, 50); i++) expectOk(await gw.turn({}), 'warm-up');
    const trivialBody = await captured;

    const promptTokens = countPromptTokens(trivialBody);
    const direct = (sse = true) =>
      post({ url: `${llm.url}/chat/completions`, body: trivialBody, sse });

    // first, before the load phases leave vacuum and checkpoint work behind in the database
    phase('DB work per turn');
    const dbPerTurn = await measureDbPerTurn(server, gw, llm);

    phase('one-step latency');
    const oneStep = await compare(scaled(600, 50), () => gw.turn({}), direct, 'totalMs');

    phase('first content byte');
    const firstContent = await compare(
      scaled(600, 50),
      () => gw.turn({ stream: true }),
      direct,
      'firstContentMs',
    );

    phase('throughput');
    const throughput: ThroughputLevel[] = [];
    for (const concurrency of [1, 8, 32]) {
      throughput.push(await measureThroughput(concurrency, gw, direct));
    }

    phase('1,000 concurrent streams');
    const concurrentStreams = await measureConcurrent(server, gw);

    const results: BenchResults = {
      startedAt: startedAt.toISOString(),
      durationS: round((performance.now() - t0) / 1000, 1),
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        ramGiB: round(totalmem() / 1024 ** 3, 1),
        node: process.version,
        os: `${type()} ${release()}`,
        database: db.version,
        load,
      },
      oneStep,
      firstContent,
      throughput,
      concurrentStreams,
      coldStart,
      dbPerTurn,
      promptTokens,
      targets: [],
    };
    results.targets = targetsOf(results, db.kind);
    write(results);
  } finally {
    await server?.stop();
    await llm.close();
    agent.destroy();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The service's environment: production mode, info logs (to a file), its own directories. */
function serverEnv(dir: string, dbEnv: Record<string, string>): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    OH_SESSION_API_KEYS_0: BENCH_KEY,
    OH_SECRET_KEY: 'bench-secret-key-for-profiles-0123',
    OH_PERSISTENCE_DIR: join(dir, 'data'),
    OH_WORKSPACE_PATH: join(dir, 'workspace'),
    ...dbEnv,
  };
}

class Gateway {
  constructor(private readonly url: string) {}

  async profile(name: string, model: string, baseUrl: string): Promise<void> {
    const res = await fetch(`${this.url}/api/profiles/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-api-key': BENCH_KEY },
      body: JSON.stringify({ llm: { model, base_url: baseUrl, api_key: 'sk-bench' } }),
    });
    if (!res.ok) throw new Error(`profile ${name}: ${res.status} ${await res.text()}`);
  }

  /** One turn; a new conversation unless `conversationId` is given. */
  turn(o: {
    stream?: boolean;
    profile?: string;
    conversationId?: string;
    text?: string;
  }): Promise<Timed> {
    return post({
      url: `${this.url}/v1/chat/completions`,
      body: JSON.stringify({
        model: `openhands_${o.profile ?? 'bench'}`,
        messages: [{ role: 'user', content: o.text ?? 'Say hello.' }],
        ...(o.stream ? { stream: true } : {}),
      }),
      headers: {
        authorization: `Bearer ${BENCH_KEY}`,
        ...(o.conversationId ? { [CONVERSATION_HEADER]: o.conversationId } : {}),
      },
      sse: o.stream,
      timeoutMs: 120_000,
    });
  }
}

function expectOk(r: Timed, what: string): Timed {
  if (r.status !== 200 || r.streamError) {
    throw new Error(`${what}: HTTP ${r.status} ${r.streamError ?? r.body.slice(0, 300)}`);
  }
  return r;
}

/** Alternates gateway and direct calls (so drift hits both) and compares their percentiles. */
async function compare(
  n: number,
  gateway: () => Promise<Timed>,
  direct: () => Promise<Timed>,
  field: 'totalMs' | 'firstContentMs',
): Promise<Comparison> {
  const g: number[] = [];
  const d: number[] = [];
  const take = (r: Timed, into: number[], what: string) => {
    const value = expectOk(r, what)[field];
    if (value === null) throw new Error(`${what}: no content in the stream`);
    into.push(value);
  };
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      take(await gateway(), g, 'gateway');
      take(await direct(), d, 'direct');
    } else {
      take(await direct(), d, 'direct');
      take(await gateway(), g, 'gateway');
    }
  }
  const gateway_ = distribution(g);
  const direct_ = distribution(d);
  return {
    direct: direct_,
    gateway: gateway_,
    overheadP50: round(gateway_.p50 - direct_.p50),
    overheadP99: round(gateway_.p99 - direct_.p99),
  };
}

/** Closed loop: `concurrency` clients back to back for a fixed time, after a short warm-up. */
async function closedLoop(
  concurrency: number,
  seconds: number,
  call: () => Promise<Timed>,
): Promise<{ perS: number; errors: number; latencies: number[] }> {
  let measuring = false;
  let stop = false;
  let count = 0;
  let errors = 0;
  const latencies: number[] = [];
  const worker = async () => {
    while (!stop) {
      try {
        const r = await call();
        if (r.status !== 200) errors++;
        else if (measuring) {
          count++;
          latencies.push(r.totalMs);
        }
      } catch {
        errors++;
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await sleep(1_000);
  measuring = true;
  const started = performance.now();
  await sleep(seconds * 1000);
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  stop = true;
  await Promise.all(workers);
  return { perS: count / elapsed, errors, latencies };
}

async function measureThroughput(
  concurrency: number,
  gw: Gateway,
  direct: () => Promise<Timed>,
): Promise<ThroughputLevel> {
  const seconds = scaled(6, 2);
  const g = await closedLoop(concurrency, seconds, () => gw.turn({}));
  const d = await closedLoop(concurrency, Math.max(2, Math.round(seconds / 2)), () => direct());
  console.log(
    `  concurrency ${concurrency}: gateway ${g.perS.toFixed(0)}/s, direct ${d.perS.toFixed(0)}/s, errors ${g.errors}`,
  );
  return {
    concurrency,
    seconds,
    gatewayPerS: round(g.perS, 1),
    directPerS: round(d.perS, 1),
    errors: g.errors,
    gatewayLatency: distribution(g.latencies),
  };
}

async function measureConcurrent(server: BenchServer, gw: Gateway): Promise<ConcurrentStreams> {
  const turns = 1000;
  const before = server.memory().rss;
  let peak = before;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, server.memory().rss);
    } catch {
      // the process is gone; the turns report it
    }
  }, 50);
  const errorSamples: string[] = [];
  const first: number[] = [];
  const total: number[] = [];
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: turns }, async () => {
      try {
        const r = await gw.turn({ stream: true, profile: 'slow' });
        if (r.status !== 200 || r.streamError || !r.done) {
          errors++;
          if (errorSamples.length < 5)
            errorSamples.push(`HTTP ${r.status} ${r.streamError ?? r.body.slice(0, 200)}`);
          return;
        }
        if (r.firstContentMs !== null) first.push(r.firstContentMs);
        total.push(r.totalMs);
      } catch (err) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(String(err));
      }
    }),
  );
  const wallS = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, server.memory().peak);
  console.log(
    `  ${turns} streams: ${errors} errors, ${wallS.toFixed(2)} s, peak RSS ${(peak / MiB).toFixed(0)} MiB`,
  );
  return {
    turns,
    llmSeconds: 5,
    errors,
    errorSamples,
    wallS: round(wallS),
    firstContent: distribution(first),
    total: distribution(total),
    rssBeforeMiB: round(before / MiB, 1),
    peakRssMiB: round(peak / MiB, 1),
  };
}

async function measureDbPerTurn(
  server: BenchServer,
  gw: Gateway,
  llm: BenchLlm,
): Promise<DbPerTurn> {
  const turns = scaled(500, 30);
  const conversationId = randomUUID();
  const perTurn: { stats: DbStats; ms: number }[] = [];
  let firstBody = '';
  let lastBody = '';
  let previous = await server.dbStats();
  for (let i = 1; i <= turns; i++) {
    const capture = i === 1 || i === turns ? llm.capture() : null;
    const r = expectOk(await gw.turn({ conversationId, text: `Turn ${i}: say hello.` }), 'turn');
    if (r.headers[CONVERSATION_HEADER] !== conversationId)
      throw new Error(`turn ${i} ran in another conversation`);
    if (capture && i === 1) firstBody = await capture;
    if (capture && i === turns) lastBody = await capture;
    const now = await server.dbStats();
    perTurn.push({ stats: minus(now, previous), ms: r.totalMs });
    previous = now;
  }
  const window = (from: number, to: number): TurnWindow => {
    const slice = perTurn.slice(from - 1, to);
    return {
      turns: from === to ? String(from) : `${from}–${to}`,
      statements: round(mean(slice.map((t) => t.stats.statements))),
      rows: round(mean(slice.map((t) => t.stats.rows))),
      dbMs: round(
        percentile(
          slice.map((t) => t.stats.ms),
          50,
        ),
        3,
      ),
      gatewayMsP50: round(
        percentile(
          slice.map((t) => t.ms),
          50,
        ),
      ),
    };
  };
  const size = Math.min(25, Math.floor(turns / 3));
  const early = window(1, size);
  const late = window(turns - size + 1, turns);
  const replay = async (body: string) => {
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      times.push(
        expectOk(await post({ url: `${llm.url}/chat/completions`, body, sse: true }), 'direct')
          .totalMs,
      );
    }
    return round(percentile(times, 50));
  };
  const last = perTurn[turns - 1].stats;
  return {
    turns,
    first: window(1, 1),
    last: window(turns, turns),
    early,
    late,
    dbMsRatio: round(late.dbMs / early.dbMs),
    statementsRatio: round(late.statements / early.statements),
    directFirstMs: await replay(firstBody),
    directLastMs: await replay(lastBody),
    statementsOfLastTurn: Object.fromEntries(
      Object.entries(last.byStatement).map(([sql, s]) => [sql, s.count]),
    ),
  };
}

function minus(a: DbStats, b: DbStats): DbStats {
  const byStatement: DbStats['byStatement'] = {};
  for (const [sql, s] of Object.entries(a.byStatement)) {
    const count = s.count - (b.byStatement[sql]?.count ?? 0);
    if (count > 0) byStatement[sql] = { count, ms: s.ms - (b.byStatement[sql]?.ms ?? 0) };
  }
  return {
    statements: a.statements - b.statements,
    rows: a.rows - b.rows,
    ms: a.ms - b.ms,
    byStatement,
  };
}

/** Fresh processes after the build, on the embedded database: the first start ever, then restarts. */
async function measureColdStart(dir: string): Promise<ColdStart> {
  const home = join(dir, 'cold');
  mkdirSync(home, { recursive: true });
  const env = serverEnv(home, { PGLITE_DATA_DIR: join(home, 'pglite') });
  const once = async () => {
    const { server, readyMs } = await BenchServer.start({
      env,
      logFile: join(home, 'server.log'),
    });
    await server.stop();
    return readyMs;
  };
  const firstEverMs = await once();
  const restartsMs: number[] = [];
  for (let i = 0; i < 3; i++) restartsMs.push(await once());
  console.log(
    `  first ever ${firstEverMs.toFixed(0)} ms, restarts ${restartsMs.map((x) => x.toFixed(0)).join(', ')} ms`,
  );
  return {
    restartsMs: restartsMs.map((x) => round(x, 0)),
    medianMs: round(percentile(restartsMs, 50), 0),
    firstEverMs: round(firstEverMs, 0),
  };
}

/** System prompt and tool schemas of the request the gateway sent for a trivial turn. */
function countPromptTokens(body: string): PromptTokens {
  const request = JSON.parse(body) as {
    messages: { role: string; content: string }[];
    tools?: { function: { name: string } }[];
  };
  const systemText = request.messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n');
  const system = countTokens(systemText);
  const tools = request.tools ? countTokens(JSON.stringify(request.tools)) : 0;
  return {
    tokenizer: 'o200k_base',
    system,
    tools,
    total: system + tools,
    toolNames: (request.tools ?? []).map((t) => t.function.name),
  };
}

function targetsOf(r: BenchResults, database: 'postgres' | 'embedded'): Target[] {
  const onPg = database === 'postgres' ? undefined : 'the target is set for PostgreSQL';
  const t = (
    name: string,
    value: number,
    unit: string,
    kind: 'max' | 'min',
    limit: number,
    note?: string,
  ): Target => ({
    name,
    value,
    unit,
    kind,
    limit,
    ok: kind === 'max' ? value <= limit : value >= limit,
    ...(note ? { note } : {}),
  });
  const at32 = r.throughput.find((l) => l.concurrency === 32);
  return [
    t('one-step overhead p50', r.oneStep.overheadP50, 'ms', 'max', 10, onPg),
    t('one-step overhead p99', r.oneStep.overheadP99, 'ms', 'max', 50, onPg),
    t('first content byte overhead p50', r.firstContent.overheadP50, 'ms', 'max', 10),
    t('turns/s at concurrency 32', at32?.gatewayPerS ?? 0, 'turns/s', 'min', 300, onPg),
    t('errors, 1,000 concurrent streams', r.concurrentStreams.errors, 'errors', 'max', 0),
    t('peak RSS, 1,000 concurrent streams', r.concurrentStreams.peakRssMiB, 'MiB', 'max', 1024),
    t('cold start to /ready', r.coldStart.medianMs, 'ms', 'max', 3000),
    t('DB time per turn, late ÷ early', r.dbPerTurn.dbMsRatio, '×', 'max', 1.2),
    t('DB statements per turn, late ÷ early', r.dbPerTurn.statementsRatio, '×', 'max', 1.2),
    t('fixed prompt tokens', r.promptTokens.total, 'tokens', 'max', 2500),
  ];
}

/**
 * Where a run's figures go: `bench/results/` (git-ignored) by default, so a local run never
 * touches committed files; with `--write-docs`, the committed bench/results.json,
 * docs/benchmarks.md and docs/benchmarks-latency.svg.
 */
const WRITE_DOCS = process.argv.slice(2).includes('--write-docs');

function write(results: BenchResults): void {
  const [json, docs] = WRITE_DOCS
    ? [join(ROOT, 'bench'), join(ROOT, 'docs')]
    : [join(ROOT, 'bench', 'results'), join(ROOT, 'bench', 'results')];
  mkdirSync(json, { recursive: true });
  mkdirSync(docs, { recursive: true });
  const files = [
    join(json, 'results.json'),
    join(docs, 'benchmarks.md'),
    join(docs, 'benchmarks-latency.svg'),
  ];
  writeFileSync(files[0], `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(files[2], latencyChart(results));
  writeFileSync(files[1], markdown(results, 'benchmarks-latency.svg'));
  console.log(`\n${consoleTable(tableRows(results))}\n`);
  console.log(
    `${results.machine.database} · ${results.machine.cpu} · ${results.machine.cores} cores · ` +
      `${results.machine.ramGiB} GiB · Node ${results.machine.node} · ${results.durationS} s`,
  );
  const failing = results.targets.filter((x) => !x.ok);
  console.log(
    failing.length === 0
      ? 'Every target holds.'
      : `Targets not met: ${failing.map((x) => x.name).join(', ')}`,
  );
  console.log(`Wrote ${files.map((f) => relative(ROOT, f)).join(', ')}`);
  if (!WRITE_DOCS)
    console.log('(npm run bench -- --write-docs updates the committed docs instead)');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
