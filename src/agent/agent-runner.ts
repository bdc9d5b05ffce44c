import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { AppError } from '../common/errors/app-error';
import { agentConfig } from '../config/agent.config';
import type {
  EventPayloads,
  NewEvent,
  StoredEvent,
  TurnEndReason,
} from '../conversations/events.types';
import type { NewLlmCall, TurnUsage } from '../conversations/usage.types';
import type { TurnJournal } from '../conversations/conversations.service';
import { databaseUnavailable, isDatabaseUnavailable } from '../database/database-errors';
import { LlmClient, LlmCallError } from '../models/llm-client.service';
import type { LlmStepResult, LlmToolCall, LlmToolChoice } from '../models/llm.types';
import type { AgentEvent, TurnSettings } from './turns.types';
import {
  argumentsText,
  clientCallId,
  clientToolSet,
  type PendingToolCall,
  type TurnTools,
} from './client-tools';
import { Condenser } from './condenser';
import { ContentStream } from './content-stream';
import type { EventChannel } from './event-channel';
import { addUsage, emptyUsage, llmCallOf } from './llm-accounting';
import { toModelMessages } from './llm-history';
import { detectStuck } from './stuck-detector';
import type { ToolContext } from './tools/tool';
import { checkAnswer, formatInstructions, llmFormatOf, repairNote } from './structured-output';
import { ToolRegistry, type PrepareResult } from './tools/tool-registry';

/** What the loop uses of a turn's journal: the log so far, appending a step, the task list. */
export type StepJournal = Pick<TurnJournal, 'conversation' | 'history' | 'append' | 'tasks'>;

/** A turn as the loop runs it. */
export interface LoopTurn extends TurnSettings {
  journal: StepJournal;
}

/** A turn whose lock is held (`journal`): the turn owner records its end through the journal. */
export interface StartTurn extends LoopTurn {
  journal: TurnJournal;
}

/** What the steps of one turn share. */
interface StepContext {
  turn: LoopTurn;
  journal: StepJournal;
  signal: AbortSignal;
  /** When the turn's time runs out (epoch ms); the LLM client's clocks stop there too. */
  deadline: number;
  out: EventChannel<AgentEvent>;
  usage: TurnUsage;
  content: ContentStream;
  system: string;
  toolbox: TurnToolbox;
  /** What a tool call gets. */
  tools: ToolContext;
  /** The current step, 1-based. */
  step: number;
  /** The one repair step of an answer that missed the required format. */
  repairing: boolean;
  /** The last assistant text of a step that also called tools (the answer at the iteration limit). */
  lastText: string;
  /** The provider's prompt tokens of the last call: where the next prompt's estimate starts. */
  lastPromptTokens: number;
  /** Streams stored events to the client. */
  emit(events: StoredEvent[]): void;
}

/** A step's LLM response, planned: its events and `llm_calls` row, the calls to run or pause on. */
interface PlannedStep {
  calls: CheckedCall[];
  pending: PendingToolCall[];
  events: NewEvent[];
  llmCall: NewLlmCall;
}

/** A step's call, checked: a client tool's (paused on), a server tool's (run here), or an error. */
type CheckedCall =
  { call: LlmToolCall; client: PendingToolCall } | { call: LlmToolCall; prepared: PrepareResult };

/** What the model is offered in a turn, and how each of its calls is checked. */
interface TurnToolbox {
  tools: ReturnType<ToolRegistry['llmTools']> | undefined;
  /** The tool choice of step `n` (1-based). */
  choiceAt(step: number): LlmToolChoice | undefined;
  check(call: LlmToolCall): CheckedCall;
  parallel: boolean;
}

type TurnEndPayload = EventPayloads['turn_end'];
const CANCEL_REASONS = new Set(['cancelled', 'client_disconnected', 'shutdown', 'deleted']);

const EMPTY_REPLY_NUDGE =
  'Your last reply had no text and no tool call. Continue the task with a tool call, or give your final answer.';

/** What the loop ends with, before it is recorded. */
export interface Ending {
  reason: TurnEndReason;
  answer: string;
  /** Appended to the streamed content (finish message, stuck notice). */
  tail?: string;
  error?: AppError;
  /** For a cancelled turn: why (the abort signal's reason). */
  cancelledBy?: TurnEndPayload['cancelled_by'];
  /** The final step, not written yet: it goes with the turn's end, in the same statement. */
  step?: { events: NewEvent[]; calls: NewLlmCall[] };
  /** `tool_calls`: the client tool calls the turn pauses on. */
  toolCalls?: PendingToolCall[];
}

