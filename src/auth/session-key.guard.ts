import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';
import { IS_PUBLIC } from '../common/auth/public.decorator';
import { AppError } from '../common/errors/app-error';
import type { AuthenticatedCaller } from './bearer.strategy';
import { SessionKeys } from './session-keys';

const invalidKey = () =>
  new AppError(
    'unauthenticated',
    'auth.invalid_api_key',
    'Missing or invalid session key. Send it as X-Session-API-Key: <key> or Authorization: Bearer <key>.',
  );

/**
 * The one global guard: every route needs a session key unless it is `@Public()`.
 * `X-Session-API-Key` is checked here; `Authorization: Bearer` goes through passport-http-bearer.
 */
@Injectable()
export class SessionKeyGuard extends AuthGuard('bearer') {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: SessionKeys,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (
      this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
        context.getHandler(),
        context.getClass(),
      ])
    ) {
      return true;
    }
    const req = context.switchToHttp().getRequest<Request & { user?: AuthenticatedCaller }>();
    if (carriesKeyOutsideHeaders(req)) {
      throw new AppError(
        'unauthenticated',
        'auth.key_outside_headers',
        'access_token in the query string or body is refused; send the key in a header so it stays out of logs.',
      );
    }
    if (!this.keys.required) {
      req.user = { scheme: 'open' };
      return true;
    }
    if (this.keys.matches(req.header('x-session-api-key'))) {
      req.user = { scheme: 'session-key' };
      return true;
    }
    if (!req.header('authorization')) throw invalidKey();
    return (await super.canActivate(context)) as boolean;
  }

  override handleRequest<T = AuthenticatedCaller>(err: unknown, caller: T | false): T {
    if (err || !caller) throw invalidKey();
    return caller;
  }
}

function carriesKeyOutsideHeaders(req: Request): boolean {
  const body: unknown = req.body;
  return (
    Object.prototype.hasOwnProperty.call(req.query ?? {}, 'access_token') ||
    (typeof body === 'object' &&
      body !== null &&
      Object.prototype.hasOwnProperty.call(body, 'access_token'))
  );
}
