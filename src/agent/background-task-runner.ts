import { Injectable } from '@nestjs/common';
import type { ModelMessage } from 'ai';
import { AppError } from '../common/errors/app-error';
import { LlmClient } from '../models/llm-client.service';
import type { LlmRequest, ResolvedModel } from '../models/llm.types';
import type { AgentEvent, TurnOutcome, TurnRequest } from './turns.types';
import { EventChannel } from './event-channel';
import { addUsage, emptyUsage } from './llm-accounting';

export interface DirectRun {
  events: AsyncIterable<AgentEvent>;
  outcome: Promise<TurnOutcome>;
  cancel(): void;
}

/** A chat UI's background request (title, tags, follow-ups): one direct LLM call, no agent, no conversation. */
@Injectable()
export class BackgroundTaskRunner {
  constructor(private readonly llm: LlmClient) {}

  start(request: TurnRequest, model: ResolvedModel, overrides: LlmRequest['overrides']): DirectRun {
    const history: ModelMessage[] = [...request.prior, request.input].map((m) =>
      m.role === 'user'
        ? { role: 'user', content: m.text }
        : { role: 'assistant', content: m.text },
    );
    const controller = new AbortController();
    const out = new EventChannel<AgentEvent>();
    const outcome = this.run(
      model,
      request.systemText ?? '',
      history,
      overrides,
      controller.signal,
      out,
    );
    return { events: out, outcome, cancel: () => controller.abort('client_disconnected') };
  }

  private async run(
    model: ResolvedModel,
    system: string,
    messages: ModelMessage[],
    overrides: LlmRequest['overrides'],
    signal: AbortSignal,
    out: EventChannel<AgentEvent>,
  ): Promise<TurnOutcome> {
    const usage = emptyUsage();
    let outcome: TurnOutcome;
    try {
      let answer = '';
      for await (const part of this.llm.stream({
        model,
        system,
        messages,
        signal,
        overrides,
        deadline: Date.now() + model.timeoutMs * (model.maxRetries + 1),
      })) {
        if (part.type === 'text-delta') {
          answer += part.text;
          out.push({ type: 'content-delta', text: part.text });
        } else if (part.type === 'finish') {
          addUsage(usage, part.result);
        }
      }
      outcome = { conversationId: '', reason: 'stop', status: 'finished', answer, usage };
    } catch (err) {
      const error =
        err instanceof AppError
          ? err
          : new AppError(
              'internal',
              'chat.background_task_failed',
              `The request failed: ${String(err)}`,
            );
      outcome = signal.aborted
        ? { conversationId: '', reason: 'cancelled', status: 'cancelled', answer: '', usage }
        : { conversationId: '', reason: 'error', status: 'error', answer: '', usage, error };
    }
    out.push({ type: 'end', outcome });
    out.close();
    return outcome;
  }
}
