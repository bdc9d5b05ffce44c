import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN_JS, ensureBuilt } from '../support/built-server';
import { createTestApp, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { ServerProcess } from '../support/server-process';
import { findTool, needs } from '../support/system-tools';

const HEADER = 'X-OpenHands-ServerConversation-ID';

// Real bubblewrap: mandatory under CI (.ci/run installs it), skipped with one line elsewhere.
needs.bwrap()('sandboxed agent shells (OH_SANDBOX=bwrap) through the HTTP API', () => {
  let t: TestApp;
  let llm: FakeLlmServer;
  let secretKey: string;

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    t = await createTestApp({ OH_SANDBOX: 'bwrap', OH_LLM_BACKOFF_MS: '5' });
    const saved = await t.request('/api/profiles/agent', {
      method: 'POST',
      json: { llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-test' } },
    });
    expect(saved.status).toBe(201);
    // Where the service keeps its generated key when none is configured.
    mkdirSync(t.env.OH_PERSISTENCE_DIR, { recursive: true });
    secretKey = join(t.env.OH_PERSISTENCE_DIR, 'secret.key');
    writeFileSync(secretKey, 'planted-secret-key-0123456789', { mode: 0o600 });
  });
  afterAll(async () => {
    await t?.close();
    await llm?.close();
  });
  beforeEach(() => llm.reset());

  async function turn(command: string): Promise<{ id: string; toolResult: string }> {
    llm.enqueue(fakeReply.toolCall('terminal', { command }), fakeReply.text('Done.'));
    const { data, response } = await t.openai.chat.completions
      .create({ model: 'openhands_agent', messages: [{ role: 'user', content: `run ${command}` }] })
      .withResponse();
    expect(data.choices[0].message.content).toBe('Done.');
    return {
      id: response.headers.get(HEADER)!,
      toolResult: llm.requests.at(-1)?.toolResults.at(-1)?.content ?? '',
    };
  }

  it('runs the command in the workspace; reading the key or another conversation, or the network, fails', async () => {
    const first = await turn('echo mine > mine.txt && pwd');
    const workspace = (await (await t.request(`/api/conversations/${first.id}`)).json()) as {
      workspace: { working_dir: string };
    };
    const mine = join(workspace.workspace.working_dir, 'mine.txt');
    expect(first.toolResult).toContain('/workspace\n'); // its own, at a fixed path
    expect(readFileSync(mine, 'utf8')).toBe('mine\n');

    const second = await turn(
      `cat ${secretKey}; cat ${mine}; ` +
        `curl -sS --max-time 5 -H 'Content-Type: application/json' -d '{}' ` +
        `${llm.url}/chat/completions; echo "curl exit $?"`,
    );
    expect(second.id).not.toBe(first.id);
    expect(second.toolResult).toContain(`cat: ${secretKey}: No such file or directory`);
    expect(second.toolResult).toContain(`cat: ${mine}: No such file or directory`);
    expect(second.toolResult).toMatch(/curl: \(7\) (Failed|Couldn't) to connect/);
    expect(second.toolResult).toContain('curl exit 7');
    expect(second.toolResult).not.toContain('planted-secret-key');
    expect(second.toolResult).not.toContain('mine\n');
    expect(llm.requests).toHaveLength(4); // two per turn: curl never reached the fake LLM
  });
});

describe('starting with OH_SANDBOX=bwrap where bubblewrap cannot sandbox', () => {
  let dir: string;
  beforeAll(() => ensureBuilt(), 180_000); // CI builds first; locally this may compile dist/
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'gw-sandbox-start-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start, saying why and what to do', async () => {
    mkdirSync(join(dir, 'bin'));
    chmodSync(dir, 0o755); // a service running as root looks bwrap up as the sandbox user
    const fake = join(dir, 'bin', 'bwrap');
    writeFileSync(
      fake,
      '#!/bin/sh\necho "bwrap: No permissions to create new namespace" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const { code, output } = await start(dir, {
      OH_SANDBOX: 'bwrap',
      PATH: `${join(dir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    });
    expect(code).toBe(1);
    expect(output).toContain(
      'OH_SANDBOX=bwrap, but bubblewrap cannot create the sandbox on this machine: ',
    );
    expect(output).toContain('bwrap: No permissions to create new namespace');
    expect(output).toContain('or set OH_SANDBOX=none');
    expect(output).not.toContain('Nest application successfully started');
  }, 60_000);

  const fakeBwrap = () => {
    mkdirSync(join(dir, 'bin'));
    chmodSync(dir, 0o755);
    writeFileSync(
      join(dir, 'bin', 'bwrap'),
      '#!/bin/sh\necho "bwrap: no namespaces" >&2\nexit 1\n',
      {
        mode: 0o755,
      },
    );
    return `${join(dir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  };

  it('OH_SANDBOX unset, beyond loopback: refuses to start, naming the fix and the opt-out', async () => {
    const { code, output } = await start(dir, {
      PATH: fakeBwrap(),
      HOST: '0.0.0.0',
      OH_SESSION_API_KEYS_0: 'a-session-key-long-enough-0123',
    });
    expect(code).toBe(1);
    expect(output).toContain('Refusing to listen on 0.0.0.0 with an unsandboxed agent');
    expect(output).toContain('apt-get install bubblewrap');
    expect(output).toContain('OH_SANDBOX=none');
  }, 60_000);

  it('OH_SANDBOX unset, on loopback: starts unsandboxed, says so loudly and in /server_info', async () => {
    const server = await ServerProcess.start({
      PATH: fakeBwrap(),
      NODE_ENV: 'production',
      OH_PERSISTENCE_DIR: join(dir, 'data'),
      OH_WORKSPACE_PATH: join(dir, 'workspace'),
      PGLITE_DATA_DIR: 'memory://',
    });
    try {
      expect(server.output).toContain('THE AGENT RUNS UNSANDBOXED');
      expect(server.output).toContain(
        `sandbox: none (${findTool('cc') ? 'native' : 'node'} sandbox program)`,
      );
      expect((await server.json<{ sandbox: string }>('/server_info')).sandbox).toBe('none');
    } finally {
      await server.stop();
    }
  }, 60_000);
});

/** Runs `dist/main.js` as an operator would, until it exits (or 30 s pass). */
function start(
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^(OH_|SESSION_API_KEY$|DATABASE_URL$|PGLITE_|NODE_ENV$|PORT$)/.test(name),
    ),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN_JS], {
      cwd,
      env: {
        ...clean,
        NODE_ENV: 'production',
        PORT: '0',
        OH_PERSISTENCE_DIR: join(cwd, 'data'),
        OH_WORKSPACE_PATH: join(cwd, 'workspace'),
        PGLITE_DATA_DIR: 'memory://',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
