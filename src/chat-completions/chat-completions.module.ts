import { Module } from '@nestjs/common';
import { AgentModule } from '../agent/agent.module';
import { ConversationsModule } from '../conversations/conversations.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ModelsModule } from '../models/models.module';
import { ChatCompletionsController } from './chat-completions.controller';
import { ChatCompletionsService } from './chat-completions.service';
import { ConversationResolver } from './conversation-resolver';
import { IdempotencyService } from './idempotency';

@Module({
  imports: [AgentModule, ConversationsModule, ModelsModule, MetricsModule],
  controllers: [ChatCompletionsController],
  providers: [ChatCompletionsService, ConversationResolver, IdempotencyService],
})
export class ChatCompletionsModule {}
