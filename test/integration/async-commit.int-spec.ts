import { DataSource } from 'typeorm';
import { createTestApp, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';

/**
 * The turn path commits some writes asynchronously (`synchronous_commit` off for that one
 * transaction). The setting must never outlive its statement: every other write of the service
 * (profiles, the turn's end) keeps committing synchronously on every pooled connection.
 */
describe('asynchronous commits on the turn path', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    t = await createTestApp();
    const res = await t.request('/api/profiles/p', {
      method: 'POST',
      json: { llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-test-0000' } },
    });
    expect(res.status).toBe(201);
  });
  afterAll(async () => {
    await t.close();
    await llm.close();
  });

  it('records every turn and leaves synchronous_commit on for every connection', async () => {
    const turns = 30;
    llm.setHandler((req) =>
      req.toolResults.length === 0
        ? fakeReply.toolCall('think', { thought: `planning ${req.lastUserText}` })
        : fakeReply.text(`done: ${req.lastUserText}`),
    );
    const ids = await Promise.all(
      Array.from({ length: turns }, async (_, i) => {
        const { data, response } = await t.openai.chat.completions
          .create({ model: 'openhands_p', messages: [{ role: 'user', content: `task ${i}` }] })
          .withResponse();
        expect(data.choices[0].message.content).toBe(`done: task ${i}`);
        return response.headers.get('x-openhands-serverconversation-id')!;
      }),
    );

    const ds = t.app.get(DataSource);
    const kinds = await ds.query<{ kinds: string }[]>(
      `SELECT string_agg(kind, ',' ORDER BY seq) AS kinds FROM conversation_events
       WHERE conversation_id = ANY($1::uuid[]) GROUP BY conversation_id`,
      [ids],
    );
    expect(kinds).toHaveLength(turns);
    for (const { kinds: log } of kinds) {
      expect(log).toBe('user_message,llm_response,tool_call,tool_result,llm_response,turn_end');
    }
    const status = await ds.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM conversations
       WHERE id = ANY($1::uuid[]) AND execution_status = 'finished' AND run_owner IS NULL`,
      [ids],
    );
    expect(status[0].n).toBe(turns);

    // Held concurrently, these occupy every connection of the pool (one on the embedded database).
    const settings = await Promise.all(
      Array.from({ length: 20 }, () =>
        ds.query<{ value: string }[]>(
          "SELECT current_setting('synchronous_commit') AS value FROM pg_sleep(0.05)",
        ),
      ),
    );
    expect(new Set(settings.map((rows) => rows[0].value))).toEqual(new Set(['on']));
  });
});
