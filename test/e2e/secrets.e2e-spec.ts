import { Client } from 'pg';
import { ensureBuilt } from '../support/built-server';
import type { TestDatabase } from '../support/database';
import { FakeLlmServer, fakeReply, type FakeLlmRequest } from '../support/fake-llm-server';
import {
  persistentDatabase,
  removeDir,
  ServerProcess,
  serverEnv,
  tempDir,
  TEST_KEY,
} from '../support/server-process';
import { sleep, waitFor } from '../support/wait';

/**
 * Issue 5, item 6: the built server runs as a child with LOG_LEVEL=trace; a full flow goes through
 * it (profiles with api keys, turns with tool calls, streamed and not, upstream errors that quote
 * the api key, 401s with wrong and almost-right keys, `?access_token=`, a 429, a database error);
 * then every line it wrote, stdout and stderr, is searched for every secret. Secrets are also kept
 * out of every response body and of what reaches the LLM.
 */
const SECOND_KEY = 'second-session-key-Zq8Lw2Xv7';
const SECRET_KEY = 'profile-encryption-key-Hk3Pq9Vn4';
const OPENAI_KEY = 'sk-proj-live-A1b2C3d4E5f6G7h8I9'; // shaped like a real key
const ANTHROPIC_KEY = 'plain-anthropic-key-Q9w8E7r6T5'; // shaped like nothing in particular
const DB_PASSWORD = 'db-password-M4n5B6v7';
/** Only ever a bound query parameter: shows whether parameters reach the logs. */
const PARAMETER_MARKER = 'param-marker-Y2u3I4o5';

const SECRETS: Record<string, string> = {
  'session key': TEST_KEY,
  'second session key': SECOND_KEY,
  OH_SECRET_KEY: SECRET_KEY,
  'OpenAI api key': OPENAI_KEY,
  'Anthropic api key': ANTHROPIC_KEY,
};

/** Every secret, and the parts of it a careless truncation or a prefix search would keep. */
function leaksIn(text: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets).flatMap(([name, secret]) => {
    const probes = [secret, secret.slice(0, 16), secret.slice(-16)];
    return probes.filter((p) => text.includes(p)).map((p) => `${name} (${p})`);
  });
}

/** The `delta.content` of an SSE chat completion stream, joined. */
function streamedContent(sse: string): string {
  return sse
    .split('\n')
    .filter((line) => line.startsWith('data: {'))
    .map((line) => {
      const chunk = JSON.parse(line.slice(6)) as { choices?: { delta?: { content?: string } }[] };
      return chunk.choices?.[0]?.delta?.content ?? '';
    })
    .join('');
}

