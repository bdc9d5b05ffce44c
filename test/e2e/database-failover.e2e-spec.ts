import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type OpenAI from 'openai';
import { ensureBuilt } from '../support/built-server';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { describeWithInitdb, PrivatePostgres } from '../support/private-postgres';
import { removeDir, ServerProcess, serverEnv, tempDir } from '../support/server-process';
import { contentOf, SseReader } from '../support/sse';
import { processes, sleep, waitFor } from '../support/wait';

const HEADER = 'x-openhands-serverconversation-id';
const MODEL = 'openhands_p';
const SLEEP = 'sleep 40.4141'; // unique, so pgrep finds only this test's command

interface Event {
  seq: number;
  kind: string;
  payload: Record<string, unknown>;
}

/**
 * The database as an operator meets it: a private PostgreSQL 15 cluster (initdb on a free port,
 * removed afterwards) stopped and started while the service runs turns on it, with two service
 * processes (replicas). Mandatory in CI; skipped in one line where initdb is missing. It makes
 * its own cluster whatever the suite runs on, so it runs in the embedded-database pass only.
 */
const suite = process.env.DATABASE_URL
  ? (name: string, fn: () => void) => {
      console.warn(`skipped "${name}" in the DATABASE_URL pass: it runs in the embedded pass`);
      describe.skip(name, fn);
    }
  : describeWithInitdb;

