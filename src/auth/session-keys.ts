import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { authConfig } from '../config/auth.config';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** The accepted session keys, compared in constant time (digests, so lengths leak nothing). */
@Injectable()
export class SessionKeys {
  private readonly digests: Buffer[];

  constructor(@Inject(authConfig.KEY) config: ConfigType<typeof authConfig>) {
    this.digests = config.sessionKeys.map(digest);
  }

  /** No key configured: open access (config refuses that on a non-loopback address). */
  get required(): boolean {
    return this.digests.length > 0;
  }

  matches(candidate: string | undefined): boolean {
    if (!candidate) return false;
    const offered = digest(candidate);
    let ok = false;
    for (const key of this.digests) ok = timingSafeEqual(key, offered) || ok; // check all: no early exit
    return ok;
  }
}
