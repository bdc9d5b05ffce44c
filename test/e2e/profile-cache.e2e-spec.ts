import { DataSource } from 'typeorm';
import { createTestApp, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';

/** Turns reuse a resolved profile for a moment; saving or deleting it must still count at once. */
describe('resolved profiles between turns', () => {
  let t: TestApp;
  let first: FakeLlmServer;
  let second: FakeLlmServer;

  beforeAll(async () => {
    [first, second] = await Promise.all([FakeLlmServer.start(), FakeLlmServer.start()]);
    // Long enough that only an invalidation can explain a new profile being used
    t = await createTestApp({ OH_PROFILE_CACHE_TTL_S: '3600' });
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([first.close(), second.close()]);
  });

  const save = async (baseUrl: string, apiKey: string) => {
    const res = await t.request('/api/profiles/cached', {
      method: 'POST',
      json: { llm: { model: 'openai/gpt-4o-mini', base_url: baseUrl, api_key: apiKey } },
    });
    expect(res.status).toBe(201);
  };
  const turn = () =>
    t.openai.chat.completions.create({
      model: 'openhands_cached',
      messages: [{ role: 'user', content: 'Hello?' }],
    });

  it('uses a re-saved profile (new URL, new key) at the very next turn', async () => {
    await save(first.url, 'sk-first-key-0000');
    first.enqueue(fakeReply.text('one'), fakeReply.text('two'));
    expect((await turn()).choices[0].message.content).toBe('one');
    expect((await turn()).choices[0].message.content).toBe('two');

    await save(second.url, 'sk-second-key-0000');
    second.enqueue(fakeReply.text('three'));
    expect((await turn()).choices[0].message.content).toBe('three');
    expect(first.requests).toHaveLength(2);
    expect(second.requests).toHaveLength(1);
    expect(second.requests[0].headers.authorization).toBe('Bearer sk-second-key-0000');
  });

  it('keeps the profile it resolved while the TTL runs: a change made elsewhere is not read', async () => {
    await save(first.url, 'sk-first-key-0000');
    first.enqueue(fakeReply.text('four'), fakeReply.text('five'));
    expect((await turn()).choices[0].message.content).toBe('four');
    // what a save through another replica does to the row
    await t.app
      .get(DataSource)
      .query(
        `UPDATE llm_profiles SET config = jsonb_set(config, '{base_url}', to_jsonb($1::text))`,
        [second.url],
      );
    expect((await turn()).choices[0].message.content).toBe('five');
    expect(second.requests).toHaveLength(1); // the earlier test's only
  });

  it('answers model_not_found at the very next turn after the profile is deleted', async () => {
    await save(first.url, 'sk-first-key-0000');
    first.enqueue(fakeReply.text('still here'));
    expect((await turn()).choices[0].message.content).toBe('still here');

    expect((await t.request('/api/profiles/cached', { method: 'DELETE' })).status).toBe(200);
    await expect(turn()).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });
});
