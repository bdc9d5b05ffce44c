/**
 * Tokens of one LLM call or of a sum of them: the one token-usage type. The models module fills
 * it from the provider's report, `llm_calls` rows store it, metrics count it; the snake_case form
 * below is the same counts as event payloads, database rows and the API spell them.
 */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
}

type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S;

/** `TokenUsage` spelled snake_case (`prompt_tokens`, …). */
export type TokenCounts = { [K in keyof TokenUsage as SnakeCase<K>]: number };

/** Tokens and cost of one turn's LLM calls (the condenser's included), as `turn_end` stores them. */
export type TurnUsage = TokenCounts & { cost_usd: number };

/** The usage of a conversation's LLM calls under one usage id and model (summed). */
export interface UsageRow extends TokenUsage {
  conversationId: string;
  usageId: string;
  model: string;
  costUsd: number;
}

/** One LLM request's accounting, stored with the events of the same step. */
export interface NewLlmCall extends TokenUsage {
  id: string;
  usageId: string;
  model: string;
  costUsd: number;
  latencyMs: number;
}
