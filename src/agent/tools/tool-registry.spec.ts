import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { asSchema } from 'ai';
import type {
  TerminalRequest,
  TerminalResult,
  WorkspaceRuntime,
} from '../workspace/workspace-runtime';
import { ToolRegistry, type PreparedCall, type PrepareResult } from './tool-registry';
import type { ToolContext } from './tool';

/** Records terminal calls; the real shell is covered by the terminal and runtime specs. */
class RecordingRuntime implements WorkspaceRuntime {
  readonly mode = 'none' as const;
  readonly program = 'node' as const;
  readonly requests: TerminalRequest[] = [];
  async editor(_id: string, dir: string) {
    if (!fs.existsSync(dir)) throw new Error(`ENOENT: no such file or directory, ${dir}`);
    return { output: 'edited', isError: false };
  }
  async deleteWorkspace(): Promise<void> {}
  async exec(_id: string, _dir: string, request: TerminalRequest): Promise<TerminalResult> {
    this.requests.push(request);
    return { status: 'completed', output: 'ok\n', exitCode: 0, cwd: '/w', waitedMs: 1, notes: [] };
  }
  async dispose(): Promise<void> {}
  async disposeAll(): Promise<void> {}
}

const prepared = (result: PrepareResult): PreparedCall => {
  if ('error' in result) throw new Error(result.error);
  return result;
};

describe(ToolRegistry.name, () => {
  const runtime = new RecordingRuntime();
  const sut = new ToolRegistry(runtime);
  const AVAILABLE = 'Available: terminal, file_editor, task_tracker, think, finish';

  it('lists its tools', () => {
    expect(sut.names()).toEqual(['terminal', 'file_editor', 'task_tracker', 'think', 'finish']);
  });

  it('gives the LLM schemas that start with `summary`, with `security_risk` for side effects', async () => {
    const tools = sut.llmTools();
    expect(Object.keys(tools)).toEqual(sut.names());
    const schemas = Object.fromEntries(
      await Promise.all(
        Object.entries(tools).map(
          async ([name, t]) => [name, await asSchema(t.inputSchema).jsonSchema] as const,
        ),
      ),
    );
    for (const [name, schema] of Object.entries(schemas)) {
      expect(tools[name].execute).toBeUndefined();
      expect(Object.keys(schema.properties ?? {})[0]).toBe('summary');
      expect(schema.required).not.toContain('summary');
      const hasRisk = 'security_risk' in (schema.properties ?? {});
      expect(hasRisk).toBe(name === 'terminal' || name === 'file_editor');
    }
    expect(schemas.terminal).toEqual({
      type: 'object',
      properties: {
        summary: expect.any(Object),
        command: expect.objectContaining({ type: 'string' }),
        is_input: expect.objectContaining({ type: 'boolean', default: false }),
        timeout: expect.objectContaining({ type: 'number' }),
        reset: expect.objectContaining({ type: 'boolean', default: false }),
        security_risk: expect.objectContaining({ enum: ['LOW', 'MEDIUM', 'HIGH', 'UNKNOWN'] }),
      },
      required: ['command'],
    });
    expect(JSON.stringify(schemas)).not.toContain('9007199254740991');
  });

  it('normalises sloppy tool names', () => {
    for (const name of ['bash', 'execute_bash', 'command', 'Terminal', ' terminal ']) {
      expect(prepared(sut.prepare(name, { command: 'ls' })).tool.name).toBe('terminal');
    }
    expect(
      prepared(sut.prepare('str_replace_editor', { command: 'view', path: '/w' })).tool.name,
    ).toBe('file_editor');
  });

  it('names the available tools when one is unknown', () => {
    expect(sut.prepare('browser', {})).toEqual({ error: `Tool 'browser' not found. ${AVAILABLE}` });
  });

  it('takes out summary and security_risk and applies defaults', () => {
    const call = prepared(
      sut.prepare('terminal', { summary: ' List the files ', security_risk: 'low', command: 'ls' }),
    );
    expect(call.args).toEqual({ command: 'ls', is_input: false, reset: false });
    expect(call.summary).toBe('List the files');
    expect(call.securityRisk).toBe('LOW');
    expect(sut.describe(call)).toBe('List the files');
    expect(sut.describe(prepared(sut.prepare('terminal', { command: 'ls' })))).toBe('Running `ls`');
  });

  it('decodes JSON-encoded input and fixes sloppy scalars', () => {
    expect(
      prepared(sut.prepare('terminal', '{"command":"pwd","timeout":"20","is_input":"false"}')).args,
    ).toEqual({
      command: 'pwd',
      timeout: 20,
      is_input: false,
      reset: false,
    });
    expect(prepared(sut.prepare('terminal', { command: 'ls', timeout: null })).args).toEqual({
      command: 'ls',
      is_input: false,
      reset: false,
    });
    expect(
      prepared(sut.prepare('file_editor', { command: 'View', path: '/w/a', view_range: '[1, 20]' }))
        .args,
    ).toEqual({ command: 'view', path: '/w/a', view_range: [1, 20] });
    const plan = prepared(
      sut.prepare('task_tracker', {
        command: 'plan',
        task_list: JSON.stringify([{ title: 'a', status: 'done' }, '{"title":"b"}']),
      }),
    );
    expect(plan.args).toEqual({
      command: 'plan',
      task_list: [
        { title: 'a', notes: '', status: 'done' },
        { title: 'b', notes: '', status: 'todo' },
      ],
    });
    expect(prepared(sut.prepare('task_tracker', '')).args).toEqual({
      command: 'view',
      task_list: [],
    });
    expect(prepared(sut.prepare('task_tracker', undefined)).args).toEqual({
      command: 'view',
      task_list: [],
    });
  });

  it('reports invalid arguments readably, naming the field', () => {
    expect(sut.prepare('terminal', {})).toEqual({
      error: "Error validating tool 'terminal': command: required (string)",
    });
    expect(sut.prepare('file_editor', { command: 'create', path: '/w/a' })).toEqual({
      error: "Error validating tool 'file_editor': file_text: required for command `create`",
    });
    const bad = sut.prepare('file_editor', { command: 'delete', path: '/w/a' });
    expect('error' in bad && bad.error).toMatch(
      /^Error validating tool 'file_editor': command: Invalid option: expected one of/,
    );
    expect(sut.prepare('think', 'not json')).toEqual({
      error: "Error validating tool 'think': the arguments must be a JSON object.",
    });
  });

  it('runs a call, and turns a thrown error into an error outcome', async () => {
    const ctx: ToolContext = {
      conversationId: 'c',
      workspaceDir: fs.realpathSync(os.tmpdir()),
      signal: new AbortController().signal,
      tasks: { get: async () => [], set: async () => undefined },
    };
    const ran = await sut.execute(
      prepared(sut.prepare('bash', { command: 'ls', timeout: 2 })),
      ctx,
    );
    expect(ran.output).toBe(
      'ok\n[Current working directory: /w]\n[Command finished with exit code 0]',
    );
    expect(runtime.requests.at(-1)).toMatchObject({
      command: 'ls',
      timeoutMs: 2000,
      isInput: false,
    });

    const missing = path.join(os.tmpdir(), 'oh-registry-does-not-exist');
    const failed = await sut.execute(
      prepared(sut.prepare('file_editor', { command: 'view', path: `${missing}/a` })),
      { ...ctx, workspaceDir: missing },
    );
    expect(failed.isError).toBe(true);
    expect(failed.output).toMatch(/^Error running tool 'file_editor': ENOENT/);
  });
});
