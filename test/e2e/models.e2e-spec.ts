import OpenAI from 'openai';
import { DataSource } from 'typeorm';
import { createTestApp, TEST_KEY, type TestApp } from '../support/create-test-app';

describe('profiles and models', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const save = (name: string, model = 'openai/gpt-4o-mini') =>
    t.request(`/api/profiles/${name}`, {
      method: 'POST',
      json: { llm: { model, api_key: 'sk-x' } },
    });

  it('lists a stored profile as an OpenAI model', async () => {
    const saved = await save('demo');
    expect(saved.status).toBe(201);
    const models = await t.openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['openhands_demo']);
  });

  it('lists every profile, sorted by id, in the OpenAI shape', async () => {
    await save('zz-last');
    await save('Alpha', 'anthropic/claude-sonnet-4-5-20250929');
    const [row] = await t.app
      .get(DataSource)
      .query<{ created_at: Date }[]>(`SELECT created_at FROM llm_profiles WHERE name = 'demo'`);

    const res = await t.request('/v1/models');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      object: 'list',
      data: [
        {
          id: 'openhands_Alpha',
          object: 'model',
          created: expect.any(Number),
          owned_by: 'openhands',
        },
        {
          id: 'openhands_demo',
          object: 'model',
          created: Math.floor(row.created_at.getTime() / 1000),
          owned_by: 'openhands',
        },
        {
          id: 'openhands_zz-last',
          object: 'model',
          created: expect.any(Number),
          owned_by: 'openhands',
        },
      ],
    });
  });

  it('works with the official client over Bearer and over X-Session-API-Key', async () => {
    const bearer = new OpenAI({ apiKey: TEST_KEY, baseURL: `${t.url}/v1`, maxRetries: 0 });
    const sessionHeader = new OpenAI({
      apiKey: 'not-the-key', // sent as Bearer; the session header is the one that counts
      baseURL: `${t.url}/v1`,
      maxRetries: 0,
      defaultHeaders: { 'X-Session-API-Key': TEST_KEY },
    });
    for (const client of [bearer, sessionHeader]) {
      const ids: string[] = [];
      for await (const model of client.models.list()) ids.push(model.id);
      expect(ids).toEqual(['openhands_Alpha', 'openhands_demo', 'openhands_zz-last']);
      await expect(client.models.retrieve('openhands_demo')).resolves.toMatchObject({
        id: 'openhands_demo',
        object: 'model',
        owned_by: 'openhands',
      });
    }
  });

  it.each([
    ['an unknown profile', 'openhands_nobody'],
    ['the bare prefix', 'openhands_'],
    ['a name outside the gateway', 'gpt-4o'],
    ['the profile name without prefix', 'demo'],
  ])('answers 404 model_not_found for %s', async (_what, id) => {
    const error = await t.openai.models.retrieve(id).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found', type: 'not_found_error' });
    const res = await t.request(`/v1/models/${encodeURIComponent(id)}`);
    expect(await res.json()).toEqual({
      error: {
        message: expect.stringContaining(id),
        type: 'not_found_error',
        param: 'model',
        code: 'model_not_found',
      },
    });
  });

  it('names the models that exist in the 404, the one meant first', async () => {
    const chat = await t.openai.chat.completions
      .create({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] })
      .catch((err: unknown) => err);
    expect(chat).toMatchObject({ status: 404, code: 'model_not_found' });
    const message = (chat as Error).message;
    expect(message).toContain("Did you mean 'openhands_demo'?");
    for (const id of ['openhands_Alpha', 'openhands_demo', 'openhands_zz-last'])
      expect(message).toContain(`'${id}'`);

    const typo = await t.request('/v1/models/openhands_nobody');
    const { error } = (await typo.json()) as { error: { message: string } };
    expect(error.message).toMatch(
      /^The model 'openhands_nobody' does not exist\. Models: 'openhands_Alpha', 'openhands_demo', 'openhands_zz-last' \(GET \/v1\/models\)\.$/,
    );
  });

  it('drops a deleted profile from the models', async () => {
    await t.request('/api/profiles/zz-last', { method: 'DELETE' });
    const models = await t.openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['openhands_Alpha', 'openhands_demo']);
    await expect(t.openai.models.retrieve('openhands_zz-last')).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
  });
});
