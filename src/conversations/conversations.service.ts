import { join } from 'node:path';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { agentConfig } from '../config/agent.config';
import { databaseConfig } from '../config/database.config';
import { databaseUnavailable } from '../database/database-errors';
import type { NewEvent, StoredEvent } from './events.types';
import type { UsageRow } from './usage.types';
import { conversationBusy, conversationNotFound } from './conversations.errors';
import { ConversationsRepository, type SearchConversations } from './conversations.repository';
import type { Conversation } from './entities/conversation.entity';
import { HistoryCache } from './history-cache';
import { type JournalHost, TurnJournal, stamp } from './turn-journal';
import { TurnLeases } from './turn-leases';

// What the agent and chat completions use of a conversation's log: the lock holder's journal, and
// the transcript a client's messages are matched against.
export type { TurnJournal } from './turn-journal';
export {
  normalizeText,
  transcriptHash,
  transcriptHashOf,
  transcriptOf,
  type TranscriptEntry,
} from './transcript';

export interface BeginTurn {
  conversationId: string;
  profileName: string;
  model: string;
  /**
   * Set when the conversation may be new: what to create it with. Without `ifMissing` it is
   * expected to be new (created first); with it, it is expected to exist (locked first).
   */
  create?: {
    title: string | null;
    systemPromptSuffix: string | null;
    seed: NewEvent[];
    ifMissing?: boolean;
  };
  /** The turn's input: the user message, or the client's tool results of a paused turn. */
  input: NewEvent | NewEvent[];
  /**
   * Take the lock only if the log still ends at this seq (what the caller checked the input
   * against, e.g. the calls a paused turn waits for): otherwise 409 like a running turn.
   */
  expectedLastSeq?: number;
}

/** Retries of a turn's end that could not be recorded: from 250 ms, doubling, at most every 2 s. */
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 2_000;

/** Ends what the agent holds for the conversation and removes its workspace (from a sandbox). */
export type DeleteListener = (conversationId: string, workspaceDir: string) => Promise<void> | void;

/** Cancels a conversation's running turn and resolves once it ended; false when none ran. */
export type TurnCanceller = (conversationId: string) => Promise<boolean>;

