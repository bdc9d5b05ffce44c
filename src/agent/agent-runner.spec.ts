import { randomUUID } from 'node:crypto';
import type { ConfigType } from '@nestjs/config';
import { AppError } from '../common/errors/app-error';
import type { agentConfig } from '../config/agent.config';
import type { NewEvent, StoredEvent } from '../conversations/events.types';
import type { TaskItem } from '../conversations/tasks.types';
import type { NewLlmCall } from '../conversations/usage.types';
import type { LlmClient } from '../models/llm-client.service';
import type {
  LlmRequest,
  LlmStepResult,
  LlmStreamPart,
  LlmToolCall,
  ResolvedModel,
} from '../models/llm.types';
import { llmStep } from '../../test/support/llm-step';
import { AgentRunner, type LoopResult, type LoopTurn, type StepJournal } from './agent-runner';
import { Condenser } from './condenser';
import { EventChannel } from './event-channel';
import { ToolRegistry } from './tools/tool-registry';
import type { AgentEvent, TurnTools } from './turns.types';
import type { TerminalRequest, WorkspaceRuntime } from './workspace/workspace-runtime';

/**
 * The loop's decisions, without HTTP or a database: a scripted LLM client (one reply per step, or
 * a hang until the turn's signal aborts) and a journal kept in memory. The workspace runtime is a
 * fake that records terminal calls; the tools themselves are the real registry's.
 */

type Step = Partial<LlmStepResult> | 'hang' | Error;

class FakeLlm {
  readonly requests: LlmRequest[] = [];
  constructor(private readonly steps: Step[]) {}

  async *stream(request: LlmRequest): AsyncGenerator<LlmStreamPart> {
    this.requests.push(request);
    const step = this.steps.shift() ?? new Error('the script ran out of replies');
    if (step === 'hang') {
      await new Promise((_, reject) => {
        const stop = () => reject(new Error('aborted'));
        if (request.signal?.aborted) stop();
        request.signal?.addEventListener('abort', stop);
      });
      return;
    }
    if (step instanceof Error) throw step;
    const result = reply(step);
    if (result.text) yield { type: 'text-delta', text: result.text };
    yield { type: 'finish', result };
  }
}

const reply = (over: Partial<LlmStepResult>): LlmStepResult =>
  llmStep({ costUsd: 0.001, priced: true, responseModel: 'fake-model', ...over });

const call = (name: string, input: unknown): LlmToolCall => ({
  id: `provider_${randomUUID().slice(0, 8)}`,
  name,
  input,
});

class MemoryJournal implements StepJournal {
  readonly conversation = {
    id: randomUUID(),
    profileName: 'test',
    workspaceDir: '/workspace/of/this/test',
    systemPromptSuffix: null,
  } as StepJournal['conversation'];
  readonly history: StoredEvent[] = [];
  readonly calls: NewLlmCall[] = [];
  private taskList: TaskItem[] = [];
  readonly tasks = {
    get: async () => this.taskList,
    set: async (tasks: TaskItem[]) => void (this.taskList = tasks),
  };

  constructor(prompt: string) {
    void this.append([{ kind: 'user_message', source: 'user', payload: { text: prompt } }]);
  }

  async append(events: NewEvent[], calls: NewLlmCall[] = []): Promise<StoredEvent[]> {
    const stored = events.map((event): StoredEvent => ({
      ...event,
      id: randomUUID(),
      seq: this.history.length + 1,
      createdAt: new Date().toISOString(),
    }));
    this.history.push(...stored);
    this.calls.push(...calls);
    return stored;
  }

  kinds(): string[] {
    return this.history.map((e) => e.kind);
  }
}

const model = {
  gatewayModel: 'openhands_test',
  profileName: 'test',
  model: 'openai/fake-model',
  config: { model: 'openai/fake-model' },
  timeoutMs: 60_000,
  maxRetries: 0,
  contextWindow: null,
  secrets: [],
} as unknown as ResolvedModel;

interface Run extends LoopResult {
  llm: FakeLlm;
  journal: MemoryJournal;
  events: AgentEvent[];
  terminal: TerminalRequest[];
}

