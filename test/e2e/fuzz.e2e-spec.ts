import { existsSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { createTestApp, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';

/**
 * Property-based bad input (issue 5, item 5): generated bodies, names and headers against
 * `POST /v1/chat/completions` and `POST /api/profiles/{name}`. Whatever arrives, the answer is never
 * a 5xx, it has the route family's error shape, and a 4xx leaves no trace: no row changed in any
 * table, no workspace, no request to the LLM. Deterministic: a fixed seed (fast-check prints it,
 * with the failing input's path, when a property fails; FUZZ_SEED replays another one).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed2026);
const RUNS = 1000;
const PROFILE = 'fuzz';
const MODEL = `openhands_${PROFILE}`;

// ---------------------------------------------------------------------------------------------
// Values

/** `{"__proto__": …}` as an own property (an object literal would set the prototype instead). */
const ownKey = (key: string, value: unknown): Record<string, unknown> =>
  Object.defineProperty({}, key, { value, enumerable: true, writable: true, configurable: true });

/** An object or array nested `depth` levels deep. */
const deep = (depth: number, kind: 'array' | 'object'): unknown => {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
};

/** The wire form; a mutation that removed the whole body leaves an empty one. */
const serialize = (body: unknown) => JSON.stringify(body) ?? '';

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];

/** Values that are the wrong thing for almost any field. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -0,
    -1,
    1.5,
    1e308,
    -1e308,
    2 ** 53 + 2,
    'NaN',
    'Infinity',
    '-Infinity',
    '1e999',
    '0x1f',
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\u202e\u0301',
    'null',
    'undefined',
    '💥'.repeat(64),
    'x'.repeat(100_000),
    [],
    {},
    [null],
    [[]],
    [{}],
    { length: 1e9 },
    ownKey('__proto__', { polluted: true }),
    ownKey('constructor', { prototype: { polluted: true } }),
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 40 }),
  fc.string({ maxLength: 20, unit: 'binary' }),
  fc.jsonValue({ maxDepth: 3 }),
  fc
    .constantFrom(...PROTOTYPE_KEYS)
    .chain((key) => fc.jsonValue({ maxDepth: 2 }).map((value) => ownKey(key, value))),
  fc
    .tuple(fc.integer({ min: 20, max: 160 }), fc.constantFrom('array', 'object'))
    .map(([d, k]) => deep(d, k)),
);

/** Sets `path` (`a.b[0].c`-ish, as segments) in a copy of `base`; `undefined` removes the field. */
function withField(base: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const container = (
    Array.isArray(base)
      ? [...(base as unknown[])]
      : typeof base === 'object' && base !== null
        ? { ...(base as Record<string, unknown>) }
        : typeof head === 'number'
          ? []
          : {}
  ) as Record<string | number, unknown>;
  const child = withField(container[head], rest, value);
  if (child === undefined && !Array.isArray(container)) delete container[head];
  else Object.defineProperty(container, head, { value: child, enumerable: true, writable: true });
  return container;
}

/** A valid body with one field (or a few) set to something wrong, or removed, or added. */
function nearValid(
  valid: fc.Arbitrary<unknown>,
  paths: (string | number)[][],
): fc.Arbitrary<unknown> {
  const mutation = fc.tuple(
    fc.constantFrom(...paths),
    fc.oneof({ weight: 6, arbitrary: weird }, { weight: 1, arbitrary: fc.constant(undefined) }),
  );
  return fc
    .tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([body, mutations]) => mutations.reduce((b, [path, v]) => withField(b, path, v), body));
}

/** Whatever a client could put on the wire as a body. */
const garbage: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.string({ maxLength: 50, unit: 'binary' }),
  fc.constantFrom(
    '',
    '{',
    '{"model": ',
    '[]',
    'null',
    '{"__proto__": {"polluted": true}}',
    '{"constructor": {"prototype": {"polluted": true}}}',
    '{"model": "x", "messages": [{"role": "user", "content": "hi"}]}}',
    '\u0000\u0001\u0002',
    '{"a":1,"a":2}',
  ),
);

