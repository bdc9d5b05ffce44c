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
import { createBwrapLauncher } from './workspace/bwrap-launcher';
import { LocalWorkspaceRuntime } from './workspace/local-runtime';
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
      useFactory: async (agent: ConfigType<typeof agentConfig>) =>
        new LocalWorkspaceRuntime({
          shellEnv: agent.shellEnv,
          launcher:
            agent.sandbox === 'bwrap'
              ? await createBwrapLauncher(
                  { privateDirs: [agent.workspaceRoot, ...agent.privateDirs] },
                  agent.shellEnv,
                )
              : undefined,
        }),
    },
  ],
  exports: [AgentRunner, ClientToolBridge, ToolRegistry],
})
export class AgentModule {}
