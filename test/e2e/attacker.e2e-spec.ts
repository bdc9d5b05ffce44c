import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from '../support/built-server';
import { createTestApp, TEST_KEY, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply, type FakeToolCall } from '../support/fake-llm-server';
import { findTool, needs } from '../support/system-tools';
import {
  ServerProcess,
  persistentDatabase,
  removeDir,
  serverEnv,
  tempDir,
} from '../support/server-process';
import { processes, sleep, waitFor } from '../support/wait';

const HEADER = 'X-OpenHands-ServerConversation-ID';
const ROOT = join(__dirname, '..', '..');

/**
 * A hostile model, scripted: each tool call below is an escape tried through the public API under
 * the DEFAULT settings (no OH_SANDBOX, no OH_SECRET_KEY: the generated key file), and each fails.
 * Without the sandbox every one of them succeeds (issue 9).
 */
needs.bwrap()('a hostile model under the default settings', () => {
  let t: TestApp;
  let llm: FakeLlmServer;
  let canary: string;
  const CANARY = 'canary-outside-the-workspace-7f3a';

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    // A planted credential in the service's environment, as a `.env` would put it there.
    t = await createTestApp({ OH_SECRET_KEY: '', PGPASSWORD: 'planted-db-password-0042' });
    await t.saveProfile('x', { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-t' });
    // The key file the service generated (no OH_SECRET_KEY), and a file outside any workspace.
    mkdirSync(t.env.OH_PERSISTENCE_DIR, { recursive: true });
    canary = join(t.dir, 'canary.txt');
    writeFileSync(canary, CANARY);
  });
  afterAll(async () => {
    await t?.close();
    await llm?.close();
  });
  beforeEach(() => llm.reset());

  /** One turn whose model makes these tool calls (one step each group), then answers. */
  async function attack(
    steps: FakeToolCall[][],
    conversationId?: string,
  ): Promise<{ id: string; results: string[] }> {
    llm.enqueue(...steps.map((calls) => fakeReply.toolCalls(calls)), fakeReply.text('Done.'));
    const { response } = await t.openai.chat.completions
      .create(
        { model: 'openhands_x', messages: [{ role: 'user', content: 'go' }] },
        conversationId ? { headers: { [HEADER]: conversationId } } : {},
      )
      .withResponse();
    // The last request carries the whole history: this turn's results are its last ones.
    const count = steps.reduce((n, calls) => n + calls.length, 0);
    const results = (llm.requests.at(-1)?.toolResults ?? []).slice(-count).map((x) => x.content);
    return { id: response.headers.get(HEADER) as string, results };
  }
  const sh = (command: string): FakeToolCall => ({ name: 'terminal', arguments: { command } });
  const view = (path: string): FakeToolCall => ({
    name: 'file_editor',
    arguments: { command: 'view', path },
  });

  it('runs sandboxed by default, and says so in /server_info', async () => {
    const info = (await (await t.request('/server_info')).json()) as Record<string, string>;
    expect(info.sandbox).toBe('bwrap');
    // the native sandbox program whenever a C compiler could build it (the default): the suite
    // attacks the program the service really uses
    expect(info.sandbox_program).toBe(findTool('cc') ? 'native' : 'node');
  });

  it("cannot read the service's environment in /proc, nor see its processes", async () => {
    const { results } = await attack([
      [
        sh(
          `ls /proc | grep -c '^[0-9]'; cat /proc/${process.pid}/environ; ` +
            `cat /proc/*/environ | tr '\\0' '\\n' | grep -E 'OH_|SESSION|PGPASSWORD' || echo none`,
        ),
      ],
    ]);
    expect(results[0]).not.toContain(TEST_KEY);
    expect(results[0]).not.toContain('planted-db-password');
    expect(results[0]).toContain(`cat: /proc/${process.pid}/environ: No such file or directory`);
    expect(Number(results[0].split('\n')[0])).toBeLessThan(10); // its own few processes only
  });

  it('gets only the allow-listed environment', async () => {
    const { results } = await attack([[sh('env | cut -d= -f1 | sort | tr "\\n" " "')]]);
    expect(results[0]).toMatch(
      /^GIT_PAGER HOME LANG PAGER PATH PWD PYTHONUNBUFFERED SHLVL TERM (TZ )?_\s/,
    );
    expect(results[0]).not.toMatch(/OH_|SESSION|PGPASSWORD|DATABASE|NODE_/);
  });

  it('cannot read the data directory, the key file, .env or the service code, nor write dist/', async () => {
    const data = t.env.OH_PERSISTENCE_DIR;
    const { results } = await attack([
      [
        sh(`ls ${data}; cat ${data}/secret.key; ls ${ROOT}; cat ${ROOT}/.env ${ROOT}/package.json`),
        sh(`touch ${ROOT}/dist/backdoor.js; echo "exit $?"`),
        view(`${data}/secret.key`),
        view(ROOT),
      ],
    ]);
    expect(results[0]).toContain(`ls: cannot access '${data}': No such file or directory`);
    expect(results[0]).toContain(`cat: ${data}/secret.key: No such file or directory`);
    expect(results[0]).toContain(`cat: ${ROOT}/package.json: No such file or directory`);
    expect(results[1]).toMatch(/touch: cannot touch .*: No such file or directory\nexit 1/);
    expect(existsSync(join(ROOT, 'dist', 'backdoor.js'))).toBe(false);
    expect(results[2]).toContain('is outside the workspace');
    expect(results[3]).toContain('is outside the workspace');
  });

  it("cannot reach another conversation's workspace, by terminal or editor", async () => {
    const mine = await attack([[sh('echo private-of-first > secret.txt')]]);
    const dir = join(t.env.OH_WORKSPACE_PATH, mine.id);
    expect(statSync(join(dir, 'secret.txt')).isFile()).toBe(true);
    const { results } = await attack([
      [sh(`cat ${dir}/secret.txt; ls ${t.env.OH_WORKSPACE_PATH}`), view(`${dir}/secret.txt`)],
    ]);
    expect(results.join('\n')).not.toContain('private-of-first');
    expect(results[0]).toContain(
      `ls: cannot access '${t.env.OH_WORKSPACE_PATH}': No such file or directory`,
    );
    expect(results[1]).toContain('is outside the workspace');
  });

  it('reaches neither the API on loopback nor the database port nor the LLM', async () => {
    const port = new URL(t.url).port;
    const { results } = await attack([
      [
        sh(
          `curl -sS --max-time 3 -H 'X-Session-API-Key: ${TEST_KEY}' http://127.0.0.1:${port}/api/profiles; ` +
            `echo "api $?"; (echo > /dev/tcp/127.0.0.1/5432) 2>&1; echo "db $?"; ` +
            `curl -sS --max-time 3 ${llm.url}/models; echo "llm $?"`,
        ),
      ],
    ]);
    expect(results[0]).toContain('api 7');
    expect(results[0]).toContain('db 1');
    expect(results[0]).toContain('llm 7');
    expect(results[0]).not.toContain('"name"');
  });

  it('makes no setuid file that runs as root: files belong to the sandbox user, no new privileges', async () => {
    const { id, results } = await attack([
      [sh('cp /bin/bash ./rootshell && chmod 4755 ./rootshell && ./rootshell -p -c "id -u"')],
    ]);
    const file = statSync(join(t.env.OH_WORKSPACE_PATH, id, 'rootshell'));
    expect(file.uid).not.toBe(0);
    expect(results[0]).not.toMatch(/^0$/m);
  });

  it('a FIFO does not stall the service: the editor refuses it at once, /alive keeps answering', async () => {
    let slowest = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const started = Date.now();
        expect((await fetch(`${t.url}/alive`)).status).toBe(200);
        slowest = Math.max(slowest, Date.now() - started);
        await sleep(20);
      }
    })();
    const started = Date.now();
    const { results } = await attack([[sh('mkfifo pipe')], [view('/workspace/pipe')]]);
    polling = false;
    await poll;
    expect(results[1]).toContain('is a FIFO (named pipe), not a regular file or directory');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(slowest).toBeLessThan(1000);
  });

  it('the symlink-swap race on the editor leaks nothing (swap loop, 200 views)', async () => {
    const swap = [
      'import ctypes, time',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'end = time.time() + 60',
      'while time.time() < end:',
      "    libc.renameat2(-100, b'/workspace/race/a', -100, b'/workspace/race/b', 2)",
    ].join('\n');
    const first = await attack([
      [
        {
          name: 'file_editor',
          arguments: { command: 'create', path: '/workspace/swap.py', file_text: swap },
        },
        sh(`mkdir race && echo harmless > race/a && ln -s ${canary} race/b`),
      ],
      [sh('(timeout 60 python3 swap.py > /dev/null 2>&1 &) ; sleep 0.2; ls race')],
    ]);
    expect(first.results[2]).toContain('a\nb');
    // a, b, ./a, ./b, ././a, …: no two calls in a row alike, so the stuck detector (A,B,A,B…)
    // cannot end the turn early when a starved swap loop makes the answers repeat
    const views = Array.from({ length: 200 }, (_, i) =>
      view(`/workspace/race/${'./'.repeat(Math.floor(i / 2) % 5)}${'ab'[i % 2]}`),
    );
    const batches = [0, 1, 2, 3].map((k) => views.slice(k * 50, k * 50 + 50));
    const { results } = await attack(batches, first.id);
    expect(results).toHaveLength(200);
    expect(results.filter((r) => r.includes(CANARY))).toEqual([]);
    expect(results.some((r) => r.includes('harmless'))).toBe(true); // the views really ran
    await attack([[sh('pkill -f swap.py; true')]], first.id);
  });

  it("cannot write into the sandbox program's pipe to the service: no forged answer, no crash", async () => {
    // The shell runs as the program's user: it could take the program's (and bwrap's init's)
    // descriptor 1, the service's end of the protocol, with pidfd_getfd (or open /proc/<pid>/fd/1
    // of a pipe). Spray a forged terminal answer over every id, then `null` (`'method' in null`
    // threw in the service's stream listener).
    const forged =
      '{"jsonrpc":"2.0","id":%d,"result":{"status":"completed","output":"FORGED","exitCode":0,' +
      '"cwd":"/workspace","waitedMs":0,"notes":[]}}';
    const spray = [
      'import ctypes, os',
      'libc = ctypes.CDLL(None, use_errno=True)',
      "for pid in [int(p) for p in os.listdir('/proc') if p.isdigit()]:",
      "    comm = open(f'/proc/{pid}/comm').read().strip()",
      "    if comm not in ('bwrap', 'oh-sandbox', 'node'):",
      '        continue',
      '    pidfd = libc.syscall(434, pid, 0)',
      '    fd = libc.syscall(438, pidfd, 1, 0) if pidfd >= 0 else -1',
      "    print('tried', comm, 'errno', ctypes.get_errno())",
      '    if fd >= 0:',
      `        lines = ''.join('${forged}\\n' % i for i in range(1, 200))`,
      "        os.write(fd, (lines + 'null\\n1\\n').encode())",
      "        print('wrote into', comm)",
      "print('spray-done')",
    ].join('\n');
    const { results } = await attack([
      [
        {
          name: 'file_editor',
          arguments: { command: 'create', path: '/workspace/spray.py', file_text: spray },
        },
      ],
      [sh('python3 spray.py')],
      [sh('echo genuine-$((6*7))')],
    ]);
    expect(results[1]).toContain('spray-done');
    expect(results[1]).toMatch(/tried oh-sandbox errno 1\b/); // EPERM
    expect(results[1]).not.toMatch(/FORGED|wrote into/);
    expect(results[2]).toContain('genuine-42');
    expect((await fetch(`${t.url}/alive`)).status).toBe(200);
  });

  it('leaves no process behind once the conversation is deleted, daemons included', async () => {
    const marker = `601.${process.pid}`;
    const { id } = await attack([
      [
        sh(
          `(setsid sleep ${marker} > /dev/null 2>&1 &); nohup sleep ${marker} > /dev/null 2>&1 & ` +
            'disown; true',
        ),
      ],
    ]);
    await waitFor(() => processes(`sleep ${marker}`).length === 2, 5000, 'the daemons');
    expect((await t.request(`/api/conversations/${id}`, { method: 'DELETE' })).ok).toBe(true);
    await waitFor(() => processes(`sleep ${marker}`).length === 0, 5000, 'no daemon left');
    expect(existsSync(join(t.env.OH_WORKSPACE_PATH, id))).toBe(false);
  });
});

