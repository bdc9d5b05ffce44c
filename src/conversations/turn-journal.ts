import { randomUUID } from 'node:crypto';
import { AppError } from '../common/errors/app-error';
import { isDatabaseUnavailable } from '../database/database-errors';
import type { ExecutionStatus, NewEvent, StoredEvent } from './events.types';
import type { TaskItem, TaskStore } from './tasks.types';
import type { NewLlmCall } from './usage.types';
import type { ConversationsRepository, TurnLock } from './conversations.repository';
import type { Conversation } from './entities/conversation.entity';

export const stamp = (event: NewEvent, seq: number): StoredEvent => ({
  ...event,
  id: randomUUID(),
  seq,
  createdAt: new Date().toISOString(),
});

/** What a journal needs from the process around it. */
export interface JournalHost {
  /** Whether this process's lease still lets it write (false once it lapsed unrenewed). */
  holdsLease(): boolean;
  /** Keeps retrying `attempt` in the background until it returns true (written or moot). */
  retryLater(conversationId: string, attempt: () => Promise<boolean>): void;
}

/** The turn's lock moved on: another process took the turn over after our lease lapsed. */
export const lockLost = (conversationId: string) =>
  new AppError(
    'unavailable',
    'conversation.turn_lock_lost',
    `This server lost its lock on conversation ${conversationId} (it could not reach the database for longer than OH_LEASE_TTL_S), so the turn was stopped; the conversation accepts new turns.`,
  );

/** First wait before a write is retried while the database is away; doubles up to a second. */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 1_000;
/** Never longer than this, whatever the lease (the embedded database has none). */
const MAX_RETRY_WINDOW_MS = 60_000;

/**
 * A turn's write access to its conversation, held while the turn lock is. Every append is one
 * statement (events and their LLM calls together), and the in-memory history stays in step with
 * the database, so the agent never re-reads what it wrote. Each write is fenced by the lock's
 * owner and epoch; a write the database could not take (restart, failover) is retried while this
 * process's lease holds, so a short outage does not fail the turn.
 */
export class TurnJournal {
  private ended = false;
  private readonly lock: TurnLock;

  constructor(
    private readonly repo: ConversationsRepository,
    readonly conversation: Conversation,
    /** The whole event log, oldest first; shared with the history cache. */
    private readonly log: StoredEvent[],
    owner: string,
    private readonly host: JournalHost,
  ) {
    this.lock = { owner, epoch: conversation.runEpoch };
  }

  get history(): readonly StoredEvent[] {
    return this.log;
  }

  get lastSeq(): number {
    return this.log.at(-1)?.seq ?? 0;
  }

  readonly tasks: TaskStore = {
    get: (): Promise<TaskItem[]> => this.repo.getTaskList(this.conversation.id),
    set: async (tasks: TaskItem[]): Promise<void> => {
      if (!(await this.repo.setTaskList(this.conversation.id, this.lock, tasks)))
        throw lockLost(this.conversation.id);
    },
  };

  /**
   * Persists events (and the LLM calls they account for) before anyone acts on them. Tool calls
   * are flushed to disk before they run; other steps are followed by nothing but LLM calls and
   * become durable with the next durable write (at the latest the turn's end).
   */
  async append(events: NewEvent[], calls: NewLlmCall[] = []): Promise<StoredEvent[]> {
    const stored = this.stampAll(events);
    const durable = stored.some((event) => event.kind === 'tool_call');
    await this.write(stored, () =>
      this.repo.append(this.conversation.id, this.lock, stored, calls, { durable }),
    );
    this.log.push(...stored);
    return stored;
  }

  /**
   * Records the turn's last events and its outcome, and releases the lock. Once. Throws when it
   * could not be recorded (database unreachable for longer than the lease, or the lock lost).
   */
  async end(
    status: ExecutionStatus,
    events: NewEvent[],
    calls: NewLlmCall[] = [],
    transcriptHash: string | null = null,
  ): Promise<StoredEvent[]> {
    if (this.ended) return [];
    this.ended = true;
    const stored = this.stampAll(events);
    await this.write(stored, () =>
      this.repo.endTurn(this.conversation.id, this.lock, status, stored, calls, transcriptHash),
    );
    this.log.push(...stored);
    return stored;
  }

  /**
   * For a turn whose end could not be recorded: records it as `error` with `events` once the
   * database is back, retried in the background; dropped if the lock is no longer ours (the turn
   * was taken over and marked `interrupted`).
   */
  endLater(events: NewEvent[], calls: NewLlmCall[] = []): void {
    const stored = this.stampAll(events);
    this.host.retryLater(this.conversation.id, async () => {
      await this.repo.endTurn(this.conversation.id, this.lock, 'error', stored, calls, null);
      return true; // written, or the lock moved on: nothing left to do either way
    });
  }

  /**
   * Runs one fenced write. While the database cannot be reached and our lease holds, retries
   * with backoff; a retry that finds the write already done (its answer was lost with the
   * connection) counts as done.
   */
  private async write(stored: StoredEvent[], attempt: () => Promise<boolean>): Promise<void> {
    let uncertain = false;
    const giveUpAt = Date.now() + MAX_RETRY_WINDOW_MS;
    for (let delay = FIRST_RETRY_MS; ; delay = Math.min(delay * 2, MAX_RETRY_MS)) {
      try {
        if (await attempt()) return;
        if (uncertain && (await this.written(stored))) return;
        throw lockLost(this.conversation.id);
      } catch (err) {
        if (uncertain && isUniqueViolation(err) && (await this.written(stored).catch(() => false)))
          return;
        if (!isDatabaseUnavailable(err) || !this.host.holdsLease() || Date.now() > giveUpAt)
          throw err;
        uncertain = true;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private written(stored: StoredEvent[]): Promise<boolean> {
    return stored.length > 0 ? this.repo.eventExists(stored[0].id) : Promise.resolve(false);
  }

  private stampAll(events: NewEvent[]): StoredEvent[] {
    const base = this.lastSeq;
    return events.map((event, i) => stamp(event, base + i + 1));
  }
}

const isUniqueViolation = (err: unknown) =>
  (err as { driverError?: { code?: string }; code?: string })?.driverError?.code === '23505' ||
  (err as { code?: string })?.code === '23505';
