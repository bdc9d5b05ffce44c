import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Running turns, found without scanning every conversation: start-up recovery and the periodic
 * sweep for turns of dead processes (PostgreSQL) look them up every OH_RECOVERY_INTERVAL_S.
 */
export class IndexRunningConversations1795800000000 implements MigrationInterface {
  name = 'IndexRunningConversations1795800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX "IDX_conversations_running" ON "conversations" ("run_owner") WHERE "execution_status" = 'running'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."IDX_conversations_running"`);
  }
}
