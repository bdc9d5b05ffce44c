import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Client } from 'pg';
import { databaseConfig } from '../config/database.config';
import { ActiveTurns } from './active-turns';

const CHANNEL = 'agent_gateway_cancel';

/**
 * Cancels reach the process that runs the turn, wherever the request landed: on PostgreSQL every
 * process LISTENs on one channel and a cancel for a turn running elsewhere is a NOTIFY. (The
 * embedded database belongs to a single process, so there is nothing to relay.)
 */
@Injectable()
export class CancelSignals implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(CancelSignals.name);
  private listener: Client | null = null;

  constructor(
    private readonly active: ActiveTurns,
    @Inject(databaseConfig.KEY) private readonly config: ConfigType<typeof databaseConfig>,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.url) return;
    const client = new Client({
      connectionString: this.config.url,
      application_name: 'agent-gateway-cancel',
    });
    client.on('error', (err) =>
      this.logger.warn(`Cancel listener connection failed: ${err.message}`),
    );
    client.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload)
        void this.active.cancel(message.payload, 'cancelled');
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
  }

  async onApplicationShutdown(): Promise<void> {
    const client = this.listener;
    this.listener = null;
    await client?.end().catch(() => undefined);
  }

  /** Whether other processes can be asked (PostgreSQL). */
  get relays(): boolean {
    return this.listener !== null;
  }

  /** Asks every process to cancel the turn of `conversationId` (the one running it obeys). */
  async broadcast(conversationId: string): Promise<void> {
    await this.listener?.query('SELECT pg_notify($1, $2)', [CHANNEL, conversationId]);
  }
}
