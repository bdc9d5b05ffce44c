import type { LlmStepResult } from '../../src/models/llm.types';

/** One LLM step's result as the LLM client returns it (100 prompt and 10 completion tokens), for unit tests. */
export const llmStep = (over: Partial<LlmStepResult> = {}): LlmStepResult => ({
  text: '',
  reasoning: '',
  toolCalls: [],
  finishReason: over.toolCalls?.length ? 'tool-calls' : 'stop',
  usage: {
    promptTokens: 100,
    completionTokens: 10,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  },
  costUsd: 0,
  priced: false,
  latencyMs: 1,
  responseModel: 'm',
  ...over,
});
