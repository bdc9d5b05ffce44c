import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { agentConfig } from '../config/agent.config';
import { ConversationsModule } from '../conversations/conversations.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ModelsModule } from '../models/models.module';
import { AgentLifecycle } from './agent-lifecycle';
import { AgentRunner } from './agent-runner';
import { ClientToolBridge } from './client-tool-bridge';
import { Condenser } from './condenser';
import { ToolRegistry } from './tools/tool-registry';
import { createWorkspaceRuntime } from './workspace/sandbox-backend';
import { WORKSPACE_RUNTIME } from './workspace/workspace-runtime';

@Module({
  imports: [ConversationsModule, ModelsModule, MetricsModule],
  providers: [
    AgentRunner,
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
  exports: [AgentRunner, ClientToolBridge, ToolRegistry],
})
export class AgentModule {}
