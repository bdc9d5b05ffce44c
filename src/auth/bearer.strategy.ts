import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-http-bearer';
import { SessionKeys } from './session-keys';

export interface AuthenticatedCaller {
  scheme: 'bearer' | 'session-key' | 'open';
}

/** `Authorization: Bearer <session key>`. The guard refuses `access_token` outside headers first. */
@Injectable()
export class BearerStrategy extends PassportStrategy(Strategy, 'bearer') {
  constructor(private readonly keys: SessionKeys) {
    super();
  }

  validate(token: string): AuthenticatedCaller | false {
    return this.keys.matches(token) ? { scheme: 'bearer' } : false;
  }
}
