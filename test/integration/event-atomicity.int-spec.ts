import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { NewLlmCall, StoredEvent } from '../../src/conversations/conversation-events';
import { ConversationsRepository } from '../../src/conversations/conversations.repository';
import { createTestApp, type TestApp } from '../support/create-test-app';

const OWNER = 'test-owner';

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
    await expect(repo.append(id, [event(3), event(3)], [call()])).rejects.toThrow(
      /duplicate key|unique/i,
    );
    expect(await state(id)).toEqual(before);

    await repo.append(id, [event(3), event(4)], [call()]); // the control: a valid batch is whole
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
      repo.endTurn(id, OWNER, 'finished', [event(3), event(3)], [call()], 'hash'),
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
    await repo.endTurn(id, OWNER, 'finished', [event(3)], [], null);
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
    await expect(repo.markInterrupted(id, OWNER, interrupted)).rejects.toThrow(
      /duplicate key|unique/i,
    );
    expect(await state(id)).toEqual(before);
  });
});
