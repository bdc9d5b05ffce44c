import { randomUUID } from 'node:crypto';
import type { TurnOutcome } from '../agent/turns.types';
import { AppError } from '../common/errors/app-error';
import { openAiErrorBody } from '../common/errors/error-body';
import { LlmCallError } from '../models/llm-client.service';
import type { StoredResult } from './idempotency';
import type { TurnUsage } from '../conversations/usage.types';
import type { ChatCompletionDto, CompletionUsageDto, ToolCallDto } from './dto/chat-completion.dto';

export const completionId = () => `chatcmpl-${randomUUID().replaceAll('-', '')}`;
export const unixNow = () => Math.floor(Date.now() / 1000);

export function usageOf(usage: TurnUsage): CompletionUsageDto {
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
    prompt_tokens_details: { cached_tokens: usage.cache_read_tokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoning_tokens },
    cost_usd: Number(usage.cost_usd.toFixed(10)),
  };
}

export const finishReasonOf = (outcome: TurnOutcome): 'stop' | 'length' | 'tool_calls' =>
  outcome.reason === 'tool_calls' ? 'tool_calls' : outcome.reason === 'length' ? 'length' : 'stop';

/** The client tool calls a paused turn waits for, in the OpenAI shape. */
export function toolCallsOf(outcome: TurnOutcome): ToolCallDto[] | undefined {
  if (!outcome.toolCalls?.length) return undefined;
  return outcome.toolCalls.map((c) => ({
    id: c.id,
    type: 'function',
    function: { name: c.name, arguments: c.arguments },
  }));
}

/** A failed or cancelled turn as the error the client gets. */
export function failureOf(outcome: TurnOutcome): AppError | null {
  if (outcome.error) return outcome.error;
  if (outcome.reason === 'cancelled') {
    return new AppError(
      'conflict',
      'agent.turn_cancelled',
      'The turn was cancelled before it finished.',
      {
        headers: { 'x-should-retry': 'false' },
      },
    );
  }
  return null;
}

/** The non-streaming `chat.completion` body of a finished turn. */
export function completionOf(outcome: TurnOutcome, model: string): ChatCompletionDto {
  const toolCalls = toolCallsOf(outcome);
  return {
    id: completionId(),
    object: 'chat.completion',
    created: unixNow(),
    model,
    choices: [
      {
        index: 0,
        message: toolCalls
          ? {
              role: 'assistant',
              content: outcome.answer || null,
              refusal: null,
              tool_calls: toolCalls,
            }
          : { role: 'assistant', content: outcome.answer, refusal: null },
        finish_reason: finishReasonOf(outcome),
        logprobs: null,
      },
    ],
    usage: usageOf(outcome.usage),
    system_fingerprint: null,
  };
}

/**
 * What a non-streamed request answers for a turn: the completion, or its failure as an OpenAI
 * error (with `x-should-retry: false`: the turn ran, a blind retry would run another one). An
 * upstream 429 before the turn did anything is a 429 with `Retry-After` instead: safe to retry.
 */
export function resultOf(
  outcome: TurnOutcome,
  model: string,
  conversationId: string | null,
): StoredResult {
  const failure = failureOf(outcome);
  if (!failure) {
    return { status: 200, body: completionOf(outcome, model), headers: {}, conversationId };
  }
  const nothingDone = outcome.usage.prompt_tokens === 0 && outcome.usage.completion_tokens === 0;
  if (failure instanceof LlmCallError && failure.category === 'rate_limit' && nothingDone) {
    const seconds = Math.max(1, Math.ceil((failure.retryAfterMs ?? 1_000) / 1_000));
    const limited = new AppError('rate_limited', failure.code, failure.message);
    return {
      status: 429,
      body: openAiErrorBody(limited),
      headers: { 'Retry-After': String(seconds) },
      conversationId,
    };
  }
  return {
    status: failure.status,
    body: openAiErrorBody(failure),
    headers: { ...failure.meta.headers, 'x-should-retry': 'false' },
    conversationId,
  };
}
