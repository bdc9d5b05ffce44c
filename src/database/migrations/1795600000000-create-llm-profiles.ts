import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateLlmProfiles1795600000000 implements MigrationInterface {
  name = 'CreateLlmProfiles1795600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "llm_profiles" (
        "name" character varying(64) NOT NULL,
        "config" jsonb NOT NULL,
        "api_key_encrypted" text,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_53641494d29bc0957aac28b2632" PRIMARY KEY ("name"))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "llm_profiles"`);
  }
}