/** What a turn's loop ended with, and what it produced on the way (not recorded yet). */
export interface LoopResult {
  ending: Ending;
  /** Tokens and cost of the turn's LLM calls, the condenser's included. */
  usage: TurnUsage;
  /** The assistant text the client was shown. */
  content: ContentStream;
}

/**
 * Runs one agent turn: one LLM call per step, tool calls executed in the conversation's
 * workspace, every step persisted before it is acted on, until `finish`, a reply without tool
 * calls, the iteration limit, the turn timeout, a stuck loop, or cancellation.
 */
@Injectable()
export class AgentRunner {
  private readonly logger = new Logger(AgentRunner.name);
  private readonly systemPrompt = readFileSync(join(__dirname, 'system-prompt.md'), 'utf8').trim();

  constructor(
    private readonly llm: LlmClient,
    private readonly tools: ToolRegistry,
    private readonly condenser: Condenser,
    @Inject(agentConfig.KEY) private readonly config: ConfigType<typeof agentConfig>,
  ) {}

  private systemPromptFor(suffix: string | null): string {
    return suffix ? `${this.systemPrompt}\n\n${suffix}` : this.systemPrompt;
  }

  /**
   * Runs the loop of a started turn until it ends (or its signal aborts it: cancellation, the turn
   * timeout), streaming its content and step events to `out`. What it ended with is not recorded
   * yet: that is the turn owner's (`TurnsService`).
   */
  async execute(
    turn: LoopTurn,
    controller: AbortController,
    out: EventChannel<AgentEvent>,
  ): Promise<LoopResult> {
    const deadline = Date.now() + this.config.turnTimeoutMs;
    const timer = setTimeout(() => controller.abort('timeout'), this.config.turnTimeoutMs);
    const usage = emptyUsage();
    // with a required format the answer is shown once it has been checked, not while it is written
    const content = new ContentStream(out, turn.answerFormat !== undefined);
    let ending: Ending;
    try {
      ending = await this.loop(
        this.stepContext(turn, controller.signal, out, usage, content, deadline),
      );
    } catch (err) {
      // The LLM client's clocks stop at this same deadline; whichever timer fires first, a call
      // cut there ended the turn because its time ran out.
      if (!controller.signal.aborted && Date.now() >= deadline) controller.abort('timeout');
      ending = this.endingFor(err, controller.signal);
    } finally {
      clearTimeout(timer);
    }
    if (ending.tail) content.appendBlock(ending.tail);
    if (turn.answerFormat && !ending.error && ending.reason !== 'tool_calls')
      content.release(ending.answer);
    return { ending, usage, content };
  }

  /** The loop: one step after another until a step decides how the turn ends. */
  private async loop(ctx: StepContext): Promise<Ending> {
    for (;;) {
      ctx.step++;
      const ending = this.checkLimits(ctx) ?? (await this.runStep(ctx));
      if (ending) return ending;
    }
  }

  private stepContext(
    turn: LoopTurn,
    signal: AbortSignal,
    out: EventChannel<AgentEvent>,
    usage: TurnUsage,
    content: ContentStream,
    deadline: number,
  ): StepContext {
    const { journal } = turn;
    const base = this.systemPromptFor(journal.conversation.systemPromptSuffix);
    return {
      turn,
      journal,
      signal,
      deadline,
      out,
      usage,
      content,
      system: turn.answerFormat ? `${base}\n\n${formatInstructions(turn.answerFormat)}` : base,
      toolbox: this.toolboxFor(turn.tools),
      tools: {
        conversationId: journal.conversation.id,
        workspaceDir: journal.conversation.workspaceDir,
        signal,
        tasks: journal.tasks,
      },
      step: 0,
      repairing: false,
      lastText: '',
      lastPromptTokens: 0,
      emit: (events) => events.forEach((event) => out.push({ type: 'event', event })),
    };
  }

  /** Before a step: the turn was not stopped, and the iteration limit is not reached. */
  private checkLimits(ctx: StepContext): Ending | null {
    ctx.signal.throwIfAborted();
    if (ctx.step <= this.config.maxIterations) return null;
    const notice = `I stopped after ${this.config.maxIterations} steps (the iteration limit) before finishing.`;
    return {
      reason: 'length',
      answer: ctx.lastText || notice,
      tail: ctx.lastText ? undefined : notice,
    };
  }

