import { createAnthropic } from '@ai-sdk/anthropic';
import { createAzure } from '@ai-sdk/azure';
import { createDeepSeek } from '@ai-sdk/deepseek';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createGroq } from '@ai-sdk/groq';
import { createMistral } from '@ai-sdk/mistral';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { createXai } from '@ai-sdk/xai';
import { Injectable } from '@nestjs/common';
import type { LanguageModel, streamText } from 'ai';
import { AppError } from '../common/errors/app-error';
import type { LlmConfig, ReasoningEffort, ResolvedProfile } from '../profiles/llm-config.types';
import { type LlmProvider, parseModelName } from '../profiles/profiles.service';

export type ProviderOptions = NonNullable<Parameters<typeof streamText>[0]['providerOptions']>;

/** What a provider binding gets to build a model. */
export interface ProviderContext {
  /** The provider's own model id (after the LiteLLM prefix). */
  modelId: string;
  apiKey: string | undefined;
  /** The profile's `base_url` without trailing slashes. */
  baseUrl: string | undefined;
  apiVersion: string | undefined;
  headers: Record<string, string> | undefined;
  /** Tests inject a fetch to observe URLs and headers without a network. */
  fetch: typeof fetch | undefined;
}

export interface ProviderBinding {
  create(ctx: ProviderContext): LanguageModel;
  /** Provider options for the profile's `reasoning_effort`; `undefined` sends nothing. */
  reasoning(effort: ReasoningEffort, modelId: string): ProviderOptions | undefined;
  /** `maxOutputTokens` when the profile sets none (`undefined`: leave it to the server). */
  defaultMaxOutputTokens(modelId: string): number | undefined;
}

export const DEFAULT_OLLAMA_URL = 'http://127.0.0.1:11434';
export const DEFAULT_LM_STUDIO_URL = 'http://127.0.0.1:1234/v1';
export const OPENROUTER_URL = 'https://openrouter.ai/api/v1';
export const OPENAI_URL = 'https://api.openai.com/v1';
export const ANTHROPIC_URL = 'https://api.anthropic.com/v1';

/**
 * Models that take a reasoning effort. Like the reference, the profile's `reasoning_effort` is sent
 * only to these: its clients set `high` by default, and plain chat models reject the parameter.
 */
const REASONING_MODEL =
  /(^|[/:_-])(o[1-9]\b|o[1-9]-|gpt-5|gpt-oss|codex|claude-(3-7|(opus|sonnet|haiku)-[4-9]|[4-9])|gemini-(2\.5|[3-9])|deepseek-(reasoner|r1|v[4-9])|grok-(3-mini|[4-9])|qwen3|qwq|magistral|kimi-k2-thinking)/i;

export const supportsReasoningEffort = (modelId: string): boolean => REASONING_MODEL.test(modelId);

/** Anthropic thinking budgets per effort (LiteLLM's mapping, floored at Anthropic's 1024 minimum). */
const THINKING_BUDGET: Record<Exclude<ReasoningEffort, 'none'>, number> = {
  minimal: 1024,
  low: 1024,
  medium: 2048,
  high: 4096,
  xhigh: 8192,
};

const gated =
  (build: (effort: ReasoningEffort) => ProviderOptions | undefined) =>
  (effort: ReasoningEffort, modelId: string): ProviderOptions | undefined =>
    supportsReasoningEffort(modelId) ? build(effort) : undefined;

const noDefaultMax = (): undefined => undefined;

/** OpenAI-compatible servers: `reasoning_effort` passed through (never `none`, which some reject). */
const compatibleReasoning = gated((effort) =>
  effort === 'none' ? undefined : { openaiCompatible: { reasoningEffort: effort } },
);

const openAiReasoning = gated((effort) => ({ openai: { reasoningEffort: effort } }));

/** An OpenAI-compatible server: the binding of every prefix that speaks Chat Completions. */
function compatible(
  name: string,
  baseUrl: (ctx: ProviderContext) => string,
): Pick<ProviderBinding, 'create' | 'reasoning' | 'defaultMaxOutputTokens'> {
  return {
    reasoning: compatibleReasoning,
    defaultMaxOutputTokens: noDefaultMax,
    create: (ctx) =>
      createOpenAICompatible({
        name,
        baseURL: baseUrl(ctx),
        apiKey: ctx.apiKey,
        headers: ctx.headers,
        includeUsage: true, // stream_options.include_usage: usage on streamed answers
        fetch: ctx.fetch,
      })(ctx.modelId),
  };
}

