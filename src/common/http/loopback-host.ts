import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors/app-error';
import { sendError } from '../errors/http-error.filter';

/** `localhost` (and names under it), `127.x.x.x`, `[::1]`, with or without a port. */
const LOOPBACK_HOST =
  /^(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.localhost|127(?:\.\d{1,3}){3}|\[::1\])\.?(?::\d{1,5})?$/i;

export const isLoopbackHost = (host: string | undefined): boolean =>
  host !== undefined && LOOPBACK_HOST.test(host);

/**
 * Open access (no session key) is allowed on loopback only, and loopback must mean loopback: a
 * web page whose own name resolves to 127.0.0.1 (DNS rebinding) reaches the port from the
 * developer's browser, with its own name in `Host`. Such requests are refused (403, in the route
 * family's shape) before anything else runs; with session keys configured this is not installed.
 */
export function loopbackHostOnly(req: Request, res: Response, next: NextFunction): void {
  const host = req.headers.host;
  if (isLoopbackHost(host)) {
    next();
    return;
  }
  sendError(
    new AppError(
      'forbidden',
      'request.host_not_allowed',
      `Host ${JSON.stringify((host ?? '').slice(0, 100))} is not served: without a session key this service answers ` +
        'loopback names only (localhost, 127.0.0.1, [::1]). Configure OH_SESSION_API_KEYS_0 to ' +
        'serve it under another name.',
    ),
    req,
    res,
  );
}
