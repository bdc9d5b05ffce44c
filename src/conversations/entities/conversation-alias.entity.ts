import { Column, CreateDateColumn, Entity, Index, ManyToOne, PrimaryColumn } from 'typeorm';
import { Conversation } from './conversation.entity';

/**
 * A client's own chat id (Open WebUI's `X-OpenWebUI-Chat-Id`, LibreChat's conversation id, …)
 * mapped to our conversation, per profile so that no lookup reaches across profiles.
 */
@Entity('conversation_aliases')
@Index(['conversationId'])
export class ConversationAlias {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  profileName!: string;

  /** `<source>:<client id>`, e.g. `x-openwebui-chat-id:5f0c…`. */
  @PrimaryColumn({ type: 'varchar', length: 300 })
  clientKey!: string;

  @Column('uuid')
  conversationId!: string;

  @ManyToOne(() => Conversation, { onDelete: 'CASCADE' })
  conversation?: Conversation;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
