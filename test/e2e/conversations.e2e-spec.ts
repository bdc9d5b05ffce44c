import { createTestApp, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';

const HEADER = 'X-OpenHands-ServerConversation-ID';

describe('/api/conversations', () => {
  let t: TestApp;
  let llm: FakeLlmServer;
  const ids: string[] = [];

  beforeAll(async () => {
    llm = await FakeLlmServer.start({ handler: () => fakeReply.text('ok') });
    t = await createTestApp();
    await t.saveProfile('p', { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-x' });
    for (const n of [1, 2, 3, 4, 5]) {
      const res = await t.openai.chat.completions
        .create({
          model: 'openhands_p',
          messages: [{ role: 'user', content: `Conversation number ${n}\nsecond line` }],
        })
        .withResponse();
      ids.push(res.response.headers.get(HEADER)!);
    }
  });
  afterAll(async () => {
    await t.close();
    await llm.close();
  });

  const get = async (path: string) => {
    const res = await t.request(path);
    return { status: res.status, body: await res.json() };
  };

  it('shows a conversation with its title, status, profile, model, workspace and per-usage stats', async () => {
    const { status, body } = await get(`/api/conversations/${ids[0]}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: ids[0],
      title: 'Conversation number 1',
      execution_status: 'finished',
      profile: 'p',
      model: 'openai/gpt-4o-mini',
      workspace: { working_dir: expect.stringContaining(ids[0]) },
      stats: {
        usage_to_metrics: {
          agent: {
            model_name: 'openai/gpt-4o-mini',
            accumulated_cost: expect.any(Number),
            accumulated_token_usage: {
              prompt_tokens: expect.any(Number),
              completion_tokens: expect.any(Number),
              cache_read_tokens: 0,
              cache_write_tokens: 0,
              reasoning_tokens: 0,
            },
          },
        },
      },
    });
  });

  it('pages through the search newest first, then oldest first, and filters by status', async () => {
    const first = await get('/api/conversations/search?limit=2');
    expect(first.body.items.map((c: { id: string }) => c.id)).toEqual([ids[4], ids[3]]);
    const second = await get(
      `/api/conversations/search?limit=2&page_id=${first.body.next_page_id}`,
    );
    expect(second.body.items.map((c: { id: string }) => c.id)).toEqual([ids[2], ids[1]]);
    const last = await get(`/api/conversations/search?limit=2&page_id=${second.body.next_page_id}`);
    expect(last.body.items.map((c: { id: string }) => c.id)).toEqual([ids[0]]);
    expect(last.body.next_page_id).toBeNull();

    const ascending = await get('/api/conversations/search?sort_order=CREATED_AT&limit=100');
    expect(ascending.body.items.map((c: { id: string }) => c.id)).toEqual(ids);
    expect((await get('/api/conversations/search?status=running')).body.items).toEqual([]);
    expect((await get('/api/conversations/search?status=finished')).body.items).toHaveLength(5);
  });

  it('counts conversations, optionally by status, as application/json', async () => {
    const res = await t.request('/api/conversations/count');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toBe(5);
    expect((await get('/api/conversations/count?status=error')).body).toBe(0);
  });

  it('reads several conversations at once, in the order asked, null for a missing one', async () => {
    const missing = '7f1c2b4e-0000-4000-8000-000000000000';
    const { status, body } = await get(
      `/api/conversations?ids=${ids[3]}&ids=${missing}&ids=${ids[0].toUpperCase()}`,
    );
    expect(status).toBe(200);
    expect(body).toEqual([
      expect.objectContaining({ id: ids[3], title: 'Conversation number 4' }),
      null,
      expect.objectContaining({
        id: ids[0],
        stats: { usage_to_metrics: { agent: expect.any(Object) } },
      }),
    ]);
    const commas = await get(`/api/conversations?ids=${ids[1]},${ids[2]}`);
    expect(commas.body.map((c: { id: string }) => c.id)).toEqual([ids[1], ids[2]]);
  });

  it("answers the latest turn's final answer as the reference's agent_final_response", async () => {
    expect(await get(`/api/conversations/${ids[1]}/agent_final_response`)).toEqual({
      status: 200,
      body: { response: 'ok' },
    });
  });

  it('pages through the event log oldest first and filters by kind', async () => {
    const all = await get(`/api/conversations/${ids[1]}/events/search`);
    expect(all.body.items.map((e: { kind: string }) => e.kind)).toEqual([
      'user_message',
      'llm_response',
      'turn_end',
    ]);
    expect(all.body.items.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3]);
    const page = await get(`/api/conversations/${ids[1]}/events/search?limit=1`);
    expect(page.body.items).toHaveLength(1);
    const next = await get(
      `/api/conversations/${ids[1]}/events/search?limit=1&page_id=${page.body.next_page_id}`,
    );
    expect(next.body.items[0].kind).toBe('llm_response');
    const ends = await get(`/api/conversations/${ids[1]}/events/search?kind=turn_end`);
    expect(ends.body.items[0].payload).toMatchObject({
      reason: 'stop',
      status: 'finished',
      answer: 'ok',
      usage: expect.any(Object),
    });
  });

  it('answers malformed ids 400, unknown ids 404, bad queries 400, in problem+json', async () => {
    for (const [path, status] of [
      ['/api/conversations/not-a-uuid', 400],
      ['/api/conversations/7f1c2b4e-0000-4000-8000-000000000000', 404],
      ['/api/conversations/7f1c2b4e-0000-4000-8000-000000000000/events/search', 404],
      ['/api/conversations/search?limit=0', 400],
      ['/api/conversations/search?limit=101', 400],
      ['/api/conversations/search?status=sleeping', 400],
      ['/api/conversations/search?page_id=7f1c2b4e-0000-4000-8000-000000000000', 400],
      [`/api/conversations/${ids[0]}/events/search?kind=gossip`, 400],
      [`/api/conversations/${ids[0]}/events/search?page_id=abc`, 400],
      ['/api/conversations/7f1c2b4e-0000-4000-8000-000000000000/agent_final_response', 404],
      ['/api/conversations/nope/agent_final_response', 400],
      ['/api/conversations', 400],
      ['/api/conversations?ids=nope', 400],
      [`/api/conversations?${Array.from({ length: 100 }, () => `ids=${ids[0]}`).join('&')}`, 400],
    ] as const) {
      const res = await t.request(path);
      expect({ path, status: res.status }).toEqual({ path, status });
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect((await res.json()).detail).toEqual(expect.any(String));
    }
  });

  it('cancels nothing when no turn runs; deletes once (200), then the conversation is gone (404)', async () => {
    const cancel = await t.request(`/api/conversations/${ids[2]}/cancel`, { method: 'POST' });
    expect(await cancel.json()).toEqual({
      success: true,
      cancelled: false,
      execution_status: 'finished',
    });
    expect((await t.request(`/api/conversations/${ids[2]}`, { method: 'DELETE' })).status).toBe(
      200,
    );
    expect((await t.request(`/api/conversations/${ids[2]}`, { method: 'DELETE' })).status).toBe(
      404,
    );
    expect((await t.request(`/api/conversations/${ids[2]}/events/search`)).status).toBe(404);
    ids.splice(2, 1);
    expect((await get('/api/conversations/count')).body).toBe(4);
  });
});
