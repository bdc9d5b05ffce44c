import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { LLM_PROVIDERS } from '../../src/profiles/llm-providers';
import { ProfilesService } from '../../src/profiles/profiles.service';
import { SecretCipher } from '../../src/profiles/secret-cipher';
import { createTestApp, type TestApp } from '../support/create-test-app';

const PROVIDER_KEY = 'sk-provider-secret-9f8e7d6c5b4a';

interface RawProfile {
  name: string;
  config: Record<string, unknown>;
  api_key_encrypted: string | null;
  created_at: Date;
  updated_at: Date;
}

const save = (t: TestApp, name: string, json: unknown) =>
  t.request(`/api/profiles/${name}`, { method: 'POST', json });

async function rawRows(t: TestApp): Promise<RawProfile[]> {
  return t.app.get(DataSource).query('SELECT * FROM llm_profiles ORDER BY name');
}

async function names(t: TestApp): Promise<string[]> {
  const res = await t.request('/api/profiles');
  return ((await res.json()) as { profiles: { name: string }[] }).profiles.map((p) => p.name);
}

/** A problem+json body with this status. */
async function expectProblem(res: Response, status: number): Promise<Record<string, string>> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return (await res.json()) as Record<string, string>;
}

/** A 400 problem+json body with per-field errors, and the field names it blames. */
async function expectInvalid(res: Response): Promise<string[]> {
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = await res.json();
  expect(body).toMatchObject({ status: 400, title: 'Bad Request', code: expect.any(String) });
  expect(body.errors).toEqual(
    expect.arrayContaining([{ field: expect.any(String), message: expect.any(String) }]),
  );
  return (body.errors as { field: string }[]).map((e) => e.field);
}

