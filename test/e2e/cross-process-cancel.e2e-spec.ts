import { createTestApp, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { SseReader } from '../support/sse';

const HEADER = 'x-openhands-serverconversation-id';

// Two replicas share one PostgreSQL; the embedded database belongs to a single process, so this
// runs in CI's PostgreSQL pass (DATABASE_URL set), where every other suite runs too.
const onPostgres = process.env.DATABASE_URL ? describe : describe.skip;

onPostgres('cancel through another replica', () => {
  let a: TestApp;
  let b: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    a = await createTestApp();
    b = await createTestApp({ DATABASE_URL: a.env.DATABASE_URL });
    await a.saveProfile('p', { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-x' });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    await llm.close();
  });

  it('stops a turn running on replica A when replica B is asked to cancel it', async () => {
    llm.enqueue(fakeReply.toolCall('terminal', { command: 'sleep 60.5151' }));
    const res = await a.request('/v1/chat/completions', {
      method: 'POST',
      json: { model: 'openhands_p', stream: true, messages: [{ role: 'user', content: 'sleep' }] },
    });
    const id = res.headers.get(HEADER)!;
    const sse = new SseReader(res);
    await sse.until((lines) => lines.some((l) => l.includes('sleep 60.5151')));

    const cancel = await (
      await b.request(`/api/conversations/${id}/cancel`, { method: 'POST' })
    ).json();
    expect(cancel).toEqual({ success: true, cancelled: true, execution_status: 'cancelled' });
    await sse.readAll();
    expect(sse.lines.at(-1)).toBe('data: [DONE]');
  });
});