/** Printable ASCII header values (fetch refuses anything else before it leaves the test). */
const headerValue = fc.oneof(
  fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,80}$/),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.uuid(),
  fc.constantFrom('reasoning', 'think', 'none', 'REASONING', 'x'.repeat(300)),
);

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; boundary=',
];

const headers = (names: readonly string[]) =>
  fc.record(
    {
      contentType: fc.oneof(
        { weight: 8, arbitrary: fc.constant('application/json') },
        { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      ),
      extra: fc.dictionary(fc.constantFrom(...names), headerValue, { maxKeys: 2 }),
    },
    { requiredKeys: ['contentType', 'extra'] },
  );

// ---------------------------------------------------------------------------------------------
// Chat completion bodies

const text = fc.oneof(
  fc.constantFrom('hi', 'list the files', 'print ok'),
  fc.string({ minLength: 1, maxLength: 30 }),
);
const validMessage = fc.oneof(
  fc.record({ role: fc.constantFrom('user', 'assistant', 'system', 'developer'), content: text }),
  fc.record({
    role: fc.constant('user'),
    content: fc.array(
      fc.oneof(
        fc.record({ type: fc.constant('text'), text }),
        fc.record({
          type: fc.constant('image_url'),
          image_url: fc.record({ url: fc.constant('data:image/png;base64,iVBORw0KGgo=') }),
        }),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  }),
);
const validChat: fc.Arbitrary<unknown> = fc
  .record(
    {
      model: fc.constant(MODEL),
      messages: fc
        .array(validMessage, { maxLength: 4 })
        .map((ms) => [...ms, { role: 'user', content: 'say done' }]),
      stream: fc.boolean(),
      stream_options: fc.record({ include_usage: fc.boolean() }),
      temperature: fc.double({ min: 0, max: 2, noNaN: true }),
      top_p: fc.double({ min: 0, max: 1, noNaN: true }),
      max_tokens: fc.integer({ min: 1, max: 4096 }),
      seed: fc.integer(),
      stop: fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 4 })),
      n: fc.constant(1),
      user: fc.string({ maxLength: 20 }),
      metadata: fc.dictionary(fc.constantFrom('conversation_id', 'chat_id', 'x'), fc.string()),
      tools: fc.constant([{ type: 'function', function: { name: 'f', parameters: {} } }]),
      frequency_penalty: fc.double({ noNaN: true }),
    },
    { requiredKeys: ['model', 'messages'] },
  )
  .map((body) => body as unknown);

const CHAT_PATHS: (string | number)[][] = [
  [],
  ['model'],
  ['messages'],
  ['messages', 0],
  ['messages', 0, 'role'],
  ['messages', 0, 'content'],
  ['messages', 0, 'content', 0],
  ['messages', 0, 'content', 0, 'type'],
  ['messages', 0, 'content', 0, 'text'],
  ['messages', 0, 'content', 0, 'image_url'],
  ['messages', 0, 'content', 0, 'image_url', 'url'],
  ['messages', 0, 'name'],
  ['messages', 0, 'tool_calls'],
  ['messages', 0, 'tool_call_id'],
  ['messages', 0, '__proto__'],
  ['stream'],
  ['stream_options'],
  ['stream_options', 'include_usage'],
  ['temperature'],
  ['top_p'],
  ['max_tokens'],
  ['max_completion_tokens'],
  ['seed'],
  ['stop'],
  ['n'],
  ['user'],
  ['metadata'],
  ['metadata', 'conversation_id'],
  ['tools'],
  ['response_format'],
  ['__proto__'],
  ['constructor'],
  ['prototype'],
];

const CHAT_HEADERS = [
  'X-OpenHands-ServerConversation-ID',
  'X-OpenWebUI-Chat-Id',
  'X-Conversation-Id',
  'X-Chat-Id',
  'X-OpenHands-Progress',
  'X-Request-ID',
];

// ---------------------------------------------------------------------------------------------
// Profile bodies and names

