import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { Conversation } from './entities/conversation.entity';
import type { ExecutionStatus, StoredEvent } from './events.types';
import type { TaskItem } from './tasks.types';
import type { NewLlmCall, TokenCounts, UsageRow } from './usage.types';

export interface NewConversation {
  id: string;
  profileName: string;
  model: string;
  title: string | null;
  systemPromptSuffix: string | null;
  workspaceDir: string;
}

export interface SearchConversations {
  limit: number;
  status?: ExecutionStatus;
  /** Newest first unless ascending. */
  sortBy: 'created_at' | 'updated_at';
  ascending: boolean;
  /** Keyset cursor: the id of the last item of the previous page (its exact sort value is read back). */
  afterId?: string;
}

const CONVERSATION_COLUMNS = `id, profile_name, model, title, system_prompt_suffix, execution_status, run_owner,
  run_epoch, workspace_dir, task_list, last_seq, transcript_hash, created_at, updated_at`;

/** Events go in as one jsonb array: one statement, so a batch is written whole or not at all. */
const EVENTS_FROM_JSON = `jsonb_to_recordset($EVENTS::jsonb)
  AS e(id uuid, seq int, kind text, source text, payload jsonb, created_at timestamptz)`;

/** LLM calls from a jsonb array, written only when the `held` CTE found the turn's lock still held. */
const INSERT_LLM_CALL = `INSERT INTO llm_calls (id, conversation_id, usage_id, model, prompt_tokens,
    completion_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, latency_ms)
  SELECT c.id, held.id, c.usage_id, c.model, c.prompt_tokens, c.completion_tokens, c.cache_read_tokens,
    c.cache_write_tokens, c.reasoning_tokens, c.cost_usd, c.latency_ms
  FROM held, jsonb_to_recordset($CALLS::jsonb) AS c(id uuid, usage_id text, model text, prompt_tokens int,
    completion_tokens int, cache_read_tokens int, cache_write_tokens int, reasoning_tokens int,
    cost_usd numeric, latency_ms int)`;

/**
 * A CTE that commits its statement without waiting for the WAL flush (`synchronous_commit` off for
 * that one transaction). For writes nothing outside the database acts on before the turn's next
 * durable write: the WAL is sequential, so that write's flush (at the latest the turn's end, which
 * commits synchronously before the client hears of it) makes these durable too. Visibility and
 * atomicity are unchanged; only a database crash in between could lose them, with the turn.
 */
const ASYNC_COMMIT = `relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS off)`;

/** Events from a jsonb array, written only when the `held` CTE found the turn's lock still held. */
const INSERT_HELD_EVENTS = `INSERT INTO conversation_events (id, conversation_id, seq, kind, source, payload, created_at)
  SELECT e.id, held.id, e.seq, e.kind, e.source, e.payload, e.created_at
  FROM held, ${EVENTS_FROM_JSON}`;

/** Who may write a turn's events: the process holding the lock, at the lock's current epoch. */
export interface TurnLock {
  owner: string;
  epoch: number;
}

/**
 * The only place that builds conversation queries. Writes on the turn path are single statements
 * (CTEs): one round trip each, atomic without an explicit transaction. A turn's writes are fenced:
 * each names the owner and epoch of the lock it holds, and writes nothing (returns false) when the
 * lock has moved on (the turn was taken over after this process's lease lapsed).
 */
