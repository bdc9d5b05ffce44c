import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { agentConfig } from '../config/agent.config';
import { ConversationsModule } from '../conversations/conversations.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ModelsModule } from '../models/models.module';
import { ActiveTurns } from './active-turns';
import { AgentLifecycle } from './agent-lifecycle';
import { AgentRunner } from './agent-runner';
import { BackgroundTaskRunner } from './background-task-runner';
import { CancelSignals } from './cancel-signals';
import { ClientToolBridge } from './client-tool-bridge';
import { Condenser } from './condenser';
import { ToolRegistry } from './tools/tool-registry';
import { TurnsService } from './turns.service';
import { createWorkspaceRuntime } from './workspace/sandbox-backend';
import { WORKSPACE_RUNTIME } from './workspace/workspace-runtime';

@Module({
  imports: [ConversationsModule, ModelsModule, MetricsModule],
  providers: [
    TurnsService,
    AgentRunner,
    ActiveTurns,
    CancelSignals,
    BackgroundTaskRunner,
    ClientToolBridge,
    AgentLifecycle,
    Condenser,
    ToolRegistry,
    {
      provide: WORKSPACE_RUNTIME,
      inject: [agentConfig.KEY],
      useFactory: (agent: ConfigType<typeof agentConfig>) => createWorkspaceRuntime(agent),
    },
  ],
  exports: [TurnsService],
})
export class AgentModule {}
