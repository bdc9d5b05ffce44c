import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from '../support/built-server';
import type { TestDatabase } from '../support/database';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import {
  persistentDatabase,
  removeDir,
  ServerProcess,
  serverEnv,
  tempDir,
} from '../support/server-process';
import { SseReader } from '../support/sse';
import { processes, waitFor } from '../support/wait';

const HEADER = 'x-openhands-serverconversation-id';
const MODEL = 'openhands_crash';
const SLEEP = 'sleep 30.8181'; // unique, so pgrep finds only this test's command

/**
 * The server is a child process killed with SIGKILL in the middle of a turn: no shutdown hook
 * runs. Runs on both databases: the embedded one on disk (PGLITE_DATA_DIR in a temp dir), or a
 * fresh database on the PostgreSQL server of DATABASE_URL.
 */
describe('crash safety: SIGKILL during a turn', () => {
  let llm: FakeLlmServer;
  let dir: string;
  let db: TestDatabase;
  let env: Record<string, string>;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    ensureBuilt(); // CI builds first; locally this may compile dist/ once
    llm = await FakeLlmServer.start();
    dir = tempDir();
    db = await persistentDatabase(dir);
    // PostgreSQL: the killed process's turn is taken over once its lease lapsed (2 s here)
    env = serverEnv(dir, db.env, { OH_LEASE_TTL_S: '2' });
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    for (const pid of processes(SLEEP)) process.kill(Number(pid), 'SIGKILL'); // orphaned by the kill
    await llm.close();
    await db.drop();
    removeDir(dir);
  });

  it('restarts with profiles, conversations and events intact, the turn `error` + `interrupted`, the lock free', async () => {
    server = await ServerProcess.start(env);
    const profile = {
      llm: {
        model: 'openai/gpt-4o-mini',
        base_url: llm.url,
        api_key: 'sk-crash-test-0000',
        input_cost_per_token: 0.000001,
        output_cost_per_token: 0.000002,
      },
    };
    expect(
      (await server.request('/api/profiles/crash', { method: 'POST', json: profile })).status,
    ).toBe(201);
    expect(
      (await server.request('/api/profiles/other', { method: 'POST', json: profile })).status,
    ).toBe(201);

    // A whole turn first: a tool call, its result, the answer, the LLM calls' usage.
    llm.enqueue(
      fakeReply.toolCall('terminal', { command: 'echo kept > note.txt' }),
      fakeReply.text('Noted.'),
    );
    const first = await server.openai.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'take a note' }] })
      .withResponse();
    const id = first.response.headers.get(HEADER)!;
    expect(first.data.choices[0].message.content).toBe('Noted.');

    // The second turn is inside a tool call when the process dies.
    llm.enqueue(fakeReply.toolCall('terminal', { command: SLEEP }));
    const stream = new SseReader(
      await server.request('/v1/chat/completions', {
        method: 'POST',
        headers: { [HEADER]: id },
        json: { model: MODEL, stream: true, messages: [{ role: 'user', content: 'now wait' }] },
      }),
    );
    await waitFor(() => processes(SLEEP).length > 0, 15_000, 'the tool command running');

    const profilesBefore = await server.json('/api/profiles');
    const conversationBefore = await server.json(`/api/conversations/${id}`);
    const eventsBefore = (await server.json<{ items: Event[] }>(events(id))).items;
    expect(conversationBefore.execution_status).toBe('running');
    expect(eventsBefore.at(-1)).toMatchObject({ kind: 'tool_call' });

    server.kill('SIGKILL');
    expect(await server.waitForExit()).toEqual({ code: null, signal: 'SIGKILL' });
    await stream.readAll().catch(() => undefined); // the connection just ends

    server = await ServerProcess.start(env);

    await waitFor(
      async () => (await server!.json(`/api/conversations/${id}`)).execution_status !== 'running',
      15_000,
      'the interrupted turn recovered',
    );
    expect(await server.json('/api/profiles')).toEqual(profilesBefore);
    expect(await server.json('/api/profiles/crash')).toMatchObject({ api_key_set: true });
    const after = await server.json(`/api/conversations/${id}`);
    expect(after).toMatchObject({
      id,
      execution_status: 'error',
      title: conversationBefore.title,
      stats: conversationBefore.stats, // every LLM call's usage and cost
    });
    const eventsAfter = (await server.json<{ items: Event[] }>(events(id))).items;
    expect(eventsAfter.slice(0, -1)).toEqual(eventsBefore);
    expect(eventsAfter.at(-1)).toMatchObject({
      kind: 'interrupted',
      seq: eventsBefore.at(-1)!.seq + 1,
    });
    expect(readFileSync(join(env.OH_WORKSPACE_PATH, id, 'note.txt'), 'utf8')).toBe('kept\n');

    // The lock is free: the next turn continues the conversation with its whole history.
    llm.enqueue(fakeReply.text('Back again.'));
    const next = await server.openai.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'are you there?' }] },
      { headers: { [HEADER]: id } },
    );
    expect(next.choices[0].message.content).toBe('Back again.');
    const sent = JSON.stringify(llm.lastRequest!.messages);
    expect(sent).toContain('Noted.');
    expect(sent).toContain(SLEEP);
    // the call the crash cut short is answered, so a provider accepts the history
    const cutShort = eventsBefore.at(-1)!.payload.tool_call_id;
    expect(llm.lastRequest!.toolResults).toContainEqual({
      id: cutShort,
      content: expect.stringContaining('interrupted'),
    });
    expect((await server.json(`/api/conversations/${id}`)).execution_status).toBe('finished');
    expect(existsSync(join(env.OH_WORKSPACE_PATH, id))).toBe(true);
  });
});

interface Event {
  id: string;
  seq: number;
  kind: string;
  payload: Record<string, unknown>;
}

const events = (id: string) => `/api/conversations/${id}/events/search?limit=100`;
