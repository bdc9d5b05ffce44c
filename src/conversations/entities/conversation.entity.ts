import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { ExecutionStatus } from '../events.types';
import type { TaskItem } from '../tasks.types';

@Entity('conversations')
@Index(['updatedAt'])
@Index(['createdAt'])
@Index(['profileName', 'transcriptHash'])
/** Running turns: what recovery looks for (ConversationsService.recoverInterrupted). */
@Index('IDX_conversations_running', ['runOwner'], { where: `"execution_status" = 'running'` })
export class Conversation {
  /** Client-chosen ids are allowed (API.md section 5). */
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  profileName!: string;

  /** The profile's LiteLLM model name when the conversation last ran. */
  @Column({ type: 'varchar', length: 200 })
  model!: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  title!: string | null;

  /** The client's system/developer text, appended to the agent's system prompt. */
  @Column({ type: 'text', nullable: true })
  systemPromptSuffix!: string | null;

  @Column({ type: 'varchar', length: 16 })
  executionStatus!: ExecutionStatus;

  /** Which process holds the turn lock while `running` (see TurnLeases). */
  @Column({ type: 'varchar', length: 64, nullable: true })
  runOwner!: string | null;

  /** Fencing token: grows with every turn lock; a turn writes only while it still holds this one. */
  @Column({ type: 'int', default: 0 })
  runEpoch!: number;

  @Column({ type: 'text' })
  workspaceDir!: string;

  /** The `task_tracker` list. */
  @Column({ type: 'jsonb', default: () => "'[]'" })
  taskList!: TaskItem[];

  /** Sequence number of the newest event; a turn appends after it while holding the lock. */
  @Column({ type: 'int', default: 0 })
  lastSeq!: number;

  /** Hash of the transcript (user texts and final answers), to recognise a client resending it. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  transcriptHash!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