const validProfile: fc.Arbitrary<unknown> = fc
  .record(
    {
      llm: fc.record(
        {
          model: fc.constantFrom('openai/gpt-4o-mini', 'gpt-4o', 'anthropic/claude-sonnet-4-5'),
          api_key: fc.constantFrom('sk-fuzz-0123456789', 'k'),
          base_url: fc.constantFrom('http://127.0.0.1:9/v1', 'https://api.example.com'),
          api_version: fc.constant('2024-10-21'),
          temperature: fc.double({ min: 0, max: 2, noNaN: true }),
          top_p: fc.double({ min: 0, max: 1, noNaN: true }),
          max_output_tokens: fc.integer({ min: 1, max: 100_000 }),
          max_input_tokens: fc.integer({ min: 1024, max: 1_000_000 }),
          timeout: fc.integer({ min: 1, max: 600 }),
          num_retries: fc.integer({ min: 0, max: 10 }),
          reasoning_effort: fc.constantFrom('low', 'medium', 'high'),
          extra_headers: fc.dictionary(
            fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/),
            fc.stringMatching(/^[\x20-\x7e]{0,30}$/),
            { maxKeys: 2 },
          ),
          input_cost_per_token: fc.double({ min: 0, max: 1, noNaN: true }),
          output_cost_per_token: fc.double({ min: 0, max: 1, noNaN: true }),
        },
        { requiredKeys: ['model'] },
      ),
      include_secrets: fc.boolean(),
    },
    { requiredKeys: ['llm'] },
  )
  .map((body) => body as unknown);

const PROFILE_PATHS: (string | number)[][] = [
  [],
  ['llm'],
  ...[
    'model',
    'api_key',
    'base_url',
    'api_version',
    'temperature',
    'top_p',
    'max_output_tokens',
    'max_input_tokens',
    'timeout',
    'num_retries',
    'reasoning_effort',
    'extra_headers',
    'input_cost_per_token',
    'output_cost_per_token',
    '__proto__',
    'constructor',
  ].map((field) => ['llm', field]),
  ['llm', 'extra_headers', 'X-Fuzz'],
  ['llm', 'extra_headers', 'Bad Header\r\n'],
  ['include_secrets'],
  ['__proto__'],
  ['constructor'],
];

/** A small pool of valid names (so saves overwrite instead of piling up) and every kind of bad one. */
const profileName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('alpha', 'b-2', 'C.3', 'd_4', '9', 'x'.repeat(64)) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.string({ maxLength: 70 }),
      fc.string({ maxLength: 10, unit: 'binary' }),
      fc.constantFrom(
        '-lead',
        '.hidden',
        '_x',
        'x'.repeat(65),
        '..',
        '../etc',
        'a/b',
        'a b',
        '__proto__',
        'constructor',
        'ünïcödé',
        'null',
        '%00',
      ),
    ),
  },
);

// ---------------------------------------------------------------------------------------------

interface Snapshot {
  /** Rows inserted, updated or deleted in any table so far (counted by triggers). */
  writes: number;
  llmRequests: number;
  workspaces: number;
}

const TABLES = [
  'llm_profiles',
  'conversations',
  'conversation_events',
  'conversation_aliases',
  'llm_calls',
];

/** Test-only: a trigger on every table counts each row written, so "nothing stored" is one read. */
async function countWrites(db: DataSource): Promise<void> {
  await db.query('CREATE TABLE fuzz_writes (n bigint NOT NULL)');
  await db.query('INSERT INTO fuzz_writes VALUES (0)');
  await db.query(
    `CREATE FUNCTION fuzz_count_write() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN UPDATE fuzz_writes SET n = n + 1; RETURN NULL; END $$`,
  );
  for (const table of TABLES) {
    await db.query(
      `CREATE TRIGGER fuzz_count AFTER INSERT OR UPDATE OR DELETE ON "${table}"
       FOR EACH ROW EXECUTE FUNCTION fuzz_count_write()`,
    );
  }
}

