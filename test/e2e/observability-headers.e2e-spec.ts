import { createTestApp, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';

const SPAN = 'X-OpenHands-Observability-Span-Name';
const TAGS = 'X-OpenHands-Observability-Tags';
const METADATA = 'X-OpenHands-Observability-Metadata';

/** The reference's observability headers, validated as it validates them; 400 in our shapes. */
describe('observability headers', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    llm = await FakeLlmServer.start({ handler: () => fakeReply.text('ok') });
    t = await createTestApp();
    await t.saveProfile('p', { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-x' });
  });
  afterAll(async () => {
    await t.close();
    await llm.close();
  });

  const chat = (headers: Record<string, string>) =>
    t.request('/v1/chat/completions', {
      method: 'POST',
      headers,
      json: { model: 'openhands_p', messages: [{ role: 'user', content: 'hi' }] },
    });

  it.each([
    ['a span name with a space', { [SPAN]: 'my span' }, SPAN],
    ['a span name of 129 characters', { [SPAN]: 'a'.repeat(129) }, SPAN],
    ['a span name with a non-ASCII letter', { [SPAN]: 'café' }, SPAN],
    ['metadata that is not JSON', { [METADATA]: '{run: 1}' }, METADATA],
    ['metadata that is a list', { [METADATA]: '[1,2]' }, METADATA],
    ['metadata that is null', { [METADATA]: 'null' }, METADATA],
    ['metadata with a nested object', { [METADATA]: '{"nested":{"bad":true}}' }, METADATA],
    ['metadata with a null value', { [METADATA]: '{"a":null}' }, METADATA],
    ['metadata with a mixed list', { [METADATA]: '{"scores":[1,1.5]}' }, METADATA],
    ['metadata with a list of strings and numbers', { [METADATA]: '{"ids":["a",1]}' }, METADATA],
    ['metadata with an empty key', { [METADATA]: '{"":"x"}' }, METADATA],
  ])('refuses %s with 400 in the OpenAI shape on /v1', async (_what, headers, header) => {
    const res = await chat(headers);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        message: expect.stringContaining(header),
        type: 'invalid_request_error',
        param: header,
        code: 'invalid_observability_header',
      },
    });
    expect(llm.requests).toHaveLength(0); // refused before any turn ran
  });

  it('refuses a bad header with 400 problem+json on /api routes', async () => {
    const res = await t.request('/api/profiles', { headers: { [SPAN]: 'no spaces allowed' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({
      status: 400,
      code: 'request.invalid_observability_header',
      detail: expect.stringContaining(SPAN),
    });
  });

  it('checks the key first: an unauthenticated request is 401 whatever its headers', async () => {
    const res = await t.request('/v1/models', { key: null, headers: { [SPAN]: 'bad name' } });
    expect(res.status).toBe(401);
  });

  it('accepts what the reference accepts', async () => {
    const res = await chat({
      [SPAN]: `nightly:triage/v2.${'x'.repeat(128 - 'nightly:triage/v2.'.length)}`,
      [TAGS]: ' repo, nightly,, ',
      [METADATA]: JSON.stringify({
        run: 42,
        ratio: 0.5,
        repo: 'acme/api',
        ok: false,
        ids: [1, 2],
        names: ['a', 'b'],
        flags: [true],
        empty: [],
      }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).choices[0].message.content).toBe('ok');
    // blank headers are no headers
    expect((await chat({ [SPAN]: '', [TAGS]: '', [METADATA]: '' })).status).toBe(200);
  });
});
