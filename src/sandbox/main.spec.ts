import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { processes, waitFor } from '../../test/support/wait';
import { sandboxProgramDir } from '../agent/workspace/sandbox-program';
import { LineSplitter, PROTOCOL_VERSION, RPC_ERROR, type RpcResponse } from './protocol';

/** The sandbox program as its own process, spoken to in raw protocol lines: the seam itself. */
describe('the sandbox program over its protocol (newline-delimited JSON-RPC on stdio)', () => {
  let child: ChildProcessWithoutNullStreams;
  let workspace: string;
  let nextId = 1;
  const answers = new Map<number, RpcResponse>();

  const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
  const call = async (method: string, params?: unknown, id = nextId++): Promise<RpcResponse> => {
    send({ jsonrpc: '2.0', id, method, params });
    await waitFor(() => answers.has(id), 10_000, `an answer to ${method}`);
    return answers.get(id) as RpcResponse;
  };

  beforeAll(() => {
    workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'oh-program-')));
    child = spawn(process.execPath, [path.join(sandboxProgramDir(), 'main.js')], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const splitter = new LineSplitter();
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      for (const line of splitter.push(chunk)) {
        const message = JSON.parse(line) as RpcResponse;
        if (typeof message.id === 'number') answers.set(message.id, message);
      }
    });
  });
  afterAll(() => {
    child.kill('SIGKILL');
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('answers nothing but hello and ping before a hello of its own version', async () => {
    expect((await call('terminal', { command: 'id' })).error?.code).toBe(RPC_ERROR.NOT_INITIALIZED);
    expect((await call('ping')).result).toEqual({});
    const wrong = await call('hello', { protocol: 99, settings: { workspace } });
    expect(wrong.error).toMatchObject({ code: RPC_ERROR.VERSION_MISMATCH });
    const hello = await call('hello', { protocol: PROTOCOL_VERSION, settings: { workspace } });
    expect(hello.result).toEqual({ protocol: PROTOCOL_VERSION, pid: child.pid, workspace });
    expect((await call('nope')).error?.code).toBe(RPC_ERROR.METHOD_NOT_FOUND);
    child.stdin.write('not json\n');
  });

  it('runs terminal and editor requests against its workspace', async () => {
    const ran = await call('terminal', {
      command: 'echo hi > a.txt; pwd',
      isInput: false,
      reset: false,
    });
    expect(ran.result).toMatchObject({
      status: 'completed',
      output: `${workspace}\n`,
      exitCode: 0,
    });
    const viewed = await call('editor', { command: 'view', path: path.join(workspace, 'a.txt') });
    expect(viewed.result).toEqual({
      output: `Here's the result of running \`cat -n\` on ${workspace}/a.txt:\n     1\thi\n`,
      isError: false,
    });
  });

  it('cancels a request by id: the command and what it started are killed', async () => {
    const marker = `61.${process.pid}`;
    const id = nextId++;
    send({
      jsonrpc: '2.0',
      id,
      method: 'terminal',
      params: { command: `sleep ${marker}`, isInput: false, reset: false },
    });
    await waitFor(() => processes(`sleep ${marker}`).length === 1, 5000);
    send({ jsonrpc: '2.0', method: '$/cancel', params: { id } });
    await waitFor(() => answers.has(id), 5000);
    expect(answers.get(id)?.result).toMatchObject({ status: 'cancelled' });
    await waitFor(() => processes(`sleep ${marker}`).length === 0, 3000);
  });

  // Unsandboxed, a `setsid` daemon escapes this; inside bubblewrap the PID namespace ends it too.
  it('clears its workspace, and ends with everything it started when its input closes', async () => {
    expect((await call('workspace.clear')).result).toEqual({});
    expect(fs.readdirSync(workspace)).toEqual([]);
    const marker = `62.${process.pid}`;
    await call('terminal', {
      command: `(sleep ${marker} &); sleep ${marker} &`,
      isInput: false,
      reset: false,
    });
    await waitFor(() => processes(`sleep ${marker}`).length === 2, 5000);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.end();
    expect(await exited).toBe(0);
    await waitFor(() => processes(`sleep ${marker}`).length === 0, 3000);
  });
});
