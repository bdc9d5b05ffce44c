import { createTestApp, type TestApp } from '../support/create-test-app';

describe('profiles and models', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('lists a stored profile as an OpenAI model', async () => {
    const saved = await t.request('/api/profiles/demo', {
      method: 'POST',
      json: { llm: { model: 'openai/gpt-4o-mini', api_key: 'sk-x' } },
    });
    expect(saved.status).toBe(201);
    const models = await t.openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['openhands_demo']);
  });
});
