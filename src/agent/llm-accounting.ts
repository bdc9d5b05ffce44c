import type { NewLlmCall, TurnUsage } from '../conversations/usage.types';
import type { LlmStepResult, ResolvedModel } from '../models/llm.types';

export const emptyUsage = (): TurnUsage => ({
  prompt_tokens: 0,
  completion_tokens: 0,
  cache_read_tokens: 0,
  cache_write_tokens: 0,
  reasoning_tokens: 0,
  cost_usd: 0,
});

export function addUsage(usage: TurnUsage, result: LlmStepResult): void {
  usage.prompt_tokens += result.usage.promptTokens;
  usage.completion_tokens += result.usage.completionTokens;
  usage.cache_read_tokens += result.usage.cacheReadTokens;
  usage.cache_write_tokens += result.usage.cacheWriteTokens;
  usage.reasoning_tokens += result.usage.reasoningTokens;
  usage.cost_usd += result.costUsd;
}

/** The `llm_calls` row of one LLM request. */
export function llmCallOf(
  id: string,
  usageId: string,
  model: ResolvedModel,
  r: LlmStepResult,
): NewLlmCall {
  return {
    id,
    usageId,
    model: model.model,
    promptTokens: r.usage.promptTokens,
    completionTokens: r.usage.completionTokens,
    cacheReadTokens: r.usage.cacheReadTokens,
    cacheWriteTokens: r.usage.cacheWriteTokens,
    reasoningTokens: r.usage.reasoningTokens,
    costUsd: r.costUsd,
    latencyMs: r.latencyMs,
  };
}
