import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import type { LlmConfig } from './llm-config.types';
import { LlmProfile } from './llm-profile.entity';

/** Serialises profile creation so the limit holds under concurrent saves (both databases). */
const PROFILES_LOCK = 0x6c6c6d70; // 'llmp'

@Injectable()
export class ProfilesRepository {
  constructor(@InjectRepository(LlmProfile) private readonly orm: Repository<LlmProfile>) {}

  /** Sorted by name in code-point order (COLLATE "C"), the same on every database and locale. */
  findAll(): Promise<LlmProfile[]> {
    return this.orm.createQueryBuilder('p').orderBy('p.name COLLATE "C"', 'ASC').getMany();
  }

  findByName(name: string): Promise<LlmProfile | null> {
    return this.orm.findOne({ where: { name } });
  }

  /**
   * Creates or overwrites a profile (keeping its creation time); `null` when creating it would
   * exceed `limit`. Atomic: the count and the write happen under one transaction-scoped lock.
   */
  upsertWithinLimit(
    name: string,
    config: LlmConfig,
    apiKeyEncrypted: string | null,
    limit: number,
  ): Promise<{ profile: LlmProfile; created: boolean } | null> {
    return this.orm.manager.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock($1)', [PROFILES_LOCK]);
      const [{ total, present }] = await em.query<[{ total: number; present: boolean | null }]>(
        'SELECT count(*)::int AS total, bool_or(name = $1) AS present FROM llm_profiles',
        [name],
      );
      if (!present && total >= limit) return null;
      const rows = await em.query<RawProfile[]>(
        `INSERT INTO llm_profiles (name, config, api_key_encrypted) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE
           SET config = EXCLUDED.config, api_key_encrypted = EXCLUDED.api_key_encrypted, updated_at = now()
         RETURNING name, config, api_key_encrypted, created_at, updated_at`,
        [name, JSON.stringify(config), apiKeyEncrypted],
      );
      return { profile: fromRaw(rows[0]), created: !present };
    });
  }

  /** True when a profile was removed. */
  async delete(name: string): Promise<boolean> {
    const result = await this.orm.delete({ name });
    return (result.affected ?? 0) > 0;
  }
}

interface RawProfile {
  name: string;
  config: LlmConfig;
  api_key_encrypted: string | null;
  created_at: Date;
  updated_at: Date;
}

function fromRaw(row: RawProfile): LlmProfile {
  return Object.assign(new LlmProfile(), {
    name: row.name,
    config: row.config,
    apiKeyEncrypted: row.api_key_encrypted,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}