needs.bwrap()('a hostile model when the service is killed with SIGKILL', () => {
  let dir: string;
  let llm: FakeLlmServer;
  let server: ServerProcess | undefined;
  beforeAll(() => ensureBuilt(), 180_000);
  afterAll(async () => {
    await server?.stop();
    await llm?.close();
    removeDir(dir);
  });

  it('leaves no process of the sandbox behind, setsid daemons included', async () => {
    dir = tempDir('gw-attack-');
    llm = await FakeLlmServer.start();
    const env = serverEnv(dir, (await persistentDatabase(dir)).env);
    delete env.OH_SECRET_KEY;
    server = await ServerProcess.start(env);
    const saved = await server.request('/api/profiles/x', {
      method: 'POST',
      json: { llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-t' } },
    });
    expect(saved.status).toBe(201);
    const marker = `602.${process.pid}`;
    llm.enqueue(
      fakeReply.toolCall('terminal', {
        command: `(setsid sleep ${marker} > /dev/null 2>&1 &); nohup sleep ${marker} > /dev/null 2>&1 & true`,
      }),
      fakeReply.text('Done.'),
    );
    const turn = await server.request('/v1/chat/completions', {
      method: 'POST',
      json: { model: 'openhands_x', messages: [{ role: 'user', content: 'go' }] },
    });
    expect(turn.status).toBe(200);
    await waitFor(() => processes(`sleep ${marker}`).length === 2, 5000, 'the daemons');
    server.kill('SIGKILL');
    await waitFor(() => processes(`sleep ${marker}`).length === 0, 5000, 'no daemon left');
  }, 120_000);
});
