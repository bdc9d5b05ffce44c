import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { AppError } from '../common/errors/app-error';
import { agentConfig } from '../config/agent.config';
import { ConversationsService, transcriptHashOf } from '../conversations/conversations.service';
import type { ExecutionStatus, NewEvent, TurnEndReason } from '../conversations/events.types';
import { MetricsService } from '../metrics/metrics.service';
import type { LlmRequest, ResolvedModel } from '../models/llm.types';
import { ActiveTurns, type CancelReason } from './active-turns';
import type { AgentEvent, TurnOutcome, NewTurn, StartedTurn, TurnRequest } from './turns.types';
import { AgentRun } from './agent-run';
import { AgentRunner, type LoopResult, type StartTurn } from './agent-runner';
import { BackgroundTaskRunner } from './background-task-runner';
import { CancelSignals } from './cancel-signals';
import { ClientToolBridge, type ResumeTurn } from './client-tool-bridge';
import { toolCallAlias, type TurnTools } from './client-tools';
import { EventChannel } from './event-channel';
import { ToolRegistry } from './tools/tool-registry';
import { traceTurn } from './turn-tracing';

/** How long a cancel relayed to another process is awaited before the API answers. */
const CANCEL_WAIT_MS = 5_000;
/** How often the relayed cancel is sent again while awaited (a listener may have been reconnecting). */
const CANCEL_REPEAT_MS = 1_000;

const STATUS_OF: Record<TurnEndReason, ExecutionStatus> = {
  finish: 'finished',
  stop: 'finished',
  tool_calls: 'idle',
  length: 'finished',
  stuck: 'stuck',
  cancelled: 'cancelled',
  timeout: 'error',
  error: 'error',
};

/**
 * The one owner of a turn: its start (a slot, the conversation's turn lock, the input), its run
 * (the agent loop), its cancellation (here, or relayed to the process that runs it) and its end
 * (recorded before anyone hears of success). Chat completions and the Responses API call it and
 * only render; conversations keeps the rows and the locks.
 */
@Injectable()
export class TurnsService implements OnModuleInit {
  private readonly logger = new Logger(TurnsService.name);

  constructor(
    private readonly conversations: ConversationsService,
    private readonly runner: AgentRunner,
    private readonly bridge: ClientToolBridge,
    private readonly background: BackgroundTaskRunner,
    private readonly active: ActiveTurns,
    private readonly signals: CancelSignals,
    private readonly metrics: MetricsService,
    private readonly registry: ToolRegistry,
    @Inject(agentConfig.KEY) private readonly config: ConfigType<typeof agentConfig>,
  ) {}

  onModuleInit(): void {
    this.conversations.onCancel((id) => this.cancel(id));
    this.conversations.onLeaseLost(() => void this.active.cancelAll('lease_lost'));
  }

  /** A 400 for tools the model could not be offered: a name the server's tools use, a bad choice. */
  checkTools(tools: TurnTools): void {
    this.bridge.check(tools);
  }

  /**
   * Claims one of the `OH_MAX_CONCURRENT_TURNS` slots of this process, or throws a 429 (`api`
   * names the error code's API). The returned function gives it back; call it once.
   */
  reserve(api: 'chat' | 'responses'): () => void {
    const release = this.active.tryReserve(this.config.maxConcurrentTurns);
    if (!release) throw tooManyTurns(api, this.config.maxConcurrentTurns);
    return release;
  }

  /** Takes the conversation's turn lock (creating it when asked), records the input, starts the loop. */
  async begin(turn: NewTurn): Promise<AgentRun> {
    this.checkOpen();
    const { model, request } = turn;
    const journal = await this.conversations.beginTurn({
      conversationId: turn.conversationId,
      profileName: model.profileName,
      model: model.model,
      create: turn.create && {
        title: turn.create.title,
        systemPromptSuffix: request.systemText,
        seed: turn.create.seed,
        ifMissing: turn.create.ifMissing,
      },
      input: {
        kind: 'user_message',
        source: 'user',
        payload: {
          text: request.input.text,
          ...(request.input.images.length ? { images: request.input.images } : {}),
        },
      },
    });
    if (turn.alias)
      await this.conversations.saveAlias(model.profileName, turn.alias, journal.conversation.id);
    return this.start({ ...settingsOf(turn), journal });
  }

  /** Resumes a turn paused on client tool calls with their results (`ClientToolBridge`). */
  async resume(turn: ResumeTurn): Promise<AgentRun> {
    this.checkOpen();
    const journal = await this.bridge.reopen(turn);
    return this.start({ ...settingsOf(turn), journal });
  }

  /** A chat UI's auxiliary request (title, tags…): one direct LLM call, no conversation. */
  runAuxiliary(
    request: TurnRequest,
    model: ResolvedModel,
    overrides: LlmRequest['overrides'],
  ): StartedTurn {
    const direct = this.background.start(request, model, overrides);
    return {
      conversationId: null,
      events: direct.events,
      outcome: direct.outcome,
      cancel: () => direct.cancel(),
    };
  }

