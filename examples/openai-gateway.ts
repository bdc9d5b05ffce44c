/**
 * Use agent-gateway through an OpenAI-compatible Chat Completions client.
 *
 * Starts the service (unless GATEWAY_URL points at a running one), stores an LLM profile, lists
 * it through GET /v1/models, then calls POST /v1/chat/completions with the official `openai`
 * SDK. The returned X-OpenHands-ServerConversation-ID header is passed back on a second call to
 * continue the same conversation; the conversation's cost is printed as EXAMPLE_COST.
 *
 *   LLM_MODEL=openai/gpt-4o-mini LLM_API_KEY=sk-… npm run example
 *
 * Environment: LLM_MODEL (default gpt-5-nano), LLM_API_KEY (or OPENAI_API_KEY), LLM_BASE_URL,
 * GATEWAY_URL + SESSION_API_KEY to use a running gateway instead of starting one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';

const HEADER = 'X-OpenHands-ServerConversation-ID';

async function main(): Promise<void> {
  const apiKey = process.env.LLM_API_KEY ?? process.env.OPENAI_API_KEY;
  if (!apiKey) throw new Error('Set LLM_API_KEY or OPENAI_API_KEY.');
  const llmModel = process.env.LLM_MODEL ?? 'gpt-5-nano';
  const llmBaseUrl = process.env.LLM_BASE_URL;
  const profileName = 'gateway_demo';
  const gatewayModel = `openhands_${profileName}`;

  // Start a local gateway for the demo, with a session key: the same key works as
  // X-Session-API-Key on the native routes and as the Bearer token of OpenAI clients.
  const server = process.env.GATEWAY_URL
    ? {
        url: process.env.GATEWAY_URL,
        sessionKey: process.env.SESSION_API_KEY ?? '',
        stop: async () => {},
      }
    : await startGateway();

  try {
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${server.url}${path}`, {
        ...init,
        headers: {
          'X-Session-API-Key': server.sessionKey,
          'Content-Type': 'application/json',
          ...init.headers,
        },
      });
    const openai = new OpenAI({
      apiKey: server.sessionKey,
      baseURL: `${server.url}/v1`,
      timeout: 120_000,
    });

    // The native REST API creates the profile behind the gateway model; after that, plain
    // OpenAI SDK calls are enough.
    const llm: Record<string, string> = { model: llmModel, api_key: apiKey };
    if (llmBaseUrl) llm.base_url = llmBaseUrl;
    const saved = await api(`/api/profiles/${profileName}`, {
      method: 'POST',
      body: JSON.stringify({ llm, include_secrets: true }),
    });
    if (saved.status !== 201)
      throw new Error(`saving the profile failed: ${saved.status} ${await saved.text()}`);

    const models = await openai.models.list();
    if (!models.data.some((m) => m.id === gatewayModel))
      throw new Error(`${gatewayModel} is not listed`);
    console.log(`Gateway models include: ${gatewayModel}`);

    // `withResponse()` exposes the header that names the server-side conversation.
    const first = await openai.chat.completions
      .create({
        model: gatewayModel,
        messages: [
          { role: 'system', content: 'Answer directly and do not use tools.' },
          {
            role: 'user',
            content:
              'In one sentence, explain what an OpenAI-compatible agent-server gateway does.',
          },
        ],
      })
      .withResponse();
    const conversationId = first.response.headers.get(HEADER);
    if (!conversationId) throw new Error(`no ${HEADER} header`);
    console.log(`First answer: ${first.data.choices[0].message.content}`);
    console.log(`OpenHands conversation ID: ${conversationId}`);

    const persisted = await api(`/api/conversations/${conversationId}`);
    if (persisted.status !== 200) throw new Error(`conversation not found: ${persisted.status}`);

    // Sending the header back continues the same conversation: same history, same workspace.
    const second = await openai.chat.completions.create(
      {
        model: gatewayModel,
        messages: [
          { role: 'user', content: 'Now answer in five words or fewer: what did I ask about?' },
        ],
      },
      { headers: { [HEADER]: conversationId } },
    );
    console.log(`Second answer using same conversation: ${second.choices[0].message.content}`);

    const conversation = (await (await api(`/api/conversations/${conversationId}`)).json()) as {
      stats: { usage_to_metrics: Record<string, { accumulated_cost: number }> };
    };
    const cost = Object.values(conversation.stats.usage_to_metrics).reduce(
      (sum, m) => sum + m.accumulated_cost,
      0,
    );

    // Clean up the demo resources.
    await api(`/api/conversations/${conversationId}`, { method: 'DELETE' });
    await api(`/api/profiles/${profileName}`, { method: 'DELETE' });
    console.log(`EXAMPLE_COST: ${cost}`);
  } finally {
    await server.stop();
  }
}

/** Starts `dist/main.js` (building it first if needed) on a free port with a throwaway database. */
async function startGateway(): Promise<{
  url: string;
  sessionKey: string;
  stop: () => Promise<void>;
}> {
  const root = join(__dirname, '..');
  if (!existsSync(join(root, 'dist', 'main.js'))) await run('npm', ['run', 'build'], root);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gateway-example-'));
  const sessionKey = randomBytes(24).toString('base64url');
  const child = spawn(process.execPath, [join(root, 'dist', 'main.js')], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      OH_SESSION_API_KEYS_0: sessionKey,
      OH_SECRET_KEY: randomBytes(24).toString('base64url'),
      PGLITE_DATA_DIR: 'memory://',
      OH_PERSISTENCE_DIR: join(dir, 'data'),
      OH_WORKSPACE_PATH: join(dir, 'workspace'),
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(url, child);
  return {
    url,
    sessionKey,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitUntilReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with code ${child.exitCode}`);
    const ready = await fetch(`${url}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the gateway did not become ready within 60 s');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    spawn(command, args, { cwd, stdio: 'inherit' }).on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`)),
    );
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
