import { calcPrice, type Usage } from '@pydantic/genai-prices';
import type { LlmConfig } from '../profiles/llm-config.types';
import { type LlmProvider, parseModelName } from '../profiles/profiles.service';
import type { TokenUsage } from '../conversations/usage.types';

/**
 * The price-table provider id for each LiteLLM prefix, `null` when the table has nothing to say
 * (self-hosted models cost nothing we could know). `litellm_proxy` is looked up by its inner model
 * name. Typed on `LlmProvider`, so a new prefix must be mapped here too.
 */
const TABLE_PROVIDER: Record<LlmProvider, string | null> = {
  openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'google',
  openrouter: 'openrouter',
  ollama: null,
  ollama_chat: null,
  hosted_vllm: null,
  lm_studio: null,
  litellm_proxy: null,
  deepseek: 'deepseek',
  groq: 'groq',
  mistral: 'mistral',
  xai: 'x-ai',
  azure: 'azure',
};

const SELF_HOSTED: ReadonlySet<LlmProvider> = new Set([
  'ollama',
  'ollama_chat',
  'hosted_vllm',
  'lm_studio',
]);

export interface CallCost {
  /** USD; 0 when unpriced. */
  costUsd: number;
  priced: boolean;
  /** Where the price came from. */
  source: 'profile' | 'table' | 'none';
}

/**
 * The cost of one LLM call: the profile's own per-token prices when it has any, else the bundled
 * `@pydantic/genai-prices` table (offline; cache reads and writes at their own rates when the
 * table knows them), else 0 with `priced: false`.
 */
export function priceCall(config: LlmConfig, usage: TokenUsage): CallCost {
  const input = config.input_cost_per_token;
  const output = config.output_cost_per_token;
  if (isPrice(input) || isPrice(output)) {
    const cost =
      (isPrice(input) ? input * usage.promptTokens : 0) +
      (isPrice(output) ? output * usage.completionTokens : 0);
    return { costUsd: cost, priced: true, source: 'profile' };
  }
  const target = tableTarget(config.model);
  if (!target) return UNPRICED;
  const tableUsage: Usage = {
    input_tokens: usage.promptTokens,
    output_tokens: usage.completionTokens,
  };
  // Cache tokens are parts of the prompt total; never report more than it holds.
  const cacheRead = Math.min(usage.cacheReadTokens, usage.promptTokens);
  const cacheWrite = Math.min(usage.cacheWriteTokens, usage.promptTokens - cacheRead);
  if (cacheRead > 0) tableUsage.cache_read_tokens = cacheRead;
  if (cacheWrite > 0) tableUsage.cache_write_tokens = cacheWrite;
  const result = lookup(tableUsage, target);
  if (!result) return UNPRICED;
  return { costUsd: result.total_price, priced: true, source: 'table' };
}

/** The model's context window from the price table, or `null` when it does not say. */
export function contextWindowOf(model: string): number | null {
  const cached = contextWindows.get(model);
  if (cached !== undefined) return cached;
  const target = tableTarget(model);
  const window = target
    ? (lookup({ input_tokens: 0, output_tokens: 0 }, target)?.model.context_window ?? null)
    : null;
  contextWindows.set(model, window);
  return window;
}

/** Whether the price table knows the model (for diagnostics and tests). */
export function isInPriceTable(model: string): boolean {
  const target = tableTarget(model);
  return target !== null && lookup({ input_tokens: 0, output_tokens: 0 }, target) !== null;
}

const UNPRICED: CallCost = { costUsd: 0, priced: false, source: 'none' };
const contextWindows = new Map<string, number | null>();

interface TableTarget {
  modelId: string;
  providerId?: string;
}

function tableTarget(model: string): TableTarget | null {
  const parsed = parseModelName(model);
  if (!parsed || SELF_HOSTED.has(parsed.provider)) return null;
  if (parsed.provider === 'litellm_proxy') {
    // `litellm_proxy/anthropic/claude-…` names the real provider; a bare alias is matched by name
    const inner = parsed.modelId.includes('/') ? parseModelName(parsed.modelId) : null;
    return inner && !SELF_HOSTED.has(inner.provider)
      ? tableTarget(parsed.modelId)
      : { modelId: parsed.modelId };
  }
  const providerId = TABLE_PROVIDER[parsed.provider];
  return providerId ? { modelId: parsed.modelId, providerId } : null;
}

function lookup(usage: Usage, target: TableTarget) {
  try {
    return calcPrice(
      usage,
      target.modelId,
      target.providerId ? { providerId: target.providerId } : undefined,
    );
  } catch {
    return null; // a table quirk must never fail an LLM call
  }
}

const isPrice = (value: number | null | undefined): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0;