  /**
   * Cancels the conversation's running turn, in this process or (on PostgreSQL) in the one that
   * runs it, and waits until the turn has recorded its end. False when no turn was running.
   */
  async cancel(id: string): Promise<boolean> {
    if (await this.active.cancel(id, 'cancelled')) return true;
    const conversation = await this.conversations.find(id);
    if (conversation?.executionStatus !== 'running' || !this.signals.relays) return false;
    await this.signals.broadcast(id);
    const until = Date.now() + CANCEL_WAIT_MS;
    let repeatAt = Date.now() + CANCEL_REPEAT_MS;
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if ((await this.conversations.find(id))?.executionStatus !== 'running') return true;
      if (Date.now() >= repeatAt) {
        repeatAt += CANCEL_REPEAT_MS;
        await this.signals.broadcast(id);
      }
    }
    return false;
  }

  /** Stops the turn running here (if any) for `reason` and waits until it has recorded its end. */
  stopHere(id: string, reason: CancelReason): Promise<boolean> {
    return this.active.cancel(id, reason);
  }

  /** The server's tools, in the order the LLM sees them, and how they are sandboxed (`/server_info`). */
  get tools(): {
    names: string[];
    sandbox: ToolRegistry['sandbox'];
    sandboxProgram: ToolRegistry['sandboxProgram'];
  } {
    const { registry } = this;
    return {
      names: registry.names(),
      sandbox: registry.sandbox,
      sandboxProgram: registry.sandboxProgram,
    };
  }

  /** False on PostgreSQL while the cancel listener's connection is down (readiness). */
  get cancelsConnected(): boolean {
    return this.signals.connected;
  }

  private checkOpen(): void {
    if (this.active.closing) throw shuttingDown();
  }

  /** Starts the loop at once; the caller already holds the turn lock through `journal`. */
  private start(turn: StartTurn): AgentRun {
    const channel = new EventChannel<AgentEvent>();
    const controller = new AbortController();
    const id = turn.journal.conversation.id;
    const ended = this.metrics.turnStarted();
    const outcome = traceTurn(turn, () => this.run(turn, controller, channel));
    void outcome.then(
      (o) => ended(o.reason),
      () => ended('error'),
    );
    this.active.register(id, controller, outcome);
    return new AgentRun(id, channel, outcome, controller);
  }

  private async run(
    turn: StartTurn,
    controller: AbortController,
    out: EventChannel<AgentEvent>,
  ): Promise<TurnOutcome> {
    const started = Date.now();
    const result = await this.runner.execute(turn, controller, out);
    const { outcome, unsaved } = await this.end(turn, result, out);
    // request_id and conversation_id come from the request's logger (chat controller)
    this.logger.log(
      {
        reason: outcome.reason,
        status: outcome.status,
        duration_ms: Date.now() - started,
        usage: result.usage,
        ...(unsaved ? { unsaved: true } : {}),
      },
      'Turn ended',
    );
    out.push({ type: 'end', outcome });
    out.close();
    return outcome;
  }

  /**
   * Records the turn's end (its last step, an error, `turn_end`) in one statement; the client hears
   * of success only once it is committed. If it cannot be, the turn ends as failed and its end is
   * written once the database is back.
   */
  private async end(
    turn: StartTurn,
    { ending, usage, content }: LoopResult,
    out: EventChannel<AgentEvent>,
  ): Promise<{ outcome: TurnOutcome; unsaved: boolean }> {
    const { journal } = turn;
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
        ...(ending.toolCalls ? { pending_tool_calls: ending.toolCalls } : {}),
      },
    };
    const hash = transcriptHashOf(
      journal.history,
      [{ ...turnEnd, id: '', seq: 0, createdAt: '' }],
      {
        system: journal.conversation.systemPromptSuffix,
        tools: (turn.tools?.client ?? []).map((t) => t.name),
      },
    );
    const step = ending.step ?? { events: [], calls: [] };
    let unsaved: AppError | undefined;
    try {
      const events = [...step.events, ...endEvents, turnEnd];
      for (const event of await journal.end(status, events, step.calls, hash)) {
        if (event.kind !== 'turn_end') out.push({ type: 'event', event });
      }
      // the client answers with these ids, with or without our header: find the conversation by them
      for (const call of ending.toolCalls ?? []) {
        await this.conversations.saveAlias(
          journal.conversation.profileName,
          toolCallAlias(call.id),
          journal.conversation.id,
        );
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
          ...(ending.toolCalls ? { toolCalls: ending.toolCalls } : {}),
        };
    return { outcome, unsaved: unsaved !== undefined };
  }
}

const settingsOf = (turn: NewTurn | ResumeTurn): Omit<StartTurn, 'journal'> => ({
  model: turn.model,
  overrides: turn.overrides,
  streamed: turn.streamed,
  tools: turn.tools,
  answerFormat: turn.answerFormat,
});

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

const shuttingDown = () =>
  new AppError(
    'unavailable',
    'conversations.shutting_down',
    'This server is shutting down and starts no new turns; retry on another replica or after the restart.',
    { headers: { 'Retry-After': '1' } },
  );

const tooManyTurns = (api: 'chat' | 'responses', limit: number) =>
  new AppError(
    'rate_limited',
    `${api}.too_many_turns`,
    `This server is running its maximum of ${limit} concurrent turns (OH_MAX_CONCURRENT_TURNS); retry shortly.`,
    { headers: { 'Retry-After': '1' } },
  );
