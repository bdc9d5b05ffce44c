import { DataSource } from 'typeorm';
import { createTestApp, type TestApp } from '../support/create-test-app';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Tables, columns, indexes and constraints of the public schema, comparable as plain data. */
async function schemaSnapshot(ds: DataSource): Promise<unknown> {
  const [tables, columns, indexes, constraints] = await Promise.all([
    ds.query(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_name <> 'migrations' ORDER BY 1`,
    ),
    ds.query(
      `SELECT table_name, column_name, data_type, is_nullable, column_default
         FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> 'migrations' ORDER BY 1, 2`,
    ),
    ds.query(
      `SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> 'migrations' ORDER BY 1, 2`,
    ),
    ds.query(
      `SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS def
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`,
    ),
  ]);
  return { tables, columns, indexes, constraints };
}

describe('persistence', () => {
  let t: TestApp;
  let ds: DataSource;
  beforeAll(async () => {
    t = await createTestApp();
    ds = t.app.get(DataSource);
  });
  afterAll(() => t.close());

  const names = async () =>
    (await ds.query<{ name: string }[]>('SELECT name FROM llm_profiles ORDER BY name')).map(
      (r) => r.name,
    );

  it('runs with synchronize off and every migration applied at start', async () => {
    expect(ds.options.synchronize).toBe(false);
    expect(ds.migrations.length).toBeGreaterThan(0);
    expect(await ds.showMigrations()).toBe(false); // false: nothing pending
  });

  it('has a migrated schema that equals the entities', async () => {
    const pending = await ds.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  describe('transactions under concurrent requests', () => {
    afterEach(() => ds.query('DELETE FROM llm_profiles'));

    it('keeps a rolled-back transaction rolled back while another request writes', async () => {
      let inside!: () => void;
      const started = new Promise<void>((resolve) => (inside = resolve));
      const transaction = ds.transaction(async (em) => {
        await em.query(
          `INSERT INTO llm_profiles (name, config) VALUES ('in-tx', '{"model":"gpt-4o"}')`,
        );
        inside();
        await sleep(300); // another request writes meanwhile
        throw new Error('roll back');
      });
      await started;
      const write = t.request('/api/profiles/outside-tx', {
        method: 'POST',
        json: { llm: { model: 'openai/gpt-4o-mini' } },
      });
      await expect(transaction).rejects.toThrow('roll back');
      expect((await write).status).toBe(201);
      expect(await names()).toEqual(['outside-tx']);
    });

    it('never shows another request the uncommitted rows of a transaction', async () => {
      let inside!: () => void;
      const started = new Promise<void>((resolve) => (inside = resolve));
      const transaction = ds.transaction(async (em) => {
        await em.query(
          `INSERT INTO llm_profiles (name, config) VALUES ('pending', '{"model":"gpt-4o"}')`,
        );
        inside();
        await sleep(200);
        throw new Error('roll back');
      });
      await started;
      const read = t.request('/api/profiles');
      await expect(transaction).rejects.toThrow('roll back');
      expect(await (await read).json()).toEqual({ profiles: [] });
    });

    it('commits each of several interleaved transactions on its own', async () => {
      const results = await Promise.allSettled(
        ['a', 'b', 'c', 'd'].map((name, i) =>
          ds.transaction(async (em) => {
            await em.query(`INSERT INTO llm_profiles (name, config) VALUES ($1, '{"model":"x"}')`, [
              name,
            ]);
            await sleep(20 * (4 - i));
            if (i % 2 === 1) throw new Error(`undo ${name}`);
          }),
        ),
      );
      expect(results.map((r) => r.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
        'rejected',
      ]);
      expect(await names()).toEqual(['a', 'c']);
    });
  });

  describe('migrations', () => {
    it('are reversible: down all, up again, same schema as before', async () => {
      const before = await schemaSnapshot(ds);
      const count = ds.migrations.length;

      for (let i = 0; i < count; i++) await ds.undoLastMigration({ transaction: 'each' });
      expect(await ds.query(`SELECT count(*)::int AS n FROM migrations`)).toEqual([{ n: 0 }]);
      expect(
        await ds.query(
          `SELECT table_name FROM information_schema.tables
            WHERE table_schema = 'public' AND table_name <> 'migrations'`,
        ),
      ).toEqual([]);
      expect(
        await ds.query(`SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                         WHERE n.nspname = 'public' AND t.typtype = 'e'`),
      ).toEqual([]); // no enum types left behind

      const applied = await ds.runMigrations({ transaction: 'each' });
      expect(applied).toHaveLength(count);
      expect(await schemaSnapshot(ds)).toEqual(before);
      expect((await ds.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
    });

    it('leave a working application behind', async () => {
      const res = await t.request('/api/profiles/after-migrations', {
        method: 'POST',
        json: { llm: { model: 'gpt-4o-mini' } },
      });
      expect(res.status).toBe(201);
      expect((await t.request('/ready', { key: null })).status).toBe(200);
    });
  });
});