async function runTurn(
  steps: Step[],
  options: {
    maxIterations?: number;
    turnTimeoutMs?: number;
    tools?: TurnTools;
    answerFormat?: LoopTurn['answerFormat'];
    abort?: { afterMs: number; reason: string };
  } = {},
): Promise<Run> {
  const llm = new FakeLlm(steps);
  const terminal: TerminalRequest[] = [];
  const runtime: WorkspaceRuntime = {
    mode: 'none',
    program: 'node',
    exec: async (_id, _dir, request) => {
      terminal.push(request);
      return {
        status: 'completed',
        output: `ran: ${request.command}`,
        exitCode: 0,
        cwd: '/workspace',
        waitedMs: 1,
        notes: [],
      };
    },
    editor: async () => {
      throw new Error('not used here');
    },
    dispose: async () => {},
    deleteWorkspace: async () => {},
    disposeAll: async () => {},
  };
  const config = {
    maxIterations: options.maxIterations ?? 10,
    turnTimeoutMs: options.turnTimeoutMs ?? 10_000,
  } as ConfigType<typeof agentConfig>;
  const client = llm as unknown as LlmClient;
  const runner = new AgentRunner(client, new ToolRegistry(runtime), new Condenser(client), config);
  const journal = new MemoryJournal('Do the task.');
  const out = new EventChannel<AgentEvent>();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  if (options.abort) {
    const { afterMs, reason } = options.abort;
    timer = setTimeout(() => controller.abort(reason), afterMs);
  }
  const result = await runner.execute(
    {
      journal,
      model,
      streamed: true,
      tools: options.tools,
      answerFormat: options.answerFormat,
    },
    controller,
    out,
  );
  clearTimeout(timer);
  out.close();
  const events: AgentEvent[] = [];
  for await (const event of out) events.push(event);
  return { ...result, llm, journal, events, terminal };
}

const think = (thought: string) => ({ toolCalls: [call('think', { thought })] });