suite('database restarts under running turns (private PostgreSQL)', () => {
  let pg: PrivatePostgres;
  let llm: FakeLlmServer;
  let dir: string;
  let databaseUrl: string;
  const servers: ServerProcess[] = [];
  let a: ServerProcess;
  let b: ServerProcess;

  async function replica(name: string, extra: Record<string, string> = {}) {
    const server = await ServerProcess.start(
      serverEnv(
        join(dir, name),
        { DATABASE_URL: databaseUrl },
        {
          OH_WORKSPACE_PATH: join(dir, 'workspace'),
          OH_LEASE_TTL_S: '8',
          OH_RECOVERY_INTERVAL_S: '1',
          ...extra,
        },
      ),
    );
    servers.push(server);
    return server;
  }

  /** The next LLM request waits until `release` is called, then answers `text`. */
  function gatedReply(text: string) {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    llm.setHandler(async () => {
      await gate;
      return fakeReply.text(text);
    });
    return release;
  }

  const streamTurn = async (server: ServerProcess, id: string, text: string) => {
    const res = await server.request('/v1/chat/completions', {
      method: 'POST',
      headers: { [HEADER]: id },
      json: { model: MODEL, stream: true, messages: [{ role: 'user', content: text }] },
    });
    expect(res.status).toBe(200);
    return new SseReader(res);
  };

  const events = async (server: ServerProcess, id: string) =>
    (await server.json<{ items: Event[] }>(`/api/conversations/${id}/events/search?limit=100`))
      .items;

  const ready = async (server: ServerProcess) =>
    (await server.request('/ready', { key: null })).status === 200;

  beforeAll(async () => {
    ensureBuilt(); // CI builds first; locally this may compile dist/ once
    pg = await PrivatePostgres.create();
    databaseUrl = await pg.createDatabase('gateway');
    llm = await FakeLlmServer.start();
    dir = tempDir('gw-failover-');
    a = await replica('a'); // migrates the database first
    b = await replica('b');
    const res = await a.request('/api/profiles/p', {
      method: 'POST',
      json: { llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-failover-00' } },
    });
    expect(res.status).toBe(201);
  }, 180_000);
  beforeEach(() => llm.reset());
  afterAll(async () => {
    for (const server of servers) await server.stop();
    for (const pid of processes(SLEEP)) process.kill(Number(pid), 'SIGKILL');
    await llm?.close();
    await pg?.remove();
    if (dir) removeDir(dir);
  });

  it('heals after a restart: 503 (never 500) while down, then turns, cancels and /ready within seconds, and the running turn completes', async () => {
    const id = randomUUID();
    const release = gatedReply('Survived the restart.');
    const running = await streamTurn(a, id, 'hold on');
    await llm.waitForRequests(1, 20_000);

    pg.stop('fast');
    const downAt = Date.now();
    // /ready goes 503 on both replicas, with the connections named
    await waitFor(async () => !(await ready(a)) && !(await ready(b)), 10_000, '/ready 503');
    const readiness = await (await a.request('/ready', { key: null })).json();
    expect(readiness).toMatchObject({ status: 'unavailable', database: false, connections: false });
    // the API answers 503 in its documented shapes, never 500
    const cancel = await b.request(`/api/conversations/${id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(503);
    expect(cancel.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await cancel.json()).toMatchObject({
      status: 503,
      code: 'database.database_unavailable',
    });
    const chat = await b.request('/v1/chat/completions', {
      method: 'POST',
      json: { model: MODEL, messages: [{ role: 'user', content: 'while down' }] },
    });
    expect(chat.status).toBe(503);
    expect((await chat.json()).error).toMatchObject({ code: 'database_unavailable' });
    const down = await a.request(`/api/conversations/${id}`);
    expect(down.status).toBe(503);
    await down.body?.cancel();

    await pg.start();
    const upAt = Date.now();
    await waitFor(async () => (await ready(a)) && (await ready(b)), 15_000, '/ready 200 again');
    const readyAfterMs = Date.now() - upAt;

    // The turn that was waiting on the LLM during the outage finishes and is stored.
    release();
    await running.readAll();
    expect(running.lines.at(-1)).toBe('data: [DONE]');
    expect(running.data.at(-1)!.choices[0].finish_reason).toBe('stop');
    expect(contentOf(running.data)).toBe('Survived the restart.');
    const kinds = (await events(b, id)).map((e) => e.kind);
    expect(kinds).toEqual(['user_message', 'llm_response', 'turn_end']);

    // New turns run on both replicas, on the same conversation too.
    llm.setHandler(null);
    llm.enqueue(fakeReply.text('Back on B.'));
    const next = await b.openai.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'again' }] },
      { headers: { [HEADER]: id } },
    );
    expect(next.choices[0].message.content).toBe('Back on B.');
    const turnAfterMs = Date.now() - upAt;

    // A cancel through B reaches a turn running on A: A's LISTEN connection is back.
    llm.enqueue(fakeReply.toolCall('terminal', { command: SLEEP }));
    const other = randomUUID();
    const sleeping = await streamTurn(a, other, 'sleep');
    await waitFor(() => processes(SLEEP).length > 0, 20_000, 'the tool command running');
    const cancelled = await b.request(`/api/conversations/${other}/cancel`, { method: 'POST' });
    expect(await cancelled.json()).toEqual({
      success: true,
      cancelled: true,
      execution_status: 'cancelled',
    });
    await sleeping.readAll();
    const cancelAfterMs = Date.now() - upAt;
    console.log(
      `database failover: down ${upAt - downAt} ms; after the restart /ready 200 in ${readyAfterMs} ms, ` +
        `a turn answered within ${turnAfterMs} ms, a cross-replica cancel done within ${cancelAfterMs} ms`,
    );
    expect(readyAfterMs).toBeLessThan(5_000);
  });

  it('never reports success for a turn whose end could not be saved, and shows it failed once the database is back', async () => {
    // Short leases here: the turn's end write is retried while the lease holds, then gives up.
    const c = await replica('c', { OH_LEASE_TTL_S: '3' });
    const streamedId = randomUUID();
    const release = gatedReply('An answer that cannot be saved.');
    const streamed = await streamTurn(c, streamedId, 'stream it');
    const plainId = randomUUID();
    const plain = c.request('/v1/chat/completions', {
      method: 'POST',
      headers: { [HEADER]: plainId },
      json: { model: MODEL, messages: [{ role: 'user', content: 'no stream' }] },
    });
    await llm.waitForRequests(2, 20_000);

    pg.stop('fast');
    const stoppedAt = Date.now();
    release(); // both answers arrive while the database is down
    await streamed.readAll();
    const plainRes = await plain;
    const failedAfterMs = Date.now() - stoppedAt;

    // streamed: the answer's content went out, but no finish_reason "stop": an error frame instead
    expect(contentOf(streamed.data)).toBe('An answer that cannot be saved.');
    expect(streamed.data.some((d) => d.choices?.[0]?.finish_reason === 'stop')).toBe(false);
    const frame = streamed.data.at(-1)!;
    expect(frame.error).toMatchObject({ code: expect.stringMatching(/turn_not_saved|database/) });
    expect(streamed.lines.at(-1)).toBe('data: [DONE]');
    // not streamed: a 5xx JSON error, not the 200
    expect(plainRes.status).toBe(503);
    expect((await plainRes.json()).error).toMatchObject({
      code: expect.stringMatching(/turn_not_saved|database/),
    });

    await pg.start();
    const upAt = Date.now();
    for (const id of [streamedId, plainId]) {
      await waitFor(
        async () => {
          const res = await c.request(`/api/conversations/${id}`);
          return res.ok && (await res.json()).execution_status === 'error';
        },
        20_000,
        'the unsaved turn shown as failed',
      );
      const stored = await events(c, id);
      // its end is a failure: recorded by the process once the database was back, or (had its
      // lease lapsed first) taken over as interrupted; never a finished turn
      expect(stored.map((e) => e.kind)).not.toContain('assistant_message');
      const end = stored.at(-1)!;
      expect(['turn_end', 'interrupted']).toContain(end.kind);
      if (end.kind === 'turn_end') expect(end.payload).toMatchObject({ status: 'error' });
    }
    const shownAfterMs = Date.now() - upAt;
    console.log(
      `no false success: the clients got their errors ${failedAfterMs} ms after the database stopped; ` +
        `the turns showed as failed ${shownAfterMs} ms after it was back`,
    );
    await waitFor(() => ready(a), 15_000, 'A ready');
    await waitFor(() => ready(b), 15_000, 'B ready');
  });

  it('split brain: a replica that starts after a restart takes no live turn; a frozen replica whose lease lapsed cannot write', async () => {
    // 1. A database restart while A runs a turn, then a new replica starts.
    const id = randomUUID();
    let release = gatedReply('Answer from A.');
    const first = await streamTurn(a, id, 'first');
    await llm.waitForRequests(1, 20_000);
    pg.stop('fast');
    await sleep(300);
    await pg.start();
    const d = await replica('d'); // its start-up recovery runs now
    expect((await d.json(`/api/conversations/${id}`)).execution_status).toBe('running');
    const refused = await d.request('/v1/chat/completions', {
      method: 'POST',
      headers: { [HEADER]: id },
      json: { model: MODEL, messages: [{ role: 'user', content: 'second, at the same time' }] },
    });
    expect(refused.status).toBe(409);
    await refused.body?.cancel();
    release();
    await first.readAll();
    expect(contentOf(first.data)).toBe('Answer from A.');
    expect(first.data.at(-1)!.choices[0].finish_reason).toBe('stop');

    // 2. A replica frozen mid-turn (as good as cut off) until its lease lapses; D takes over.
    const e = await replica('e', { OH_LEASE_TTL_S: '2' });
    release = gatedReply('Answer from the frozen replica.');
    const frozen = await streamTurn(e, id, 'third');
    await llm.waitForRequests(1, 20_000);
    e.kill('SIGSTOP');
    llm.reset();
    llm.enqueue(fakeReply.text('Answer from D.'));
    let takeover: OpenAI.ChatCompletion | undefined;
    await waitFor(
      async () => {
        try {
          takeover = await d.openai.chat.completions.create(
            { model: MODEL, messages: [{ role: 'user', content: 'fourth' }] },
            { headers: { [HEADER]: id } },
          );
          return true;
        } catch (err) {
          if ((err as { status?: number }).status !== 409) throw err;
          await sleep(250);
          return false;
        }
      },
      20_000,
      'the frozen replica’s turn taken over',
    );
    expect(takeover!.choices[0].message.content).toBe('Answer from D.');
    release(); // the frozen replica's LLM answer waits in its socket
    e.kill('SIGCONT');
    await frozen.readAll();
    // E must not claim success: it lost the lock (its write is fenced by the epoch)
    expect(frozen.data.some((x) => x.choices?.[0]?.finish_reason === 'stop')).toBe(false);
    expect(frozen.data.at(-1)!.error).toBeDefined();

    // The history holds every answer a client received, and one turn at a time.
    const stored = await events(a, id);
    const answers = stored
      .filter((x) => x.kind === 'turn_end' && x.payload.status === 'finished')
      .map((x) => x.payload.answer);
    expect(answers).toEqual(['Answer from A.', 'Answer from D.']);
    expect(JSON.stringify(stored)).not.toContain('Answer from the frozen replica.');
    let open = 0;
    for (const x of stored) {
      if (x.kind === 'user_message') open++;
      if (x.kind === 'turn_end' || x.kind === 'interrupted') open--;
      expect(open).toBeLessThanOrEqual(1);
    }
    expect(stored.filter((x) => x.kind === 'user_message')).toHaveLength(3);
    expect(stored.map((x) => x.seq)).toEqual(stored.map((_, i) => i + 1));
    expect((await a.json(`/api/conversations/${id}`)).execution_status).toBe('finished');
  });
});