  /** One step: context, the LLM call, its record, its tool calls, then whether to go on. */
  private async runStep(ctx: StepContext): Promise<Ending | null> {
    await this.prepareContext(ctx);
    const result = await this.callLlm(ctx);
    const step = this.planStep(ctx, result);
    if (step.calls.length === 0 && result.text.trim()) {
      // a final answer: the step is written with the turn's end
      const ending = await this.finalAnswer(ctx, {
        reason: 'stop',
        answer: result.text,
        step: { events: step.events, calls: [step.llmCall] },
      });
      return ending === 'repair' ? null : ending;
    }
    const stored = await ctx.journal.append(step.events, [step.llmCall]);
    ctx.out.push({ type: 'event', event: stored[0] });
    if (result.text.trim()) ctx.lastText = result.text;
    if (step.calls.length === 0) return this.nudgeEmptyReply(ctx);
    const finished = await this.dispatchTools(ctx, step.calls, stored);
    if (finished) return finished;
    if (step.pending.length > 0)
      return { reason: 'tool_calls', answer: result.text, toolCalls: step.pending };
    return this.checkProgress(ctx);
  }

  /** Condenses the history first when the next prompt would come too close to the context window. */
  private async prepareContext(ctx: StepContext): Promise<void> {
    const { journal, turn } = ctx;
    if (
      this.condenser.shouldCondense(journal.history, turn.model.contextWindow, ctx.lastPromptTokens)
    )
      await this.condense(ctx);
  }

  /** The step's events and accounting from the LLM's response: which calls run, which pause. */
  private planStep(ctx: StepContext, result: LlmStepResult): PlannedStep {
    const { toolbox } = ctx;
    ctx.lastPromptTokens = result.usage.promptTokens;
    const llmCallId = randomUUID();
    addUsage(ctx.usage, result);

    let checked = result.toolCalls.map((call) => toolbox.check(call));
    if (!toolbox.parallel) {
      // parallel_tool_calls: false — one client call per response; later ones are dropped unseen
      const first = checked.findIndex((c) => 'client' in c);
      checked = checked.filter((c, i) => !('client' in c) || i === first);
    }
    const finishAt = checked.findIndex(
      (p) => 'prepared' in p && !('error' in p.prepared) && p.prepared.tool.name === 'finish',
    );
    const calls = finishAt === -1 ? checked : checked.slice(0, finishAt + 1);
    const pending = calls.flatMap((c) => ('client' in c ? [c.client] : []));
    const events: NewEvent[] = [
      {
        kind: 'llm_response',
        source: 'agent',
        payload: {
          text: result.text,
          ...(result.reasoning ? { reasoning: result.reasoning } : {}),
          ...(result.reasoningParts?.length
            ? {
                reasoning_parts: result.reasoningParts.map((r) => ({
                  text: r.text,
                  ...(r.providerOptions ? { provider_options: r.providerOptions } : {}),
                })),
              }
            : {}),
          finish_reason: result.finishReason,
          llm_call_id: llmCallId,
          model: result.responseModel,
          ...(result.usage.promptTokens ? { prompt_tokens: result.usage.promptTokens } : {}),
        },
      },
      ...calls.map((c): NewEvent => {
        const { call } = c;
        const p = 'prepared' in c ? c.prepared : null;
        return {
          kind: 'tool_call',
          source: 'agent',
          payload: {
            tool_call_id: call.id,
            tool: !p || 'error' in p ? call.name : p.tool.name,
            arguments: call.input,
            ...(!p || 'error' in p || !p.summary ? {} : { summary: p.summary }),
            ...(call.providerOptions ? { provider_options: call.providerOptions } : {}),
            ...('client' in c ? { client_call_id: c.client.id } : {}),
          },
        };
      }),
    ];
    return {
      calls,
      pending,
      events,
      llmCall: llmCallOf(llmCallId, 'agent', ctx.turn.model, result),
    };
  }