describe('AgentRunner (the loop, with a scripted LLM and an in-memory journal)', () => {
  it('runs a server tool call, records its result, and ends on a reply without tool calls', async () => {
    const run = await runTurn([think('plan'), { text: 'All done.' }]);

    expect(run.ending).toMatchObject({ reason: 'stop', answer: 'All done.' });
    expect(run.journal.kinds()).toEqual([
      'user_message',
      'llm_response',
      'tool_call',
      'tool_result',
    ]);
    const result = run.journal.history[3];
    expect(result.kind === 'tool_result' && result.payload).toMatchObject({
      tool: 'think',
      is_error: false,
    });
    // the final step is not written yet: it goes with the turn's end
    expect(run.ending.step?.events.map((e) => e.kind)).toEqual(['llm_response']);
    expect(run.ending.step?.calls).toHaveLength(1);
    // the second request carries the first step and its result
    expect(run.llm.requests).toHaveLength(2);
    expect(run.llm.requests[1].messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(run.usage).toMatchObject({ prompt_tokens: 200, completion_tokens: 20 });
    expect(run.content.text).toBe('All done.');
  });

  it('runs a workspace tool through the workspace runtime, in the conversation and its workspace', async () => {
    const run = await runTurn([
      { toolCalls: [call('terminal', { command: 'ls -la' })] },
      { text: 'Listed.' },
    ]);

    expect(run.terminal).toEqual([expect.objectContaining({ command: 'ls -la' })]);
    const result = run.journal.history.find((e) => e.kind === 'tool_result');
    expect(result?.kind === 'tool_result' && result.payload.output).toContain('ran: ls -la');
  });

  it('answers an unknown tool with an error result and goes on', async () => {
    const run = await runTurn([{ toolCalls: [call('teleport', {})] }, { text: 'Sorry.' }]);

    const result = run.journal.history.find((e) => e.kind === 'tool_result');
    expect(result?.kind === 'tool_result' && result.payload).toMatchObject({
      tool: 'teleport',
      is_error: true,
      output: expect.stringContaining("Tool 'teleport' not found"),
    });
    expect(run.ending.reason).toBe('stop');
  });

  it('ends on `finish` with its message, streamed as the last paragraph', async () => {
    const run = await runTurn([
      { text: 'Working on it.', toolCalls: [call('finish', { message: 'Finished: 42.' })] },
    ]);

    expect(run.ending).toMatchObject({ reason: 'finish', answer: 'Finished: 42.' });
    expect(run.content.text).toBe('Working on it.\n\nFinished: 42.');
    expect(run.llm.requests).toHaveLength(1);
  });

  it("pauses on a client tool call: the client's id, no result, nothing run here", async () => {
    const tools: TurnTools = {
      mode: 'both',
      client: [{ name: 'get_weather', parameters: { type: 'object' } }],
      choice: 'auto',
      parallel: true,
    };
    const run = await runTurn(
      [{ text: 'Checking.', toolCalls: [call('get_weather', { city: 'Paris' })] }],
      { tools },
    );

    expect(run.ending.reason).toBe('tool_calls');
    expect(run.ending.answer).toBe('Checking.');
    expect(run.ending.toolCalls).toEqual([
      { id: expect.stringMatching(/^call_/), name: 'get_weather', arguments: '{"city":"Paris"}' },
    ]);
    expect(run.journal.kinds()).toEqual(['user_message', 'llm_response', 'tool_call']);
    const recorded = run.journal.history[2];
    expect(recorded.kind === 'tool_call' && recorded.payload.client_call_id).toBe(
      run.ending.toolCalls?.[0].id,
    );
    expect(Object.keys(run.llm.requests[0].tools ?? {})).toEqual(
      expect.arrayContaining(['terminal', 'finish', 'get_weather']),
    );
  });

  it('stops as stuck after the same call with the same result four times', async () => {
    const run = await runTurn([
      think('again'),
      think('again'),
      think('again'),
      think('again'),
      think('never reached'),
    ]);

    expect(run.ending.reason).toBe('stuck');
    expect(run.ending.answer).toMatch(/^I stopped because I was going in circles: I called think/);
    expect(run.llm.requests).toHaveLength(4);
    expect(run.content.text).toContain('going in circles');
  });

  it('nudges after an empty reply, and stops as stuck after three in a row', async () => {
    const run = await runTurn([{}, {}, {}, { text: 'never reached' }]);

    expect(run.ending.reason).toBe('stuck');
    expect(run.ending.answer).toContain('no text and no tool call three times');
    expect(run.journal.kinds().filter((k) => k === 'nudge')).toHaveLength(2);
    expect(run.llm.requests).toHaveLength(3);
  });

  it('stops at the iteration limit with a notice, or the last text it had', async () => {
    const bare = await runTurn([think('1'), think('2'), think('3'), think('4')], {
      maxIterations: 3,
    });
    expect(bare.ending).toMatchObject({
      reason: 'length',
      answer: 'I stopped after 3 steps (the iteration limit) before finishing.',
    });
    expect(bare.llm.requests).toHaveLength(3);

    const said = await runTurn(
      [{ text: 'Halfway there.', ...think('1') }, think('2'), think('3')],
      { maxIterations: 2 },
    );
    expect(said.ending).toMatchObject({ reason: 'length', answer: 'Halfway there.' });
  });

  it('ends as timed out when the turn runs past its time limit', async () => {
    const started = Date.now();
    const run = await runTurn([think('1'), 'hang'], { turnTimeoutMs: 200 });

    expect(run.ending.reason).toBe('timeout');
    expect(run.ending.error).toMatchObject({ code: 'agent.turn_timeout' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('ends as cancelled, saying who cancelled, when the turn is aborted mid-call', async () => {
    const run = await runTurn(['hang'], { abort: { afterMs: 50, reason: 'client_disconnected' } });

    expect(run.ending).toMatchObject({ reason: 'cancelled', cancelledBy: 'client_disconnected' });
    expect(run.ending.error).toBeUndefined();
  });

  it('ends as failed when its lease was lost, and with the error an LLM call failed with', async () => {
    const lost = await runTurn(['hang'], { abort: { afterMs: 20, reason: 'lease_lost' } });
    expect(lost.ending).toMatchObject({ reason: 'error', error: { code: 'agent.database_lost' } });

    const upstream = new AppError('upstream', 'llm.upstream_error', 'The provider failed.');
    const failed = await runTurn([upstream]);
    expect(failed.ending).toMatchObject({ reason: 'error', error: upstream });
  });

  it('repairs a final answer that misses the required format once, with tools off', async () => {
    const run = await runTurn([{ text: 'not json' }, { text: '{"answer": 42}' }], {
      answerFormat: { type: 'json_object' },
    });

    expect(run.ending).toMatchObject({ reason: 'stop', answer: '{"answer": 42}' });
    expect(run.journal.kinds()).toEqual(['user_message', 'llm_response', 'nudge']);
    expect(run.llm.requests[1].toolChoice).toEqual({ type: 'none' });
    expect(run.content.text).toBe('{"answer": 42}');
  });
});
