import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import OpenAI from 'openai';
import { ensureBuilt } from '../support/built-server';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { removeDir, ServerProcess, serverEnv, tempDir } from '../support/server-process';
import { sleep, waitFor } from '../support/wait';

const HEADER = 'x-openhands-serverconversation-id';
const MODEL = 'openhands_p';

// Several server processes on one database need PostgreSQL: the embedded database (PGlite) is a
// single-process PostgreSQL whose data directory only one process can open. So this file runs in
// CI's PostgreSQL pass (DATABASE_URL set), where every other suite runs too.
const onPostgres = process.env.DATABASE_URL ? describe : describe.skip;

onPostgres('several server processes on one PostgreSQL', () => {
  let llm: FakeLlmServer;
  let dir: string;
  let db: TestDatabase;
  const servers: ServerProcess[] = [];
  let a: ServerProcess;
  let b: ServerProcess;

  /** A replica: its own persistence dir, the shared workspace root (a shared volume in production). */
  async function replica(name: string, extra: Record<string, string> = {}) {
    const env = serverEnv(join(dir, name), db.env, {
      OH_WORKSPACE_PATH: join(dir, 'workspace'),
      OH_RECOVERY_INTERVAL_S: '3600', // no periodic sweep unless a test asks for one
      OH_RETRY_GRACE_S: '1', // shorter than the turns below: only a retry's heartbeat keeps one
      ...extra,
    });
    const server = await ServerProcess.start(env);
    servers.push(server);
    return server;
  }

  beforeAll(async () => {
    ensureBuilt(); // CI builds first; locally this may compile dist/ once
    llm = await FakeLlmServer.start();
    dir = tempDir();
    db = await createTestDatabase();
    a = await replica('a'); // migrates the fresh database first
    b = await replica('b');
    const res = await a.request('/api/profiles/p', {
      method: 'POST',
      json: {
        llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-replicas-0000' },
      },
    });
    expect(res.status).toBe(201);
  }, 180_000);
  beforeEach(() => llm.reset());
  afterAll(async () => {
    for (const server of servers) await server.stop();
    await llm?.close();
    await db?.drop();
    removeDir(dir);
  });

  /**
   * Sends a turn `perServer` times to each server at once, each with its own prompt (an identical
   * one would attach to the turn in flight: safe retries). `answered` counts the requests answered
   * so far; the LLM handler holds the one that runs until the test releases it.
   */
  function race(id: string, text: string, perServer: number) {
    let answered = 0;
    const calls = [a, b].flatMap((server, s) =>
      Array.from({ length: perServer }, (_, n) =>
        server.openai.chat.completions
          .create(
            { model: MODEL, messages: [{ role: 'user', content: `${text} (${s}.${n})` }] },
            { headers: { [HEADER]: id } },
          )
          .then(
            (completion) => ({ status: 200, completion, error: null }),
            (error: InstanceType<typeof OpenAI.APIError>) => ({
              status: error.status,
              completion: null,
              error,
            }),
          )
          .finally(() => answered++),
      ),
    );
    return { results: Promise.all(calls), answered: () => answered };
  }

  const events = async (server: ServerProcess, id: string) =>
    (
      await server.json<{ items: { kind: string; payload: Record<string, unknown> }[] }>(
        `/api/conversations/${id}/events/search?limit=100`,
      )
    ).items;

  it.each([
    ['a new conversation (its id chosen by the client)', false],
    ['an existing conversation', true],
  ])(
    'runs exactly one turn when both processes are asked at once to run %s; the rest get 409',
    async (_, existing) => {
      const id = randomUUID();
      if (existing) {
        llm.enqueue(fakeReply.text('First.'));
        await a.openai.chat.completions.create(
          { model: MODEL, messages: [{ role: 'user', content: 'first' }] },
          { headers: { [HEADER]: id } },
        );
        llm.reset();
      }
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      llm.setHandler(async () => {
        await gate;
        return fakeReply.text('The only run.');
      });

      const { results, answered } = race(id, 'who runs?', 4);
      // Every request but one is refused while that one is still running (held at the LLM).
      await waitFor(() => answered() === 7, 20_000, '7 requests answered');
      expect(llm.requests).toHaveLength(1);
      release();
      const all = await results;

      const ok = all.filter((r) => r.status === 200);
      const busy = all.filter((r) => r.status === 409);
      expect(ok).toHaveLength(1);
      expect(busy).toHaveLength(7);
      expect(ok[0].completion!.choices[0].message.content).toBe('The only run.');
      for (const { error } of busy) {
        expect(error).toBeInstanceOf(OpenAI.ConflictError);
        expect(error!.error).toMatchObject({
          type: 'invalid_request_error',
          code: 'conversation_busy',
        });
      }
      expect(llm.requests).toHaveLength(1);
      const turns = (await events(b, id)).filter((e) => e.kind === 'turn_end');
      expect(turns).toHaveLength(existing ? 2 : 1);
      expect((await b.json(`/api/conversations/${id}`)).execution_status).toBe('finished');
    },
  );

  it('keeps a turn whose client left for the retry that waits for it on the other process (no key)', async () => {
    const id = randomUUID();
    const body = { model: MODEL, messages: [{ role: 'user' as const, content: `slow ${id}` }] };
    llm.enqueue(fakeReply.text('slow answer', { delayMs: 4_000 }));
    const gone = new AbortController();
    const first = a.openai.chat.completions
      .create(body, { headers: { [HEADER]: id }, signal: gone.signal, maxRetries: 0 })
      .catch((e: unknown) => e);
    await llm.waitForRequests(1);
    gone.abort(); // a's grace (1 s) runs out three times before the answer
    await first;
    const retried = await b.openai.chat.completions
      .create(body, { headers: { [HEADER]: id }, maxRetries: 0 })
      .withResponse();
    expect(retried.data.choices[0].message.content).toBe('slow answer');
    expect(retried.response.headers.get('x-openhands-repeated')).toBe('true');
    expect(llm.requests).toHaveLength(1);
    expect(llm.requests[0].clientClosedEarly).toBe(false);
    const ends = (await events(a, id)).filter((e) => e.kind === 'turn_end');
    expect(ends.map((e) => e.payload.status)).toEqual(['finished']);
  });

  it('continues on one process a conversation started on the other, and back', async () => {
    llm.enqueue(
      fakeReply.toolCall('terminal', { command: 'echo from-a > shared.txt' }),
      fakeReply.text('Wrote it on A.'),
    );
    const first = await a.openai.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'write a file' }] })
      .withResponse();
    const id = first.response.headers.get(HEADER)!;

    llm.enqueue(
      fakeReply.toolCall('terminal', { command: 'cat shared.txt' }),
      fakeReply.text('Read it on B.'),
    );
    const second = await b.openai.chat.completions
      .create(
        { model: MODEL, messages: [{ role: 'user', content: 'read it back' }] },
        { headers: { [HEADER]: id } },
      )
      .withResponse();
    expect(second.response.headers.get(HEADER)).toBe(id);
    expect(second.data.choices[0].message.content).toBe('Read it on B.');
    // B's LLM saw A's turn, and B's shell ran in the same workspace
    expect(JSON.stringify(llm.requests[2].messages)).toContain('Wrote it on A.');
    expect(llm.requests[3].toolResults.at(-1)!.content).toContain('from-a');

    // Back on A, whose cached history stopped at its own turn: it must see B's turn too.
    llm.enqueue(fakeReply.text('Both turns seen.'));
    await a.openai.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'summarise' }] },
      { headers: { [HEADER]: id } },
    );
    const seen = JSON.stringify(llm.requests[4].messages);
    expect(seen).toContain('Wrote it on A.');
    expect(seen).toContain('Read it on B.');
    const kinds = (await events(a, id)).map((e) => e.kind);
    expect(kinds.filter((k) => k === 'turn_end')).toHaveLength(3);
  });

  it('frees the lock of a process that died mid-turn once its lease lapsed, when another process is asked', async () => {
    const victim = await replica('victim-1', { OH_LEASE_TTL_S: '3' });
    llm.setHandler(() => fakeReply.hang());
    const id = randomUUID();
    const dying = victim.request('/v1/chat/completions', {
      method: 'POST',
      headers: { [HEADER]: id },
      json: { model: MODEL, stream: true, messages: [{ role: 'user', content: 'hang' }] },
    });
    await llm.waitForRequests(1, 20_000);
    victim.kill('SIGKILL');
    await victim.waitForExit();
    await dying.then((res) => res.body?.cancel()).catch(() => undefined);
    expect((await b.json(`/api/conversations/${id}`)).execution_status).toBe('running');

    // Its lease still runs: the turn is not taken over (it could be a live process cut off).
    const early = await b.request('/v1/chat/completions', {
      method: 'POST',
      headers: { [HEADER]: id },
      json: { model: MODEL, messages: [{ role: 'user', content: 'too early' }] },
    });
    expect(early.status).toBe(409);
    await sleep(3_000); // the lease lapses

    // No sweep runs for an hour; the request itself finds the lock stale.
    llm.setHandler(null);
    llm.enqueue(fakeReply.text('Taken over.'));
    const next = await b.openai.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'anyone?' }] },
      { headers: { [HEADER]: id } },
    );
    expect(next.choices[0].message.content).toBe('Taken over.');
    const kinds = (await events(b, id)).map((e) => e.kind);
    expect(kinds).toEqual([
      'user_message',
      'interrupted',
      'user_message',
      'llm_response',
      'turn_end',
    ]);
  });

  it('marks the turn of a process that died as interrupted while the others live (periodic sweep)', async () => {
    const [sweeper, victim] = await Promise.all([
      replica('sweeper', { OH_RECOVERY_INTERVAL_S: '1' }),
      replica('victim-2', { OH_LEASE_TTL_S: '2' }),
    ]);
    llm.setHandler(() => fakeReply.hang());
    const dying = victim.request('/v1/chat/completions', {
      method: 'POST',
      json: { model: MODEL, stream: true, messages: [{ role: 'user', content: 'hang' }] },
    });
    const res = await dying;
    const id = res.headers.get(HEADER)!;
    await llm.waitForRequests(1, 20_000);
    victim.kill('SIGKILL');
    await victim.waitForExit();
    await res.body?.cancel().catch(() => undefined);

    // Nobody asks for the conversation: only the sweep can free it.
    await waitFor(
      async () => (await a.json(`/api/conversations/${id}`)).execution_status === 'error',
      20_000,
      'the turn marked error',
    );
    expect((await events(a, id)).at(-1)).toMatchObject({ kind: 'interrupted' });
    expect(sweeper.running).toBe(true);
  });
});