function requireBaseUrl(provider: LlmProvider) {
  return (ctx: ProviderContext): string => {
    if (!ctx.baseUrl) throw misconfigured(`'${provider}/…' models need the profile's base_url.`);
    return ctx.baseUrl;
  };
}

/** `…/v1` appended unless the URL already ends with a version segment. */
const withV1 = (url: string): string => (/\/v\d+(beta)?$/.test(url) ? url : `${url}/v1`);

/**
 * LiteLLM `provider/model` prefixes onto AI SDK providers (ARCHITECTURE.md). Typed on
 * `LlmProvider`: a prefix added to `LLM_PROVIDERS` without a binding here does not compile.
 */
export const PROVIDER_BINDINGS: Record<LlmProvider, ProviderBinding> = {
  openai: {
    // No base_url: OpenAI itself, over Chat Completions (`.chat`), as LiteLLM does. With one: any
    // OpenAI-compatible server.
    create: (ctx) =>
      ctx.baseUrl
        ? compatible('openai-compatible', (c) => c.baseUrl ?? OPENAI_URL).create(ctx)
        : createOpenAI({
            apiKey: ctx.apiKey,
            baseURL: OPENAI_URL,
            headers: ctx.headers,
            fetch: ctx.fetch,
          }).chat(ctx.modelId),
    reasoning: (effort, modelId) => ({
      ...openAiReasoning(effort, modelId),
      ...compatibleReasoning(effort, modelId),
    }),
    defaultMaxOutputTokens: noDefaultMax,
  },
  anthropic: {
    create: (ctx) =>
      createAnthropic({
        apiKey: ctx.apiKey,
        baseURL: ctx.baseUrl ? withV1(ctx.baseUrl) : ANTHROPIC_URL,
        headers: ctx.headers,
        fetch: ctx.fetch,
      })(ctx.modelId),
    reasoning: gated((effort) =>
      effort === 'none'
        ? undefined
        : { anthropic: { thinking: { type: 'enabled', budgetTokens: THINKING_BUDGET[effort] } } },
    ),
    // The Messages API requires max_tokens; the SDK lowers it to the model's own limit when known.
    defaultMaxOutputTokens: (modelId) =>
      /claude-(3-7|(opus|sonnet|haiku)-[4-9]|[4-9])/.test(modelId) ? 32_000 : 4_096,
  },
  gemini: {
    create: (ctx) =>
      createGoogleGenerativeAI({
        apiKey: ctx.apiKey,
        baseURL: ctx.baseUrl,
        headers: ctx.headers,
        fetch: ctx.fetch,
      })(ctx.modelId),
    reasoning: gated((effort) =>
      effort === 'none'
        ? undefined
        : {
            google: {
              thinkingConfig: {
                thinkingBudget: THINKING_BUDGET[effort],
                includeThoughts: true,
              },
            },
          },
    ),
    defaultMaxOutputTokens: noDefaultMax,
  },
  openrouter: compatible('openrouter', (ctx) => ctx.baseUrl ?? OPENROUTER_URL),
  ollama: compatible('ollama', (ctx) => withV1(ctx.baseUrl ?? DEFAULT_OLLAMA_URL)),
  ollama_chat: compatible('ollama_chat', (ctx) => withV1(ctx.baseUrl ?? DEFAULT_OLLAMA_URL)),
  hosted_vllm: compatible('hosted_vllm', requireBaseUrl('hosted_vllm')),
  litellm_proxy: compatible('litellm_proxy', requireBaseUrl('litellm_proxy')),
  lm_studio: compatible('lm_studio', (ctx) => ctx.baseUrl ?? DEFAULT_LM_STUDIO_URL),
  deepseek: {
    create: (ctx) =>
      createDeepSeek({
        apiKey: ctx.apiKey,
        baseURL: ctx.baseUrl,
        headers: ctx.headers,
        fetch: ctx.fetch,
      })(ctx.modelId),
    reasoning: gated((effort) =>
      effort === 'none'
        ? { deepseek: { thinking: { type: 'disabled' } } }
        : { deepseek: { reasoningEffort: effort === 'minimal' ? 'low' : effort } },
    ),
    defaultMaxOutputTokens: noDefaultMax,
  },
  groq: {
    create: (ctx) =>
      createGroq({
        apiKey: ctx.apiKey,
        baseURL: ctx.baseUrl,
        headers: ctx.headers,
        fetch: ctx.fetch,
      })(ctx.modelId),
    reasoning: gated((effort) => ({
      groq: {
        reasoningEffort: effort === 'minimal' ? 'low' : effort === 'xhigh' ? 'high' : effort,
      },
    })),
    defaultMaxOutputTokens: noDefaultMax,
  },
  mistral: {
    create: (ctx) =>
      createMistral({
        apiKey: ctx.apiKey,
        baseURL: ctx.baseUrl,
        headers: ctx.headers,
        fetch: ctx.fetch,
      })(ctx.modelId),
    reasoning: gated((effort) => ({
      mistral: { reasoningEffort: effort === 'none' ? 'none' : 'high' },
    })),
    defaultMaxOutputTokens: noDefaultMax,
  },
  xai: {
    create: (ctx) =>
      createXai({
        apiKey: ctx.apiKey,
        baseURL: ctx.baseUrl,
        headers: ctx.headers,
        fetch: ctx.fetch,
      })(ctx.modelId),
    reasoning: gated((effort) => ({
      xai: { reasoningEffort: effort === 'minimal' ? 'low' : effort },
    })),
    defaultMaxOutputTokens: noDefaultMax,
  },
  azure: {
    // LiteLLM style: `azure/<deployment>`, base_url `https://<resource>.openai.azure.com`, and an
    // `api_version` selects the classic deployment URLs; without one, Azure's v1 API.
    create: (ctx) => {
      if (!ctx.baseUrl) {
        throw misconfigured(
          "'azure/…' models need the profile's base_url (https://<resource>.openai.azure.com).",
        );
      }
      const classic = Boolean(ctx.apiVersion && !/^(v1|preview|latest)$/.test(ctx.apiVersion));
      const base = /\/openai(\/v1)?$/.test(ctx.baseUrl) ? ctx.baseUrl : `${ctx.baseUrl}/openai`;
      return createAzure({
        apiKey: ctx.apiKey,
        baseURL: classic ? base.replace(/\/v1$/, '') : base,
        apiVersion: ctx.apiVersion,
        useDeploymentBasedUrls: classic,
        headers: ctx.headers,
        fetch: ctx.fetch,
      }).chat(ctx.modelId);
    },
    reasoning: openAiReasoning,
    defaultMaxOutputTokens: noDefaultMax,
  },
};

