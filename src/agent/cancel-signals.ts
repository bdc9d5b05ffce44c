import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { databaseConfig } from '../config/database.config';
import { ActiveTurns } from './active-turns';

const CHANNEL = 'agent_gateway_cancel';
/** Reconnection backoff of the LISTEN connection: from 100 ms, doubling, at most every second. */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 1_000;

/**
 * Cancels reach the process that runs the turn, wherever the request landed: on PostgreSQL every
 * process LISTENs on one channel and a cancel for a turn running elsewhere is a NOTIFY (sent
 * through the pool, so a dead LISTEN connection never fails a cancel request). The LISTEN
 * connection is re-made with backoff whenever it drops (database restart, failover, network) and
 * subscribes again; `/ready` is 503 while it is down. (The embedded database belongs to a single
 * process, so there is nothing to relay.)
 */
@Injectable()
export class CancelSignals implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(CancelSignals.name);
  private listener: Client | null = null;
  private listening = false;
  private stopped = false;
  private retryMs = 0;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly active: ActiveTurns,
    @InjectDataSource() private readonly db: DataSource,
    @Inject(databaseConfig.KEY) private readonly config: ConfigType<typeof databaseConfig>,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.url) return;
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.listener;
    this.listener = null;
    this.listening = false;
    await client?.end().catch(() => undefined);
  }

  /** Whether other processes can be asked (PostgreSQL). */
  get relays(): boolean {
    return Boolean(this.config.url);
  }

  /** False on PostgreSQL while the LISTEN connection is down (cancels from elsewhere are missed). */
  get connected(): boolean {
    return !this.relays || this.listening;
  }

  /** Asks every process to cancel the turn of `conversationId` (the one running it obeys). */
  async broadcast(conversationId: string): Promise<void> {
    if (!this.relays) return;
    await this.db.query('SELECT pg_notify($1, $2)', [CHANNEL, conversationId]);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.config.url,
      application_name: 'agent-gateway-cancel',
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
    });
    let dropped = false;
    const drop = (why: string) => {
      if (dropped) return;
      dropped = true;
      if (this.listener === client) this.listener = null;
      this.listening = false;
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      if (this.retryMs === 0) this.logger.warn(`Cancel listener connection lost: ${why}`);
      this.retryMs = Math.min(this.retryMs ? this.retryMs * 2 : FIRST_RETRY_MS, MAX_RETRY_MS);
      this.retry = setTimeout(() => void this.reconnect(), this.retryMs);
      this.retry.unref();
    };
    client.on('error', (err) => drop(err.message));
    client.on('end', () => drop('connection ended'));
    client.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload)
        void this.active.cancel(message.payload, 'cancelled');
    });
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      drop((err as Error).message);
      throw err;
    }
    if (dropped || this.stopped) return;
    this.listening = true;
    if (this.retryMs > 0) this.logger.log('Cancel listener reconnected');
    this.retryMs = 0;
  }

  private async reconnect(): Promise<void> {
    if (this.stopped) return;
    await this.connect().catch(() => undefined); // `drop` scheduled the next attempt
  }
}
