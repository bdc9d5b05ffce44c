import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { limitsConfig } from '../../config/limits.config';
import { RATE_LIMIT_WINDOW_MS, RateLimitGuard } from './rate-limit.guard';

/**
 * The per-key rate limit (`OH_RATE_LIMIT_PER_MINUTE`). Import it after AuthModule: global guards
 * run in module order, and this one needs to know which key the session-key guard accepted.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [limitsConfig.KEY],
      useFactory: (limits: ConfigType<typeof limitsConfig>) => ({
        throttlers: [
          {
            ttl: RATE_LIMIT_WINDOW_MS,
            limit: Math.max(1, limits.rateLimitPerMinute), // 0 (off) is handled by the guard
            blockDuration: 0, // a sliding window: no penalty beyond the window itself
          },
        ],
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
})
export class RateLimitModule {}
