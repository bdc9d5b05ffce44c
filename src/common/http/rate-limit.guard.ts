import { createHash } from 'node:crypto';
import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  normalizeIp,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request } from 'express';
import { limitsConfig } from '../../config/limits.config';
import { IS_PUBLIC } from '../auth/public.decorator';
import { AppError } from '../errors/app-error';

export const RATE_LIMIT_WINDOW_MS = 60_000;

/** How the session-key guard says a request got in (`req.user.scheme`). */
type Scheme = 'bearer' | 'session-key' | 'open';

/**
 * `OH_RATE_LIMIT_PER_MINUTE` requests per minute (sliding window) per session key, across every
 * route; per client address when access is open. Runs after the session-key guard (its module is
 * imported after AuthModule), so only accepted keys get a budget: a wrong key is a 401 and counts
 * nowhere. Keys are tracked by a SHA-256 digest, never stored or logged. Public routes (health,
 * docs) are exempt. Counters live in this process: with N replicas a key gets up to N times the
 * limit.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Inject(limitsConfig.KEY) private readonly limits: ConfigType<typeof limitsConfig>,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (this.limits.rateLimitPerMinute === 0) return true;
    return (
      this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, [
        context.getHandler(),
        context.getClass(),
      ]) === true
    );
  }

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const request = req as unknown as Request & { user?: { scheme?: Scheme } };
    const key = presentedKey(request, request.user?.scheme);
    if (key !== undefined) return `key:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
    return `ip:${normalizeIp(request.ip ?? request.socket.remoteAddress ?? 'unknown')}`;
  }

  /** One budget per tracker across all routes (the default is one per route and tracker). */
  protected override generateKey(_context: ExecutionContext, tracker: string, name: string) {
    return `${name}:${tracker}`;
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const retryAfter = String(Math.max(1, detail.timeToBlockExpire));
    throw new AppError(
      'rate_limited',
      'request.rate_limit_exceeded',
      `Rate limit of ${detail.limit} requests per minute reached (OH_RATE_LIMIT_PER_MINUTE); retry in ${retryAfter} s.`,
      {
        headers: {
          'Retry-After': retryAfter,
          'X-RateLimit-Limit': String(detail.limit),
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset': retryAfter,
        },
      },
    );
  }
}

/** The session key the guard accepted, from the header it came in. */
function presentedKey(req: Request, scheme: Scheme | undefined): string | undefined {
  if (scheme === 'session-key') return req.header('x-session-api-key');
  if (scheme === 'bearer') {
    // as passport-http-bearer reads it: "Bearer <token>"
    const [kind, token] = (req.header('authorization') ?? '').split(' ');
    return /^Bearer$/i.test(kind ?? '') ? token : undefined;
  }
  return undefined;
}
