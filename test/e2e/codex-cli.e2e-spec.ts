import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, useCliBench } from '../support/agentic-cli';
import { TEST_KEY } from '../support/create-test-app';
import { fakeReply } from '../support/fake-llm-server';
import { findTool, requireTool } from '../support/system-tools';

/**
 * A headless Codex CLI (`codex exec`) against the service and the scripted LLM, over the Responses
 * API: Codex's own `exec_command` tool runs through the client-tools bridge, in Codex's project
 * folder, not in our workspace. Codex is a large native binary, not a dependency of this project:
 * it is found on PATH or at CODEX_BIN (`.ci/run` installs it; mandatory under CI=true).
 */
const CODEX = process.env.CODEX_BIN || 'codex';
const withCodex = requireTool(CODEX, 'npm install -g @openai/codex@0.171.0 (or set CODEX_BIN)', {
  probe: ['--version'],
});

withCodex('Codex CLI (codex exec) over /v1/responses', () => {
  const bench = useCliBench('codex');

  it("runs Codex's own shell tool in Codex's project through the bridge", async () => {
    const { t, llm, dir } = bench;
    const home = join(dir, 'home');
    const project = join(dir, 'project');
    for (const d of [home, project]) rmSync(d, { recursive: true, force: true });
    mkdirSync(home, { recursive: true });
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(home, 'config.toml'),
      [
        'model = "openhands_codex"',
        'model_provider = "gateway"',
        'web_search = "disabled"',
        '',
        '[model_providers.gateway]',
        'name = "agent-gateway"',
        `base_url = "${t.url}/v1"`,
        'env_key = "AGENT_GATEWAY_KEY"',
        'wire_api = "responses"',
        'request_max_retries = 0',
        'stream_max_retries = 0',
        'http_headers = { "X-OpenHands-Tools" = "client" }',
        '',
        '[features]',
        'goals = false',
        '',
        '[agents]',
        'enabled = false',
        '',
      ].join('\n'),
    );
    llm.enqueue(
      fakeReply.toolCall('exec_command', { cmd: 'echo made-by-codex > codex-proof.txt' }),
      fakeReply.text('Wrote codex-proof.txt.'),
    );
    const { code, stdout, stderr } = await runCli(
      findTool(CODEX)!,
      [
        'exec',
        '--skip-git-repo-check',
        '--dangerously-bypass-approvals-and-sandbox',
        'Create codex-proof.txt.',
      ],
      { cwd: project, env: { ...process.env, CODEX_HOME: home, AGENT_GATEWAY_KEY: TEST_KEY } },
    );
    expect({ code, tail: (stdout + stderr).slice(-2000) }).toEqual({
      code: 0,
      tail: expect.any(String),
    });
    expect(readFileSync(join(project, 'codex-proof.txt'), 'utf8').trim()).toBe('made-by-codex');
    expect(llm.requests[0].toolNames).not.toContain('terminal'); // client mode: Codex's tools only
    expect(llm.requests[1].toolResults).toHaveLength(1);
    expect(stdout + stderr).toContain('Wrote codex-proof.txt.');
    expect(existsSync(join(t.env.OH_WORKSPACE_PATH, 'codex-proof.txt'))).toBe(false);
  }, 120_000);
});
