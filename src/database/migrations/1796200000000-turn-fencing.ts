import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Turn ownership with fencing. `run_epoch` grows by one each time a turn takes a conversation's
 * lock; every write of a turn names the owner and epoch it holds, so a process that lost the lock
 * (its lease lapsed and another took the turn over) can no longer write. `replica_leases` is each
 * process's heartbeat on PostgreSQL: its turns may be taken over only once `expires_at` has passed.
 */
export class TurnFencing1796200000000 implements MigrationInterface {
  name = 'TurnFencing1796200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "conversations" ADD "run_epoch" integer NOT NULL DEFAULT 0`);
    await q.query(
      `CREATE TABLE "replica_leases" ("owner" character varying(64) NOT NULL,
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "renewed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_replica_leases" PRIMARY KEY ("owner"))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "replica_leases"`);
    await q.query(`ALTER TABLE "conversations" DROP COLUMN "run_epoch"`);
  }
}