describe('secrets: nothing secret in the logs of a full run, nor in any response', () => {
  let llm: FakeLlmServer;
  let dir: string;
  let db: TestDatabase;
  let server: ServerProcess;
  const bodies: string[] = [];
  const secrets: Record<string, string> = { ...SECRETS };

  /** A request whose response body is kept for the final search. */
  async function call(
    path: string,
    init: Parameters<ServerProcess['request']>[1] = {},
  ): Promise<{ status: number; text: string; headers: Headers }> {
    const res = await server.request(path, init);
    const text = await res.text();
    // the response only: the request's own URL may carry a key on purpose (?access_token=)
    bodies.push(`${res.status}\n${[...res.headers].join('\n')}\n${text}`);
    return { status: res.status, text, headers: res.headers };
  }

  const chat = (profile: string, content: string, extra: Record<string, unknown> = {}) =>
    call('/v1/chat/completions', {
      method: 'POST',
      json: { model: `openhands_${profile}`, messages: [{ role: 'user', content }], ...extra },
    });

  beforeAll(async () => {
    ensureBuilt();
    llm = await FakeLlmServer.start();
    dir = tempDir('gw-secrets-');
    db = await persistentDatabase(dir);
    const databaseEnv = { ...db.env };
    if (databaseEnv.DATABASE_URL) {
      // The local server trusts loopback: a password in the URL is sent nowhere it could matter,
      // and shows whether the URL ever reaches a log line.
      const url = new URL(databaseEnv.DATABASE_URL);
      if (!url.password) {
        url.password = DB_PASSWORD;
        databaseEnv.DATABASE_URL = url.toString();
        secrets['database password'] = DB_PASSWORD;
      }
    }
    server = await ServerProcess.start(
      serverEnv(dir, databaseEnv, {
        LOG_LEVEL: 'trace',
        OH_SESSION_API_KEYS_1: SECOND_KEY,
        OH_SECRET_KEY: SECRET_KEY,
        OH_RATE_LIMIT_PER_MINUTE: '40',
      }),
    );
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await llm?.close();
    await db?.drop();
    if (dir) removeDir(dir);
  });

  it('runs the whole flow', async () => {
    // Profiles with keys
    for (const [name, llmConfig] of [
      ['openai', { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: OPENAI_KEY }],
      [
        'claude',
        { model: 'anthropic/claude-sonnet-4-5', base_url: llm.origin, api_key: ANTHROPIC_KEY },
      ],
    ] as const) {
      const saved = await call(`/api/profiles/${name}`, {
        method: 'POST',
        json: { llm: { ...llmConfig, num_retries: 1 } },
      });
      expect(saved.status).toBe(201);
    }
    expect((await call('/api/profiles')).status).toBe(200);
    expect(JSON.parse((await call('/api/profiles/openai')).text)).toMatchObject({
      config: { api_key: null },
      api_key_set: true,
    });
    expect(
      (await call('/v1/models', { key: null, headers: { Authorization: `Bearer ${SECOND_KEY}` } }))
        .status,
    ).toBe(200);

    // A turn with tool calls, one of which prints the agent shell's environment
    llm.enqueue(
      fakeReply.toolCall('terminal', { command: 'echo hello; env | sort' }),
      fakeReply.toolCall('file_editor', {
        command: 'create',
        path: 'notes.txt',
        file_text: 'hi\n',
      }),
      fakeReply.toolCall('finish', { message: 'All done.' }),
    );
    const turn = await chat('openai', 'look around');
    expect(turn.status).toBe(200);
    const conversation = turn.headers.get('x-openhands-serverconversation-id')!;
    const shellOutput = llm.requests[1].toolResults[0].content;
    expect(shellOutput).toContain('hello');
    expect(shellOutput).toMatch(/PATH=/);

    // Streamed, over the Anthropic protocol, with a tool call
    llm.enqueue(
      fakeReply.toolCall('terminal', { command: 'ls' }),
      fakeReply.text('Streamed answer.', { chunks: 3 }),
    );
    const streamed = await chat('claude', 'and now streamed', { stream: true });
    expect(streamed.status).toBe(200);
    expect(streamedContent(streamed.text)).toBe('Streamed answer.');

    // Upstream errors that quote the api key, in the message, in a header echo, in a raw body
    llm.enqueue(
      fakeReply.error(
        401,
        `Incorrect API key provided: ${OPENAI_KEY}. Find your key at https://platform.openai.com.`,
      ),
    );
    const refused = await chat('openai', 'again', {});
    expect(refused.status).toBe(502);
    expect(refused.text).toContain('[REDACTED]');
    llm.enqueue(
      fakeReply.error(500, `upstream broke while using key ${ANTHROPIC_KEY}`),
      fakeReply.error(500, `still broken; request had x-api-key: ${ANTHROPIC_KEY}`),
    );
    const broken = await chat('claude', 'stream through a failure', { stream: true });
    expect(broken.status).toBe(200);
    expect(broken.text).toContain('"error"');
    expect(broken.text).toContain('[REDACTED]');
    llm.enqueue(
      fakeReply.error(400, undefined, {
        body: `{"detail":"bad request","echo":{"headers":{"authorization":"Bearer ${OPENAI_KEY}"}}}`,
      }),
    );
    expect((await chat('openai', 'one more', {})).status).toBe(502);

    // The conversation, its events (errors included) and the listing
    for (const path of [
      `/api/conversations/${conversation}`,
      `/api/conversations/${conversation}/events/search?limit=100`,
      '/api/conversations/search',
    ]) {
      expect((await call(path)).status).toBe(200);
    }

    // Wrong keys, almost-right keys, keys where they do not belong
    const attempts: [string, Parameters<ServerProcess['request']>[1]][] = [
      ['/v1/models', { key: 'wrong-key' }],
      ['/v1/models', { key: `${TEST_KEY}x` }],
      ['/api/profiles', { key: TEST_KEY.toUpperCase() }],
      ['/v1/models', { key: null, headers: { Authorization: `Bearer ${TEST_KEY}x` } }],
      ['/v1/models', { key: null, headers: { Authorization: `Basic ${TEST_KEY}` } }],
      [
        '/api/profiles',
        { key: null, headers: { Authorization: `Bearer ${SECOND_KEY.slice(0, -1)}` } },
      ],
      [`/v1/models?access_token=${TEST_KEY}`, { key: null }],
      [`/api/profiles?access_token=${SECOND_KEY}&x=1`, {}],
      [
        '/api/profiles/sneaky',
        { method: 'POST', key: null, json: { access_token: TEST_KEY, llm: { model: 'x' } } },
      ],
    ];
    for (const [path, init] of attempts) {
      expect({ path, status: (await call(path, init)).status }).toEqual({ path, status: 401 });
    }

    // A body that is not JSON, carrying a key
    const malformed = await call('/api/profiles/broken', {
      method: 'POST',
      body: `{"llm": {"model": "gpt-4o", "api_key": "${OPENAI_KEY}", `,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(malformed.status).toBe(400);

    // Rate limited (the second key's budget of 40 a minute)
    let limited = 0;
    for (let i = 0; i < 45; i++) {
      const res = await call('/api/profiles', { key: SECOND_KEY });
      if (res.status === 429) limited += 1;
    }
    expect(limited).toBeGreaterThan(0);
  });

  it('logs a failed query without its parameters (PostgreSQL: a trigger refuses one row)', async () => {
    if (!db.env.DATABASE_URL) return; // the embedded database belongs to the child alone
    const client = new Client({ connectionString: db.env.DATABASE_URL });
    await client.connect();
    try {
      await client.query(`CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'refused by a test trigger'; END $$`);
      await client.query(`CREATE TRIGGER refuse_row BEFORE INSERT ON llm_profiles
        FOR EACH ROW WHEN (NEW.name = 'refused') EXECUTE FUNCTION refuse_row()`);
    } finally {
      await client.end();
    }
    const res = await call('/api/profiles/refused', {
      method: 'POST',
      json: { llm: { model: `openai/${PARAMETER_MARKER}`, api_key: OPENAI_KEY } },
    });
    expect(res.status).toBe(500);
    expect(res.text).not.toContain('refused by a test trigger'); // no internals in a 500
    // but in the log, for operators (the child's pipe may deliver the line a moment later)
    await waitFor(() => server.output.includes('refused by a test trigger'), 5_000, 'error line');
    secrets['query parameter'] = PARAMETER_MARKER;
  });

  it('never wrote a secret to stdout or stderr, at trace level', async () => {
    // every line has arrived through the pipe: the output stopped growing
    let seen = -1;
    await waitFor(
      async () => {
        const now = server.output.length;
        if (now === seen) return true;
        seen = now;
        await sleep(250);
        return false;
      },
      10_000,
      'quiet output',
    );
    const output = server.output;
    const lines = output.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(50); // it did log: every request, at trace level
    const requestLines = output.match(/"msg":"request (completed|errored|aborted)"/g) ?? [];
    expect(requestLines.length).toBeGreaterThanOrEqual(60); // about one per request of the flow
    expect(output).toMatch(/"level":40,.*attempt 1 failed/); // the LLM retry warning
    expect(leaksIn(output, secrets)).toEqual([]);
    expect(output).not.toContain('access_token');
  });

  it('never sent a secret back in a response, redacted provider messages included', () => {
    const all = bodies.join('\n\n');
    expect(bodies.length).toBeGreaterThan(60);
    expect(leaksIn(all, secrets)).toEqual([]);
  });

  it('never handed the session keys or the encryption key to the agent or the LLM', () => {
    const seen = llm.requests.map((r: FakeLlmRequest) => JSON.stringify(r.body)).join('\n');
    const { 'OpenAI api key': _o, 'Anthropic api key': _a, ...notForTheLlm } = secrets;
    expect(leaksIn(seen, notForTheLlm)).toEqual([]);
    // The provider keys go where they belong: in the auth headers, nowhere in the prompts
    const headerKeys = llm.requests.map(
      (r) => `${String(r.headers.authorization)} ${String(r.headers['x-api-key'])}`,
    );
    expect(headerKeys.some((h) => h.includes(OPENAI_KEY))).toBe(true);
    expect(headerKeys.some((h) => h.includes(ANTHROPIC_KEY))).toBe(true);
    expect(seen).not.toContain(OPENAI_KEY);
    expect(seen).not.toContain(ANTHROPIC_KEY);
  });
});
