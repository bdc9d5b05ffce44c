import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Responses API objects (`resp_…`) and their stream events. A response is one turn of a
 * conversation; its events are stored as they are produced, so a background response can be
 * polled and its stream resumed (`starting_after`) from any replica.
 */
export class CreateResponses1796120000000 implements MigrationInterface {
  name = 'CreateResponses1796120000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "responses" ("id" character varying(64) NOT NULL, "conversation_id" uuid NOT NULL, "previous_response_id" character varying(64), "status" character varying(16) NOT NULL, "background" boolean NOT NULL DEFAULT false, "body" jsonb NOT NULL, "input_items" jsonb NOT NULL DEFAULT '[]', "last_seq" integer NOT NULL DEFAULT '0', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_responses" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE INDEX "IDX_responses_conversation" ON "responses" ("conversation_id", "created_at")`,
    );
    await q.query(
      `ALTER TABLE "responses" ADD CONSTRAINT "FK_responses_conversation" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q.query(
      `CREATE TABLE "response_events" ("response_id" character varying(64) NOT NULL, "seq" integer NOT NULL, "event" jsonb NOT NULL, CONSTRAINT "PK_response_events" PRIMARY KEY ("response_id", "seq"))`,
    );
    await q.query(
      `ALTER TABLE "response_events" ADD CONSTRAINT "FK_response_events_response" FOREIGN KEY ("response_id") REFERENCES "responses"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "response_events" DROP CONSTRAINT "FK_response_events_response"`);
    await q.query(`DROP TABLE "response_events"`);
    await q.query(`ALTER TABLE "responses" DROP CONSTRAINT "FK_responses_conversation"`);
    await q.query(`DROP INDEX "public"."IDX_responses_conversation"`);
    await q.query(`DROP TABLE "responses"`);
  }
}
