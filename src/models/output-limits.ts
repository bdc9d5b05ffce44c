import type { LlmConfig } from '../profiles/llm-config.types';

/**
 * The most output tokens well-known models accept per call, from their vendors' model pages. A
 * client's `max_tokens` above it would make every LLM call of the turn fail (opencode asks for
 * 32000; gpt-4o takes 16384), so when the profile sets no `max_output_tokens` the request's limit
 * is clamped to this. Where vendors or hosts differ, the lower figure: clamping too low only
 * shortens an unusually long answer, clamping too high fails the call. First match wins.
 */
const KNOWN_MAX_OUTPUT: readonly (readonly [RegExp, number])[] = [
  // OpenAI
  [/^gpt-5(\.\d+)?-chat/, 16_384],
  [/^gpt-5/, 128_000],
  [/^gpt-4\.1/, 32_768],
  [/^gpt-4o-2024-05-13/, 4_096],
  [/^(gpt-4o|chatgpt-4o)/, 16_384],
  [/^gpt-4-turbo|^gpt-4-\d{4}-preview/, 4_096],
  [/^gpt-4(-\d{4})?$/, 8_192],
  [/^gpt-3\.5-turbo/, 4_096],
  [/^o1-mini/, 65_536],
  [/^o1-preview/, 32_768],
  [/^o[134](-|$)/, 100_000],
  // Anthropic (dots or dashes in the version: `claude-sonnet-4.5` on OpenRouter)
  [/^claude-3[.-]7-sonnet/, 64_000],
  [/^claude-3[.-]5-(sonnet|haiku)/, 8_192],
  [/^claude-3-(opus|sonnet|haiku)/, 4_096],
  [/^claude-opus-4[.-]5/, 64_000],
  [/^claude-(opus-4|4-opus)/, 32_000],
  [/^claude-(sonnet-4|4-sonnet|haiku-4)/, 64_000],
  // Google
  [/^gemini-(2[.-]5|3)/, 65_536],
  [/^gemini-(2[.-]0|1[.-]5)/, 8_192],
  // DeepSeek's own API (deepseek-chat: 8K; deepseek-reasoner: 64K)
  [/^deepseek-(reasoner|r1)(?!-distill)/, 64_000],
  [/^deepseek-(chat|v3)/, 8_192],
  // Qwen (DashScope and the open weights)
  [/^qwen3-coder/, 65_536],
  [/^qwen3/, 32_768],
  [/^(qwen-(max|plus|turbo)|qwen2|qwq)/, 8_192],
  // Mistral
  [/^(mistral|codestral|devstral|magistral|ministral|pixtral|open-mi[sx]tral|mixtral)/, 32_768],
  // Llama 3 and 4 (Groq, Together, Ollama, …)
  [/^(meta-)?llama-?[34]/, 8_192],
];

/**
 * The bare model name: LiteLLM and router prefixes (`openrouter/anthropic/…`), Bedrock's region
 * and vendor prefixes (`us.anthropic.…`), and tags or versions after a colon (`llama3.1:8b`,
 * `…-v1:0`) removed, lower-cased.
 */
export function bareModelName(model: string): string {
  const last = model.slice(model.lastIndexOf('/') + 1).toLowerCase();
  return last
    .replace(/:.*$/, '')
    .replace(/^((us|eu|apac|global)\.)?(anthropic|meta|mistral|deepseek|qwen|openai|google)\./, '');
}

/** The most output tokens `model` (any provider prefix) accepts per call, when it is well known. */
export function knownMaxOutputTokens(model: string): number | undefined {
  const name = bareModelName(model);
  return KNOWN_MAX_OUTPUT.find(([pattern]) => pattern.test(name))?.[1];
}

/**
 * A request's output-token limit, clamped to the profile's `max_output_tokens`, or when the
 * profile sets none to the model's known limit (`undefined` stays undefined: the profile's
 * settings then apply).
 */
export function clampOutputTokens(
  asked: number | undefined,
  config: LlmConfig,
): number | undefined {
  if (asked === undefined) return undefined;
  const cap = config.max_output_tokens ?? knownMaxOutputTokens(config.model);
  return cap === undefined ? asked : Math.min(asked, cap);
}
