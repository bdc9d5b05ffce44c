import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileEditorTool } from '../tools/file-editor.tool';
import type { ToolContext } from '../tools/tool';
import type { ShellLauncher } from './bash-session';
import {
  bwrapArgs,
  bwrapLauncher,
  createBwrapLauncher,
  SandboxUnavailableError,
  SYSTEM_DIRS,
} from './bwrap-launcher';
import { LocalWorkspaceRuntime } from './local-runtime';
import type { TerminalRequest, TerminalResult } from './workspace-runtime';
import { needs } from '../../../test/support/system-tools';

// Real bubblewrap, real bash: mandatory under CI (.ci/run installs it); elsewhere, without a
// working bwrap, skipped with one line saying how to install it.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `pid` and everything below it, from /proc (zombies left out: they are gone, just not reaped). */
function processTree(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z') parents.set(Number(name), Number(ppid));
    } catch {
      // exited meanwhile
    }
  }
  const found = parents.has(pid) ? [pid] : [];
  for (let i = 0; i < found.length; i++) {
    for (const [child, parent] of parents) if (parent === found[i]) found.push(child);
  }
  return found;
}

const alive = (pids: number[]) =>
  pids.filter((pid) => {
    try {
      return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  });

async function waitUntil(condition: () => boolean, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(20)) {
    if (condition()) return true;
  }
  return condition();
}

