import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testRuntime as makeTestRuntime } from '../../../test/support/sandbox';
import { describeEachProgram } from '../../../test/support/sandbox-program';
import type { SandboxSettings } from '../../sandbox/protocol';
import type { SandboxRuntime } from './sandbox-runtime';
import type { TerminalRequest, TerminalResult } from './workspace-runtime';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ESRCH');
    return false;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // Killed but not yet reaped by init counts as gone.
  return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

async function waitUntil(condition: () => boolean, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(20)) {
    if (condition()) return true;
  }
  return condition();
}

/** The terminal through the protocol: each conversation's sandbox program is a process of its own. */
describeEachProgram('SandboxRuntime (OH_SANDBOX=none): the terminal', (kind) => {
  const testRuntime = (...args: Parameters<typeof makeTestRuntime>) =>
    makeTestRuntime(args[0], args[1], args[2], args[3], kind);
  let root: string;
  let workspace: string;
  let runtime: SandboxRuntime;
  let conversation = 0;
  let id: string;

  const make = (settings: Omit<SandboxSettings, 'workspace'> = {}) =>
    testRuntime(
      'none',
      { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, LANG: 'C.UTF-8' },
      { noOutputTimeoutMs: 400, ...settings },
    );
  const shellPid = async () => Number((await exec('echo $$')).output.trim());
  const exec = (
    command: string,
    extra: Partial<TerminalRequest> = {},
    rt: SandboxRuntime = runtime,
  ): Promise<TerminalResult> =>
    rt.exec(id, workspace, {
      command,
      isInput: false,
      reset: false,
      signal: new AbortController().signal,
      ...extra,
    });

  beforeAll(() => {
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'oh-runtime-')));
    workspace = path.join(root, 'ws');
    fs.mkdirSync(workspace);
    runtime = make();
  });
  beforeEach(() => (id = `conversation-${++conversation}`));
  afterAll(async () => {
    await runtime.disposeAll();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('keeps cwd and variables between calls, reports exit codes and merges stderr', async () => {
    fs.mkdirSync(path.join(workspace, 'sub'), { recursive: true });
    expect(await exec('cd sub && export GREETING=hi && echo out && echo err >&2')).toMatchObject({
      status: 'completed',
      output: 'out\nerr\n',
      exitCode: 0,
      cwd: path.join(workspace, 'sub'),
    });
    expect(await exec('echo "$GREETING from $(pwd)"; false')).toMatchObject({
      status: 'completed',
      output: `hi from ${path.join(workspace, 'sub')}\n`,
      exitCode: 1,
    });
  });

  it('starts in the workspace with pager and terminal settings, and keeps shells apart', async () => {
    const result = await exec('pwd; echo "$PAGER $GIT_PAGER $TERM"; X=mine');
    expect(result.output).toBe(`${workspace}\ncat cat dumb\n`);
    id = `${id}-other`;
    expect((await exec('echo "[${X-}]"')).output).toBe('[]\n');
  });

  it('runs heredocs and multi-line constructs as one command', async () => {
    const result = await exec("cat <<'EOF'\nliteral $HOME\nEOF");
    expect(result).toMatchObject({ status: 'completed', output: 'literal $HOME\n', exitCode: 0 });
    expect((await exec('for i in 1 2 3; do\n  echo "n$i"\ndone')).output).toBe('n1\nn2\nn3\n');
  });

  it('strips ANSI escapes and carriage returns', async () => {
    const result = await exec(`printf '\\033[31mred\\033[0m\\r\\n50%%\\r100%%\\n'`);
    expect(result.output).toBe('red\n100%\n');
  });

  it('returns a silent command as still running, refuses a new one, then reports its end', async () => {
    const first = await exec('echo started; sleep 0.8; echo finished');
    expect(first).toMatchObject({
      status: 'running',
      stoppedBy: 'no_output',
      output: 'started\n',
      exitCode: -1,
      idleMs: 400,
    });
    const busy = await exec('touch should-not-exist');
    expect(busy).toMatchObject({ status: 'refused', refusal: 'busy' });
    expect(fs.existsSync(path.join(workspace, 'should-not-exist'))).toBe(false);
    const rest = await exec('', { timeoutMs: 2000 });
    expect(rest).toMatchObject({ status: 'completed', output: 'finished\n', exitCode: 0 });
    expect(await exec('')).toMatchObject({ status: 'refused', refusal: 'not_running' });
  });

  it('reports a command that finished between calls when asked for more output', async () => {
    expect(await exec('sleep 0.5; echo late')).toMatchObject({ status: 'running' });
    await sleep(400);
    expect(await exec('')).toMatchObject({ status: 'completed', output: 'late\n', exitCode: 0 });
  });

  it('with a timeout, returns after it even while output keeps coming', async () => {
    const started = Date.now();
    const result = await exec('while true; do echo tick; sleep 0.1; done', { timeoutMs: 700 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
    expect(result).toMatchObject({ status: 'running', stoppedBy: 'timeout', exitCode: -1 });
    expect(result.output).toMatch(/^(tick\n){3,}/);
    const stopped = await exec('C-c', { isInput: true });
    expect(stopped).toMatchObject({ status: 'completed', exitCode: 130 });
  });

  it('C-c stops the command and the rest of its line, not the shell', async () => {
    await exec('export KEEP=yes');
    expect(await exec('sleep 30; echo after')).toMatchObject({ status: 'running' });
    const stopped = await exec('C-c', { isInput: true });
    expect(stopped).toMatchObject({ status: 'completed', exitCode: 130 });
    expect(stopped.output).not.toContain('after');
    expect(await exec('echo $KEEP')).toMatchObject({ status: 'completed', output: 'yes\n' });
  });

  it('types input into a running command; C-d ends its input', async () => {
    expect(await exec('read -r name; echo "hello $name"')).toMatchObject({ status: 'running' });
    expect(await exec('world', { isInput: true })).toMatchObject({
      status: 'completed',
      output: 'hello world\n',
      exitCode: 0,
    });
    expect(await exec('wc -l')).toMatchObject({ status: 'running' });
    await exec('one', { isInput: true });
    await exec('two', { isInput: true });
    const counted = await exec('C-d', { isInput: true });
    expect(counted).toMatchObject({ status: 'completed', output: '2\n', exitCode: 0 });
    expect(await exec('late input', { isInput: true })).toMatchObject({
      status: 'refused',
      refusal: 'not_running',
    });
  });

  it('refuses C-z (no job control) and leaves the command running', async () => {
    await exec('sleep 5');
    expect(await exec('C-z', { isInput: true })).toMatchObject({
      status: 'refused',
      refusal: 'unsupported_key',
    });
    expect(await exec('C-c', { isInput: true })).toMatchObject({
      status: 'completed',
      exitCode: 130,
    });
  });

  it('detects the end of a command that redirected its stdout', async () => {
    expect(await exec('exec >/dev/null')).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(await exec('echo visible >&2')).toMatchObject({ output: 'visible\n' });
  });

  it('cuts long output in the middle and saves all of it in the workspace', async () => {
    const result = await exec('seq 1 20000');
    const full = Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join('');
    expect(result.status).toBe('completed');
    expect(result.output.length).toBeLessThan(31_000);
    expect(result.output.startsWith('1\n2\n3\n')).toBe(true);
    expect(result.output.endsWith('19999\n20000\n')).toBe(true);
    expect(result.fullOutputPath).toMatch(
      new RegExp(`^${workspace}/\\.openhands/outputs/terminal-.*\\.log$`),
    );
    expect(result.output).toContain(
      `characters omitted. The full output is in ${result.fullOutputPath}`,
    );
    expect(fs.readFileSync(result.fullOutputPath as string, 'utf8')).toBe(full);
  });

  it('does not save long output through a symlink out of the workspace', async () => {
    const elsewhere = path.join(root, `elsewhere-${id}`);
    fs.mkdirSync(elsewhere);
    const ws = path.join(root, `ws-${id}`);
    fs.mkdirSync(ws);
    fs.symlinkSync(elsewhere, path.join(ws, '.openhands'));
    const result = await runtime.exec(id, ws, {
      command: 'seq 1 20000',
      isInput: false,
      reset: false,
      signal: new AbortController().signal,
    });
    expect(result.output).toContain('characters omitted. The full output could not be saved.');
    expect(result.fullOutputPath).toBeUndefined();
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });

  it('does not save long output through a link at .openhands/outputs or a dangling one', async () => {
    const elsewhere = path.join(root, `elsewhere-${id}`);
    fs.mkdirSync(elsewhere);
    const linkedOutputs = path.join(root, `ws-outputs-${id}`);
    fs.mkdirSync(path.join(linkedOutputs, '.openhands'), { recursive: true });
    fs.symlinkSync(elsewhere, path.join(linkedOutputs, '.openhands', 'outputs'));
    const dangling = path.join(root, `ws-dangling-${id}`);
    fs.mkdirSync(dangling);
    fs.symlinkSync(path.join(elsewhere, 'made-by-mkdir'), path.join(dangling, '.openhands'));
    for (const ws of [linkedOutputs, dangling]) {
      const result = await runtime.exec(`${id}-${path.basename(ws)}`, ws, {
        command: 'seq 1 20000',
        isInput: false,
        reset: false,
        signal: new AbortController().signal,
      });
      expect(result.output).toContain('characters omitted. The full output could not be saved.');
      expect(result.fullOutputPath).toBeUndefined();
    }
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });

  it('returns early when a call gathers too much output, and the flood can be stopped', async () => {
    const rt = make({ maxCallChars: 300_000, noOutputTimeoutMs: 5000 });
    try {
      const started = Date.now();
      const flood = await exec('yes', {}, rt);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(flood).toMatchObject({ status: 'running', stoppedBy: 'output_limit' });
      expect(flood.output.length).toBeLessThan(31_000);
      let stopped = await exec('C-c', { isInput: true }, rt);
      // What the flood printed before C-c reached it may fill another call or two.
      for (let i = 0; i < 5 && stopped.status === 'running'; i++) stopped = await exec('', {}, rt);
      expect(stopped.status).toBe('completed'); // 130 as a rule; under heavy load seen as 0
      expect(await exec('echo ok', {}, rt)).toMatchObject({ output: 'ok\n' });
    } finally {
      await rt.disposeAll();
    }
  });

  it('starts a new shell, in the same cwd, after the shell exited, ending what it left', async () => {
    await exec('cd /tmp && export GONE=1');
    const orphan = Number((await exec('sleep 60 & echo $!')).output.trim());
    expect(await exec('exit 3')).toMatchObject({ status: 'exited', exitCode: 3 });
    expect(processExists(orphan)).toBe(true);
    const next = await exec('pwd; echo "[${GONE-}]"');
    expect(next.output).toBe('/tmp\n[]\n');
    expect(next.notes).toEqual([
      'The previous shell exited with code 3, so a new shell started in /tmp; variables and background processes of the old one are gone.',
    ]);
    expect(await waitUntil(() => !processExists(orphan), 2000)).toBe(true);
  });

  it('reset kills the shell and its background processes and starts afresh in the same cwd', async () => {
    await exec(`export OLD=1 && cd ${root}`);
    const background = Number((await exec('sleep 60 & echo $!')).output.trim());
    expect(processExists(background)).toBe(true);
    const reset = await exec('echo "[${OLD-}] $(pwd)"', { reset: true });
    expect(reset.output).toBe(`[] ${root}\n`);
    expect(reset.notes[0]).toMatch(/^The terminal was reset: a new shell started in /);
    expect(await waitUntil(() => !processExists(background), 2000)).toBe(true);
    expect(await exec('', { reset: true })).toMatchObject({ status: 'completed', exitCode: 0 });
  });

  it('on abort, kills the whole process group at once and returns promptly', async () => {
    const controller = new AbortController();
    await exec('sleep 60 &');
    const escaped = await exec('timeout 60 sleep 61 & echo $!'); // `timeout` takes its own group
    const timeoutPid = Number(escaped.output.trim());
    const pgid = await shellPid();
    expect(groupExists(pgid)).toBe(true);
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    const result = await exec('sleep 60', { signal: controller.signal });
    expect(result.status).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await waitUntil(() => !groupExists(pgid), 2000)).toBe(true);
    expect(await waitUntil(() => !processExists(timeoutPid), 2000)).toBe(true);
    const next = await exec('echo fresh');
    expect(next.output).toBe('fresh\n');
    expect(next.notes[0]).toMatch(/^The previous shell was stopped/);
  });

  it('dispose kills the conversation shell and everything it started', async () => {
    await exec('sleep 60 &');
    const pgid = await shellPid();
    const live = runtime.liveCount;
    await runtime.dispose(id);
    expect(await waitUntil(() => !groupExists(pgid), 2000)).toBe(true);
    expect(runtime.liveCount).toBe(live - 1);
  });

  describe('bounds', () => {
    const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root });

    it('kills a command that outlives the hard limit, with everything it started', async () => {
      const rt = testRuntime('none', env(), { commandTimeoutMs: 500, noOutputTimeoutMs: 5000 });
      try {
        const pid = Number((await exec('sleep 60 & echo $!', {}, rt)).output.trim());
        const started = Date.now();
        const result = await exec('sleep 30', {}, rt);
        expect(Date.now() - started).toBeLessThan(3000);
        expect(result.status).toBe('cancelled');
        expect(result.notes.join(' ')).toContain('longer than the limit of 1 s per command');
        expect(await waitUntil(() => !processExists(pid), 2000)).toBe(true);
        expect((await exec('echo again', {}, rt)).output).toBe('again\n');
      } finally {
        await rt.disposeAll();
      }
    });

    it('reaps an idle sandbox: its processes end, its workspace stays', async () => {
      const rt = testRuntime('none', env(), {}, { idleMs: 300 });
      try {
        const pid = Number(
          (await exec('echo kept > kept.txt; sleep 60 & echo $!', {}, rt)).output.trim(),
        );
        expect(rt.liveCount).toBe(1);
        expect(await waitUntil(() => rt.liveCount === 0, 3000)).toBe(true);
        expect(await waitUntil(() => !processExists(pid), 2000)).toBe(true);
        expect(fs.readFileSync(path.join(workspace, 'kept.txt'), 'utf8')).toBe('kept\n');
        expect((await exec('cat kept.txt', {}, rt)).output).toBe('kept\n');
      } finally {
        await rt.disposeAll();
      }
    });

    it('keeps at most maxLive sandboxes, ending the least recently used idle one', async () => {
      const rt = testRuntime('none', env(), {}, { maxLive: 2 });
      try {
        const first = Number((await exec('sleep 60 & echo $!', {}, rt)).output.trim());
        id = `${id}-b`;
        await exec('true', {}, rt);
        id = `${id}-c`;
        await exec('true', {}, rt);
        expect(rt.liveCount).toBe(2);
        expect(await waitUntil(() => !processExists(first), 2000)).toBe(true);
      } finally {
        await rt.disposeAll();
      }
    });
  });
});
