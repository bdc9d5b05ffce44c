import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retried chat completions: one row per `Idempotency-Key` (and per implicit key, the hash of a
 * request without one), holding the turn's result once it ended, so that a repeated request is
 * attached to the turn in flight or answered with the stored result, on any replica.
 * `status` is null while the turn runs.
 */
export class CreateIdempotencyKeys1796300000000 implements MigrationInterface {
  name = 'CreateIdempotencyKeys1796300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "idempotency_keys" ("key" character varying(128) NOT NULL,
        "request_hash" character varying(64) NOT NULL,
        "conversation_id" uuid,
        "status" integer,
        "body" jsonb,
        "headers" jsonb,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "seen_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "PK_idempotency_keys" PRIMARY KEY ("key"))`,
    );
    await q.query(
      `CREATE INDEX "IDX_idempotency_keys_expires" ON "idempotency_keys" ("expires_at")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."IDX_idempotency_keys_expires"`);
    await q.query(`DROP TABLE "idempotency_keys"`);
  }
}