@Injectable()
export class ConversationsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async findById(id: string): Promise<Conversation | null> {
    const rows = await this.db.query<RawConversation[]>(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE id = $1`,
      [id],
    );
    return rows[0] ? toConversation(rows[0]) : null;
  }

  /** The conversations among `ids` that exist, in no particular order. */
  async findByIds(ids: readonly string[]): Promise<Conversation[]> {
    const rows = await this.db.query<RawConversation[]>(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return rows.map(toConversation);
  }

  /** The answer of the conversation's latest `turn_end` event, `null` before any. */
  async lastAnswer(conversationId: string): Promise<string | null> {
    const rows = await this.db.query<{ answer: string | null }[]>(
      `SELECT payload->>'answer' AS answer FROM conversation_events
       WHERE conversation_id = $1 AND kind = 'turn_end' ORDER BY seq DESC LIMIT 1`,
      [conversationId],
    );
    return rows[0]?.answer ?? null;
  }

  /**
   * Creates a conversation already holding its turn lock, with its first events. `null` if the id
   * exists. Committed asynchronously (`ASYNC_COMMIT`): an LLM call comes next, not an action.
   */
  async createLocked(
    c: NewConversation,
    owner: string,
    events: StoredEvent[],
  ): Promise<Conversation | null> {
    const rows = await this.db.query<RawConversation[]>(
      `WITH ${ASYNC_COMMIT},
       created AS (
         INSERT INTO conversations (id, profile_name, model, title, system_prompt_suffix, execution_status,
           run_owner, run_epoch, workspace_dir, last_seq)
         VALUES ($1, $2, $3, $4, $5, 'running', $6, 1, $7, $8)
         ON CONFLICT (id) DO NOTHING
         RETURNING ${CONVERSATION_COLUMNS}),
       inserted AS (
         INSERT INTO conversation_events (id, conversation_id, seq, kind, source, payload, created_at)
         SELECT e.id, created.id, e.seq, e.kind, e.source, e.payload, e.created_at
         FROM created, ${EVENTS_FROM_JSON.replace('$EVENTS', '$9')})
       SELECT created.* FROM created, relaxed`,
      [
        c.id,
        c.profileName,
        c.model,
        c.title,
        c.systemPromptSuffix,
        owner,
        c.workspaceDir,
        lastSeqOf(events, 0),
        eventsJson(events),
      ],
    );
    return rows[0] ? toConversation(rows[0]) : null;
  }

  /**
   * Takes the turn lock and appends the turn's first events, atomically: `null` when a turn is
   * already running. Also records which profile and model this turn uses. Committed
   * asynchronously (`ASYNC_COMMIT`), like `createLocked`.
   */
  async lockForTurn(
    id: string,
    owner: string,
    use: { profileName: string; model: string },
    firstEvents: Omit<StoredEvent, 'seq'>[],
    expectedLastSeq?: number,
  ): Promise<{ conversation: Conversation; events: StoredEvent[] } | null> {
    const rows = await this.db.query<(RawConversation & { base_seq: number })[]>(
      `WITH ${ASYNC_COMMIT},
       locked AS (
         UPDATE conversations
         SET execution_status = 'running', run_owner = $2, run_epoch = run_epoch + 1,
             profile_name = $3, model = $4, last_seq = last_seq + $5, updated_at = now()
         WHERE id = $1 AND execution_status <> 'running' AND ($7::int IS NULL OR last_seq = $7)
         RETURNING ${CONVERSATION_COLUMNS}, last_seq - $5 AS base_seq),
       inserted AS (
         INSERT INTO conversation_events (id, conversation_id, seq, kind, source, payload, created_at)
         SELECT e.id, locked.id, locked.base_seq + e.n, e.kind, e.source, e.payload, e.created_at
         FROM locked, jsonb_to_recordset($6::jsonb)
           AS e(id uuid, n int, kind text, source text, payload jsonb, created_at timestamptz))
       SELECT locked.* FROM locked, relaxed`,
      [
        id,
        owner,
        use.profileName,
        use.model,
        firstEvents.length,
        json(
          firstEvents.map((e, i) => ({ ...toRawEvent({ ...e, seq: 0 } as StoredEvent), n: i + 1 })),
        ),
        expectedLastSeq ?? null,
      ],
    );
    const row = rows[0];
    if (!row) return null;
    const events = firstEvents.map((e, i) => ({ ...e, seq: row.base_seq + i + 1 }) as StoredEvent);
    return { conversation: toConversation(row), events };
  }

  /**
   * Appends events (and the LLM calls they account for) and advances `last_seq`, in one statement,
   * if `lock` is still held; false (nothing written) when not. `durable: false` commits it
   * asynchronously (`ASYNC_COMMIT`).
   */
  async append(
    conversationId: string,
    lock: TurnLock,
    events: StoredEvent[],
    calls: NewLlmCall[] = [],
    { durable = true }: { durable?: boolean } = {},
  ): Promise<boolean> {
    const rows = await this.db.query<{ id: string }[]>(
      `WITH ${durable ? '' : `${ASYNC_COMMIT},`} held AS (
         UPDATE conversations SET last_seq = GREATEST(last_seq, $3), updated_at = now()
         ${durable ? '' : 'FROM relaxed'}
         WHERE id = $1 AND execution_status = 'running' AND run_owner = $5 AND run_epoch = $6
         RETURNING id),
       inserted AS (${INSERT_HELD_EVENTS.replace('$EVENTS', '$2')}),
       calls AS (${INSERT_LLM_CALL.replace('$CALLS', '$4')})
       SELECT id FROM held`,
      [
        conversationId,
        eventsJson(events),
        lastSeqOf(events, 0),
        json(calls.map(toRawCall)),
        lock.owner,
        lock.epoch,
      ],
    );
    return rows.length > 0;
  }

  /**
   * Appends the turn's last events, records the outcome and releases the lock, in one statement,
   * if `lock` is still held; false (nothing written) when not.
   */
  async endTurn(
    conversationId: string,
    lock: TurnLock,
    status: ExecutionStatus,
    events: StoredEvent[],
    calls: NewLlmCall[],
    transcriptHash: string | null,
  ): Promise<boolean> {
    const rows = await this.db.query<{ id: string }[]>(
      `WITH held AS (
         UPDATE conversations
         SET execution_status = $3, run_owner = NULL, last_seq = GREATEST(last_seq, $5),
             transcript_hash = COALESCE($6, transcript_hash), updated_at = now()
         WHERE id = $1 AND execution_status = 'running' AND run_owner = $2 AND run_epoch = $8
         RETURNING id),
       inserted AS (${INSERT_HELD_EVENTS.replace('$EVENTS', '$4')}),
       calls AS (${INSERT_LLM_CALL.replace('$CALLS', '$7')})
       SELECT id FROM held`,
      [
        conversationId,
        lock.owner,
        status,
        eventsJson(events),
        lastSeqOf(events, 0),
        transcriptHash,
        json(calls.map(toRawCall)),
        lock.epoch,
      ],
    );
    return rows.length > 0;
  }

  /** Whether an event is stored (did a write whose answer was lost commit?). */
  async eventExists(id: string): Promise<boolean> {
    const rows = await this.db.query<unknown[]>('SELECT 1 FROM conversation_events WHERE id = $1', [
      id,
    ]);
    return rows.length > 0;
  }

  async loadEvents(conversationId: string): Promise<StoredEvent[]> {
    const rows = await this.db.query<RawEvent[]>(
      `SELECT id, seq, kind, source, payload, created_at FROM conversation_events
       WHERE conversation_id = $1 ORDER BY seq`,
      [conversationId],
    );
    return rows.map(toEvent);
  }

  async eventsPage(
    conversationId: string,
    afterSeq: number,
    limit: number,
    kinds: string[] | null,
  ): Promise<StoredEvent[]> {
    const rows = await this.db.query<RawEvent[]>(
      `SELECT id, seq, kind, source, payload, created_at FROM conversation_events
       WHERE conversation_id = $1 AND seq > $2 AND ($3::text[] IS NULL OR kind = ANY($3::text[]))
       ORDER BY seq LIMIT $4`,
      [conversationId, afterSeq, kinds, limit],
    );
    return rows.map(toEvent);
  }

  async search(q: SearchConversations): Promise<Conversation[]> {
    const column = q.sortBy; // whitelisted by the type
    const direction = q.ascending ? 'ASC' : 'DESC';
    const comparator = q.ascending ? '>' : '<';
    const params: unknown[] = [q.status ?? null, q.limit];
    let keyset = '';
    if (q.afterId) {
      params.push(q.afterId);
      keyset = `AND (${column}, id) ${comparator} (SELECT ${column}, id FROM conversations WHERE id = $3::uuid)`;
    }
    const rows = await this.db.query<RawConversation[]>(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations
       WHERE ($1::text IS NULL OR execution_status = $1) ${keyset}
       ORDER BY ${column} ${direction}, id ${direction} LIMIT $2`,
      params,
    );
    return rows.map(toConversation);
  }

  async count(status?: ExecutionStatus): Promise<number> {
    const [row] = await this.db.query<[{ n: number }]>(
      `SELECT count(*)::int AS n FROM conversations WHERE ($1::text IS NULL OR execution_status = $1)`,
      [status ?? null],
    );
    return row.n;
  }

  /** Token and cost totals per conversation and usage id. */
  async usage(conversationIds: string[]): Promise<UsageRow[]> {
    if (conversationIds.length === 0) return [];
    const rows = await this.db.query<RawUsage[]>(
      `SELECT conversation_id, usage_id, (array_agg(model ORDER BY created_at DESC))[1] AS model,
         sum(prompt_tokens)::int AS prompt_tokens, sum(completion_tokens)::int AS completion_tokens,
         sum(cache_read_tokens)::int AS cache_read_tokens, sum(cache_write_tokens)::int AS cache_write_tokens,
         sum(reasoning_tokens)::int AS reasoning_tokens, sum(cost_usd)::float8 AS cost_usd
       FROM llm_calls WHERE conversation_id = ANY($1::uuid[])
       GROUP BY conversation_id, usage_id ORDER BY usage_id`,
      [conversationIds],
    );
    return rows.map((r) => ({
      conversationId: r.conversation_id,
      usageId: r.usage_id,
      model: r.model,
      promptTokens: r.prompt_tokens,
      completionTokens: r.completion_tokens,
      cacheReadTokens: r.cache_read_tokens,
      cacheWriteTokens: r.cache_write_tokens,
      reasoningTokens: r.reasoning_tokens,
      costUsd: r.cost_usd,
    }));
  }

  /** True when it existed. Events, LLM calls and aliases go with it (ON DELETE CASCADE). */
  async delete(id: string): Promise<boolean> {
    const rows = await this.db.query<{ id: string }[]>(
      'DELETE FROM conversations WHERE id = $1 RETURNING id',
      [id],
    );
    return rows.length > 0;
  }

  async getTaskList(id: string): Promise<TaskItem[]> {
    const rows = await this.db.query<{ task_list: TaskItem[] }[]>(
      'SELECT task_list FROM conversations WHERE id = $1',
      [id],
    );
    return rows[0]?.task_list ?? [];
  }

  /** Saves the task list of the turn holding `lock`; false (nothing written) when it no longer does. */
  async setTaskList(id: string, lock: TurnLock, tasks: TaskItem[]): Promise<boolean> {
    const rows = await this.db.query<{ id: string }[]>(
      `UPDATE conversations SET task_list = $2::jsonb
       WHERE id = $1 AND run_owner = $3 AND run_epoch = $4 RETURNING id`,
      [id, json(tasks), lock.owner, lock.epoch],
    );
    return rows.length > 0;
  }

  /**
   * Conversations left `running`: the lock's owner and epoch, and how long the owner's lease
   * (PostgreSQL) still lasts: `null` when it has lapsed or the owner has none (a process that is
   * gone, or any other process on the embedded database).
   */
  async findRunning(): Promise<
    { id: string; runOwner: string | null; runEpoch: number; leaseLeftMs: number | null }[]
  > {
    const rows = await this.db.query<
      { id: string; run_owner: string | null; run_epoch: number; lease_left_ms: number | null }[]
    >(
      `SELECT c.id, c.run_owner, c.run_epoch,
         CASE WHEN l.expires_at > now()
           THEN (extract(epoch FROM l.expires_at - now()) * 1000)::float8 END AS lease_left_ms
       FROM conversations c LEFT JOIN replica_leases l ON l.owner = c.run_owner
       WHERE c.execution_status = 'running'`,
    );
    return rows.map((r) => ({
      id: r.id,
      runOwner: r.run_owner,
      runEpoch: r.run_epoch,
      leaseLeftMs: r.lease_left_ms,
    }));
  }

  /**
   * Takes over a turn whose owner's lease lapsed: status `error`, lock free, an `interrupted`
   * event; only if the lock is still the one seen (`owner`, `epoch`) and its owner holds no live
   * lease, checked in the same statement. Idempotent.
   */
  async markInterrupted(
    id: string,
    lock: { owner: string | null; epoch: number },
    event: Omit<StoredEvent, 'seq'>,
  ): Promise<boolean> {
    const rows = await this.db.query<{ id: string }[]>(
      `WITH freed AS (
         UPDATE conversations c SET execution_status = 'error', run_owner = NULL,
           last_seq = last_seq + 1, updated_at = now()
         WHERE id = $1 AND execution_status = 'running' AND run_owner IS NOT DISTINCT FROM $2
           AND run_epoch = $8
           AND NOT EXISTS (SELECT 1 FROM replica_leases l
                           WHERE l.owner = c.run_owner AND l.expires_at > now())
         RETURNING id, last_seq),
       inserted AS (
         INSERT INTO conversation_events (id, conversation_id, seq, kind, source, payload, created_at)
         SELECT $3, freed.id, freed.last_seq, $4, $5, $6::jsonb, $7 FROM freed)
       SELECT id FROM freed`,
      [
        id,
        lock.owner,
        event.id,
        event.kind,
        event.source,
        json(event.payload),
        event.createdAt,
        lock.epoch,
      ],
    );
    return rows.length > 0;
  }

  async findAlias(profileName: string, clientKey: string): Promise<string | null> {
    const rows = await this.db.query<{ conversation_id: string }[]>(
      'SELECT conversation_id FROM conversation_aliases WHERE profile_name = $1 AND client_key = $2',
      [profileName, clientKey],
    );
    return rows[0]?.conversation_id ?? null;
  }

  async saveAlias(profileName: string, clientKey: string, conversationId: string): Promise<void> {
    await this.db.query(
      `INSERT INTO conversation_aliases (profile_name, client_key, conversation_id) VALUES ($1, $2, $3)
       ON CONFLICT (profile_name, client_key) DO UPDATE SET conversation_id = EXCLUDED.conversation_id`,
      [profileName, clientKey, conversationId],
    );
  }

  /**
   * The most recently active conversation of a profile whose transcript hashes to `hash`, unless
   * it is running a turn: a look-alike request then forks rather than taking it over (or a 409).
   */
  async findByTranscriptHash(profileName: string, hash: string): Promise<string | null> {
    const rows = await this.db.query<{ id: string }[]>(
      `SELECT id FROM conversations WHERE profile_name = $1 AND transcript_hash = $2
         AND execution_status <> 'running'
       ORDER BY updated_at DESC LIMIT 1`,
      [profileName, hash],
    );
    return rows[0]?.id ?? null;
  }
}

