import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { StoredEvent } from '../../src/conversations/events.types';
import type { NewLlmCall } from '../../src/conversations/usage.types';
import { ConversationsRepository } from '../../src/conversations/conversations.repository';
import { createTestApp, type TestApp } from '../support/create-test-app';

const OWNER = 'test-owner';
/** The lock `createLocked` gives: its owner, at epoch 1. */
const LOCK = { owner: OWNER, epoch: 1 };

/**
 * Every write of the turn path is one statement (a CTE), so PostgreSQL runs it as one
 * transaction: a batch whose second event violates a constraint must leave nothing behind, not
 * its first event, not its LLM calls, not the status or `last_seq` change that came with it.
 * On the embedded database and on PostgreSQL (DATABASE_URL).
 */
describe('event writes are all or nothing', () => {
  let t: TestApp;
  let repo: ConversationsRepository;
  let db: DataSource;

  beforeAll(async () => {
    t = await createTestApp();
    repo = t.app.get(ConversationsRepository);
    db = t.app.get(DataSource);
  });
  afterAll(() => t.close());

  const event = (seq: number, text = `event ${seq}`): StoredEvent => ({
    id: randomUUID(),
    seq,
    kind: 'user_message',
    source: 'user',
    payload: { text },
    createdAt: new Date().toISOString(),
  });
  const call = (): NewLlmCall => ({
    id: randomUUID(),
    usageId: 'agent',
    model: 'openai/gpt-4o-mini',
    promptTokens: 10,
    completionTokens: 5,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    costUsd: 0.001,
    latencyMs: 12,
  });

  /** A conversation holding its turn lock, with `events` events (seq 1…n). */
  async function running(events = 2): Promise<string> {
    const id = randomUUID();
    const created = await repo.createLocked(
      {
        id,
        profileName: 'p',
        model: 'openai/gpt-4o-mini',
        title: null,
        systemPromptSuffix: null,
        workspaceDir: `/tmp/${id}`,
      },
      OWNER,
      Array.from({ length: events }, (_, i) => event(i + 1)),
    );
    expect(created).not.toBeNull();
    return id;
  }

  /** What the database holds for a conversation. */
  async function state(id: string) {
    const [row] = await db.query<
      { execution_status: string; run_owner: string | null; last_seq: number }[]
    >('SELECT execution_status, run_owner, last_seq FROM conversations WHERE id = $1', [id]);
    const events = await db.query<{ seq: number }[]>(
      'SELECT seq FROM conversation_events WHERE conversation_id = $1 ORDER BY seq',
      [id],
    );
    const [{ n: calls }] = await db.query<[{ n: number }]>(
      'SELECT count(*)::int AS n FROM llm_calls WHERE conversation_id = $1',
      [id],
    );
    return { row, seqs: events.map((e) => e.seq), calls };
  }

  it('append: a duplicate seq in the second event leaves no event, no LLM call and last_seq as it was', async () => {
    const id = await running();
    const before = await state(id);
    await expect(repo.append(id, LOCK, [event(3), event(3)], [call()])).rejects.toThrow(
      /duplicate key|unique/i,
    );
    expect(await state(id)).toEqual(before);

    expect(await repo.append(id, LOCK, [event(3), event(4)], [call()])).toBe(true); // the control: a valid batch is whole
    expect(await state(id)).toEqual({
      row: { execution_status: 'running', run_owner: OWNER, last_seq: 4 },
      seqs: [1, 2, 3, 4],
      calls: 1,
    });
  });

  it('endTurn: a failing batch leaves the turn running, its lock held and nothing written', async () => {
    const id = await running();
    const before = await state(id);
    await expect(
      repo.endTurn(id, LOCK, 'finished', [event(3), event(3)], [call()], 'hash'),
    ).rejects.toThrow(/duplicate key|unique/i);
    expect(await state(id)).toEqual(before);
    expect(before.row).toMatchObject({ execution_status: 'running', run_owner: OWNER });
  });

  it('createLocked: a conversation whose second first-event fails is not created at all', async () => {
    const id = randomUUID();
    const first = event(1);
    await expect(
      repo.createLocked(
        {
          id,
          profileName: 'p',
          model: 'openai/gpt-4o-mini',
          title: null,
          systemPromptSuffix: null,
          workspaceDir: `/tmp/${id}`,
        },
        OWNER,
        [first, { ...event(2), id: first.id }],
      ),
    ).rejects.toThrow(/duplicate key|unique/i);
    expect(await repo.findById(id)).toBeNull();
    expect(await state(id)).toEqual({ row: undefined, seqs: [], calls: 0 });
  });

  it('lockForTurn: a failing input batch does not take the lock', async () => {
    const id = await running();
    await repo.endTurn(id, LOCK, 'finished', [event(3)], [], null);
    const before = await state(id);
    const input = event(0);
    await expect(
      repo.lockForTurn(id, 'another-owner', { profileName: 'p', model: 'm' }, [input, input]),
    ).rejects.toThrow(/duplicate key|unique/i);
    expect(await state(id)).toEqual(before);
    expect(before.row).toMatchObject({ execution_status: 'finished', run_owner: null });
  });

  it('markInterrupted: when its event cannot be written the turn is not marked either', async () => {
    const id = await running();
    const before = await state(id);
    const [existing] = await db.query<{ id: string }[]>(
      'SELECT id FROM conversation_events WHERE conversation_id = $1 AND seq = 1',
      [id],
    );
    const interrupted: Omit<StoredEvent, 'seq'> = {
      id: existing.id, // the primary key of event 1: the insert fails
      kind: 'interrupted',
      source: 'system',
      payload: { message: 'The server stopped during this turn.' },
      createdAt: new Date().toISOString(),
    };
    await expect(repo.markInterrupted(id, LOCK, interrupted)).rejects.toThrow(
      /duplicate key|unique/i,
    );
    expect(await state(id)).toEqual(before);
  });
});

