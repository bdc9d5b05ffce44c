import { Module } from '@nestjs/common';
import { AgentModule } from '../agent/agent.module';
import { ConversationsModule } from '../conversations/conversations.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ModelsModule } from '../models/models.module';
import { ResponsesController } from './responses.controller';
import { ResponsesRepository } from './responses.repository';
import { ResponsesService } from './responses.service';

@Module({
  imports: [AgentModule, ConversationsModule, ModelsModule, MetricsModule],
  controllers: [ResponsesController],
  providers: [ResponsesService, ResponsesRepository],
})
export class ResponsesModule {}
