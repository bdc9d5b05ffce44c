import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateConversations1795700000000 implements MigrationInterface {
  name = 'CreateConversations1795700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "conversations" ("id" uuid NOT NULL, "profile_name" character varying(64) NOT NULL, "model" character varying(200) NOT NULL, "title" character varying(200), "system_prompt_suffix" text, "execution_status" character varying(16) NOT NULL, "run_owner" character varying(64), "workspace_dir" text NOT NULL, "task_list" jsonb NOT NULL DEFAULT '[]', "last_seq" integer NOT NULL DEFAULT '0', "transcript_hash" character varying(64), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_ee34f4f7ced4ec8681f26bf04ef" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE INDEX "IDX_262d6074d1910b89bbfac59f47" ON "conversations"  ("profile_name", "transcript_hash") `,
    );
    await q.query(
      `CREATE INDEX "IDX_f0bb90db8338e6dc6c349ece99" ON "conversations"  ("created_at") `,
    );
    await q.query(
      `CREATE INDEX "IDX_7018433f850e2836a7d9df1b9d" ON "conversations"  ("updated_at") `,
    );
    await q.query(
      `CREATE TABLE "conversation_aliases" ("profile_name" character varying(64) NOT NULL, "client_key" character varying(300) NOT NULL, "conversation_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_a5ffddf78275d1ee97fa7f65ba0" PRIMARY KEY ("profile_name", "client_key"))`,
    );
    await q.query(
      `CREATE INDEX "IDX_2898cfc28976dd969635ec9388" ON "conversation_aliases"  ("conversation_id") `,
    );
    await q.query(
      `CREATE TABLE "conversation_events" ("id" uuid NOT NULL, "conversation_id" uuid NOT NULL, "seq" integer NOT NULL, "kind" character varying(32) NOT NULL, "source" character varying(16) NOT NULL, "payload" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_4af03b87b3e8b25e3d0040011bd" UNIQUE ("conversation_id", "seq"), CONSTRAINT "PK_d69d1aeac5bf8d33983a582653d" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE INDEX "IDX_158f2b0d7fe6831e883f7ba632" ON "conversation_events"  ("conversation_id", "kind", "seq") `,
    );
    await q.query(
      `CREATE TABLE "llm_calls" ("id" uuid NOT NULL, "conversation_id" uuid NOT NULL, "usage_id" character varying(32) NOT NULL, "model" character varying(200) NOT NULL, "prompt_tokens" integer NOT NULL DEFAULT '0', "completion_tokens" integer NOT NULL DEFAULT '0', "cache_read_tokens" integer NOT NULL DEFAULT '0', "cache_write_tokens" integer NOT NULL DEFAULT '0', "reasoning_tokens" integer NOT NULL DEFAULT '0', "cost_usd" numeric(20,10) NOT NULL DEFAULT '0', "latency_ms" integer NOT NULL DEFAULT '0', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_927dd9d5a428274e38a05706af8" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE INDEX "IDX_2c6faafc42647c1da7fd7b4b18" ON "llm_calls"  ("conversation_id", "usage_id") `,
    );
    await q.query(
      `ALTER TABLE "conversation_aliases" ADD CONSTRAINT "FK_2898cfc28976dd969635ec9388f" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q.query(
      `ALTER TABLE "conversation_events" ADD CONSTRAINT "FK_ba970f7c2f1f3d96bcfbda1a998" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q.query(
      `ALTER TABLE "llm_calls" ADD CONSTRAINT "FK_04c40a5d2a3be2d103f5c710c70" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "llm_calls" DROP CONSTRAINT "FK_04c40a5d2a3be2d103f5c710c70"`);
    await q.query(
      `ALTER TABLE "conversation_events" DROP CONSTRAINT "FK_ba970f7c2f1f3d96bcfbda1a998"`,
    );
    await q.query(
      `ALTER TABLE "conversation_aliases" DROP CONSTRAINT "FK_2898cfc28976dd969635ec9388f"`,
    );
    await q.query(`DROP INDEX "public"."IDX_2c6faafc42647c1da7fd7b4b18"`);
    await q.query(`DROP TABLE "llm_calls"`);
    await q.query(`DROP INDEX "public"."IDX_158f2b0d7fe6831e883f7ba632"`);
    await q.query(`DROP TABLE "conversation_events"`);
    await q.query(`DROP INDEX "public"."IDX_2898cfc28976dd969635ec9388"`);
    await q.query(`DROP TABLE "conversation_aliases"`);
    await q.query(`DROP INDEX "public"."IDX_7018433f850e2836a7d9df1b9d"`);
    await q.query(`DROP INDEX "public"."IDX_f0bb90db8338e6dc6c349ece99"`);
    await q.query(`DROP INDEX "public"."IDX_262d6074d1910b89bbfac59f47"`);
    await q.query(`DROP TABLE "conversations"`);
  }
}
