import { ApiProperty } from '@nestjs/swagger';

export class StatusDto {
  @ApiProperty({ enum: ['ok'] })
  status!: 'ok';
}

export class ReadinessDto {
  @ApiProperty({ enum: ['ok', 'unavailable'] })
  status!: 'ok' | 'unavailable';
  /** Whether the database answered. */
  database!: boolean;
  /** Whether every migration has run. */
  migrations!: boolean;
}

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
  /** Tools the agent can use in a turn. */
  tools!: string[];
}
