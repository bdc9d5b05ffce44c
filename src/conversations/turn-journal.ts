import { randomUUID } from 'node:crypto';
import type { TaskItem, TaskStore } from '../agent/tools/tool';
import type { NewEvent, NewLlmCall, StoredEvent } from './conversation-events';
import type { ConversationsRepository } from './conversations.repository';
import type { Conversation, ExecutionStatus } from './entities/conversation.entity';

export const stamp = (event: NewEvent, seq: number): StoredEvent => ({
  ...event,
  id: randomUUID(),
  seq,
  createdAt: new Date().toISOString(),
});

/**
 * A turn's write access to its conversation, held while the turn lock is. Every append is one
 * statement (events and their LLM calls together), and the in-memory history stays in step with
 * the database, so the agent never re-reads what it wrote.
 */
export class TurnJournal {
  private ended = false;

  constructor(
    private readonly repo: ConversationsRepository,
    readonly conversation: Conversation,
    /** The whole event log, oldest first; shared with the history cache. */
    private readonly log: StoredEvent[],
    private readonly owner: string,
  ) {}

  get history(): readonly StoredEvent[] {
    return this.log;
  }

  get lastSeq(): number {
    return this.log.at(-1)?.seq ?? 0;
  }

  readonly tasks: TaskStore = {
    get: (): Promise<TaskItem[]> => this.repo.getTaskList(this.conversation.id),
    set: (tasks: TaskItem[]): Promise<void> => this.repo.setTaskList(this.conversation.id, tasks),
  };

  /**
   * Persists events (and the LLM calls they account for) before anyone acts on them. Tool calls
   * are flushed to disk before they run; other steps are followed by nothing but LLM calls and
   * become durable with the next durable write (at the latest the turn's end).
   */
  async append(events: NewEvent[], calls: NewLlmCall[] = []): Promise<StoredEvent[]> {
    const stored = this.stampAll(events);
    const durable = stored.some((event) => event.kind === 'tool_call');
    await this.repo.append(this.conversation.id, stored, calls, { durable });
    this.log.push(...stored);
    return stored;
  }

  /** Records the turn's last events and its outcome, and releases the lock. Once. */
  async end(
    status: ExecutionStatus,
    events: NewEvent[],
    calls: NewLlmCall[] = [],
    transcriptHash: string | null = null,
  ): Promise<StoredEvent[]> {
    if (this.ended) return [];
    this.ended = true;
    const stored = this.stampAll(events);
    await this.repo.endTurn(
      this.conversation.id,
      this.owner,
      status,
      stored,
      calls,
      transcriptHash,
    );
    this.log.push(...stored);
    return stored;
  }

  private stampAll(events: NewEvent[]): StoredEvent[] {
    const base = this.lastSeq;
    return events.map((event, i) => stamp(event, base + i + 1));
  }
}
