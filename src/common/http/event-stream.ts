import type { Response } from 'express';

/**
 * Starts a server-sent event stream: status and headers go out at once, with nothing buffered on
 * the way (no proxy buffering, no transform, no Nagle delay), so the first event is not held back.
 */
export function openEventStream(res: Response): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.socket?.setNoDelay(true);
}
