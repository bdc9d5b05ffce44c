import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { agentConfig } from '../config/agent.config';
import { ActiveTurns } from '../conversations/active-turns';
import { ConversationsService } from '../conversations/conversations.service';
import { WORKSPACE_RUNTIME, type WorkspaceRuntime } from './workspace/workspace-runtime';

/**
 * What the agent holds outside a turn: a deleted conversation's shell is killed before its
 * workspace goes; at shutdown running turns get `OH_SHUTDOWN_GRACE_S` to finish, the rest are
 * cancelled cleanly (recorded as `cancelled`), and every shell is killed.
 */
@Injectable()
export class AgentLifecycle implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(AgentLifecycle.name);

  constructor(
    private readonly conversations: ConversationsService,
    private readonly active: ActiveTurns,
    @Inject(WORKSPACE_RUNTIME) private readonly runtime: WorkspaceRuntime,
    @Inject(agentConfig.KEY) private readonly config: ConfigType<typeof agentConfig>,
  ) {}

  onModuleInit(): void {
    this.conversations.onDelete((id) => this.runtime.dispose(id));
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.active.size > 0) {
      this.logger.log(
        `Waiting up to ${this.config.shutdownGraceMs / 1000} s for ${this.active.size} running turn(s)`,
      );
      const left = await this.active.drain(this.config.shutdownGraceMs);
      if (left > 0) {
        this.logger.warn(`Cancelling ${left} turn(s) still running at shutdown`);
        await this.active.cancelAll('shutdown');
      }
    }
    await this.runtime.disposeAll();
  }
}
