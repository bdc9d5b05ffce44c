import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { databaseConfig } from '../config/database.config';
import { TurnsService } from '../agent/turns.service';
import { ConversationsService } from '../conversations/conversations.service';
import type { ReadinessDto, ServerInfoDto } from './dto/health.dto';

const { name, version } = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'),
) as {
  name: string;
  version: string;
};

@Injectable()
export class HealthService {
  private migrated = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(databaseConfig.KEY) private readonly database: ConfigType<typeof databaseConfig>,
    private readonly conversations: ConversationsService,
    private readonly turns: TurnsService,
  ) {}

  /**
   * Ready when the database answers, no migration is pending (checked until it first holds) and
   * the long-lived connections (lease, cancel listener) are up.
   */
  async readiness(): Promise<ReadinessDto> {
    let database = false;
    try {
      await this.dataSource.query('SELECT 1');
      database = true;
      this.migrated ||= !(await this.dataSource.showMigrations());
    } catch {
      // reported below
    }
    const connections = this.conversations.leaseCurrent && this.turns.cancelsConnected;
    const ok = database && this.migrated && connections;
    return {
      status: ok ? 'ready' : 'unavailable',
      database,
      migrations: this.migrated,
      connections,
    };
  }

  info(
    tools: string[],
    sandbox: ServerInfoDto['sandbox'],
    sandboxProgram: ServerInfoDto['sandbox_program'],
  ): ServerInfoDto {
    return {
      name,
      version,
      uptime_s: Math.round(process.uptime()),
      database: this.database.url ? 'postgres' : 'embedded',
      tools,
      usable_tools: tools,
      sandbox,
      sandbox_program: sandboxProgram,
    };
  }
}
