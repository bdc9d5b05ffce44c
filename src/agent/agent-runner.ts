import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { AppError } from '../common/errors/app-error';
import { agentConfig } from '../config/agent.config';
import { ActiveTurns } from '../conversations/active-turns';
import type {
  EventPayloads,
  NewEvent,
  NewLlmCall,
  StoredEvent,
  TurnEndReason,
  TurnUsage,
} from '../conversations/conversation-events';
import type { ExecutionStatus } from '../conversations/entities/conversation.entity';
import { transcriptHash, transcriptOf } from '../conversations/transcript';
import type { TurnJournal } from '../conversations/turn-journal';
import { databaseUnavailable, isDatabaseUnavailable } from '../database/database-errors';
import { MetricsService } from '../metrics/metrics.service';
import { LlmClient } from '../models/llm-client';
import { LlmCallError } from '../models/llm-errors';
import type { LlmRequest, LlmStepResult, ResolvedModel } from '../models/llm-types';
import type { AgentEvent, TurnOutcome } from './agent-events';
import { AgentRun } from './agent-run';
import { Condenser } from './condenser';
import { EventChannel } from './event-channel';
import { addUsage, emptyUsage, llmCallOf } from './llm-accounting';
import { toModelMessages } from './llm-history';
import { detectStuck } from './stuck-detector';
import type { ToolContext } from './tools/tool';
import { ToolRegistry } from './tools/tool-registry';

export interface StartTurn {
  journal: TurnJournal;
  model: ResolvedModel;
  /** The request's own sampling settings (temperature, seed, …). */
  overrides?: LlmRequest['overrides'];
  /** Whether the client receives content as it streams (decides what its transcript shows). */
  streamed: boolean;
}

const STATUS_OF: Record<TurnEndReason, ExecutionStatus> = {
  finish: 'finished',
  stop: 'finished',
  length: 'finished',
  stuck: 'stuck',
  cancelled: 'cancelled',
  timeout: 'error',
  error: 'error',
};

type TurnEndPayload = EventPayloads['turn_end'];
const CANCEL_REASONS = new Set(['cancelled', 'client_disconnected', 'shutdown', 'deleted']);

const EMPTY_REPLY_NUDGE =
  'Your last reply had no text and no tool call. Continue the task with a tool call, or give your final answer.';

