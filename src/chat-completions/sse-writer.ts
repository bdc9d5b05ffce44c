import { once } from 'node:events';
import type { Response } from 'express';
import type { AgentEvent } from '../agent/turns.types';
import { openAiErrorBody } from '../common/errors/error-body';
import type { StepRendering } from '../config/env.schema';
import {
  completionId,
  failureOf,
  finishReasonOf,
  toolCallsOf,
  unixNow,
  usageOf,
} from './completion-renderer';
import { stepLine } from './step-lines';
import { openEventStream } from '../common/http/event-stream';

export interface StreamOptions {
  model: string;
  includeUsage: boolean;
  rendering: StepRendering;
  keepaliveMs: number;
  /** Called for every `: keepalive` sent (metrics). */
  onKeepalive?: () => void;
}

type Delta = {
  role?: 'assistant';
  content?: string;
  reasoning_content?: string;
  tool_calls?: (NonNullable<ReturnType<typeof toolCallsOf>>[number] & { index: number })[];
};

/**
 * Streams a turn as OpenAI `chat.completion.chunk` server-sent events, from the agent's own events:
 * text as `delta.content` while the LLM produces it, tool steps as short `delta.reasoning_content`
 * lines (or `<think>` blocks in content, or nothing), a `: keepalive` comment after a silence, then
 * the finish chunk, the usage chunk when asked, and `[DONE]`. A failure after the headers went out
 * is one `data: {"error":…}` frame, then `[DONE]`.
 */
export class SseWriter {
  private readonly id = completionId();
  private readonly created = unixNow();
  private keepalive: NodeJS.Timeout | undefined;
  private thinking = false;

  constructor(
    private readonly res: Response,
    private readonly options: StreamOptions,
  ) {}

  /** Sends the headers and the role chunk at once. */
  open(): void {
    openEventStream(this.res);
    void this.chunk({ role: 'assistant', content: '' });
  }

  async pipe(events: AsyncIterable<AgentEvent>): Promise<void> {
    try {
      for await (const event of events) {
        if (this.closed) break;
        switch (event.type) {
          case 'content-delta':
            await this.content(event.text);
            break;
          case 'reasoning-delta':
            await this.step(event.text);
            break;
          case 'retry':
            await this.step(
              `▸ The LLM is unavailable (${event.reason}); retrying in ${Math.ceil(event.delayMs / 1000)} s\n`,
            );
            break;
          case 'event': {
            const line = stepLine(event.event, event.display);
            if (line) await this.step(line);
            break;
          }
          case 'end': {
            await this.closeThink();
            const failure = failureOf(event.outcome);
            if (failure) {
              await this.write(`data: ${JSON.stringify(openAiErrorBody(failure))}\n\n`);
            } else {
              const toolCalls = toolCallsOf(event.outcome);
              if (toolCalls) {
                await this.chunk({
                  tool_calls: toolCalls.map((call, index) => ({ index, ...call })),
                });
              }
              await this.send({
                choices: [
                  {
                    index: 0,
                    delta: {},
                    finish_reason: finishReasonOf(event.outcome),
                    logprobs: null,
                  },
                ],
              });
              if (this.options.includeUsage)
                await this.send({ choices: [], usage: usageOf(event.outcome.usage) });
            }
            await this.write('data: [DONE]\n\n');
            break;
          }
        }
      }
    } finally {
      clearTimeout(this.keepalive);
      if (!this.closed) this.res.end();
    }
  }

  private get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  private async content(text: string): Promise<void> {
    await this.closeThink();
    await this.chunk({ content: text });
  }

  private async step(text: string): Promise<void> {
    switch (this.options.rendering) {
      case 'reasoning':
        return this.chunk({ reasoning_content: text });
      case 'think':
        if (!this.thinking) {
          this.thinking = true;
          return this.chunk({ content: `<think>\n${text}` });
        }
        return this.chunk({ content: text });
      case 'none':
        return this.armKeepalive();
    }
  }

  private async closeThink(): Promise<void> {
    if (!this.thinking) return;
    this.thinking = false;
    await this.chunk({ content: '\n</think>\n\n' });
  }

  private chunk(delta: Delta): Promise<void> {
    return this.send({ choices: [{ index: 0, delta, finish_reason: null, logprobs: null }] });
  }

  private send(body: Record<string, unknown>): Promise<void> {
    const chunk = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.options.model,
      system_fingerprint: null,
      ...body,
    };
    return this.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }

  private async write(data: string): Promise<void> {
    if (this.closed) return;
    this.armKeepalive();
    if (!this.res.write(data)) {
      await Promise.race([once(this.res, 'drain'), once(this.res, 'close')]);
    }
  }

  /** A comment line after `keepaliveMs` of silence keeps proxies and clients from timing out. */
  private armKeepalive(): void {
    clearTimeout(this.keepalive);
    this.keepalive = setTimeout(() => {
      if (this.closed) return;
      this.res.write(': keepalive\n\n');
      this.options.onKeepalive?.();
      this.armKeepalive();
    }, this.options.keepaliveMs);
  }
}
