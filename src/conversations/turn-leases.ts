import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, QueryRunner } from 'typeorm';
import { databaseConfig } from '../config/database.config';

/**
 * Who holds a conversation's turn lock. Each process has an owner id and, on PostgreSQL, holds a
 * session advisory lock named after it for as long as it lives: a lock row whose owner's advisory
 * lock can be taken belongs to a dead process. The embedded database is one process's alone.
 */
@Injectable()
export class TurnLeases implements OnModuleInit, OnApplicationShutdown {
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private holder: QueryRunner | null = null;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(databaseConfig.KEY) private readonly config: ConfigType<typeof databaseConfig>,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.url) return;
    this.holder = this.db.createQueryRunner();
    await this.holder.connect();
    await this.holder.query('SELECT pg_advisory_lock(hashtext($1))', [this.owner]);
  }

  async onApplicationShutdown(): Promise<void> {
    const holder = this.holder;
    this.holder = null;
    if (holder && !holder.isReleased) {
      await holder.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
      await holder.release();
    }
  }

  /** Whether other processes may share the database (PostgreSQL), so their locks need watching. */
  get shared(): boolean {
    return Boolean(this.config.url);
  }

  /** Whether the process that took a lock as `owner` is still alive. */
  async isAlive(owner: string | null): Promise<boolean> {
    if (owner === this.owner) return true;
    if (!owner || !this.config.url) return false;
    const runner = this.db.createQueryRunner();
    try {
      const [{ free }] = (await runner.query('SELECT pg_try_advisory_lock(hashtext($1)) AS free', [
        owner,
      ])) as [{ free: boolean }];
      if (free) await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [owner]);
      return !free;
    } finally {
      await runner.release();
    }
  }
}
