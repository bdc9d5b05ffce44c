import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { CancelReason, AgentRun, TurnRequest, TurnSettings } from '../agent/turns.types';
import { TurnsService } from '../agent/turns.service';
import {
  titleOf,
  TOOLS_HEADER,
  failureOf,
  seedOf,
} from '../chat-completions/chat-completions.service';
import { AppError } from '../common/errors/app-error';
import { ConversationsService } from '../conversations/conversations.service';
import type { LlmRequest, ResolvedModel } from '../models/llm.types';
import { clampOutputTokens, ModelsService } from '../models/models.service';
import type { CreateResponseDto } from './dto/create-response.dto';
import type { DeletedResponseDto, ResponseDto, ResponseInputItemListDto } from './dto/response.dto';
import type { InputItemsQueryDto } from './dto/response-queries.dto';
import {
  answerFormatOf,
  checkSupported,
  itemId,
  toResponseInput,
  turnToolsOf,
} from './response-input';
import {
  ResponseRenderer,
  TERMINAL_EVENTS,
  TERMINAL_STATUSES,
  unixNow,
  type ResponseStreamEvent,
} from './response-renderer';
import { ResponsesRepository, type StoredResponse } from './responses.repository';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How often a stream read from the database looks for new events when no local write wakes it. */
const POLL_MS = 200;
/** A response whose conversation has not been running for this long lost the process running it. */
const ORPHAN_AFTER_MS = 3_000;
const CANCEL_WAIT_MS = 5_000;
/** How often a running response's stored object is brought up to date (what a poll shows). */
const PROGRESS_MS = 1_000;

/** A response whose turn runs in this process. */
export interface StartedResponse {
  id: string;
  conversationId: string;
  /** The object as it stands now (`in_progress`). */
  snapshot: ResponseDto;
  /** Replays the events so far, then every new one; returns the unsubscribe function. */
  subscribe(listener: (event: ResponseStreamEvent) => void): () => void;
  /** Settles with the final object once the turn's end is recorded, and the failure if any. */
  done: Promise<{ response: ResponseDto; failure: AppError | null }>;
  cancel(reason: CancelReason): void;
}

interface LocalResponse {
  done: Promise<{ response: ResponseDto }>;
}

/**
 * The Responses API over the same agent turns as chat completions: a response is one turn of a
 * conversation (`AgentRunner`, the conversation's turn lock and event log), rendered as the
 * Responses object and its stream events. Stored responses keep their events in the database as
 * they happen, so any replica can answer a poll or resume a stream.
 */