describe('profiles', () => {
  let t: TestApp;
  beforeAll(async () => {
    // No OH_SECRET_KEY: the key is derived from the first session key, so no key file appears.
    t = await createTestApp({ OH_SECRET_KEY: '' });
  });
  afterAll(() => t.close());
  afterEach(async () => {
    await t.app.get(DataSource).query('DELETE FROM llm_profiles');
  });

  describe('names', () => {
    it.each([
      ['a leading dot', '.hidden'],
      ['a leading dash', '-dash'],
      ['a leading underscore', '_under'],
      ['a space', 'with%20space'],
      ['an encoded slash', 'a%2Fb'],
      ['a non-ASCII letter', 'caf%C3%A9'],
      ['65 characters', 'a'.repeat(65)],
    ])('refuses %s with 400 and stores nothing', async (_what, name) => {
      const res = await save(t, name, { llm: { model: 'openai/gpt-4o-mini' } });
      expect(await expectInvalid(res)).toEqual(['name']);
      expect(await names(t)).toEqual([]);
      expect(await rawRows(t)).toEqual([]);
    });

    it('accepts the edges of the rule', async () => {
      for (const name of ['a', '9', 'A.b_c-9', 'x'.repeat(64)]) {
        expect((await save(t, name, { llm: { model: 'gpt-4o-mini' } })).status).toBe(201);
      }
      expect(await names(t)).toHaveLength(4);
    });

    it('refuses a bad name on read and delete too', async () => {
      await expectInvalid(await t.request('/api/profiles/-x'));
      await expectInvalid(await t.request('/api/profiles/-x', { method: 'DELETE' }));
    });
  });

  describe('create or overwrite', () => {
    it('creates with 201, then overwrites with 201, keeping created_at', async () => {
      const created = await save(t, 'main', {
        llm: { model: 'openai/gpt-4o-mini', api_key: PROVIDER_KEY, temperature: 0.2 },
      });
      expect(created.status).toBe(201);
      expect(await created.json()).toEqual({
        name: 'main',
        message: "Profile 'main' created.",
        warnings: [],
      });
      const [before] = await rawRows(t);

      await new Promise((resolve) => setTimeout(resolve, 20));
      const updated = await save(t, 'main', {
        llm: { model: 'anthropic/claude-sonnet-4-5-20250929', base_url: 'http://127.0.0.1:9' },
      });
      expect(updated.status).toBe(201);
      expect(await updated.json()).toEqual({
        name: 'main',
        message: "Profile 'main' updated.",
        warnings: [],
      });

      const [after] = await rawRows(t);
      expect(after.created_at.getTime()).toBe(before.created_at.getTime());
      expect(after.updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
      expect(after.config).toEqual({
        model: 'anthropic/claude-sonnet-4-5-20250929',
        base_url: 'http://127.0.0.1:9',
      });
      expect(after.api_key_encrypted).toBeNull(); // the overwrite carried no key
    });

    it('lists profiles sorted by name in code-point order', async () => {
      for (const name of ['zeta', 'beta', 'Alpha', 'a-c', 'ab', '9lives']) {
        await save(t, name, { llm: { model: 'gpt-4o-mini' } });
      }
      expect(await names(t)).toEqual(['9lives', 'Alpha', 'a-c', 'ab', 'beta', 'zeta']);
    });

    it('lists summaries with api_key_set and no secret', async () => {
      await save(t, 'with-key', {
        llm: {
          model: 'openai/gpt-4o',
          api_key: PROVIDER_KEY,
          base_url: 'https://api.example.com/v1',
        },
      });
      await save(t, 'without-key', { llm: { model: 'ollama/llama3' } });
      const res = await t.request('/api/profiles');
      const text = await res.text();
      expect(text).not.toContain(PROVIDER_KEY);
      expect(JSON.parse(text)).toEqual({
        profiles: [
          {
            name: 'with-key',
            model: 'openai/gpt-4o',
            base_url: 'https://api.example.com/v1',
            api_key_set: true,
            created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
            updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          },
          {
            name: 'without-key',
            model: 'ollama/llama3',
            base_url: null,
            api_key_set: false,
            created_at: expect.any(String),
            updated_at: expect.any(String),
          },
        ],
      });
    });

    it('shows one profile with api_key null and api_key_set', async () => {
      const llm = {
        model: 'openai/gpt-4o',
        api_key: PROVIDER_KEY,
        base_url: 'https://api.example.com/v1',
        api_version: '2024-10-21',
        temperature: 0.5,
        top_p: 0.9,
        max_output_tokens: 2048,
        timeout: 60,
        num_retries: 2,
        reasoning_effort: 'high',
        extra_headers: { 'X-Team': 'gateway', 'api-key': 'azure-header-credential' },
        input_cost_per_token: 0.000001,
        output_cost_per_token: 0.000002,
      };
      await save(t, 'full', { llm });
      const res = await t.request('/api/profiles/full');
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).not.toContain(PROVIDER_KEY);
      expect(text).not.toContain('azure-header-credential');
      expect(JSON.parse(text)).toEqual({
        name: 'full',
        config: { ...llm, api_key: null, extra_headers: { 'X-Team': '***', 'api-key': '***' } },
        api_key_set: true,
      });
    });

    it('answers 404 in problem+json for a missing profile', async () => {
      const res = await t.request('/api/profiles/ghost');
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({
        status: 404,
        code: 'profiles.not_found',
        detail: "Profile 'ghost' was not found.",
      });
    });

    it('accepts and ignores fields of the reference server it does not use', async () => {
      const res = await save(t, 'ref', {
        llm: {
          model: 'openai/gpt-4o-mini',
          custom_llm_provider: 'openai',
          drop_params: true,
          modify_params: true,
          disable_vision: false,
          native_tool_calling: null,
          caching_prompt: true,
          log_completions: false,
          usage_id: 'agent',
          aws_region_name: 'eu-west-1',
        },
        some_future_flag: true,
      });
      expect(res.status).toBe(201);
      const [row] = await rawRows(t);
      expect(row.config).toEqual({ model: 'openai/gpt-4o-mini' });
      expect((await (await t.request('/api/profiles/ref')).json()).config).toEqual({
        model: 'openai/gpt-4o-mini',
        api_key: null,
      });
    });

    it.each([
      ['empty', ''],
      ['whitespace-only', ' \t  '],
    ])('treats an %s api_key as no key', async (_what, api_key) => {
      const res = await save(t, 'blank', { llm: { model: 'openai/gpt-4o-mini', api_key } });
      expect(res.status).toBe(201);
      const [row] = await rawRows(t);
      expect(row.api_key_encrypted).toBeNull();
      expect((await (await t.request('/api/profiles/blank')).json()).api_key_set).toBe(false);
    });

    it('stores the profile without its key when include_secrets is false', async () => {
      const res = await save(t, 'no-secrets', {
        llm: { model: 'openai/gpt-4o-mini', api_key: PROVIDER_KEY },
        include_secrets: false,
      });
      expect(res.status).toBe(201);
      const [row] = await rawRows(t);
      expect(row.api_key_encrypted).toBeNull();
      expect(JSON.stringify(row)).not.toContain(PROVIDER_KEY);
      expect((await (await t.request('/api/profiles/no-secrets')).json()).api_key_set).toBe(false);
    });
  });

  describe('validation', () => {
    it.each([
      ['no llm', {}, ['llm']],
      ['no model', { llm: {} }, ['llm.model']],
      ['a non-string model', { llm: { model: 42 } }, ['llm.model']],
      [
        'a temperature out of range',
        { llm: { model: 'gpt-4o', temperature: 5 } },
        ['llm.temperature'],
      ],
      [
        'a base_url that is no URL',
        { llm: { model: 'gpt-4o', base_url: 'not a url' } },
        ['llm.base_url'],
      ],
      [
        'a header value with a line break',
        { llm: { model: 'gpt-4o', extra_headers: { 'X-A': 'a\r\nX-Injected: 1' } } },
        ['llm.extra_headers'],
      ],
      [
        'a non-boolean include_secrets',
        { llm: { model: 'gpt-4o' }, include_secrets: 'yes' },
        ['include_secrets'],
      ],
    ])('refuses %s with 400 naming the field', async (_what, body, fields) => {
      const res = await save(t, 'invalid', body);
      expect(await expectInvalid(res)).toEqual(expect.arrayContaining(fields));
      expect(await rawRows(t)).toEqual([]);
    });

    it('refuses a JSON array body', async () => {
      await expectInvalid(await save(t, 'invalid', [{ llm: { model: 'gpt-4o' } }]));
    });
  });

  describe('providers', () => {
    it('refuses an unsupported provider prefix, naming the supported ones', async () => {
      const res = await save(t, 'bad-provider', { llm: { model: 'frobnicate/model-x' } });
      expect(await expectInvalid(res)).toEqual(['llm.model']);
      const body = await (await save(t, 'bad-provider', { llm: { model: 'frobnicate/x' } })).json();
      expect(body.code).toBe('profiles.unsupported_provider');
      for (const provider of LLM_PROVIDERS) expect(body.detail).toContain(`${provider}/`);
      expect(await rawRows(t)).toEqual([]);
    });

    it('accepts every supported prefix and a bare OpenAI model name', async () => {
      for (const provider of LLM_PROVIDERS) {
        const res = await save(t, `p-${provider}`, { llm: { model: `${provider}/some-model` } });
        expect({ provider, status: res.status }).toEqual({ provider, status: 201 });
      }
      expect((await save(t, 'bare', { llm: { model: 'gpt-4o-mini' } })).status).toBe(201);
    });

    it.each([
      ['antropic/claude-sonnet-4-5', 'anthropic/claude-sonnet-4-5'],
      ['opneai/gpt-4o-mini', 'openai/gpt-4o-mini'],
      ['google/gemini-2.5-flash', 'gemini/gemini-2.5-flash'],
      ['OpenAI/gpt-4o-mini', 'openai/gpt-4o-mini'],
      ['olama/llama3', 'ollama/llama3'],
    ])('answers a mistyped prefix %s with "did you mean %s"', async (model, meant) => {
      const body = await expectProblem(await save(t, 'typo', { llm: { model } }), 400);
      expect(body.code).toBe('profiles.unsupported_provider');
      expect(body.detail).toContain(`Did you mean '${meant}'?`);
      expect(await rawRows(t)).toEqual([]);
    });

    it('suggests nothing for a prefix unlike any provider', async () => {
      const body = await expectProblem(
        await save(t, 'typo', { llm: { model: 'frobnicate/x' } }),
        400,
      );
      expect(body.detail).not.toContain('Did you mean');
    });

    it('stores a bare model name OpenAI does not know, with a warning naming the likely prefix', async () => {
      const res = await save(t, 'bare-claude', { llm: { model: 'claude-sonnet-4-5' } });
      expect(res.status).toBe(201);
      const body = (await res.json()) as { warnings: string[] };
      expect(body.warnings).toEqual([
        expect.stringMatching(
          /not a known OpenAI model.*Did you mean 'anthropic\/claude-sonnet-4-5'\?/,
        ),
      ]);
      expect(await names(t)).toEqual(['bare-claude']);

      const unknown = await (await save(t, 'bare-llama', { llm: { model: 'llama3' } })).json();
      expect(unknown.warnings).toEqual([expect.stringContaining("'ollama/llama3'")]);
      for (const model of ['gpt-4o-mini', 'o3-mini', 'openai/whatever', 'ollama/llama3']) {
        const ok = await (await save(t, 'fine', { llm: { model } })).json();
        expect({ model, warnings: ok.warnings }).toEqual({ model, warnings: [] });
      }
      // Behind its own base_url an OpenAI-compatible server names its models as it likes.
      const own = await save(t, 'own', {
        llm: { model: 'llama3', base_url: 'http://127.0.0.1:9' },
      });
      expect((await own.json()).warnings).toEqual([]);
    });

    it('refuses a prefix with no model after it', async () => {
      await expectInvalid(await save(t, 'empty-model', { llm: { model: 'openai/' } }));
    });
  });

  describe('delete', () => {
    it('is idempotent', async () => {
      await save(t, 'gone', { llm: { model: 'gpt-4o-mini' } });
      const first = await t.request('/api/profiles/gone', { method: 'DELETE' });
      expect(first.status).toBe(200);
      expect(await first.json()).toEqual({ name: 'gone', message: "Profile 'gone' deleted." });
      const second = await t.request('/api/profiles/gone', { method: 'DELETE' });
      expect(second.status).toBe(200);
      expect(await second.json()).toEqual({
        name: 'gone',
        message: "Profile 'gone' did not exist.",
      });
      expect((await t.request('/api/profiles/gone')).status).toBe(404);
      expect(await names(t)).toEqual([]);
    });
  });

  describe('secrets at rest', () => {
    it('keeps no plaintext key in the database row', async () => {
      await save(t, 'enc', { llm: { model: 'openai/gpt-4o', api_key: PROVIDER_KEY } });
      const [row] = await rawRows(t);
      expect(JSON.stringify(row)).not.toContain(PROVIDER_KEY);
      expect(row.config).not.toHaveProperty('api_key');
      expect(row.api_key_encrypted).toMatch(/^v1\.[0-9a-f]{8}\.[\w-]+\.[\w-]+\.[\w-]+$/);
      // ...and the service can still use it
      await expect(t.app.get(ProfilesService).resolve('enc')).resolves.toMatchObject({
        apiKey: PROVIDER_KEY,
      });
    });

    it('never returns the key from any read', async () => {
      await save(t, 'enc', { llm: { model: 'openai/gpt-4o', api_key: PROVIDER_KEY } });
      for (const path of [
        '/api/profiles',
        '/api/profiles/enc',
        '/v1/models',
        '/v1/models/openhands_enc',
      ]) {
        const res = await t.request(path);
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
        expect(await res.text()).not.toContain(PROVIDER_KEY);
      }
    });

    it('detects a tampered ciphertext', async () => {
      await save(t, 'enc', { llm: { model: 'openai/gpt-4o', api_key: PROVIDER_KEY } });
      const [row] = await rawRows(t);
      const parts = row.api_key_encrypted!.split('.');
      parts[4] = (parts[4][0] === 'A' ? 'B' : 'A') + parts[4].slice(1);
      await t.app
        .get(DataSource)
        .query('UPDATE llm_profiles SET api_key_encrypted = $1 WHERE name = $2', [
          parts.join('.'),
          'enc',
        ]);
      await expect(t.app.get(ProfilesService).resolve('enc')).rejects.toMatchObject({
        code: 'secrets.tampered',
        message: expect.stringContaining("'enc'"),
      });
    });

    it("refuses another profile's ciphertext copied into a row", async () => {
      await save(t, 'alice', { llm: { model: 'gpt-4o', api_key: PROVIDER_KEY } });
      await save(t, 'mallory', { llm: { model: 'gpt-4o', api_key: 'sk-mallory' } });
      await t.app.get(DataSource).query(
        `UPDATE llm_profiles SET api_key_encrypted =
             (SELECT api_key_encrypted FROM llm_profiles WHERE name = 'alice') WHERE name = 'mallory'`,
      );
      await expect(t.app.get(ProfilesService).resolve('mallory')).rejects.toMatchObject({
        code: 'secrets.tampered',
      });
    });

    it('gives a clear error for a key stored under a different OH_SECRET_KEY', async () => {
      // The row as an earlier run with another secret key left it.
      const previous = new SecretCipher({
        sessionKeys: [],
        secretKey: 'the-previous-secret-key-0123456789',
        generatedKeyFile: '/nonexistent',
      });
      await save(t, 'rotated', { llm: { model: 'gpt-4o' } });
      await t.app
        .get(DataSource)
        .query('UPDATE llm_profiles SET api_key_encrypted = $1 WHERE name = $2', [
          previous.encrypt(PROVIDER_KEY, 'rotated'),
          'rotated',
        ]);
      const error = await t.app
        .get(ProfilesService)
        .resolve('rotated')
        .catch((err: unknown) => err);
      expect(error).toMatchObject({
        code: 'secrets.key_mismatch',
        message: expect.stringMatching(/'rotated' was encrypted under a different OH_SECRET_KEY/),
      });
      expect(String((error as Error).message)).not.toContain(PROVIDER_KEY);
      // reads that need no key keep working
      expect((await t.request('/api/profiles/rotated')).status).toBe(200);
    });

    it('derives the key from the first session key, writing no key file', () => {
      expect(existsSync(join(t.env.OH_PERSISTENCE_DIR, 'secret.key'))).toBe(false);
    });
  });
});

