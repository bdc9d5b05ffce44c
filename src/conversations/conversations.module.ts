import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConversationsController } from './conversations.controller';
import { ConversationsRepository } from './conversations.repository';
import { ConversationsService } from './conversations.service';
import { ConversationAlias } from './entities/conversation-alias.entity';
import { ConversationEvent } from './entities/conversation-event.entity';
import { Conversation } from './entities/conversation.entity';
import { LlmCall } from './entities/llm-call.entity';
import { ReplicaLease } from './entities/replica-lease.entity';
import { HistoryCache } from './history-cache';
import { TurnLeases } from './turn-leases';

@Module({
  imports: [
    TypeOrmModule.forFeature([
      Conversation,
      ConversationEvent,
      LlmCall,
      ConversationAlias,
      ReplicaLease,
    ]),
  ],
  controllers: [ConversationsController],
  providers: [ConversationsService, ConversationsRepository, HistoryCache, TurnLeases],
  exports: [ConversationsService],
})
export class ConversationsModule {}