@Injectable()
export class ConversationsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ConversationsService.name);
  private readonly deleteListeners: DeleteListener[] = [];
  private canceller: TurnCanceller = async () => false;
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly leases: TurnLeases,
    private readonly cache: HistoryCache,
    @Inject(agentConfig.KEY) private readonly agent: ConfigType<typeof agentConfig>,
    @Inject(databaseConfig.KEY) private readonly database: ConfigType<typeof databaseConfig>,
  ) {}

  /** Turn ends waiting for the database, retried until recorded (conversation id → attempt). */
  private readonly unrecorded = new Map<string, () => Promise<boolean>>();
  private retrying: NodeJS.Timeout | undefined;
  private retryMs = 0;
  private leaseSweep: NodeJS.Timeout | undefined;
  private stopped = false;

  private readonly journalHost: JournalHost = {
    holdsLease: () => this.leases.holds,
    retryLater: (id, attempt) => {
      this.unrecorded.set(id, attempt);
      this.scheduleRetry(FIRST_RETRY_MS);
    },
  };

  /**
   * Turns left `running` by a process whose lease lapsed (it died, or lost the database for longer
   * than `OH_LEASE_TTL_S`) are marked `error` with an `interrupted` event: at start-up, and on
   * PostgreSQL every `OH_RECOVERY_INTERVAL_S` and when a live lease that holds a running turn
   * would lapse, so a replica dying while the others live does not leave its conversations locked.
   * A live lease is never overridden: a replica starting, or the database restarting, frees nothing.
   */
  async onApplicationBootstrap(): Promise<void> {
    this.leases.onRestored(() => {
      this.scheduleRetry(0);
      void this.sweep();
    });
    await this.recoverInterrupted();
    if (!this.leases.shared) return;
    this.sweeper = setInterval(() => void this.sweep(), this.database.recoveryIntervalMs);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearInterval(this.sweeper);
    clearTimeout(this.leaseSweep);
    clearTimeout(this.retrying);
  }

  async recoverInterrupted(): Promise<number> {
    let recovered = 0;
    let nextLapse = Infinity;
    for (const row of await this.conversations.findRunning()) {
      if (row.runOwner === this.leases.owner) continue; // ours: running here, or its end is retried
      if (row.leaseLeftMs !== null) {
        nextLapse = Math.min(nextLapse, row.leaseLeftMs);
        continue;
      }
      if (await this.markInterrupted(row.id, row.runOwner, row.runEpoch)) recovered++;
    }
    if (recovered > 0) this.logger.warn(`Marked ${recovered} interrupted turn(s) as error`);
    // A turn held by a lease about to lapse is freed when it does, not a whole interval later.
    if (this.leases.shared && nextLapse < this.database.recoveryIntervalMs && !this.stopped) {
      clearTimeout(this.leaseSweep);
      this.leaseSweep = setTimeout(() => void this.sweep(), nextLapse + 50);
      this.leaseSweep.unref();
    }
    return recovered;
  }

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await this.recoverInterrupted();
    } catch (err) {
      this.logger.warn(`Recovery of interrupted turns failed: ${(err as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }

  private async markInterrupted(id: string, owner: string | null, epoch: number): Promise<boolean> {
    const event = stamp(
      {
        kind: 'interrupted',
        source: 'system',
        payload: { message: 'The server running this turn stopped or lost the database.' },
      },
      0,
    );
    const marked = await this.conversations.markInterrupted(id, { owner, epoch }, event);
    this.cache.forget(id);
    return marked;
  }

  private scheduleRetry(ms: number): void {
    if (this.stopped || this.unrecorded.size === 0) return;
    clearTimeout(this.retrying);
    this.retrying = setTimeout(() => void this.retryUnrecorded(), ms);
    this.retrying.unref();
  }

  /** Records the turn ends that could not be written before; backs off while the database is away. */
  private async retryUnrecorded(): Promise<void> {
    let recorded = 0;
    for (const [id, attempt] of [...this.unrecorded]) {
      try {
        if (await attempt()) {
          this.unrecorded.delete(id);
          this.cache.forget(id);
          recorded++;
        }
      } catch {
        this.retryMs = Math.min(this.retryMs ? this.retryMs * 2 : FIRST_RETRY_MS, MAX_RETRY_MS);
        this.scheduleRetry(this.retryMs);
        return;
      }
    }
    this.retryMs = 0;
    if (recorded > 0)
      this.logger.log(`Recorded ${recorded} turn end(s) as failed once the database was back`);
  }

  find(id: string): Promise<Conversation | null> {
    return this.conversations.findById(id);
  }

  async get(id: string): Promise<Conversation> {
    const conversation = await this.conversations.findById(id);
    if (!conversation) throw conversationNotFound(id);
    return conversation;
  }

  /** The conversations of `ids`, in that order; `null` where one does not exist. */
  async getMany(ids: readonly string[]): Promise<(Conversation | null)[]> {
    const found = new Map((await this.conversations.findByIds(ids)).map((c) => [c.id, c]));
    return ids.map((id) => found.get(id.toLowerCase()) ?? null);
  }

  /** The latest finished turn's answer; empty before any turn finished with one. */
  async finalAnswer(id: string): Promise<string> {
    await this.get(id);
    return (await this.conversations.lastAnswer(id)) ?? '';
  }

  /**
   * Takes the conversation's turn lock (creating the conversation when asked) and records the
   * input, atomically. 409 when a turn is already running; 404 when it must exist and does not.
   */
  async beginTurn(turn: BeginTurn): Promise<TurnJournal> {
    // Until our lease is renewed, another process could take a new turn of ours over at once.
    if (!this.leases.holds) throw databaseUnavailable();
    const owner = this.leases.owner;
    if (turn.create && !turn.create.ifMissing) {
      const created = await this.create(turn, owner);
      if (created) return created;
    }

    const inputs = [turn.input].flat().map((event) => stamp(event, 0));
    const lock = () =>
      this.conversations.lockForTurn(
        turn.conversationId,
        owner,
        { profileName: turn.profileName, model: turn.model },
        inputs,
        turn.expectedLastSeq,
      );
    let locked = await lock();
    if (!locked) {
      const current = await this.conversations.findById(turn.conversationId);
      if (!current) {
        if (!turn.create?.ifMissing) throw conversationNotFound(turn.conversationId);
        const created = await this.create(turn, owner);
        if (created) return created;
        // A concurrent request created it between our lock and our insert: it runs that turn.
        locked = await lock();
      } else if (
        // The lock of a process whose lease lapsed is stale: free it now, not at the next sweep.
        current.executionStatus === 'running' &&
        current.runOwner !== owner &&
        (await this.markInterrupted(current.id, current.runOwner, current.runEpoch))
      ) {
        locked = await lock();
      }
      if (!locked) throw conversationBusy(turn.conversationId);
    }
    const { conversation, events } = locked;
    const history = await this.cache.continueFrom(
      conversation.id,
      conversation.lastSeq - events.length,
      () => this.conversations.loadEvents(conversation.id),
    );
    for (const event of events) if ((history.at(-1)?.seq ?? 0) < event.seq) history.push(event);
    return new TurnJournal(this.conversations, conversation, history, owner, this.journalHost);
  }

  /** Creates the conversation holding its turn lock, with its first events; `null` if the id exists. */
  private async create(turn: BeginTurn, owner: string): Promise<TurnJournal | null> {
    if (!turn.create) return null;
    const events = [...turn.create.seed, turn.input].flat().map((e, i) => stamp(e, i + 1));
    const created = await this.conversations.createLocked(
      {
        id: turn.conversationId,
        profileName: turn.profileName,
        model: turn.model,
        title: turn.create.title,
        systemPromptSuffix: turn.create.systemPromptSuffix,
        // made by the agent when its first tool runs: most turns never touch it
        workspaceDir: join(this.agent.workspaceRoot, turn.conversationId),
      },
      owner,
      events,
    );
    return created
      ? new TurnJournal(
          this.conversations,
          created,
          this.cache.start(created.id, events),
          owner,
          this.journalHost,
        )
      : null;
  }

  search(query: SearchConversations): Promise<Conversation[]> {
    return this.conversations.search(query);
  }

  count(status?: Conversation['executionStatus']): Promise<number> {
    return this.conversations.count(status);
  }

  usage(ids: string[]): Promise<UsageRow[]> {
    return this.conversations.usage(ids);
  }

  async events(
    id: string,
    afterSeq: number,
    limit: number,
    kinds: string[] | null,
  ): Promise<StoredEvent[]> {
    await this.get(id);
    return this.conversations.eventsPage(id, afterSeq, limit, kinds);
  }

  /** The whole event log (from cache when it is current). */
  async history(conversation: Conversation): Promise<readonly StoredEvent[]> {
    return this.cache.continueFrom(conversation.id, conversation.lastSeq, () =>
      this.conversations.loadEvents(conversation.id),
    );
  }

  findAlias(profileName: string, clientKey: string): Promise<string | null> {
    return this.conversations.findAlias(profileName, clientKey);
  }

  saveAlias(profileName: string, clientKey: string, conversationId: string): Promise<void> {
    return this.conversations.saveAlias(profileName, clientKey, conversationId);
  }

  findByTranscript(profileName: string, hash: string): Promise<string | null> {
    return this.conversations.findByTranscriptHash(profileName, hash);
  }

  /**
   * Cancels the conversation's running turn (through the agent's turn owner, wherever the turn
   * runs) and waits until it has recorded its end. False when no turn was running.
   */
  cancel(id: string): Promise<boolean> {
    return this.canceller(id);
  }

  /** The agent's turn owner registers how a running turn is cancelled. */
  onCancel(canceller: TurnCanceller): void {
    this.canceller = canceller;
  }

  /** Called when this process's lease lapsed before it could renew it: its turns must stop. */
  onLeaseLost(listener: () => void): void {
    this.leases.onLost(listener);
  }

  /** Whether this process's lease connection is up and its lease current (readiness). */
  get leaseCurrent(): boolean {
    return this.leases.current;
  }

  /** Stops a running turn and disposes what the agent keeps for it (listeners), removes rows and workspace. */
  async delete(id: string): Promise<void> {
    const conversation = await this.get(id);
    for (const listener of this.deleteListeners) await listener(id, conversation.workspaceDir);
    await this.conversations.delete(id);
    this.cache.forget(id);
  }

  /** Lets the agent module release what it holds for a conversation (its shell) before deletion. */
  onDelete(listener: DeleteListener): void {
    this.deleteListeners.push(listener);
  }
}
