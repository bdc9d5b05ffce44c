import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt } from '../support/built-server';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';

const ROOT = join(__dirname, '..', '..');

describe('examples/openai-gateway.ts (npm run example)', () => {
  let llm: FakeLlmServer;
  beforeAll(async () => {
    ensureBuilt();
    llm = await FakeLlmServer.start();
  }, 120_000);
  afterAll(() => llm.close());

  it('starts the gateway, stores a profile, asks twice in one conversation and prints the cost', async () => {
    llm.enqueue(
      fakeReply.text('It lets OpenAI clients drive a coding agent.', {
        usage: { promptTokens: 1500, completionTokens: 40 },
      }),
      fakeReply.text('An agent gateway.', { usage: { promptTokens: 1600, completionTokens: 10 } }),
    );
    const { code, stdout, stderr } = await runExample({
      LLM_MODEL: 'openai/gpt-4o-mini',
      LLM_API_KEY: 'sk-example-key-0000',
      LLM_BASE_URL: llm.url,
    });
    expect({ code, stderr }).toMatchObject({ code: 0 });
    expect(stdout).toContain('Gateway models include: openhands_gateway_demo');
    expect(stdout).toContain('First answer: It lets OpenAI clients drive a coding agent.');
    expect(stdout).toMatch(/OpenHands conversation ID: [0-9a-f-]{36}/);
    expect(stdout).toContain('Second answer using same conversation: An agent gateway.');
    const cost = Number(/EXAMPLE_COST: (\S+)/.exec(stdout)?.[1]);
    expect(cost).toBeGreaterThan(0);
    // the second call carried the first turn: the conversation was continued
    expect(JSON.stringify(llm.requests[1].messages)).toContain(
      'It lets OpenAI clients drive a coding agent.',
    );
  }, 120_000);
});

function runExample(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'examples/openai-gateway.ts'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
