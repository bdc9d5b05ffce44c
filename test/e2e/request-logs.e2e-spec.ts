import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import type { TestDatabase } from '../support/database';
import {
  persistentDatabase,
  removeDir,
  serverEnv,
  ServerProcess,
  tempDir,
} from '../support/server-process';
import { waitFor } from '../support/wait';

type LogLine = Record<string, unknown>;

/**
 * The real process's JSON log lines: every line written while serving a chat request carries the
 * request's id and, once the turn's conversation is known, the conversation's id.
 */
describe('request logs', () => {
  let dir: string;
  let db: TestDatabase;
  let llm: FakeLlmServer;
  let server: ServerProcess;

  beforeAll(async () => {
    dir = tempDir();
    db = await persistentDatabase(dir);
    llm = await FakeLlmServer.start();
    server = await ServerProcess.start(serverEnv(dir, db.env, { LOG_LEVEL: 'info' }));
    const res = await server.request('/api/profiles/logged', {
      method: 'POST',
      json: { llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-logged-0000' } },
    });
    expect(res.status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await llm?.close();
    await db?.drop();
    removeDir(dir);
  });

  const lines = (): LogLine[] =>
    server.output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);

  it.each([false, true])(
    'tags each line of a chat request (stream: %s) with request_id and conversation_id',
    async (stream) => {
      // a failed first attempt makes the LLM client log a retry warning inside the request
      llm.enqueue(
        fakeReply.error(503, 'busy'),
        fakeReply.toolCall('think', { thought: 'plan' }),
        fakeReply.text('Done.'),
      );
      const requestId = `req-logs-${stream ? 'stream' : 'plain'}`;
      const res = await server.request('/v1/chat/completions', {
        method: 'POST',
        headers: { 'X-Request-ID': requestId },
        json: { model: 'openhands_logged', messages: [{ role: 'user', content: 'Go.' }], stream },
      });
      expect(res.status).toBe(200);
      await res.text();
      const conversationId = res.headers.get('x-openhands-serverconversation-id');
      expect(conversationId).toMatch(/^[0-9a-f-]{36}$/);

      const ofRequest = () => lines().filter((l) => l.request_id === requestId);
      await waitFor(() => ofRequest().some((l) => l.msg === 'request completed'), 5_000);
      const mine = ofRequest();
      expect(mine.map((l) => l.msg)).toEqual(
        expect.arrayContaining([
          expect.stringContaining('retry 1/'),
          'Turn ended',
          'request completed',
        ]),
      );
      for (const line of mine) {
        expect({ msg: line.msg, conversation_id: line.conversation_id }).toEqual({
          msg: line.msg,
          conversation_id: conversationId,
        });
      }
      // the lines of this turn that name its conversation are all lines of this request
      const ofConversation = lines().filter((l) => l.conversation_id === conversationId);
      expect(ofConversation.every((l) => l.request_id === requestId)).toBe(true);
      expect(mine.find((l) => l.msg === 'Turn ended')).toMatchObject({
        reason: 'stop',
        status: 'finished',
        duration_ms: expect.any(Number),
      });
    },
  );
});
