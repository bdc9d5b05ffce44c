import { rm } from 'node:fs/promises';
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
import { ActiveTurns } from './active-turns';
import { CancelSignals } from './cancel-signals';
import type { NewEvent, StoredEvent } from './conversation-events';
import { conversationBusy, conversationNotFound, shuttingDown } from './conversations.errors';
import {
  ConversationsRepository,
  type SearchConversations,
  type UsageRow,
} from './conversations.repository';
import type { Conversation } from './entities/conversation.entity';
import { HistoryCache } from './history-cache';
import { TurnJournal, stamp } from './turn-journal';
import { TurnLeases } from './turn-leases';

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
  /** The turn's input (the user message). */
  input: NewEvent;
}

/** How long a cancel relayed to another process is awaited before the API answers. */
const CANCEL_WAIT_MS = 5_000;

export type DeleteListener = (conversationId: string) => Promise<void> | void;

@Injectable()
export class ConversationsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ConversationsService.name);
  private readonly deleteListeners: DeleteListener[] = [];
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly leases: TurnLeases,
    private readonly active: ActiveTurns,
    private readonly cache: HistoryCache,
    private readonly signals: CancelSignals,
    @Inject(agentConfig.KEY) private readonly agent: ConfigType<typeof agentConfig>,
    @Inject(databaseConfig.KEY) private readonly database: ConfigType<typeof databaseConfig>,
  ) {}

  /**
   * Turns left `running` by a process that died are marked `error` with an `interrupted` event: at
   * start-up, and on PostgreSQL every `OH_RECOVERY_INTERVAL_S` too, so that a replica dying while
   * the others live does not leave its conversations locked until the next restart.
   */
  async onApplicationBootstrap(): Promise<void> {
    await this.recoverInterrupted();
    if (!this.leases.shared) return;
    this.sweeper = setInterval(() => void this.sweep(), this.database.recoveryIntervalMs);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  async recoverInterrupted(): Promise<number> {
    const alive = new Map<string | null, Promise<boolean>>(); // one probe per owner and sweep
    let recovered = 0;
    for (const row of await this.conversations.findRunning()) {
      if (!alive.has(row.runOwner)) alive.set(row.runOwner, this.leases.isAlive(row.runOwner));
      if (await alive.get(row.runOwner)) continue;
      if (await this.markInterrupted(row.id, row.runOwner)) recovered++;
    }
    if (recovered > 0) this.logger.warn(`Marked ${recovered} interrupted turn(s) as error`);
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

  private async markInterrupted(id: string, owner: string | null): Promise<boolean> {
    const event = stamp(
      {
        kind: 'interrupted',
        source: 'system',
        payload: { message: 'The server stopped during this turn.' },
      },
      0,
    );
    const marked = await this.conversations.markInterrupted(id, owner, event);
    this.cache.forget(id);
    return marked;
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
    if (this.active.closing) throw shuttingDown();
    const owner = this.leases.owner;
    if (turn.create && !turn.create.ifMissing) {
      const created = await this.create(turn, owner);
      if (created) return created;
    }

    const input = stamp(turn.input, 0);
    const lock = () =>
      this.conversations.lockForTurn(
        turn.conversationId,
        owner,
        { profileName: turn.profileName, model: turn.model },
        [input],
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
        // The lock of a process that died is stale: free it now rather than at the next sweep.
        current.executionStatus === 'running' &&
        !(await this.leases.isAlive(current.runOwner)) &&
        (await this.markInterrupted(current.id, current.runOwner))
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
    return new TurnJournal(this.conversations, conversation, history, owner);
  }

  /** Creates the conversation holding its turn lock, with its first events; `null` if the id exists. */
  private async create(turn: BeginTurn, owner: string): Promise<TurnJournal | null> {
    if (!turn.create) return null;
    const events = [...turn.create.seed, turn.input].map((e, i) => stamp(e, i + 1));
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
      ? new TurnJournal(this.conversations, created, this.cache.start(created.id, events), owner)
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
   * Cancels the conversation's running turn, in this process or (on PostgreSQL) in the one that
   * runs it, and waits until the turn has recorded its end. False when no turn was running.
   */
  async cancel(id: string): Promise<boolean> {
    if (await this.active.cancel(id, 'cancelled')) return true;
    const conversation = await this.conversations.findById(id);
    if (conversation?.executionStatus !== 'running' || !this.signals.relays) return false;
    await this.signals.broadcast(id);
    const until = Date.now() + CANCEL_WAIT_MS;
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if ((await this.conversations.findById(id))?.executionStatus !== 'running') return true;
    }
    return false;
  }

  /** Cancels a running turn, disposes what the agent keeps for it, removes rows and workspace. */
  async delete(id: string): Promise<void> {
    const conversation = await this.get(id);
    await this.active.cancel(id, 'deleted');
    for (const listener of this.deleteListeners) await listener(id);
    await this.conversations.delete(id);
    this.cache.forget(id);
    await rm(conversation.workspaceDir, { recursive: true, force: true });
  }

  /** Lets the agent module release what it holds for a conversation (its shell) before deletion. */
  onDelete(listener: DeleteListener): void {
    this.deleteListeners.push(listener);
  }
}