/**
 * Fencing: a turn's writes name the lock's owner and epoch, and the database writes nothing for
 * a lock that moved on; a turn is taken over only when its owner holds no live lease.
 */
describe('turn writes are fenced by the lock epoch', () => {
  let t: TestApp;
  let repo: ConversationsRepository;
  let db: DataSource;

  beforeAll(async () => {
    t = await createTestApp();
    repo = t.app.get(ConversationsRepository);
    db = t.app.get(DataSource);
  });
  afterAll(() => t.close());

  const event = (seq: number, text = `event ${seq}`): StoredEvent => ({
    id: randomUUID(),
    seq,
    kind: 'user_message',
    source: 'user',
    payload: { text },
    createdAt: new Date().toISOString(),
  });
  const interrupted = (): Omit<StoredEvent, 'seq'> => ({
    id: randomUUID(),
    kind: 'interrupted',
    source: 'system',
    payload: { message: 'taken over' },
    createdAt: new Date().toISOString(),
  });
  const seqs = async (id: string) =>
    (
      await db.query<{ seq: number }[]>(
        'SELECT seq FROM conversation_events WHERE conversation_id = $1 ORDER BY seq',
        [id],
      )
    ).map((r) => r.seq);
  const lease = (owner: string, seconds: number) =>
    db.query(
      `INSERT INTO replica_leases (owner, expires_at) VALUES ($1, now() + make_interval(secs => $2))
       ON CONFLICT (owner) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
      [owner, seconds],
    );

  async function running(owner: string): Promise<string> {
    const id = randomUUID();
    await repo.createLocked(
      {
        id,
        profileName: 'p',
        model: 'm',
        title: null,
        systemPromptSuffix: null,
        workspaceDir: `/tmp/${id}`,
      },
      owner,
      [event(1)],
    );
    return id;
  }

  it('a lapsed owner loses the turn to the next one, and its late writes store nothing', async () => {
    const old = `old-${randomUUID()}`;
    const id = await running(old);
    await lease(old, -1); // lapsed
    expect(await repo.markInterrupted(id, { owner: old, epoch: 1 }, interrupted())).toBe(true);
    const next = await repo.lockForTurn(id, 'new-owner', { profileName: 'p', model: 'm' }, [
      { ...event(0, 'next') },
    ]);
    expect(next!.conversation.runEpoch).toBe(2);

    // The old turn wakes up and writes: nothing lands, nothing is released.
    expect(await repo.append(id, { owner: old, epoch: 1 }, [event(4)])).toBe(false);
    expect(await repo.endTurn(id, { owner: old, epoch: 1 }, 'finished', [event(4)], [], null)).toBe(
      false,
    );
    // Even the same owner with a stale epoch cannot write.
    expect(await repo.append(id, { owner: 'new-owner', epoch: 1 }, [event(4)])).toBe(false);
    expect(await seqs(id)).toEqual([1, 2, 3]);
    expect(await repo.findById(id)).toMatchObject({
      executionStatus: 'running',
      runOwner: 'new-owner',
      runEpoch: 2,
    });

    expect(await repo.append(id, { owner: 'new-owner', epoch: 2 }, [event(4)])).toBe(true);
    expect(
      await repo.endTurn(id, { owner: 'new-owner', epoch: 2 }, 'finished', [event(5)], [], null),
    ).toBe(true);
    expect(await seqs(id)).toEqual([1, 2, 3, 4, 5]);
  });

  it('never takes over a turn whose owner holds a live lease, nor a lock seen at another epoch', async () => {
    const owner = `live-${randomUUID()}`;
    const id = await running(owner);
    await lease(owner, 60);
    expect(await repo.markInterrupted(id, { owner, epoch: 1 }, interrupted())).toBe(false);
    expect(await repo.findRunning()).toContainEqual({
      id,
      runOwner: owner,
      runEpoch: 1,
      leaseLeftMs: expect.any(Number),
    });
    await lease(owner, -1);
    expect(await repo.markInterrupted(id, { owner, epoch: 2 }, interrupted())).toBe(false);
    expect(await repo.markInterrupted(id, { owner, epoch: 1 }, interrupted())).toBe(true);
    expect(await repo.findById(id)).toMatchObject({ executionStatus: 'error', runOwner: null });
  });
});