  /**
   * Runs the step's server tool calls in order (a client's are left to the client), each result
   * written before the next call. Ends the turn on `finish` (unless its answer needs the repair
   * step); null to go on.
   */
  private async dispatchTools(
    ctx: StepContext,
    calls: CheckedCall[],
    stored: StoredEvent[],
  ): Promise<Ending | null> {
    for (const [i, c] of calls.entries()) {
      if ('client' in c) continue; // the client runs it: the turn pauses after this step
      const { call, prepared: p } = c;
      ctx.out.push({
        type: 'event',
        event: stored[i + 1],
        display: 'error' in p ? undefined : this.tools.describe(p),
      });
      const outcome =
        'error' in p
          ? { output: p.error, isError: true }
          : await this.tools.execute(p, ctx.tools, call.id);
      ctx.emit(
        await ctx.journal.append([
          {
            kind: 'tool_result',
            source: 'environment',
            payload: {
              tool_call_id: call.id,
              tool: 'error' in p ? call.name : p.tool.name,
              output: outcome.output,
              is_error: outcome.isError,
              ...('meta' in outcome && outcome.meta ? { meta: outcome.meta } : {}),
            },
          },
        ]),
      );
      ctx.signal.throwIfAborted();
      if ('finish' in outcome && outcome.finish) {
        const ending = await this.finalAnswer(ctx, {
          reason: 'finish',
          answer: outcome.finish.message,
          tail: outcome.finish.message,
        });
        if (ending === 'repair') break;
        return ending;
      }
    }
    return null;
  }

  /** A reply with neither text nor a tool call: stuck after a few, else a nudge and another step. */
  private async nudgeEmptyReply(ctx: StepContext): Promise<Ending | null> {
    const verdict = detectStuck(ctx.journal.history);
    if (verdict.kind === 'stuck') return stuckEnding(verdict.reason);
    ctx.emit(
      await ctx.journal.append([
        { kind: 'nudge', source: 'system', payload: { text: EMPTY_REPLY_NUDGE } },
      ]),
    );
    return null;
  }

  /** After a step's tools ran: stuck ends the turn, a repeated error gets a nudge. */
  private async checkProgress(ctx: StepContext): Promise<Ending | null> {
    const verdict = detectStuck(ctx.journal.history);
    if (verdict.kind === 'stuck') return stuckEnding(verdict.reason);
    if (verdict.kind === 'nudge') {
      ctx.emit(
        await ctx.journal.append([
          { kind: 'nudge', source: 'system', payload: { text: verdict.message } },
        ]),
      );
    }
    return null;
  }

  /** A final answer, checked against the required format: repaired once, then an error. */
  private async finalAnswer(
    ctx: StepContext,
    ending: Ending & { reason: 'stop' | 'finish' },
  ): Promise<Ending | 'repair'> {
    const format = ctx.turn.answerFormat;
    if (!format) return ending;
    const check = checkAnswer(format, ending.answer);
    if (check.ok) return { ...ending, answer: check.json, tail: undefined };
    if (ctx.repairing) {
      return {
        reason: 'error',
        answer: '',
        step: ending.step,
        error: new AppError(
          'upstream',
          'agent.invalid_structured_output',
          `The model's final answer did not fit response_format after one repair: ${check.problem}.`,
        ),
      };
    }
    ctx.repairing = true;
    ctx.emit(
      await ctx.journal.append(
        [
          ...(ending.step?.events ?? []),
          { kind: 'nudge', source: 'system', payload: { text: repairNote(check.problem) } },
        ],
        ending.step?.calls ?? [],
      ),
    );
    return 'repair';
  }

  /**
   * The tools of a turn by its mode: the server's, the client's, or both. `tool_choice: none`
   * leaves the client's out; `required` with client tools leaves `finish` out, so a turn that must
   * call a tool ends on a client call; a named tool is forced on the first step only.
   */
  private toolboxFor(settings: TurnTools | undefined): TurnToolbox {
    const mode = settings?.mode ?? 'server';
    const choice = settings?.choice ?? 'auto';
    const client = choice === 'none' || mode === 'server' ? [] : (settings?.client ?? []);
    const clientNames = new Set(client.map((t) => t.name));
    let server = mode === 'client' ? undefined : this.tools.llmTools();
    if (server && choice === 'required' && client.length > 0) {
      const { finish: _finish, ...rest } = server;
      server = rest;
    }
    const all = { ...server, ...(client.length ? clientToolSet(client) : {}) };
    const names = Object.keys(all);
    return {
      tools: names.length ? all : undefined,
      parallel: settings?.parallel ?? true,
      choiceAt: (step) => {
        if (choice === 'required') return { type: 'required' };
        if (typeof choice === 'object' && step === 1)
          return { type: 'tool', toolName: choice.name };
        return undefined;
      },
      check: (call) => {
        if (clientNames.has(call.name)) {
          return {
            call,
            client: { id: clientCallId(), name: call.name, arguments: argumentsText(call.input) },
          };
        }
        if (server) return { call, prepared: this.tools.prepare(call.name, call.input) };
        const available = names.length ? names.join(', ') : 'none';
        return {
          call,
          prepared: { error: `Tool '${call.name}' not found. Available: ${available}` },
        };
      },
    };
  }

