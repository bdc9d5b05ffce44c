import { Column, CreateDateColumn, Entity, Index, ManyToOne, PrimaryColumn } from 'typeorm';
import type { TokenUsage } from '../usage.types';
import { Conversation } from './conversation.entity';

/** One LLM request; conversation stats are an aggregate over these rows. */
@Entity('llm_calls')
@Index(['conversationId', 'usageId'])
export class LlmCall implements TokenUsage {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid')
  conversationId!: string;

  @ManyToOne(() => Conversation, { onDelete: 'CASCADE' })
  conversation?: Conversation;

  /** `agent`, `condenser`, … */
  @Column({ type: 'varchar', length: 32 })
  usageId!: string;

  @Column({ type: 'varchar', length: 200 })
  model!: string;

  @Column({ type: 'int', default: 0 })
  promptTokens!: number;

  @Column({ type: 'int', default: 0 })
  completionTokens!: number;

  @Column({ type: 'int', default: 0 })
  cacheReadTokens!: number;

  @Column({ type: 'int', default: 0 })
  cacheWriteTokens!: number;

  @Column({ type: 'int', default: 0 })
  reasoningTokens!: number;

  /** USD, from the price table or the profile's own prices; 0 when unpriced. */
  @Column({ type: 'numeric', precision: 20, scale: 10, default: 0 })
  costUsd!: string;

  @Column({ type: 'int', default: 0 })
  latencyMs!: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