describe('profiles with a small limit and no configured keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ OH_MAX_PROFILES: '2', OH_SECRET_KEY: '', OH_SESSION_API_KEYS_0: '' });
  });
  afterAll(() => t.close());

  it('generates the secret key file with mode 0600 and encrypts with it', async () => {
    const file = join(t.env.OH_PERSISTENCE_DIR, 'secret.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await save(t, 'keyed', { llm: { model: 'gpt-4o', api_key: PROVIDER_KEY } });
    const [row] = await rawRows(t);
    expect(JSON.stringify(row)).not.toContain(PROVIDER_KEY);
    await expect(t.app.get(ProfilesService).resolve('keyed')).resolves.toMatchObject({
      apiKey: PROVIDER_KEY,
    });
    await t.request('/api/profiles/keyed', { method: 'DELETE' });
  });

  it('answers 409 over the profile limit, still allowing overwrites', async () => {
    expect((await save(t, 'one', { llm: { model: 'gpt-4o' } })).status).toBe(201);
    expect((await save(t, 'two', { llm: { model: 'gpt-4o' } })).status).toBe(201);
    const over = await save(t, 'three', { llm: { model: 'gpt-4o' } });
    expect(over.status).toBe(409);
    expect(await over.json()).toMatchObject({
      status: 409,
      code: 'profiles.limit_reached',
      detail: expect.stringContaining('(2)'),
    });
    expect((await save(t, 'one', { llm: { model: 'gpt-4o-mini' } })).status).toBe(201);
    await t.request('/api/profiles/two', { method: 'DELETE' });
    expect((await save(t, 'three', { llm: { model: 'gpt-4o' } })).status).toBe(201);
    expect(await names(t)).toEqual(['one', 'three']);
  });

  it('holds the limit under concurrent creates', async () => {
    await t.app.get(DataSource).query('DELETE FROM llm_profiles');
    const statuses = await Promise.all(
      ['c1', 'c2', 'c3', 'c4', 'c5'].map(
        async (name) => (await save(t, name, { llm: { model: 'gpt-4o' } })).status,
      ),
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(2);
    expect(statuses.filter((s) => s === 409)).toHaveLength(3);
    expect(await names(t)).toHaveLength(2);
  });

  it('needs no key under open access', async () => {
    expect((await t.request('/api/profiles', { key: null })).status).toBe(200);
  });
});
