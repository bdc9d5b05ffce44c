import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, useCliBench } from '../support/agentic-cli';
import { TEST_KEY, type TestApp } from '../support/create-test-app';
import { fakeReply, type FakeLlmRequest } from '../support/fake-llm-server';
import { findTool, requireTool } from '../support/system-tools';

/**
 * A headless opencode (`opencode run`) against the service and the scripted LLM, over chat
 * completions: opencode's own `write` tool runs through the client-tools bridge and creates the file
 * in opencode's project folder, not in our workspace; its title request is answered without a
 * conversation. opencode is a native binary in an npm package, not a dependency of this project: it
 * is found on PATH or at OPENCODE_BIN (`.ci/run` installs it; mandatory under CI=true). Nothing is
 * fetched at run time: the flags below stop the model list, plugin and update downloads.
 */
const OPENCODE = process.env.OPENCODE_BIN || 'opencode';
const withOpencode = requireTool(
  OPENCODE,
  'npm install -g opencode-ai@1.18.33 (or set OPENCODE_BIN)',
  { probe: ['--version'] },
);

withOpencode('opencode (opencode run) over /v1/chat/completions', () => {
  const bench = useCliBench('opencode');

  it("runs opencode's own write tool in opencode's project through the bridge", async () => {
    const { t, llm, dir } = bench;
    const home = join(dir, 'home');
    const project = join(dir, 'project');
    for (const d of [home, project]) mkdirSync(d, { recursive: true });
    const proof = join(project, 'opencode-proof.txt');
    writeFileSync(
      join(project, 'opencode.json'),
      JSON.stringify({
        $schema: 'https://opencode.ai/config.json',
        autoupdate: false,
        share: 'disabled',
        permission: { edit: 'allow', bash: 'allow' },
        provider: {
          gateway: {
            npm: '@ai-sdk/openai-compatible',
            name: 'agent-gateway',
            options: {
              baseURL: `${t.url}/v1`,
              apiKey: '{env:AGENT_GATEWAY_KEY}',
              headers: { 'X-OpenHands-Tools': 'client' }, // as in the README's recipe
            },
            models: { openhands_opencode: { name: 'gateway', tool_call: true } },
          },
        },
        model: 'gateway/openhands_opencode',
        small_model: 'gateway/openhands_opencode',
      }),
    );
    // Answers by what is asked: opencode's title request runs beside the turn.
    const seen: FakeLlmRequest[] = [];
    llm.setHandler((req) => {
      seen.push(req);
      if (/title generator/i.test(req.system)) return fakeReply.text('Proof file');
      if (req.toolResults.length === 0)
        return fakeReply.toolCall('write', { filePath: proof, content: 'made-by-opencode\n' });
      return fakeReply.text('Wrote opencode-proof.txt.');
    });
    const before = await count(t);
    // measured: the run takes about 9 s (2 shared cores), all of it offline
    const { code, stdout, stderr } = await runCli(
      findTool(OPENCODE)!,
      ['run', '--print-logs', 'Create opencode-proof.txt.'],
      {
        cwd: project,
        env: {
          ...process.env,
          HOME: home,
          PWD: project, // opencode takes its project folder from PWD before cwd
          XDG_CONFIG_HOME: join(home, '.config'),
          XDG_DATA_HOME: join(home, '.local/share'),
          XDG_STATE_HOME: join(home, '.local/state'),
          XDG_CACHE_HOME: join(home, '.cache'),
          AGENT_GATEWAY_KEY: TEST_KEY,
          OPENCODE_DISABLE_AUTOUPDATE: 'true',
          OPENCODE_DISABLE_MODELS_FETCH: 'true',
          OPENCODE_DISABLE_DEFAULT_PLUGINS: 'true',
          OPENCODE_DISABLE_LSP_DOWNLOAD: 'true',
          OPENCODE_DISABLE_CLAUDE_CODE: 'true',
        },
      },
    );
    if (code !== 0) throw new Error(`opencode exited ${code}:\n${(stdout + stderr).slice(-4000)}`);
    expect(readFileSync(proof, 'utf8')).toBe('made-by-opencode\n');
    expect(existsSync(join(t.env.OH_WORKSPACE_PATH, 'opencode-proof.txt'))).toBe(false);
    const turn = seen.filter((r) => !/title generator/i.test(r.system));
    expect(turn[0].toolNames).toContain('write');
    expect(turn[0].toolNames).not.toContain('terminal'); // client mode: opencode's tools only
    expect(turn[1].toolResults).toHaveLength(1);
    expect(stdout + stderr).toContain('Wrote opencode-proof.txt.');
    expect(seen.some((r) => /title generator/i.test(r.system))).toBe(true);
    expect(await count(t)).toBe(before + 1); // the title request made no conversation
  }, 120_000);
});

async function count(t: TestApp): Promise<number> {
  return Number(await (await t.request('/api/conversations/count')).text());
}