@Injectable()
export class ResponsesService {
  private readonly logger = new Logger(ResponsesService.name);
  private readonly local = new Map<string, LocalResponse>();
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    private readonly models: ModelsService,
    private readonly conversations: ConversationsService,
    private readonly turns: TurnsService,
    private readonly repo: ResponsesRepository,
  ) {}

  async create(
    body: CreateResponseDto,
    headers: Record<string, string | string[] | undefined> = {},
  ): Promise<StartedResponse> {
    checkSupported(body);
    const store = body.store !== false;
    if (body.background && !store)
      throw new AppError(
        'invalid',
        'responses.background_needs_store',
        'background: true needs store: true (a background response is only reachable stored).',
        { param: 'background' },
      );
    if (body.previous_response_id && body.conversation)
      throw new AppError(
        'invalid',
        'responses.conflicting_continuation',
        'Send previous_response_id or conversation, not both.',
        { param: 'conversation' },
      );
    const input = toResponseInput(body);
    const model = await this.models.resolve(body.model);
    const tools = turnToolsOf(body, headerOf(headers, TOOLS_HEADER), model.config.tool_mode);
    this.turns.checkTools(tools);
    const resuming = input.functionOutputs.length > 0;
    const target = await this.targetOf(body, resuming);
    const overrides = overridesOf(body, model);
    const answerFormat = answerFormatOf(body);

    const release = this.turns.reserve('responses');
    try {
      const run = resuming
        ? await this.turns.resume({
            conversationId: target?.conversationId,
            model,
            results: input.functionOutputs.map((r) => ({
              toolCallId: r.call_id,
              output: r.output,
            })),
            tools,
            overrides,
            streamed: body.stream === true,
            answerFormat,
          })
        : await this.begin(body, input.turn!, model, { tools, overrides, answerFormat }, target!);
      const id = itemId('resp');
      const previousResponseId = target?.previousResponseId ?? null;
      const response = initialResponse(id, body, run.conversationId, previousResponseId);
      let ready: Promise<void> = Promise.resolve();
      if (store) {
        ready = this.repo.insert({
          id,
          conversationId: run.conversationId,
          previousResponseId,
          background: body.background === true,
          body: response,
          inputItems: input.items,
        });
        try {
          await ready;
        } catch (err) {
          run.cancel('cancelled');
          await run.outcome;
          throw err;
        }
      }
      const emitted: ResponseStreamEvent[] = [];
      const listeners = new Set<(event: ResponseStreamEvent) => void>();
      const progress = () => renderer.progress();
      const recorder = store
        ? new Recorder(this.repo, id, progress, () => this.wake(id), this.logger)
        : null;
      const renderer: ResponseRenderer = new ResponseRenderer(response, (event) => {
        emitted.push(event);
        recorder?.push(event);
        for (const listener of listeners) listener(event);
      });
      renderer.start();
      const snapshot = renderer.snapshot;
      const done = (async () => {
        for await (const event of run) renderer.handle(event);
        const final = renderer.snapshot;
        await recorder?.finish(final);
        return { response: final, failure: failureOf(await run.outcome) };
      })();
      this.local.set(id, { done });
      void done
        .catch((err: unknown) => this.logger.error({ err }, 'Recording a response failed'))
        .finally(() => {
          release();
          this.local.delete(id);
          this.wake(id);
        });
      return {
        id,
        conversationId: run.conversationId,
        snapshot,
        subscribe: (listener) => {
          emitted.forEach(listener);
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
        done,
        cancel: (reason) => run.cancel(reason),
      };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Starts a new turn in the target conversation (created when new), as chat completions do. */
  private async begin(
    body: CreateResponseDto,
    request: TurnRequest,
    model: ResolvedModel,
    settings: Pick<TurnSettings, 'tools' | 'overrides' | 'answerFormat'>,
    target: Target,
  ): Promise<AgentRun> {
    return this.turns.begin({
      conversationId: target.conversationId,
      request,
      create: target.create && {
        title: titleOf(request.input.text),
        seed: seedOf(request),
        ifMissing: target.create.ifMissing,
      },
      model,
      streamed: body.stream === true,
      ...settings,
    });
  }

  /**
   * Which conversation the response continues, or a new one. Function call results without
   * either name no conversation: the bridge finds the one waiting for those calls.
   */
  private async targetOf(body: CreateResponseDto, resuming: boolean): Promise<Target | null> {
    if (body.previous_response_id) {
      const previous = await this.repo.find(body.previous_response_id);
      if (!previous) throw responseNotFound(body.previous_response_id, 'previous_response_id');
      if (await this.repo.hasLaterAnswer(previous.conversationId, previous))
        throw new AppError(
          'invalid',
          'responses.cannot_fork',
          `Response ${previous.id} is not the latest answer of its conversation: continuing from an earlier response (a fork) is not supported, because the agent's workspace cannot be forked. Continue from the latest response.`,
          { param: 'previous_response_id' },
        );
      return { conversationId: previous.conversationId, previousResponseId: previous.id };
    }
    if (body.conversation) {
      const raw = typeof body.conversation === 'string' ? body.conversation : body.conversation.id;
      if (typeof raw !== 'string' || !UUID.test(raw))
        throw new AppError(
          'invalid',
          'responses.invalid_conversation_id',
          `conversation must be a conversation id (a UUID); got '${String(raw).slice(0, 64)}'.`,
          { param: 'conversation' },
        );
      return {
        conversationId: raw.toLowerCase(),
        create: { ifMissing: true },
        previousResponseId: null,
      };
    }
    if (resuming) return null;
    return { conversationId: randomUUID(), create: { ifMissing: false }, previousResponseId: null };
  }

  async get(id: string): Promise<ResponseDto> {
    const row = await this.healed(await this.find(id));
    return row.body;
  }

  /**
   * The stored events after `startingAfter`, then new ones as they are recorded (by this process
   * or another), until the response's last event.
   */
  async *events(
    id: string,
    startingAfter: number,
    closed: () => boolean,
  ): AsyncGenerator<ResponseStreamEvent> {
    await this.find(id);
    let after = startingAfter;
    for (;;) {
      if (closed()) return;
      const page = await this.repo.events(id, after);
      for (const event of page) {
        yield event;
        after = event.sequence_number;
        if (TERMINAL_EVENTS.has(event.type)) return;
      }
      if (page.length > 0) continue;
      const row = await this.repo.find(id);
      if (!row) return; // deleted meanwhile
      if (TERMINAL_STATUSES.has(row.status)) {
        const rest = await this.repo.events(id, after);
        yield* rest;
        return;
      }
      await this.healed(row);
      await this.waitForEvents(id, POLL_MS);
    }
  }

  async cancel(id: string): Promise<ResponseDto> {
    const row = await this.find(id);
    if (TERMINAL_STATUSES.has(row.status)) return row.body;
    await this.turns.cancel(row.conversationId);
    const local = this.local.get(id);
    if (local)
      return local.done.then(
        (d) => d.response,
        async () => (await this.find(id)).body,
      );
    const until = Date.now() + CANCEL_WAIT_MS;
    for (;;) {
      const now = await this.find(id);
      if (TERMINAL_STATUSES.has(now.status) || Date.now() > until)
        return (await this.healed(now)).body;
      await this.waitForEvents(id, 100);
    }
  }

  async delete(id: string): Promise<DeletedResponseDto> {
    const row = await this.find(id);
    if (!TERMINAL_STATUSES.has(row.status)) await this.cancel(id);
    await this.repo.delete(id);
    return { id, object: 'response', deleted: true };
  }

  async inputItems(id: string, query: InputItemsQueryDto): Promise<ResponseInputItemListDto> {
    const row = await this.find(id);
    const items = query.order === 'asc' ? row.inputItems : [...row.inputItems].reverse();
    let start = 0;
    if (query.after) {
      const at = items.findIndex((i) => i.id === query.after);
      if (at === -1)
        throw new AppError(
          'invalid',
          'responses.invalid_cursor',
          `after '${query.after.slice(0, 64)}' is not an item of response ${id}.`,
          { param: 'after' },
        );
      start = at + 1;
    }
    const limit = query.limit ?? 20;
    const data = items.slice(start, start + limit);
    return {
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: start + limit < items.length,
    };
  }

  private async find(id: string): Promise<StoredResponse> {
    const row = await this.repo.find(id);
    if (!row) throw responseNotFound(id);
    return row;
  }

  /**
   * A response still `in_progress` whose conversation stopped running a while ago lost the process
   * that ran it (a crash, a kill): it is recorded as failed, so polls and streams end.
   */
  private async healed(row: StoredResponse): Promise<StoredResponse> {
    if (TERMINAL_STATUSES.has(row.status) || this.local.has(row.id)) return row;
    const conversation = await this.conversations.find(row.conversationId);
    if (
      conversation?.executionStatus === 'running' ||
      (conversation && Date.now() - conversation.updatedAt.getTime() < ORPHAN_AFTER_MS)
    )
      return row;
    const body: ResponseDto = {
      ...row.body,
      status: 'failed',
      completed_at: unixNow(),
      error: {
        code: 'server_error',
        message: 'The server running this response stopped before it finished.',
      },
    };
    const event = { type: 'response.failed', sequence_number: 0, response: body };
    await this.repo.markFailed(row.id, body, event);
    this.wake(row.id);
    return (await this.repo.find(row.id)) ?? row;
  }

  private wake(id: string): void {
    const waiting = this.waiters.get(id);
    if (!waiting) return;
    this.waiters.delete(id);
    for (const resolve of waiting) resolve();
  }

  private waitForEvents(id: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiting = this.waiters.get(id) ?? new Set<() => void>();
      this.waiters.set(id, waiting);
      const done = () => {
        clearTimeout(timer);
        waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiting.add(done);
    });
  }
}

/** Stores a response's events as they come, in batches, one write in flight at a time. */
class Recorder {
  private pending: ResponseStreamEvent[] = [];
  private flushing: Promise<void> | null = null;
  private bodyWritten = Date.now();
  private progressDue = false;
  private progressTimer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    private readonly repo: ResponsesRepository,
    private readonly id: string,
    /** The object as it stands: stored with the events at most every PROGRESS_MS, for polls. */
    private readonly progress: () => ResponseDto,
    private readonly flushed: () => void,
    private readonly logger: Logger,
  ) {}

  push(event: ResponseStreamEvent): void {
    this.pending.push(event);
    this.flushing ??= this.flush();
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0 || this.progressDue) {
      await new Promise((resolve) => setTimeout(resolve, 20)); // gather a batch of deltas
      if (this.done) break;
      const batch = this.pending.splice(0);
      const due = this.progressDue || Date.now() - this.bodyWritten >= PROGRESS_MS;
      this.progressDue = false;
      if (due) {
        this.bodyWritten = Date.now();
        clearTimeout(this.progressTimer);
        this.progressTimer = undefined;
      } else {
        // what a poll sees catches up soon, even if no event comes for a while
        this.progressTimer ??= setTimeout(
          () => {
            this.progressTimer = undefined;
            this.progressDue = true;
            this.flushing ??= this.flush();
          },
          PROGRESS_MS - (Date.now() - this.bodyWritten),
        );
      }
      try {
        await this.repo.append(this.id, batch, due ? this.progress() : undefined);
      } catch (err) {
        this.logger.error({ err, response_id: this.id }, 'Could not store response events');
      }
      this.flushed();
    }
    this.flushing = null;
  }

  /** Waits for writes in flight, then stores the last events with the final object, together. */
  async finish(final: ResponseDto): Promise<void> {
    clearTimeout(this.progressTimer);
    this.done = true;
    while (this.flushing) await this.flushing;
    await this.repo.append(this.id, this.pending.splice(0), final, true);
    this.flushed();
  }
}

