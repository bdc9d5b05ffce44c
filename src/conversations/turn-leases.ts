import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { databaseConfig } from '../config/database.config';

/** Retries of a failed renewal: from 100 ms, doubling, at most every second (and renewal interval). */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 1_000;
/** Safety margin: a process considers its lease lost this much before the database would. */
const MARGIN = 0.1;

/**
 * Who holds a conversation's turn lock, and until when. Each process has an owner id; on
 * PostgreSQL it keeps a row in `replica_leases` whose `expires_at` (database clock) it pushes
 * forward every quarter of `OH_LEASE_TTL_S`, through the connection pool, so a dead connection is
 * replaced by the next renewal (retried with backoff while the database is away). Another process
 * takes over this process's turns only once that row has expired: a database restart, which drops
 * every session, frees nothing by itself. A process that could not renew before its lease would
 * expire stops its own turns (`onLost`), and the turns' writes check the lock's epoch, so a turn
 * taken over can never write again. The embedded database is one process's alone: every other
 * owner found there is a process that is gone.
 */
@Injectable()
export class TurnLeases implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(TurnLeases.name);
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  /** Local (monotonic) time until which this process may act on its locks. */
  private validUntil = 0;
  private renewing: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private retryMs = 0;
  private stopped = false;
  private healthy = true;
  private lost = false;
  private readonly lostListeners: (() => void)[] = [];
  private readonly restoredListeners: (() => void)[] = [];

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(databaseConfig.KEY) private readonly config: ConfigType<typeof databaseConfig>,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.shared) return;
    await this.renew();
    this.schedule(this.renewIntervalMs);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.renewing);
    clearTimeout(this.expiry);
    if (!this.shared) return;
    // Our turns have ended (or were cancelled) by now: whatever is still ours is free to take.
    await this.db
      .query('DELETE FROM replica_leases WHERE owner = $1', [this.owner])
      .catch(() => undefined);
  }

  /** Whether other processes may share the database (PostgreSQL), so their leases need watching. */
  get shared(): boolean {
    return Boolean(this.config.url);
  }

  /** False while the lease could not be renewed (the database is unreachable): not ready. */
  get current(): boolean {
    return !this.shared || (this.healthy && performance.now() < this.validUntil);
  }

  /** Whether this process may still write as the holder of its locks (its lease has not run out). */
  get holds(): boolean {
    return !this.shared || performance.now() < this.validUntil;
  }

  /** Called when this process's lease lapsed before it could renew it: its turns must stop. */
  onLost(listener: () => void): void {
    this.lostListeners.push(listener);
  }

  /** Called when a renewal succeeds after failures (the database is back). */
  onRestored(listener: () => void): void {
    this.restoredListeners.push(listener);
  }

  private get renewIntervalMs(): number {
    return Math.max(100, this.config.leaseTtlMs / 4);
  }

  /** Pushes our lease's expiry forward; throws when the database cannot be reached. */
  private async renew(): Promise<void> {
    const started = performance.now();
    await this.db.query(
      `INSERT INTO replica_leases (owner, expires_at, renewed_at)
       VALUES ($1, now() + make_interval(secs => $2), now())
       ON CONFLICT (owner) DO UPDATE SET expires_at = EXCLUDED.expires_at, renewed_at = now()`,
      [this.owner, this.config.leaseTtlMs / 1000],
    );
    // The database set the expiry after `started`: counting from `started` keeps us on the safe side.
    this.validUntil = started + this.config.leaseTtlMs * (1 - MARGIN);
    this.armExpiry();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.renewing = setTimeout(() => void this.tick(), ms);
    this.renewing.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.renew();
      this.retryMs = 0;
      if (!this.healthy) {
        this.healthy = true;
        this.lost = false;
        this.logger.log('Lease renewed: the database is back');
        for (const listener of this.restoredListeners) listener();
      }
      this.schedule(this.renewIntervalMs);
    } catch (err) {
      if (this.healthy) {
        this.healthy = false;
        this.logger.warn(`Could not renew this process's lease: ${(err as Error).message}`);
      }
      this.retryMs = Math.min(this.retryMs ? this.retryMs * 2 : FIRST_RETRY_MS, MAX_RETRY_MS);
      this.schedule(Math.min(this.retryMs, this.renewIntervalMs));
    }
  }

  /** Fires when the lease runs out without a renewal in between (re-armed by every renewal). */
  private armExpiry(): void {
    clearTimeout(this.expiry);
    if (this.stopped) return;
    this.expiry = setTimeout(
      () => {
        if (this.lost || this.stopped) return;
        this.lost = true;
        this.healthy = false;
        this.logger.error(
          'Lease lapsed while the database was unreachable: stopping running turns',
        );
        for (const listener of this.lostListeners) listener();
      },
      Math.max(0, this.validUntil - performance.now()),
    );
    this.expiry.unref();
  }
}