describe('fuzz: bad input', () => {
  let t: TestApp;
  let llm: FakeLlmServer;
  let db: DataSource;
  let workspaceRoot: string;
  let conversationId: string;
  const statuses = new Map<string, Map<number, number>>();

  /** Everything a request could leave behind. */
  async function snapshot(): Promise<Snapshot> {
    const [row] = await db.query<{ n: number }[]>('SELECT n::int AS n FROM fuzz_writes');
    return {
      writes: row.n,
      llmRequests: llm.requests.length,
      // the root itself appears with the first workspace a tool needs
      workspaces: existsSync(workspaceRoot) ? readdirSync(workspaceRoot).length : 0,
    };
  }

  function count(route: string, status: number) {
    const byStatus = statuses.get(route) ?? new Map<number, number>();
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    statuses.set(route, byStatus);
  }

  /** Sends one request and checks the invariants; returns the status. */
  async function probe(
    route: string,
    path: string,
    body: string,
    sent: { contentType: string; extra: Record<string, string> },
  ): Promise<number> {
    const before = await snapshot();
    const res = await t.request(path, {
      method: 'POST',
      body,
      headers: { ...sent.extra, 'Content-Type': sent.contentType },
    });
    const raw = await res.text();
    count(route, res.status);
    const context = { path, body: body.slice(0, 300), headers: sent, status: res.status };

    expect({ ...context, serverError: res.status >= 500 }).toEqual({
      ...context,
      serverError: false,
    });
    if (res.status >= 400) {
      const parsed: unknown = JSON.parse(raw);
      if (path.startsWith('/v1')) {
        const { error } = parsed as { error: { param: unknown } };
        expect(error).toEqual({
          message: expect.any(String),
          type: expect.any(String),
          param: typeof error.param === 'string' ? error.param : null,
          code: expect.any(String),
        });
      } else {
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(parsed).toMatchObject({ status: res.status, code: expect.any(String) });
      }
      expect({ ...context, after: await snapshot() }).toEqual({ ...context, after: before });
    }
    return res.status;
  }

  beforeAll(async () => {
    llm = await FakeLlmServer.start({ handler: () => fakeReply.text('done') });
    t = await createTestApp();
    db = t.app.get(DataSource);
    await countWrites(db);
    workspaceRoot = t.env.OH_WORKSPACE_PATH;
    const saved = await t.request(`/api/profiles/${PROFILE}`, {
      method: 'POST',
      json: { llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-fuzz-llm' } },
    });
    expect(saved.status).toBe(201);
    const first = await t.request('/v1/chat/completions', {
      method: 'POST',
      json: { model: MODEL, messages: [{ role: 'user', content: 'start' }] },
    });
    expect(first.status).toBe(200);
    conversationId = first.headers.get('x-openhands-serverconversation-id')!;
    await first.text();
  });

  afterAll(async () => {
    // What the generators reached, for whoever tunes them
    const summary = [...statuses].map(
      ([route, byStatus]) =>
        `${route}: ${[...byStatus]
          .sort(([a], [b]) => a - b)
          .map(([s, n]) => `${s}×${n}`)
          .join(' ')}`,
    );
    process.stdout.write(`fuzz statuses (seed ${SEED})\n  ${summary.join('\n  ')}\n`);
    await t?.close();
    await llm?.close();
  });

  it(`POST /v1/chat/completions: ${RUNS} generated bodies and headers, never a 5xx, nothing kept on a 4xx`, async () => {
    const continued = fc.oneof(
      { weight: 9, arbitrary: fc.constant({}) },
      {
        weight: 1,
        arbitrary: fc.constant({ 'X-OpenHands-ServerConversation-ID': conversationId }),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 7, arbitrary: nearValid(validChat, CHAT_PATHS).map(serialize) },
          { weight: 1, arbitrary: validChat.map(serialize) },
          { weight: 2, arbitrary: garbage },
        ),
        headers(CHAT_HEADERS),
        continued,
        async (body, sent, conversation) => {
          const extra = { ...sent.extra, ...conversation };
          await probe('chat', '/v1/chat/completions', body, { ...sent, extra });
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    const byStatus = statuses.get('chat')!;
    expect(byStatus.get(200)).toBeGreaterThan(50); // valid bodies ran real turns
    expect(byStatus.get(400)).toBeGreaterThan(300);
  });

  it(`POST /api/profiles/{name}: ${RUNS} generated names and bodies, never a 5xx, nothing kept on a 4xx`, async () => {
    await fc.assert(
      fc.asyncProperty(
        profileName,
        fc.oneof(
          {
            weight: 7,
            arbitrary: nearValid(validProfile, PROFILE_PATHS).map(serialize),
          },
          { weight: 1, arbitrary: validProfile.map(serialize) },
          { weight: 2, arbitrary: garbage },
        ),
        headers(['X-Request-ID', 'X-Session-API-Key-Extra', 'Authorization']),
        async (name, body, sent) => {
          const path = `/api/profiles/${encodeURIComponent(name)}`;
          const status = await probe('profiles', path, body, sent);
          if (status === 201) {
            const stored = await t.request(path);
            expect(stored.status).toBe(200);
            const view = (await stored.json()) as { name: string; config: { api_key: unknown } };
            expect(view.name).toBe(name);
            expect(view.config.api_key).toBeNull();
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    const byStatus = statuses.get('profiles')!;
    expect(byStatus.get(201)).toBeGreaterThan(50);
    expect(byStatus.get(400)).toBeGreaterThan(300);
  });

  describe('what fuzzing found, pinned', () => {
    const chat = (body: Record<string, unknown>) =>
      t.request('/v1/chat/completions', {
        method: 'POST',
        json: { model: MODEL, messages: [{ role: 'user', content: 'hi' }], ...body },
      });
    const save = (body: unknown) =>
      t.request('/api/profiles/pinned', { method: 'POST', json: body });

    it.each([
      [
        'NUL in a profile field',
        { llm: { model: 'gpt-4o', api_version: 'a\u0000b' } },
        'llm.api_version',
      ],
      ['a lone surrogate in a profile field', { llm: { model: 'gpt-\ud800' } }, 'llm.model'],
      [
        'a lone surrogate in a header name',
        { llm: { model: 'gpt-4o', extra_headers: { 'X-\udc00': 'v' } } },
        'llm.extra_headers',
      ],
      ['an array as llm', { llm: [] }, 'llm'],
    ])('profiles: %s is a 400 naming the field (was a 500)', async (_what, body, field) => {
      const before = await snapshot();
      const res = await save(body);
      const problem = (await res.json()) as { errors?: { field: string }[] };
      expect(res.status).toBe(400);
      expect(problem.errors?.map((e) => e.field)).toContain(field);
      expect(await snapshot()).toEqual(before);
    });

    it.each([
      [
        'NUL in the input',
        { messages: [{ role: 'user', content: 'a\u0000b' }] },
        'messages[0].content',
      ],
      [
        'a lone surrogate in a text part',
        { messages: [{ role: 'user', content: [{ type: 'text', text: '\ud83d' }] }] },
        'messages[0].content[0].text',
      ],
      ['NUL in a metadata key', { metadata: { ['chat\u0000id']: 'x' } }, 'metadata.chat\u0000id'],
      [
        'an array as a message',
        { messages: [[{ role: 'user', content: 'hi' }], { role: 'user', content: 'x' }] },
        'messages',
      ],
      [
        'an array as stream_options',
        { stream_options: [{ include_usage: true }] },
        'stream_options',
      ],
    ])('chat: %s is a 400 naming the field', async (_what, body, field) => {
      const before = await snapshot();
      const res = await chat(body);
      const { error } = (await res.json()) as { error: { param: string; message: string } };
      expect(res.status).toBe(400);
      expect(error.param).toBe(field);
      expect(await snapshot()).toEqual(before);
    });

    it('still takes any well-formed Unicode, astral characters included', async () => {
      const text = 'héllo 世界 😀 \u202e rtl \ud83d\ude00';
      expect((await save({ llm: { model: 'gpt-4o', api_version: text } })).status).toBe(201);
      expect((await chat({ messages: [{ role: 'user', content: text }] })).status).toBe(200);
    });
  });

  it('is still up and unpolluted afterwards', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    for (const path of ['/health', '/ready']) {
      expect((await t.request(path)).status).toBe(200);
    }
    const answer = await t.openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'still there?' }],
    });
    expect(answer.choices[0].message.content).toBe('done');
  });
});
