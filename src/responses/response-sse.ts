import type { Response } from 'express';
import { openAiErrorBody } from '../common/errors/error-body';
import { toAppError } from '../common/errors/to-app-error';
import type { ResponseStreamEvent } from './response-renderer';
import { openEventStream } from '../common/http/event-stream';

/**
 * Writes Responses stream events as server-sent events (`event: <type>` and `data: <json>`), with
 * a `: keepalive` comment after a silence. Writes never wait for a slow reader: a background
 * response's turn must not slow down for its viewer.
 */
export class ResponseSseWriter {
  private keepalive: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: Response,
    private readonly keepaliveMs: number,
    private readonly onKeepalive?: () => void,
  ) {}

  open(): void {
    openEventStream(this.res);
    this.armKeepalive();
  }

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  send(event: ResponseStreamEvent): void {
    this.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  /** A failure after the headers went out: one `error` event. */
  fail(err: unknown, sequenceNumber: number): void {
    const { code, message, param } = openAiErrorBody(toAppError(err)).error;
    this.send({ type: 'error', sequence_number: sequenceNumber, code, message, param });
  }

  end(): void {
    clearTimeout(this.keepalive);
    if (!this.closed) this.res.end();
  }

  private write(data: string): void {
    if (this.closed) return;
    this.res.write(data);
    this.armKeepalive();
  }

  private armKeepalive(): void {
    clearTimeout(this.keepalive);
    this.keepalive = setTimeout(() => {
      if (this.closed) return;
      this.res.write(': keepalive\n\n');
      this.onKeepalive?.();
      this.armKeepalive();
    }, this.keepaliveMs);
  }
}
