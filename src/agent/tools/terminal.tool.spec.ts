import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAppEnv } from '@/config/load-env';
import { testRuntime } from '../../../test/support/sandbox';
import type { SandboxRuntime } from '../workspace/sandbox-runtime';
import { TerminalTool, type TerminalArgs } from './terminal.tool';
import type { TaskItem } from '../../conversations/tasks.types';
import type { ToolContext } from './tool';

describe(TerminalTool.name, () => {
  const FAKE_SECRET = 'fake-secret-key-for-the-test-0123456789';
  let workspace: string;
  let runtime: SandboxRuntime;
  let sut: TerminalTool;
  let ctx: ToolContext;
  let conversation = 0;

  const args = (command: string, extra: Partial<TerminalArgs> = {}): TerminalArgs => ({
    command,
    is_input: false,
    reset: false,
    ...extra,
  });

  beforeAll(() => {
    workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'oh-terminal-')));
    const env = parseAppEnv({
      NODE_ENV: 'test',
      PATH: process.env.PATH,
      HOME: workspace,
      OH_SECRET_KEY: FAKE_SECRET,
      DATABASE_URL: 'postgres://user:pw@localhost:5432/db',
      SESSION_API_KEY: 'session-key-for-the-test',
      GITHUB_TOKEN: 'ghp_fake',
    });
    runtime = testRuntime('none', { ...env.shellEnv }, { noOutputTimeoutMs: 300 });
    sut = new TerminalTool(runtime);
  });
  beforeEach(() => {
    let tasks: TaskItem[] = [];
    ctx = {
      conversationId: `c-${++conversation}`,
      workspaceDir: workspace,
      signal: new AbortController().signal,
      tasks: { get: async () => tasks, set: async (t) => void (tasks = t) },
    };
  });
  afterAll(async () => {
    await runtime.disposeAll();
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('ends the observation with the working directory and the exit code', async () => {
    const outcome = await sut.execute(args('echo hello; (exit 3)'), ctx);
    expect(outcome).toEqual({
      output: `hello\n[Current working directory: ${workspace}]\n[Command finished with exit code 3]`,
      isError: false,
      meta: { status: 'completed', exit_code: 3, cwd: workspace },
    });
  });

  it('gives the shell none of the service secrets', async () => {
    const outcome = await sut.execute(args('env'), ctx);
    expect(outcome.output).toContain('PAGER=cat');
    expect(outcome.output).toContain(`HOME=${workspace}`);
    for (const hidden of [
      'OH_SECRET_KEY',
      FAKE_SECRET,
      'DATABASE_URL',
      'SESSION_API_KEY',
      'GITHUB_TOKEN',
    ]) {
      expect(outcome.output).not.toContain(hidden);
    }
  });

  it('refuses several top-level commands without running any of them', async () => {
    const outcome = await sut.execute(args('touch one.txt\ntouch two.txt'), ctx);
    expect(outcome).toEqual({
      output:
        'Cannot execute multiple commands at once. Run them one per call, or chain them into a ' +
        'single command with `&&` or `;`.\nProvided commands:\n(1) touch one.txt\n(2) touch two.txt',
      isError: true,
    });
    expect(fs.existsSync(path.join(workspace, 'one.txt'))).toBe(false);
  });

  it('explains a still-running command, refuses a new one, and reads more on ""', async () => {
    const first = await sut.execute(
      args('echo waiting; sleep 0.4; echo more; sleep 0.7; echo done'),
      ctx,
    );
    expect(first.output).toMatch(
      /^waiting\n\[The command has no new output after 0\.3 seconds and is still running\. Send "" to read more output; .*`C-c` \(interrupt\).*give `timeout` next time to wait longer\.\]\n\[Current working directory: .*\]\n\[Command finished with exit code -1\]$/,
    );
    expect(first.meta).toMatchObject({ status: 'running', exit_code: -1, stopped_by: 'no_output' });

    await new Promise((resolve) => setTimeout(resolve, 200));
    const busy = await sut.execute(args('ls'), ctx);
    expect(busy.isError).toBe(true);
    expect(busy.output).toMatch(
      /^\[Below is the output of the previous command\.\]\nmore\n\[Your command "ls" was NOT executed: the previous command is still running\. Send ""/,
    );

    const rest = await sut.execute(args('', { timeout: 3 }), ctx);
    expect(rest.output).toBe(
      `[Below is the output of the previous command.]\ndone\n[Current working directory: ${workspace}]\n[Command finished with exit code 0]`,
    );
  });

  it('says when the caller timeout passed, and interrupts with C-c', async () => {
    const running = await sut.execute(
      args('while :; do echo tick; sleep 0.1; done', { timeout: 0.5 }),
      ctx,
    );
    expect(running.output).toContain(
      '[The command is still running after 0.5 seconds (your timeout).',
    );
    const stopped = await sut.execute(args('C-c', { is_input: true }), ctx);
    expect(stopped.output).toMatch(/\[Command finished with exit code 130\]$/);
    expect(stopped.isError).toBe(false);
  });

  it('refuses input when nothing runs', async () => {
    const outcome = await sut.execute(args('yes', { is_input: true }), ctx);
    expect(outcome).toMatchObject({ isError: true });
    expect(outcome.output).toBe(
      'No command is running, so there is nothing to send input to. To run a command, set `is_input` to false.',
    );
    expect((await sut.execute(args('', { reset: true, is_input: true }), ctx)).isError).toBe(true);
  });

  it('names the file holding the full output of a long command', async () => {
    const outcome = await sut.execute(args('seq 1 50000'), ctx);
    const file = (outcome.meta as { full_output_path: string }).full_output_path;
    expect(file.startsWith(path.join(workspace, '.openhands', 'outputs'))).toBe(true);
    expect(outcome.output).toContain(`The full output is in ${file}`);
    expect(fs.readFileSync(file, 'utf8').split('\n')).toHaveLength(50001);
  });

  it('reports a cancelled turn as an error after killing the command', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const outcome = await sut.execute(args('sleep 30'), { ...ctx, signal: controller.signal });
    expect(outcome.isError).toBe(true);
    expect(outcome.output).toContain('[The command was stopped because the turn ended;');
  });

  it('describes calls in one short line', () => {
    expect(sut.describe(args('npm test'))).toBe('Running `npm test`');
    expect(sut.describe(args('cat <<EOF > a\nx\nEOF'))).toBe('Running `cat <<EOF > a …`');
    expect(sut.describe(args('C-c', { is_input: true }))).toBe(
      'Sending `C-c` to the running command',
    );
    expect(sut.describe(args(''))).toBe('Reading more output');
    expect(sut.describe(args('', { reset: true }))).toBe('Resetting the terminal');
  });
});