function initialResponse(
  id: string,
  body: CreateResponseDto,
  conversationId: string,
  previousResponseId: string | null,
): ResponseDto {
  return {
    id,
    object: 'response',
    created_at: unixNow(),
    status: 'in_progress',
    completed_at: null,
    background: body.background === true,
    model: body.model,
    output: [],
    output_text: '',
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    metadata: body.metadata ?? {},
    conversation: { id: conversationId },
    previous_response_id: previousResponseId,
    max_output_tokens: body.max_output_tokens ?? null,
    temperature: body.temperature ?? null,
    top_p: body.top_p ?? null,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    text: { format: body.text?.format ?? { type: 'text' } },
    store: body.store !== false,
    truncation: 'disabled',
    usage: null,
  };
}

/**
 * Sampling settings of the request; its token limit clamped to the profile's `max_output_tokens`,
 * else to the model's known limit.
 */
function overridesOf(body: CreateResponseDto, model: ResolvedModel): LlmRequest['overrides'] {
  return {
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    maxOutputTokens: clampOutputTokens(body.max_output_tokens ?? undefined, model.config),
    reasoningEffort: body.reasoning?.effort ?? undefined,
  };
}

interface Target {
  conversationId: string;
  create?: { ifMissing: boolean };
  previousResponseId: string | null;
}

function headerOf(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name.toLowerCase()];
  return (Array.isArray(value) ? value[0] : value)?.trim();
}

export const responseNotFound = (id: string, param?: string) =>
  new AppError(
    'not_found',
    'responses.response_not_found',
    `Response '${id.slice(0, 64)}' was not found.`,
    {
      param,
    },
  );
