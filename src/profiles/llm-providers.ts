/**
 * The LiteLLM `provider/model` prefixes a profile may use. The models module maps each onto an AI
 * SDK provider; its table is typed on this list, so the two cannot drift apart.
 */
export const LLM_PROVIDERS = [
  'openai',
  'anthropic',
  'gemini',
  'openrouter',
  'ollama',
  'ollama_chat',
  'hosted_vllm',
  'litellm_proxy',
  'lm_studio',
  'deepseek',
  'groq',
  'mistral',
  'xai',
  'azure',
] as const;

export type LlmProvider = (typeof LLM_PROVIDERS)[number];

export interface ParsedModelName {
  provider: LlmProvider;
  /** The provider's own model id (everything after the first `/`). */
  modelId: string;
}

/** Splits a LiteLLM model name; a bare name is an OpenAI model. `null` for an unknown prefix. */
export function parseModelName(model: string): ParsedModelName | null {
  const slash = model.indexOf('/');
  if (slash === -1) return { provider: 'openai', modelId: model };
  const prefix = model.slice(0, slash);
  const modelId = model.slice(slash + 1);
  if (!modelId || !(LLM_PROVIDERS as readonly string[]).includes(prefix)) return null;
  return { provider: prefix as LlmProvider, modelId };
}
