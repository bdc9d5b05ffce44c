import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { LlmConfig } from './llm-config.types';

@Entity('llm_profiles')
export class LlmProfile {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  /** Every LLM setting but the api key. */
  @Column({ type: 'jsonb' })
  config!: LlmConfig;

  /** AES-256-GCM token from `SecretCipher`; never plaintext. */
  @Column({ type: 'text', nullable: true })
  apiKeyEncrypted!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
