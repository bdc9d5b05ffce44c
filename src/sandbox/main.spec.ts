import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeEachProgram, SandboxProcess } from '../../test/support/sandbox-program';
import { needs } from '../../test/support/system-tools';
import { processes, waitFor } from '../../test/support/wait';
import { PROTOCOL_VERSION, RPC_ERROR } from './protocol';

/**
 * The sandbox program as its own process, spoken to in raw protocol lines: the seam itself. Both
 * programs (Node and native) run the same spec.
 */
describeEachProgram(
  'the sandbox program over its protocol (newline-delimited JSON-RPC on stdio)',
  (kind) => {
    let program: SandboxProcess;
    let workspace: string;

    beforeAll(() => {
      workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'oh-program-')));
      program = new SandboxProcess(kind);
    });
    afterAll(() => {
      program.child.kill('SIGKILL');
      fs.rmSync(workspace, { recursive: true, force: true });
    });

    /** A second program of its own, on a workspace of its own (hello done), killed and removed after `use`. */
    async function withOwnProgram(
      use: (other: SandboxProcess, dir: string) => Promise<void>,
      wrapper?: string[],
    ): Promise<void> {
      const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'oh-program-own-')));
      const other = new SandboxProcess(kind, undefined, wrapper);
      try {
        await other.hello(dir);
        await use(other, dir);
      } finally {
        other.child.kill('SIGKILL');
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }

    it('answers nothing but hello and ping before a hello of its own version', async () => {
      const early = await program.call('terminal', { command: 'id' });
      expect(early.error).toEqual({
        code: RPC_ERROR.NOT_INITIALIZED,
        message: '`hello` must come first',
      });
      expect((await program.call('ping')).result).toEqual({});
      const wrong = await program.call('hello', { protocol: 99, settings: { workspace } });
      expect(wrong.error).toEqual({
        code: RPC_ERROR.VERSION_MISMATCH,
        message: 'this sandbox program speaks protocol 1, not 99',
      });
      const relative = await program.call('hello', {
        protocol: PROTOCOL_VERSION,
        settings: { workspace: 'ws' },
      });
      expect(relative.error).toEqual({
        code: RPC_ERROR.INVALID_PARAMS,
        message: 'settings.workspace must be an absolute path',
      });
      const hello = await program.call('hello', {
        protocol: PROTOCOL_VERSION,
        settings: { workspace },
      });
      expect(hello.result).toEqual({ protocol: PROTOCOL_VERSION, pid: program.pid, workspace });
      const again = await program.call('hello', {
        protocol: PROTOCOL_VERSION,
        settings: { workspace },
      });
      expect(again.error).toEqual({
        code: RPC_ERROR.INVALID_REQUEST,
        message: '`hello` was already said',
      });
      expect((await program.call('nope')).error).toEqual({
        code: RPC_ERROR.METHOD_NOT_FOUND,
        message: 'no method nope',
      });
      const before = program.lines.length;
      program.send('not json');
      await waitFor(() => program.lines.length > before, 5000, 'an answer to a line not JSON');
      expect(JSON.parse(program.lines[before])).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: { code: RPC_ERROR.PARSE, message: 'not JSON' },
      });
    });

    it('runs terminal and editor requests against its workspace', async () => {
      const ran = await program.call('terminal', {
        command: 'echo hi > a.txt; pwd',
        isInput: false,
        reset: false,
      });
      expect(ran.result).toMatchObject({
        status: 'completed',
        output: `${workspace}\n`,
        exitCode: 0,
      });
      const viewed = await program.call('editor', {
        command: 'view',
        path: path.join(workspace, 'a.txt'),
      });
      expect(viewed.result).toEqual({
        output: `Here's the result of running \`cat -n\` on ${workspace}/a.txt:\n     1\thi\n`,
        isError: false,
      });
    });

    it('shows a number too large for a double as JSON.stringify does: null', async () => {
      const file = path.join(workspace, 'big.txt');
      fs.writeFileSync(file, 'a\n');
      const params = `{"command":"view","path":${JSON.stringify(file)},"view_range":[1e400,1]}`;
      program.send(`{"jsonrpc":"2.0","id":990,"method":"editor","params":${params}}`);
      expect((await program.answer(990)).result).toEqual({
        output: 'Invalid `view_range` [null,1]: its first element should be between 1 and 1.',
        isError: true,
      });
    });

    it('cancels a request by id: the command and what it started are killed', async () => {
      const marker = `61.${process.pid}${kind.length}`;
      const id = program.request('terminal', {
        command: `sleep ${marker}`,
        isInput: false,
        reset: false,
      });
      await waitFor(() => processes(`sleep ${marker}`).length === 1, 5000);
      program.send({ jsonrpc: '2.0', method: '$/cancel', params: { id } });
      expect((await program.answer(id, 5000)).result).toMatchObject({ status: 'cancelled' });
      await waitFor(() => processes(`sleep ${marker}`).length === 0, 3000);
    });

    it('runs queued terminal calls in order; cancelling a queued one ends the shell when its turn comes', async () => {
      const first = program.request('terminal', {
        command: 'sleep 0.3; echo first',
        isInput: false,
        reset: false,
      });
      const second = program.request('terminal', {
        command: 'echo second',
        isInput: false,
        reset: false,
      });
      program.send({ jsonrpc: '2.0', method: '$/cancel', params: { id: second } });
      expect((await program.answer(first)).result).toMatchObject({
        status: 'completed',
        output: 'first\n',
      });
      expect((await program.answer(second)).result).toMatchObject({
        status: 'cancelled',
        output: '',
        exitCode: -1,
      });
      const third = await program.call('terminal', {
        command: 'echo third',
        isInput: false,
        reset: false,
      });
      expect(third.result).toMatchObject({
        status: 'completed',
        output: 'third\n',
        notes: [
          `The previous shell was stopped (its turn was cancelled or the terminal was disposed), so a new shell started in ${workspace}; variables and background processes of the old one are gone.`,
        ],
      });
    });

    it('reads a request whose UTF-8 is split across writes', async () => {
      const line = Buffer.from(
        `${JSON.stringify({ jsonrpc: '2.0', id: 9001, method: 'terminal', params: { command: 'echo "é 🎉"', isInput: false, reset: false } })}\n`,
      );
      const cut = line.indexOf(Buffer.from('🎉')) + 2; // inside the emoji's four bytes
      program.child.stdin.write(line.subarray(0, cut));
      await new Promise((resolve) => setTimeout(resolve, 50));
      program.child.stdin.write(line.subarray(cut));
      expect((await program.answer(9001)).result).toMatchObject({ output: 'é 🎉\n' });
    });

    it('kills a deep chain of processes at once when its call is cancelled', async () => {
      const marker = `66.${process.pid}${kind.length}`;
      const id = program.request('terminal', {
        // 150 nested background subshells, the last one sleeping
        command: `f() { if [ "$1" -gt 0 ]; then f $(($1 - 1)) & wait; else sleep ${marker}; fi; }; f 150`,
        isInput: false,
        reset: false,
      });
      await waitFor(() => processes(`sleep ${marker}`).length === 1, 10_000);
      const started = Date.now();
      program.send({ jsonrpc: '2.0', method: '$/cancel', params: { id } });
      expect((await program.answer(id, 10_000)).result).toMatchObject({ status: 'cancelled' });
      expect(Date.now() - started).toBeLessThan(5000);
      await waitFor(() => processes(`sleep ${marker}`).length === 0, 3000);
    });

    // The native program is a child subreaper (PID 1 inside bubblewrap): orphans come back to it,
    // so its process-tree kill finds them. The Node program cannot be one; bubblewrap's PID
    // namespace ends them when its sandbox ends.
    (kind === 'native' ? it : it.skip)(
      'kills double-forked setsid daemons when the terminal is reset',
      async () => {
        const marker = `64.${process.pid}`;
        await program.call('terminal', {
          command:
            `(setsid sleep ${marker} > /dev/null 2>&1 &); ` +
            `(setsid sh -c 'sleep ${marker} & sleep ${marker}' > /dev/null 2>&1 &); true`,
          isInput: false,
          reset: false,
        });
        await waitFor(() => processes(`sleep ${marker}`).length >= 3, 5000, 'the daemons');
        const reset = await program.call('terminal', { command: '', isInput: false, reset: true });
        expect(reset.result).toMatchObject({ status: 'completed' });
        await waitFor(() => processes(`sleep ${marker}`).length === 0, 3000, 'no daemon left');
      },
    );

    // Unsandboxed, a `setsid` daemon escapes this; inside bubblewrap the PID namespace ends it too.
    it('clears its workspace, and ends with everything it started when its input closes', async () => {
      expect((await program.call('workspace.clear')).result).toEqual({});
      expect(fs.readdirSync(workspace)).toEqual([]);
      const marker = `62.${process.pid}${kind.length}`;
      await program.call('terminal', {
        command: `(sleep ${marker} &); sleep ${marker} &`,
        isInput: false,
        reset: false,
      });
      await waitFor(() => processes(`sleep ${marker}`).length === 2, 5000);
      const exited = new Promise((resolve) => program.child.once('exit', resolve));
      program.child.stdin.end();
      expect(await exited).toBe(0);
      await waitFor(() => processes(`sleep ${marker}`).length === 0, 3000);
    });

    needs.prlimit()('with a low open-file limit', () => {
      it('clears a tree deeper than the limit (it kept a directory open per level)', async () => {
        await withOwnProgram(
          async (other, dir) => {
            const deep = `[(os.mkdir('d'), os.chdir('d')) for i in range(300)]; open('f', 'w')`;
            const made = await other.call('terminal', {
              command: `python3 -c "import os; ${deep}" && find . | wc -l`,
              isInput: false,
              reset: false,
            });
            expect(made.result).toMatchObject({ status: 'completed', output: '302\n' });
            expect(await other.call('workspace.clear')).toMatchObject({ result: {} });
            expect(fs.readdirSync(dir)).toEqual([]);
          },
          ['prlimit', '--nofile=64', '--'],
        );
      });
    });

    it.each(['SIGTERM', 'SIGHUP', 'SIGINT'] as const)(
      'ends with everything it started on %s',
      async (signal) => {
        await withOwnProgram(async (other) => {
          const marker = `63.${process.pid}${kind.length}${signal.length}${signal.charCodeAt(4)}`;
          await other.call('terminal', {
            command: `sleep ${marker} &`,
            isInput: false,
            reset: false,
          });
          await waitFor(() => processes(`sleep ${marker}`).length === 1, 5000);
          const exited = new Promise((resolve) => other.child.once('exit', resolve));
          other.child.kill(signal);
          expect(await exited).toBe(0);
          await waitFor(() => processes(`sleep ${marker}`).length === 0, 3000);
        });
      },
    );

    it('when killed with SIGKILL, its shell and everything it started die too (the watchdog)', async () => {
      await withOwnProgram(async (other) => {
        const marker = `65.${process.pid}${kind.length}`;
        await other.call('terminal', {
          command: `(sleep ${marker} &); sleep ${marker} &`,
          isInput: false,
          reset: false,
        });
        await waitFor(() => processes(`sleep ${marker}`).length === 2, 5000);
        other.child.kill('SIGKILL');
        await waitFor(() => processes(`sleep ${marker}`).length === 0, 3000);
      });
    });

    it('answers shutdown, then exits with everything it started', async () => {
      await withOwnProgram(async (other) => {
        const marker = `64.${process.pid}${kind.length}`;
        await other.call('terminal', {
          command: `sleep ${marker} &`,
          isInput: false,
          reset: false,
        });
        await waitFor(() => processes(`sleep ${marker}`).length === 1, 5000);
        const exited = new Promise((resolve) => other.child.once('exit', resolve));
        expect((await other.call('shutdown')).result).toEqual({});
        expect(await exited).toBe(0);
        await waitFor(() => processes(`sleep ${marker}`).length === 0, 3000);
      });
    });
  },
);
