import { join } from 'node:path';
import type OpenAI from 'openai';
import { ensureBuilt } from '../support/built-server';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { removeDir, ServerProcess, serverEnv, tempDir } from '../support/server-process';

const MODEL = 'openhands_p';

// Several processes on one database need PostgreSQL (see multi-process.e2e-spec.ts).
const onPostgres = process.env.DATABASE_URL ? describe : describe.skip;

onPostgres('Responses API across server processes on one PostgreSQL', () => {
  let llm: FakeLlmServer;
  let dir: string;
  let db: TestDatabase;
  const servers: ServerProcess[] = [];
  let a: ServerProcess;
  let b: ServerProcess;

  async function replica(name: string, extra: Record<string, string> = {}) {
    const env = serverEnv(join(dir, name), db.env, {
      OH_WORKSPACE_PATH: join(dir, 'workspace'),
      OH_RECOVERY_INTERVAL_S: '3600',
      ...extra,
    });
    const server = await ServerProcess.start(env);
    servers.push(server);
    return server;
  }

  beforeAll(async () => {
    ensureBuilt();
    llm = await FakeLlmServer.start();
    dir = tempDir();
    db = await createTestDatabase();
    a = await replica('a');
    b = await replica('b', { OH_RECOVERY_INTERVAL_S: '1' });
    const res = await a.request('/api/profiles/p', {
      method: 'POST',
      json: {
        llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-replicas-0000' },
      },
    });
    expect(res.status).toBe(201);
  }, 180_000);
  beforeEach(() => {
    llm.reset();
    llm.setHandler(null);
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
    await llm?.close();
    await db?.drop();
    removeDir(dir);
  });

  it('polls and resumes on one process the background response another runs, then continues it there', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    llm.setHandler(async () => {
      await gate;
      return fakeReply.text('Done on A.', { chunks: 3 });
    });
    const started = await a.openai.responses.create({
      model: MODEL,
      input: 'Run on A.',
      background: true,
    });
    await llm.waitForRequests(1, 20_000);
    expect((await b.openai.responses.retrieve(started.id)).status).toBe('in_progress');

    const resumed = await b.openai.responses.retrieve(started.id, {
      stream: true,
      starting_after: 0,
    });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    const reading = (async () => {
      for await (const event of resumed) events.push(event);
    })();
    release();
    await reading;
    expect(events[0]).toMatchObject({ type: 'response.in_progress', sequence_number: 1 });
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)).toMatchObject({
      type: 'response.completed',
      response: { status: 'completed', output_text: 'Done on A.' },
    });

    llm.setHandler(null);
    llm.enqueue(fakeReply.text('Continued on B.'));
    const next = await b.openai.responses.create({
      model: MODEL,
      input: 'Go on, B.',
      previous_response_id: started.id,
    });
    expect(next.conversation?.id).toBe(started.conversation?.id);
    expect(JSON.stringify(llm.requests[1].messages)).toContain('Done on A.');
  });

  it('cancels from one process the background response another runs', async () => {
    llm.setHandler(() => fakeReply.hang());
    const started = await a.openai.responses.create({
      model: MODEL,
      input: 'Hang on A.',
      background: true,
    });
    await llm.waitForRequests(1, 20_000);
    const cancelled = await b.openai.responses.cancel(started.id);
    expect(cancelled.status).toBe('cancelled');
    expect((await a.openai.responses.retrieve(started.id)).status).toBe('cancelled');
  });

  it('ends as failed a background response whose process died', async () => {
    const victim = await replica('victim', { OH_LEASE_TTL_S: '2' }); // its turn lapses in 2 s
    llm.setHandler(() => fakeReply.hang());
    const started = await victim.openai.responses.create({
      model: MODEL,
      input: 'Hang, then die.',
      background: true,
    });
    await llm.waitForRequests(1, 20_000);
    victim.kill('SIGKILL');
    await victim.waitForExit();

    const stream = await a.openai.responses.retrieve(started.id, { stream: true });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types.at(-1)).toBe('response.failed');
    const failed = await a.openai.responses.retrieve(started.id);
    expect(failed.status).toBe('failed');
    expect(failed.error?.message).toMatch(/stopped before it finished/);
  }, 60_000);
});
