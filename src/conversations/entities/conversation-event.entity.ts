import { Column, CreateDateColumn, Entity, Index, ManyToOne, PrimaryColumn, Unique } from 'typeorm';
import { Conversation } from './conversation.entity';

@Entity('conversation_events')
@Unique(['conversationId', 'seq'])
@Index(['conversationId', 'kind', 'seq'])
export class ConversationEvent {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid')
  conversationId!: string;

  @ManyToOne(() => Conversation, { onDelete: 'CASCADE', createForeignKeyConstraints: true })
  conversation?: Conversation;

  /** 1, 2, 3… within the conversation. */
  @Column({ type: 'int' })
  seq!: number;

  @Column({ type: 'varchar', length: 32 })
  kind!: string;

  /** `user`, `agent`, `environment` (tools) or `system`. */
  @Column({ type: 'varchar', length: 16 })
  source!: string;

  @Column({ type: 'jsonb' })
  payload!: Record<string, unknown>;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