needs.bwrap()('bubblewrap sandbox (OH_SANDBOX=bwrap)', () => {
  // Outside /tmp (private in the sandbox) so that the paths look like a deployment's: the
  // service's data next to the workspace root, neither under a system directory.
  let root: string;
  let dataDir: string;
  let secretKey: string;
  let workspaces: string;
  let ws: string;
  let other: string;
  let home: string;
  let env: Record<string, string>;
  let launcher: ShellLauncher;
  let runtime: LocalWorkspaceRuntime;
  let conversation = 0;
  let id: string;

  const exec = (
    command: string,
    extra: Partial<TerminalRequest> = {},
    rt: LocalWorkspaceRuntime = runtime,
  ): Promise<TerminalResult> =>
    rt.exec(id, ws, {
      command,
      isInput: false,
      reset: false,
      signal: new AbortController().signal,
      ...extra,
    });

  beforeAll(async () => {
    root = fs.realpathSync(fs.mkdtempSync('/var/tmp/oh-sandbox-'));
    dataDir = path.join(root, 'data');
    secretKey = path.join(dataDir, 'secret.key');
    workspaces = path.join(root, 'workspace');
    ws = path.join(workspaces, 'conversation-a');
    other = path.join(workspaces, 'conversation-b');
    home = path.join(root, 'home');
    for (const dir of [dataDir, ws, other, home]) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(secretKey, 'the-secret-key', { mode: 0o600 });
    fs.writeFileSync(path.join(other, 'theirs.txt'), 'their work\n');
    fs.writeFileSync(path.join(home, '.netrc'), 'machine example.com password hunter2\n');
    env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8' };
    launcher = await createBwrapLauncher({ privateDirs: [workspaces, dataDir] }, env);
    runtime = new LocalWorkspaceRuntime({ shellEnv: env, launcher, noOutputTimeoutMs: 2000 });
  });
  beforeEach(() => (id = `conversation-${++conversation}`));
  afterAll(async () => {
    await runtime?.disposeAll();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('writes in the workspace and keeps cwd and variables between calls', async () => {
    expect(
      await exec('echo made > made.txt && mkdir -p sub && cd sub && export KEEP=kept'),
    ).toMatchObject({ status: 'completed', exitCode: 0, cwd: path.join(ws, 'sub') });
    expect((await exec('pwd && echo "$KEEP" && cat ../made.txt')).output).toBe(
      `${ws}/sub\nkept\nmade\n`,
    );
    expect(fs.readFileSync(path.join(ws, 'made.txt'), 'utf8')).toBe('made\n');
    await exec(`cd ${ws}`);
  });

  it('cannot write to the system, the root, the real home, the data directory or another workspace', async () => {
    const targets = [
      '/etc/oh-sandbox-test',
      '/usr/oh-sandbox-test',
      '/oh-sandbox-test',
      path.join(home, 'planted'),
      path.join(dataDir, 'planted'),
      secretKey,
      path.join(other, 'theirs.txt'),
      path.join(workspaces, 'conversation-c'),
    ];
    const result = await exec(
      targets.map((t) => `{ mkdir -p ${path.dirname(t)}; echo x > ${t}; } 2>/dev/null`).join('; ') +
        `; echo "[$(ls -A ${workspaces})]"`,
    );
    expect(result.output).toBe('[conversation-a]\n'); // the others' workspaces are not there
    for (const target of targets.slice(0, 3)) expect(fs.existsSync(target)).toBe(false);
    expect(fs.readdirSync(home)).toEqual(['.netrc']);
    expect(fs.readdirSync(dataDir)).toEqual(['secret.key']);
    expect(fs.readFileSync(secretKey, 'utf8')).toBe('the-secret-key');
    expect(fs.readdirSync(workspaces).sort()).toEqual(['conversation-a', 'conversation-b']);
    expect(fs.readFileSync(path.join(other, 'theirs.txt'), 'utf8')).toBe('their work\n');
    expect((await exec('touch /etc/passwd')).output).toContain('Read-only file system');
  });

  it('cannot read the secret key, the real home or another workspace, nor see host processes', async () => {
    const result = await exec(
      `cat ${secretKey}; cat ${path.join(other, 'theirs.txt')}; cat ~/.netrc; ` +
        `ls /proc | grep -c '^[0-9]'; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status`,
    );
    expect(result.output).not.toContain('the-secret-key');
    expect(result.output).not.toContain('their work');
    expect(result.output).not.toContain('hunter2');
    expect(result.output).toContain(`cat: ${secretKey}: No such file or directory`);
    const [count, capEff, noNewPrivs] = result.output.trim().split('\n').slice(-3);
    expect(Number(count)).toBeLessThanOrEqual(5); // bwrap's init, bash and the pipeline
    expect(capEff).toBe('CapEff:\t0000000000000000');
    expect(noNewPrivs).toBe('NoNewPrivs:\t1');
  });

  it('has a private /tmp and home that writes never leave', async () => {
    const result = await exec(
      'echo t > /tmp/scratch && echo h > ~/cache && cat /tmp/scratch ~/cache',
    );
    expect(result).toMatchObject({ exitCode: 0, output: 't\nh\n' });
    expect(fs.existsSync('/tmp/scratch')).toBe(false);
    expect(fs.readdirSync(home)).toEqual(['.netrc']);
  });

  it('cannot reach the network, not even a server on the host loopback', async () => {
    let connections = 0;
    const server = net.createServer((socket) => {
      connections++;
      socket.end('hello\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const result = await exec(
        `(exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected) 2>&1; ` +
          `awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' /proc/net/dev`,
      );
      expect(result.output).not.toContain('connected\n');
      expect(result.output).toContain('Connection refused');
      expect(result.output.trim().split('\n').at(-1)).toBe('lo'); // the only interface
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });

  it('C-c stops the command, not the shell', async () => {
    expect(await exec('sleep 30; echo after', { timeoutMs: 300 })).toMatchObject({
      status: 'running',
    });
    expect(await exec('C-c', { isInput: true })).toMatchObject({
      status: 'completed',
      exitCode: 130,
    });
    expect(await exec('echo still here')).toMatchObject({ output: 'still here\n', notes: [] });
  });

  it('a cancel during sleep 60 kills every process of the sandbox within 2 s', async () => {
    await exec('sleep 60 & setsid sleep 61 & (timeout 62 sleep 62 &)');
    const controller = new AbortController();
    let abortedAt = 0;
    setTimeout(() => {
      abortedAt = Date.now();
      controller.abort();
    }, 300);
    const pending = exec('sleep 60', { signal: controller.signal });
    await sleep(150);
    const tree = processTree(runtime.findShellPid(id) as number);
    expect(tree.length).toBeGreaterThanOrEqual(7); // bwrap ×2, bash, 4 sleeps and a timeout
    expect((await pending).status).toBe('cancelled');
    expect(await waitUntil(() => alive(tree).length === 0, 2000)).toBe(true);
    expect(Date.now() - abortedAt).toBeLessThan(2000);
    expect((await exec('echo fresh')).output).toBe('fresh\n');
  });

  it('dies with the service: nothing of the sandbox outlives a SIGKILLed parent', async () => {
    const control = fs.mkdtempSync(path.join(os.tmpdir(), 'oh-sandbox-control-'));
    const args = bwrapArgs(
      { cwd: ws, env, controlDir: control, workspaceDir: ws },
      { privateDirs: [workspaces, dataDir] },
    );
    // A stand-in for the service: a shell that starts the sandbox, then is killed outright.
    const service = spawn('sh', ['-c', 'bwrap "$@" & wait', 'sh', ...args, 'sleep', '77'], {
      env,
      stdio: 'ignore',
    });
    try {
      let tree: number[] = [];
      expect(
        await waitUntil(() => (tree = processTree(service.pid as number)).length >= 4, 5000),
      ).toBe(true); // sh, bwrap ×2, sleep
      service.kill('SIGKILL');
      expect(await waitUntil(() => alive(tree).length === 0, 2000)).toBe(true);
    } finally {
      service.kill('SIGKILL');
      fs.rmSync(control, { recursive: true, force: true });
    }
  });

  it('restarts in the old cwd when the sandbox shows it, else in the workspace', async () => {
    await exec('cd /usr/share');
    expect(await exec('exit 3')).toMatchObject({ status: 'exited', exitCode: 3 });
    expect((await exec('pwd')).output).toBe('/usr/share\n');
    // A directory of the old sandbox's private /tmp: the host has one of that name, the new not.
    const onHost = fs.mkdtempSync(path.join(os.tmpdir(), 'oh-sandbox-cwd-'));
    try {
      await exec(`mkdir -p ${onHost} && cd ${onHost}`);
      expect(await exec('exit 4')).toMatchObject({ status: 'exited', exitCode: 4 });
      const next = await exec('pwd');
      expect(next.output).toBe(`${ws}\n`);
      expect(next.notes[0]).toContain(`so a new shell started in ${ws};`);
    } finally {
      fs.rmSync(onHost, { recursive: true, force: true });
    }
  });

  it('agrees with file_editor, which runs outside, on every workspace path', async () => {
    const editor = new FileEditorTool();
    const ctx: ToolContext = {
      conversationId: id,
      workspaceDir: ws,
      signal: new AbortController().signal,
      tasks: { get: async () => [], set: async () => undefined },
    };
    await exec('mkdir -p src && printf "one\\ntwo\\n" > src/a.txt');
    const file = path.join(ws, 'src', 'a.txt');
    expect(
      await editor.execute(
        { command: 'str_replace', path: file, old_str: 'two', new_str: '2' },
        ctx,
      ),
    ).toMatchObject({ isError: false });
    expect((await exec(`cat ${file}`)).output).toBe('one\n2\n');
    const created = path.join(ws, 'made-by-editor.txt');
    await editor.execute({ command: 'create', path: created, file_text: 'x\n' }, ctx);
    expect((await exec(`cat ${created}`)).output).toBe('x\n');
    const long = await exec('seq 1 20000');
    expect(long.fullOutputPath?.startsWith(`${ws}/.openhands/outputs/`)).toBe(true);
    expect((await exec(`wc -l < ${long.fullOutputPath}`)).output).toBe('20000\n');
  });

  it('hides private directories that lie under a mounted system directory', async () => {
    const system = path.join(root, 'system');
    const hidden = path.join(system, 'service-data');
    fs.mkdirSync(hidden, { recursive: true });
    fs.writeFileSync(path.join(system, 'tool.txt'), 'a tool\n');
    fs.writeFileSync(path.join(hidden, 'secret.key'), 'hidden-key');
    const rt = new LocalWorkspaceRuntime({
      shellEnv: env,
      launcher: bwrapLauncher({
        privateDirs: [workspaces, hidden],
        systemDirs: [...SYSTEM_DIRS, system],
      }),
    });
    try {
      const result = await exec(
        `cat ${system}/tool.txt; ls -A ${hidden}; cat ${hidden}/secret.key; touch ${system}/new`,
        {},
        rt,
      );
      expect(result.output).toContain('a tool\n');
      expect(result.output).not.toContain('hidden-key');
      expect(result.output).toContain(`touch: cannot touch '${system}/new': Read-only file system`);
    } finally {
      await rt.disposeAll();
    }
  });

  describe('start-up check', () => {
    let fakes: string;
    beforeAll(() => (fakes = fs.mkdtempSync(path.join(os.tmpdir(), 'oh-fake-bwrap-'))));
    afterAll(() => fs.rmSync(fakes, { recursive: true, force: true }));

    it('refuses, saying what to do, when bwrap is not installed', async () => {
      const check = createBwrapLauncher(
        { privateDirs: [], bwrap: path.join(fakes, 'missing') },
        env,
      );
      await expect(check).rejects.toBeInstanceOf(SandboxUnavailableError);
      await expect(check).rejects.toThrow(
        /^OH_SANDBOX=bwrap, but bubblewrap cannot create the sandbox on this machine: `.*missing` was not found\. Install bubblewrap .* or set OH_SANDBOX=none/,
      );
    });

    it('refuses with bwrap’s own words when it cannot create namespaces here', async () => {
      const fake = path.join(fakes, 'bwrap');
      fs.writeFileSync(
        fake,
        '#!/bin/sh\necho "bwrap: No permissions to create new namespace" >&2\nexit 1\n',
        { mode: 0o755 },
      );
      await expect(createBwrapLauncher({ privateDirs: [], bwrap: fake }, env)).rejects.toThrow(
        'cannot create the sandbox on this machine: bwrap: No permissions to create new namespace.',
      );
    });
  });
});