  /** One LLM step, streamed out as it comes; on a context overflow, condense once and retry. */
  private async callLlm(ctx: StepContext): Promise<LlmStepResult> {
    const { turn, toolbox, content, out, signal } = ctx;
    const format = turn.answerFormat;
    for (let attempt = 0; ; attempt++) {
      content.startStep();
      try {
        let result: LlmStepResult | undefined;
        for await (const part of this.llm.stream({
          model: turn.model,
          system: ctx.system,
          messages: toModelMessages(ctx.journal.history),
          tools: toolbox.tools,
          toolChoice: ctx.repairing ? { type: 'none' } : toolbox.choiceAt(ctx.step),
          responseFormat:
            format && (ctx.repairing || !toolbox.tools) ? llmFormatOf(format) : undefined,
          signal,
          deadline: ctx.deadline,
          overrides: turn.overrides,
        })) {
          switch (part.type) {
            case 'text-delta':
              content.append(part.text);
              break;
            case 'reasoning-delta':
              out.push({ type: 'reasoning-delta', text: part.text });
              break;
            case 'retry':
              out.push(part);
              break;
            case 'finish':
              result = part.result;
              break;
          }
        }
        if (!result)
          throw new AppError(
            'internal',
            'agent.no_llm_result',
            'The LLM stream ended without a result.',
          );
        return result;
      } catch (err) {
        const overflow = err instanceof LlmCallError && err.category === 'context_window';
        if (!overflow || attempt > 0 || content.stepStarted) throw err;
        if (!(await this.condense(ctx))) throw err;
      }
    }
  }

  private async condense(ctx: StepContext): Promise<boolean> {
    const { journal, turn } = ctx;
    const condensation = await this.condenser.condense(
      journal.history,
      turn.model,
      ctx.signal,
      ctx.deadline,
    );
    if (!condensation) return false;
    addUsage(ctx.usage, condensation.result);
    ctx.emit(await journal.append(condensation.events, condensation.calls));
    return true;
  }

  private endingFor(err: unknown, signal: AbortSignal): Ending {
    if (signal.aborted && signal.reason === 'timeout') {
      return {
        reason: 'timeout',
        answer: '',
        error: new AppError(
          'timeout',
          'agent.turn_timeout',
          `The turn ran past OH_TURN_TIMEOUT_S (${this.config.turnTimeoutMs / 1000} s) and was cancelled.`,
        ),
      };
    }
    if (signal.aborted && signal.reason === 'lease_lost') {
      return { reason: 'error', answer: '', error: leaseLapsed() };
    }
    if (signal.aborted) {
      const by: unknown = signal.reason;
      return {
        reason: 'cancelled',
        answer: '',
        ...(typeof by === 'string' && CANCEL_REASONS.has(by)
          ? { cancelledBy: by as TurnEndPayload['cancelled_by'] }
          : {}),
      };
    }
    if (err instanceof AppError) return { reason: 'error', answer: '', error: err };
    if (isDatabaseUnavailable(err)) {
      return { reason: 'error', answer: '', error: databaseUnavailable(err) };
    }
    this.logger.error({ err }, 'Agent turn failed');
    const message = err instanceof Error ? err.message : String(err);
    return {
      reason: 'error',
      answer: '',
      error: new AppError('internal', 'agent.failed', `The agent failed: ${message}`),
    };
  }
}

const leaseLapsed = (): AppError =>
  new AppError(
    'unavailable',
    'agent.database_lost',
    'The turn was stopped: this server could not reach the database for longer than OH_LEASE_TTL_S. Retry once the database is back.',
    { headers: { 'Retry-After': '2' } },
  );

const stuckEnding = (reason: string): Ending => {
  const notice = `I stopped because I was going in circles: I ${reason}.`;
  return { reason: 'stuck', answer: notice, tail: notice };
};
