import { ApiProperty } from '@nestjs/swagger';
import { ApiExample } from '../../common/http/openapi-document';

@ApiExample({ status: 'ok' })
export class StatusDto {
  @ApiProperty({ enum: ['ok'] })
  status!: 'ok';
}

@ApiExample({ status: 'ready', database: true, migrations: true })
export class ReadinessDto {
  /** `ready` (as the reference answers) once the database answers and migrations ran. */
  @ApiProperty({ enum: ['ready', 'unavailable'] })
  status!: 'ready' | 'unavailable';
  /** Whether the database answered. */
  database!: boolean;
  /** Whether every migration has run. */
  migrations!: boolean;
  /**
   * Whether this process's long-lived database work is up: on PostgreSQL its lease is renewed and
   * its cancel listener (LISTEN) is connected; both are re-made with backoff after a database
   * restart. Always true on the embedded database.
   */
  connections!: boolean;
}

@ApiExample({
  name: 'agent-gateway',
  version: '0.1.0',
  uptime_s: 3600,
  database: 'embedded',
  tools: ['terminal', 'file_editor', 'task_tracker', 'think', 'finish'],
  usable_tools: ['terminal', 'file_editor', 'task_tracker', 'think', 'finish'],
})
export class ServerInfoDto {
  /** @example "agent-gateway" */
  name!: string;
  /** @example "0.1.0" */
  version!: string;
  /** Seconds since the process started. */
  uptime_s!: number;
  /** `postgres` (DATABASE_URL) or `embedded` (PGlite). */
  @ApiProperty({ enum: ['postgres', 'embedded'] })
  database!: 'postgres' | 'embedded';
  /** Tools the agent can use in a turn. @example ["terminal","file_editor","task_tracker","think","finish"] */
  tools!: string[];
  /** The same list under the reference's name, which its clients read. @example ["terminal","file_editor","task_tracker","think","finish"] */
  usable_tools!: string[];
  /**
   * How the agent's tools are confined: `bwrap` (a bubblewrap sandbox per conversation) or `none`
   * (unsandboxed: the agent acts with the service's own authority).
   */
  @ApiProperty({ enum: ['bwrap', 'none'] })
  sandbox!: 'bwrap' | 'none';

  /**
   * Which sandbox program runs the tools in each sandbox: `native` (the small C program) or
   * `node` (the Node program, used when no C compiler built the native one; `OH_SANDBOX_PROGRAM`).
   */
  @ApiProperty({ enum: ['native', 'node'] })
  sandbox_program!: 'native' | 'node';
}