/** What the loop ends with, before it is recorded. */
interface Ending {
  reason: TurnEndReason;
  answer: string;
  /** Appended to the streamed content (finish message, stuck notice). */
  tail?: string;
  error?: AppError;
  /** For a cancelled turn: why (the abort signal's reason). */
  cancelledBy?: TurnEndPayload['cancelled_by'];
  /** The final step, not written yet: it goes with the turn's end, in the same statement. */
  step?: { events: NewEvent[]; calls: NewLlmCall[] };
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
    private readonly active: ActiveTurns,
    private readonly metrics: MetricsService,
    @Inject(agentConfig.KEY) private readonly config: ConfigType<typeof agentConfig>,
  ) {}

  /** Starts the turn at once; the caller already holds the turn lock through `journal`. */
  start(turn: StartTurn): AgentRun {
    const channel = new EventChannel<AgentEvent>();
    const controller = new AbortController();
    const id = turn.journal.conversation.id;
    const ended = this.metrics.turnStarted();
    const outcome = this.run(turn, controller, channel);
    void outcome.then(
      (o) => ended(o.reason),
      () => ended('error'),
    );
    this.active.register(id, controller, outcome);
    return new AgentRun(id, channel, outcome, controller);
  }

  private systemPromptFor(suffix: string | null): string {
    return suffix ? `${this.systemPrompt}\n\n${suffix}` : this.systemPrompt;
  }

  private async run(
    turn: StartTurn,
    controller: AbortController,
    out: EventChannel<AgentEvent>,
  ): Promise<TurnOutcome> {
    const { journal } = turn;
    const started = Date.now();
    const timer = setTimeout(() => controller.abort('timeout'), this.config.turnTimeoutMs);
    const usage = emptyUsage();
    const content = new ContentStream(out);
    let ending: Ending;
    try {
      ending = await this.loop(turn, controller.signal, out, usage, content);
    } catch (err) {
      ending = this.endingFor(err, controller.signal);
    } finally {
      clearTimeout(timer);
    }
    if (ending.tail) content.appendBlock(ending.tail);

    const status = STATUS_OF[ending.reason];
    const endEvents: NewEvent[] = [];
    if (ending.error) {
      endEvents.push({
        kind: 'error',
        source: 'system',
        payload: {
          code: ending.error.code,
          message: ending.error.message,
          status: ending.error.status,
        },
      });
    }
    const turnEnd: NewEvent = {
      kind: 'turn_end',
      source: 'agent',
      payload: {
        reason: ending.reason,
        status,
        answer: ending.answer,
        ...(turn.streamed && content.text !== ending.answer ? { content: content.text } : {}),
        usage,
        ...(ending.error
          ? { error: { code: ending.error.code, message: ending.error.message } }
          : {}),
        ...(ending.cancelledBy ? { cancelled_by: ending.cancelledBy } : {}),
      },
    };
    const hash = transcriptHash(
      transcriptOf([...journal.history, { ...turnEnd, id: '', seq: 0, createdAt: '' }]),
    );
    const step = ending.step ?? { events: [], calls: [] };
    // The client hears of success only once the turn's end is committed.
    let unsaved: AppError | undefined;
    try {
      const events = [...step.events, ...endEvents, turnEnd];
      for (const event of await journal.end(status, events, step.calls, hash)) {
        if (event.kind !== 'turn_end') out.push({ type: 'event', event });
      }
    } catch (err) {
      this.logger.error({ err }, 'Could not record the end of a turn');
      unsaved = ending.error ?? notSaved(err);
      const failure = unsaved;
      // Shown as failed once the database is back (unless another process took the turn over).
      journal.endLater(
        [
          ...step.events,
          {
            kind: 'error',
            source: 'system',
            payload: { code: failure.code, message: failure.message, status: failure.status },
          },
          {
            kind: 'turn_end',
            source: 'agent',
            payload: {
              reason: 'error',
              status: 'error',
              answer: '',
              ...(turn.streamed && content.text ? { content: content.text } : {}),
              usage,
              error: { code: failure.code, message: failure.message },
            },
          },
        ],
        step.calls,
      );
    }
    const outcome: TurnOutcome = unsaved
      ? {
          conversationId: journal.conversation.id,
          reason: 'error',
          status: 'error',
          answer: '',
          usage,
          error: unsaved,
        }
      : {
          conversationId: journal.conversation.id,
          reason: ending.reason,
          status,
          answer: ending.answer,
          usage,
          error: ending.error,
        };
    // request_id and conversation_id come from the request's logger (chat controller)
    this.logger.log(
      {
        reason: outcome.reason,
        status: outcome.status,
        duration_ms: Date.now() - started,
        usage,
        ...(unsaved ? { unsaved: true } : {}),
      },
      'Turn ended',
    );
    out.push({ type: 'end', outcome });
    out.close();
    return outcome;
  }

  private async loop(
    turn: StartTurn,
    signal: AbortSignal,
    out: EventChannel<AgentEvent>,
    usage: TurnUsage,
    content: ContentStream,
  ): Promise<Ending> {
    const { journal, model } = turn;
    const deadline = Date.now() + this.config.turnTimeoutMs;
    const system = this.systemPromptFor(journal.conversation.systemPromptSuffix);
    const llmTools = this.tools.llmTools();
    const ctx: ToolContext = {
      conversationId: journal.conversation.id,
      workspaceDir: journal.conversation.workspaceDir,
      signal,
      tasks: journal.tasks,
    };
    const emit = (events: StoredEvent[]) =>
      events.forEach((event) => out.push({ type: 'event', event }));
    let workspace: Promise<unknown> | undefined; // made when the first tool runs, once per turn
    let lastText = '';
    let lastPromptTokens = 0;

    for (let step = 1; ; step++) {
      signal.throwIfAborted();
      if (step > this.config.maxIterations) {
        const notice = `I stopped after ${this.config.maxIterations} steps (the iteration limit) before finishing.`;
        return {
          reason: 'length',
          answer: lastText || notice,
          tail: lastText ? undefined : notice,
        };
      }
      if (this.condenser.shouldCondense(journal.history, model.contextWindow, lastPromptTokens)) {
        await this.condense(journal, model, signal, deadline, usage, emit);
      }

      const result = await this.callLlm(
        turn,
        system,
        llmTools,
        signal,
        deadline,
        usage,
        content,
        out,
        emit,
      );
      lastPromptTokens = result.usage.promptTokens;
      const llmCallId = randomUUID();
      addUsage(usage, result);

      const prepared = result.toolCalls.map((call) => ({
        call,
        prepared: this.tools.prepare(call.name, call.input),
      }));
      const finishAt = prepared.findIndex(
        (p) => !('error' in p.prepared) && p.prepared.tool.name === 'finish',
      );
      const calls = finishAt === -1 ? prepared : prepared.slice(0, finishAt + 1);
      const stepEvents: NewEvent[] = [
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
        ...calls.map(({ call, prepared: p }): NewEvent => ({
          kind: 'tool_call',
          source: 'agent',
          payload: {
            tool_call_id: call.id,
            tool: 'error' in p ? call.name : p.tool.name,
            arguments: call.input,
            ...('error' in p || !p.summary ? {} : { summary: p.summary }),
            ...(call.providerOptions ? { provider_options: call.providerOptions } : {}),
          },
        })),
      ];
      const llmCall = llmCallOf(llmCallId, 'agent', model, result);
      if (calls.length === 0 && result.text.trim()) {
        return {
          reason: 'stop',
          answer: result.text,
          step: { events: stepEvents, calls: [llmCall] },
        };
      }
      const stored = await journal.append(stepEvents, [llmCall]);
      out.push({ type: 'event', event: stored[0] });
      if (result.text.trim()) lastText = result.text;

      if (calls.length === 0) {
        const verdict = detectStuck(journal.history);
        if (verdict.kind === 'stuck') return stuckEnding(verdict.reason);
        emit(
          await journal.append([
            { kind: 'nudge', source: 'system', payload: { text: EMPTY_REPLY_NUDGE } },
          ]),
        );
        continue;
      }

      for (const [i, { call, prepared: p }] of calls.entries()) {
        out.push({
          type: 'event',
          event: stored[i + 1],
          display: 'error' in p ? undefined : this.tools.describe(p),
        });
        if (!('error' in p)) await (workspace ??= mkdir(ctx.workspaceDir, { recursive: true }));
        const outcome =
          'error' in p ? { output: p.error, isError: true } : await this.tools.execute(p, ctx);
        emit(
          await journal.append([
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
        signal.throwIfAborted();
        if ('finish' in outcome && outcome.finish) {
          return { reason: 'finish', answer: outcome.finish.message, tail: outcome.finish.message };
        }
      }

      const verdict = detectStuck(journal.history);
      if (verdict.kind === 'stuck') return stuckEnding(verdict.reason);
      if (verdict.kind === 'nudge') {
        emit(
          await journal.append([
            { kind: 'nudge', source: 'system', payload: { text: verdict.message } },
          ]),
        );
      }
    }
  }

  /** One LLM step, streamed out as it comes; on a context overflow, condense once and retry. */
  private async callLlm(
    turn: StartTurn,
    system: string,
    tools: ReturnType<ToolRegistry['llmTools']>,
    signal: AbortSignal,
    deadline: number,
    usage: TurnUsage,
    content: ContentStream,
    out: EventChannel<AgentEvent>,
    emit: (events: StoredEvent[]) => void,
  ): Promise<LlmStepResult> {
    for (let attempt = 0; ; attempt++) {
      content.startStep();
      try {
        let result: LlmStepResult | undefined;
        for await (const part of this.llm.stream({
          model: turn.model,
          system,
          messages: toModelMessages(turn.journal.history),
          tools,
          signal,
          deadline,
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
        const condensed = await this.condense(
          turn.journal,
          turn.model,
          signal,
          deadline,
          usage,
          emit,
        );
        if (!condensed) throw err;
      }
    }
  }

  private async condense(
    journal: TurnJournal,
    model: ResolvedModel,
    signal: AbortSignal,
    deadline: number,
    usage: TurnUsage,
    emit: (events: StoredEvent[]) => void,
  ): Promise<boolean> {
    const condensation = await this.condenser.condense(journal.history, model, signal, deadline);
    if (!condensation) return false;
    addUsage(usage, condensation.result);
    emit(await journal.append(condensation.events, condensation.calls));
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

/** The assistant text a streaming client sees, with a blank line between steps. */
class ContentStream {
  text = '';
  private needsSeparator = false;
  stepStarted = false;

  constructor(private readonly out: EventChannel<AgentEvent>) {}

  startStep(): void {
    this.needsSeparator = this.text.length > 0;
    this.stepStarted = false;
  }

  /** A separate paragraph (the `finish` message, a notice). */
  appendBlock(text: string): void {
    this.needsSeparator = true;
    this.append(text);
  }

  append(text: string): void {
    if (!text) return;
    const chunk = this.needsSeparator && this.text.length > 0 ? `\n\n${text}` : text;
    this.needsSeparator = false;
    this.stepStarted = true;
    this.text += chunk;
    this.out.push({ type: 'content-delta', text: chunk });
  }
}

/** The turn's end could not be committed: the client must not take its answer as saved. */
const notSaved = (err: unknown): AppError =>
  err instanceof AppError
    ? err
    : new AppError(
        'unavailable',
        'agent.turn_not_saved',
        'The turn could not be saved because the database is unavailable, so its answer was not kept; retry once the database is back.',
        { headers: { 'Retry-After': '2' }, cause: err },
      );

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