const json = (value: unknown) => JSON.stringify(value);

const toRawEvent = (e: StoredEvent) => ({
  id: e.id,
  seq: e.seq,
  kind: e.kind,
  source: e.source,
  payload: e.payload,
  created_at: e.createdAt,
});
const eventsJson = (events: StoredEvent[]) => json(events.map(toRawEvent));
const lastSeqOf = (events: { seq: number }[], fallback: number) =>
  events.reduce((max, e) => Math.max(max, e.seq), fallback);

const toRawCall = (c: NewLlmCall) => ({
  id: c.id,
  usage_id: c.usageId,
  model: c.model,
  prompt_tokens: c.promptTokens,
  completion_tokens: c.completionTokens,
  cache_read_tokens: c.cacheReadTokens,
  cache_write_tokens: c.cacheWriteTokens,
  reasoning_tokens: c.reasoningTokens,
  cost_usd: c.costUsd,
  latency_ms: c.latencyMs,
});

interface RawConversation {
  id: string;
  profile_name: string;
  model: string;
  title: string | null;
  system_prompt_suffix: string | null;
  execution_status: ExecutionStatus;
  run_owner: string | null;
  run_epoch: number;
  workspace_dir: string;
  task_list: TaskItem[];
  last_seq: number;
  transcript_hash: string | null;
  created_at: Date;
  updated_at: Date;
}

interface RawEvent {
  id: string;
  seq: number;
  kind: StoredEvent['kind'];
  source: StoredEvent['source'];
  payload: StoredEvent['payload'];
  created_at: Date;
}

type RawUsage = TokenCounts & {
  conversation_id: string;
  usage_id: string;
  model: string;
  cost_usd: number;
};

function toConversation(r: RawConversation): Conversation {
  return {
    id: r.id,
    profileName: r.profile_name,
    model: r.model,
    title: r.title,
    systemPromptSuffix: r.system_prompt_suffix,
    executionStatus: r.execution_status,
    runOwner: r.run_owner,
    runEpoch: r.run_epoch,
    workspaceDir: r.workspace_dir,
    taskList: r.task_list,
    lastSeq: r.last_seq,
    transcriptHash: r.transcript_hash,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const toEvent = (r: RawEvent): StoredEvent =>
  ({
    id: r.id,
    seq: r.seq,
    kind: r.kind,
    source: r.source,
    payload: r.payload,
    createdAt: r.created_at.toISOString(),
  }) as StoredEvent;