export const misconfigured = (detail: string) =>
  new AppError('invalid', 'models.profile_misconfigured', `The profile cannot be used: ${detail}`, {
    param: 'model',
  });

/** The binding and provider model id behind a LiteLLM model name. */
export function bindingOf(model: string): {
  provider: LlmProvider;
  modelId: string;
  binding: ProviderBinding;
} {
  const parsed = parseModelName(model);
  if (!parsed) throw misconfigured(`unsupported model name '${model}'.`);
  return { ...parsed, binding: PROVIDER_BINDINGS[parsed.provider] };
}

/** A callable model for a profile's settings. Throws a 400-kind `AppError` when misconfigured. */
export function createLanguageModel(
  config: LlmConfig,
  apiKey: string | null,
  options: { fetch?: typeof fetch } = {},
): LanguageModel {
  const { modelId, binding } = bindingOf(config.model);
  return binding.create({
    modelId,
    apiKey: apiKey ?? undefined,
    baseUrl: config.base_url ? config.base_url.replace(/\/+$/, '') : undefined,
    apiVersion: config.api_version ?? undefined,
    headers: config.extra_headers ?? undefined,
    fetch: options.fetch,
  });
}

/** At most this many profiles keep a built client; the least recently used one goes first. */
const CACHE_SIZE = 256;

/**
 * Builds and caches provider clients per profile, keyed on the profile's name and `updatedAt`:
 * saving a profile (new key, new base URL…) replaces its entry.
 */
@Injectable()
export class LanguageModelFactory {
  private readonly cache = new Map<string, { version: number; model: LanguageModel }>();

  get(profile: ResolvedProfile): LanguageModel {
    const version = profile.updatedAt.getTime();
    const hit = this.cache.get(profile.name);
    this.cache.delete(profile.name);
    if (hit && hit.version === version) {
      this.cache.set(profile.name, hit); // most recently used last
      return hit.model;
    }
    const model = createLanguageModel(profile.config, profile.apiKey);
    this.cache.set(profile.name, { version, model });
    if (this.cache.size > CACHE_SIZE) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return model;
  }
}
