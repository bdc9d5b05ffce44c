import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const SANE = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Accepts the client's `X-Request-ID` when it is sane, otherwise mints one; echoes it on every response. */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  const offered = req.header('x-request-id');
  const id = offered && SANE.test(offered) ? offered : `req_${randomUUID().replaceAll('-', '')}`;
  req.id = id;
  res.setHeader('X-Request-ID', id);
  next();
}
