import { Module } from '@nestjs/common';
import { AgentModule } from '../agent/agent.module';
import { ConversationsModule } from '../conversations/conversations.module';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';

@Module({
  imports: [AgentModule, ConversationsModule],
  controllers: [HealthController],
  providers: [HealthService],
})
export class HealthModule {}
