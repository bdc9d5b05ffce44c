import type { Server, ServerResponse } from 'node:http';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import { agentConfig } from '../config/agent.config';
import { ConversationsService } from '../conversations/conversations.service';
import { ActiveTurns } from './active-turns';
import { WORKSPACE_RUNTIME, type WorkspaceRuntime } from './workspace/workspace-runtime';

/** After the turns ended, how long their responses (SSE tails, JSON bodies) get to reach clients. */
const FLUSH_MS = 5_000;
/** While draining, how often keep-alive connections that fell idle are closed. */
const IDLE_SWEEP_MS = 100;

/**
 * What the agent holds outside a turn: a deleted conversation's running turn is cancelled and
 * its shell killed before its workspace goes. At shutdown (SIGTERM) the server stops taking connections and new turns at
 * once, running turns get `OH_SHUTDOWN_GRACE_S` to finish (their responses and streams included),
 * the rest are cancelled cleanly (recorded as `cancelled`, lock released), and every shell is killed.
 */
@Injectable()
export class AgentLifecycle implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(AgentLifecycle.name);

  constructor(
    private readonly conversations: ConversationsService,
    private readonly active: ActiveTurns,
    @Inject(WORKSPACE_RUNTIME) private readonly runtime: WorkspaceRuntime,
    @Inject(agentConfig.KEY) private readonly config: ConfigType<typeof agentConfig>,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    this.conversations.onDelete(async (id, workspaceDir) => {
      await this.active.cancel(id, 'deleted'); // its turn first: it may still use the workspace
      await this.runtime.deleteWorkspace(id, workspaceDir);
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.active.close();
    const http = this.stopAccepting();
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
    await http.drained();
  }

  /**
   * Stops the HTTP server taking connections and keeps the open ones from carrying new requests:
   * responses from now on say `Connection: close`, and keep-alive connections are closed as soon
   * as they fall idle (Node's `server.close()` alone closes only those idle at that moment, and a
   * client may send its next request on a connection whose response was in flight). `drained()`
   * waits (bounded) for the open requests and streams to end, then cuts what is left.
   */
  private stopAccepting(): { drained(): Promise<void> } {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server?.listening) return { drained: async () => {} };
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.prependListener('request', (_req, res: ServerResponse) => {
      if (!res.headersSent) res.setHeader('Connection', 'close');
    });
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    sweep.unref();
    return {
      drained: async () => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_MS)));
        await Promise.race([closed, late]);
        clearTimeout(timer);
        clearInterval(sweep);
        server.closeAllConnections();
      },
    };
  }
}
