import { calcPrice } from '@pydantic/genai-prices';
import { LLM_PROVIDERS, type LlmProvider } from './llm-providers';

/** Prefixes people write for a provider LiteLLM spells differently. */
const ALIASES: Record<string, LlmProvider> = {
  google: 'gemini',
  vertex: 'gemini',
  claude: 'anthropic',
  vllm: 'hosted_vllm',
  lmstudio: 'lm_studio',
  litellm: 'litellm_proxy',
  grok: 'xai',
  'x-ai': 'xai',
  azure_openai: 'azure',
};

/** The price table's provider ids, as LiteLLM prefixes (those with a table entry). */
const TABLE_TO_PREFIX: Record<string, LlmProvider> = {
  openai: 'openai',
  anthropic: 'anthropic',
  google: 'gemini',
  deepseek: 'deepseek',
  groq: 'groq',
  mistral: 'mistral',
  'x-ai': 'xai',
};

/**
 * The supported prefix a mistyped one most likely meant (`antropic` → `anthropic`, `google` →
 * `gemini`), or `null` when none is close.
 */
export function suggestProvider(prefix: string): LlmProvider | null {
  const p = prefix.trim().toLowerCase();
  if ((LLM_PROVIDERS as readonly string[]).includes(p)) return p as LlmProvider;
  if (ALIASES[p]) return ALIASES[p];
  let best: { provider: LlmProvider; distance: number } | null = null;
  for (const provider of LLM_PROVIDERS) {
    const distance = editDistance(p, provider);
    const allowed = provider.length >= 5 ? 2 : 1; // `opneai`, `antropic`; but not `xa` for `xai`
    if (distance <= allowed && distance < (best?.distance ?? Infinity))
      best = { provider, distance };
  }
  return best?.provider ?? null;
}

/**
 * A warning for a model name without a provider prefix that OpenAI does not know (such a name is
 * sent to OpenAI): `claude-sonnet-4-5` most likely meant `anthropic/claude-sonnet-4-5`. `null`
 * when the name is prefixed, a known OpenAI model, or the profile has its own `base_url` (an
 * OpenAI-compatible server names its models as it likes).
 */
export function bareModelWarning(model: string, baseUrl?: string | null): string | null {
  if (model.includes('/') || baseUrl) return null;
  if (tableProvider(model, 'openai') === 'openai') return null;
  const owner = tableProvider(model);
  const prefix = owner ? TABLE_TO_PREFIX[owner] : undefined;
  const hint =
    prefix && prefix !== 'openai'
      ? ` Did you mean '${prefix}/${model}'?`
      : ` Prefix it with its provider (e.g. 'ollama/${model}', 'openrouter/…') if it is not an OpenAI model.`;
  return `Model '${model}' has no provider prefix and is not a known OpenAI model; it will be sent to the OpenAI API.${hint}`;
}

function tableProvider(model: string, providerId?: string): string | null {
  try {
    return (
      calcPrice({ input_tokens: 0, output_tokens: 0 }, model, providerId ? { providerId } : {})
        ?.provider.id ?? null
    );
  } catch {
    return null; // a table quirk only costs the hint
  }
}

/** Levenshtein distance, for short strings. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}
