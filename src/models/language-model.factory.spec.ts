import { generateText, type LanguageModel } from 'ai';
import type { LlmConfig, ResolvedProfile } from '../profiles/llm-config.types';
import { LLM_PROVIDERS, parseModelName } from '../profiles/llm-providers';
import {
  createLanguageModel,
  LanguageModelFactory,
  PROVIDER_BINDINGS,
  supportsReasoningEffort,
} from './language-model.factory';

interface Recorded {
  url: string;
  headers: Record<string, string>;
}

/** A fetch that records the request and answers 418, so nothing leaves the process. */
function recordingFetch(): { fetch: typeof fetch; calls: Recorded[] } {
  const calls: Recorded[] = [];
  const fake = (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    calls.push({ url, headers: Object.fromEntries(new Headers(init?.headers).entries()) });
    return Promise.resolve(
      new Response(JSON.stringify({ error: { message: 'recorded' } }), {
        status: 418,
        headers: { 'content-type': 'application/json' },
      }),
    );
  };
  return { fetch: fake, calls };
}

async function firstRequest(config: LlmConfig, apiKey: string | null = 'key-123456') {
  const { fetch, calls } = recordingFetch();
  const model = createLanguageModel(config, apiKey, { fetch });
  await generateText({ model, prompt: 'hi', maxRetries: 0, maxOutputTokens: 10 }).catch(
    () => undefined,
  );
  return { model: model as Exclude<LanguageModel, string>, request: calls[0] };
}

const CASES: [LlmConfig, string, string][] = [
  [{ model: 'gpt-4o' }, 'openai.chat', 'https://api.openai.com/v1/chat/completions'],
  [{ model: 'openai/gpt-4o' }, 'openai.chat', 'https://api.openai.com/v1/chat/completions'],
  [
    { model: 'openai/gpt-4o', base_url: 'http://gpu:8000/v1/' },
    'openai-compatible.chat',
    'http://gpu:8000/v1/chat/completions',
  ],
  [
    { model: 'anthropic/claude-sonnet-4-5' },
    'anthropic.messages',
    'https://api.anthropic.com/v1/messages',
  ],
  [
    { model: 'anthropic/claude-sonnet-4-5', base_url: 'http://proxy:9000' },
    'anthropic.messages',
    'http://proxy:9000/v1/messages',
  ],
  [
    { model: 'anthropic/claude-sonnet-4-5', base_url: 'http://proxy:9000/v1' },
    'anthropic.messages',
    'http://proxy:9000/v1/messages',
  ],
  [
    { model: 'gemini/gemini-2.5-pro' },
    'google.generative-ai',
    'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent',
  ],
  [
    { model: 'openrouter/anthropic/claude-3.5-sonnet' },
    'openrouter.chat',
    'https://openrouter.ai/api/v1/chat/completions',
  ],
  [{ model: 'ollama/llama3.1' }, 'ollama.chat', 'http://127.0.0.1:11434/v1/chat/completions'],
  [
    { model: 'ollama_chat/llama3.1', base_url: 'http://box:11434' },
    'ollama_chat.chat',
    'http://box:11434/v1/chat/completions',
  ],
  [
    { model: 'hosted_vllm/Qwen/Qwen3-32B', base_url: 'http://vllm:8000/v1' },
    'hosted_vllm.chat',
    'http://vllm:8000/v1/chat/completions',
  ],
  [
    { model: 'litellm_proxy/team-model', base_url: 'http://litellm:4000' },
    'litellm_proxy.chat',
    'http://litellm:4000/chat/completions',
  ],
  [{ model: 'lm_studio/qwen' }, 'lm_studio.chat', 'http://127.0.0.1:1234/v1/chat/completions'],
  [
    { model: 'deepseek/deepseek-chat' },
    'deepseek.chat',
    'https://api.deepseek.com/chat/completions',
  ],
  [{ model: 'groq/llama-3.3-70b' }, 'groq.chat', 'https://api.groq.com/openai/v1/chat/completions'],
  [
    { model: 'mistral/mistral-large-latest' },
    'mistral.chat',
    'https://api.mistral.ai/v1/chat/completions',
  ],
  [{ model: 'xai/grok-4' }, 'xai.chat', 'https://api.x.ai/v1/chat/completions'],
  [
    {
      model: 'azure/my-deploy',
      base_url: 'https://res.openai.azure.com',
      api_version: '2024-10-21',
    },
    'azure.chat',
    'https://res.openai.azure.com/openai/deployments/my-deploy/chat/completions?api-version=2024-10-21',
  ],
  [
    { model: 'azure/my-deploy', base_url: 'https://res.openai.azure.com/' },
    'azure.chat',
    'https://res.openai.azure.com/openai/v1/chat/completions?api-version=v1',
  ],
];

describe('createLanguageModel', () => {
  it('has a case below for every provider prefix', () => {
    const covered = new Set(CASES.map(([config]) => parseModelName(config.model)?.provider));
    expect([...covered].sort()).toEqual([...LLM_PROVIDERS].sort());
    expect(Object.keys(PROVIDER_BINDINGS).sort()).toEqual([...LLM_PROVIDERS].sort());
  });

  it.each(CASES)('%j → %s at %s', async (config, provider, url) => {
    const { model, request } = await firstRequest(config);
    expect(model.provider).toBe(provider);
    expect(model.modelId).toBe(parseModelName(config.model)?.modelId);
    expect(request.url).toBe(url);
  });

  it('sends the key the way each provider expects, and the extra headers', async () => {
    const headers = { 'X-Team': 'blue' };
    const openai = await firstRequest({ model: 'gpt-4o', extra_headers: headers });
    expect(openai.request.headers).toMatchObject({
      authorization: 'Bearer key-123456',
      'x-team': 'blue',
    });
    const anthropic = await firstRequest({ model: 'anthropic/claude-x', extra_headers: headers });
    expect(anthropic.request.headers).toMatchObject({
      'x-api-key': 'key-123456',
      'x-team': 'blue',
    });
    const azure = await firstRequest({
      model: 'azure/d',
      base_url: 'https://r.openai.azure.com',
      extra_headers: headers,
    });
    expect(azure.request.headers).toMatchObject({ 'api-key': 'key-123456', 'x-team': 'blue' });
    const local = await firstRequest({ model: 'ollama/llama3', extra_headers: headers }, null);
    expect(local.request.headers.authorization).toBeUndefined();
    expect(local.request.headers['x-team']).toBe('blue');
  });

  it('refuses profiles that cannot work, with a 400', () => {
    for (const model of ['hosted_vllm/x', 'litellm_proxy/x', 'azure/x']) {
      expect(() => createLanguageModel({ model }, 'k')).toThrow(
        expect.objectContaining({ status: 400, code: 'models.profile_misconfigured' }),
      );
    }
    expect(() => createLanguageModel({ model: 'cohere/command-r' }, 'k')).toThrow(
      /unsupported model name/,
    );
  });
});

describe('reasoning options', () => {
  it('go only to models that take them', () => {
    for (const id of [
      'o3',
      'o4-mini',
      'gpt-5',
      'gpt-5.1-codex',
      'claude-sonnet-4-5',
      'claude-3-7-sonnet-latest',
      'gemini-2.5-pro',
      'deepseek-reasoner',
      'Qwen/Qwen3-32B',
      'openai/gpt-oss-120b',
    ]) {
      expect([id, supportsReasoningEffort(id)]).toEqual([id, true]);
    }
    for (const id of [
      'gpt-4o',
      'gpt-4o-mini',
      'claude-3-5-sonnet-20241022',
      'llama3.1',
      'gemini-1.5-pro',
      'deepseek-chat',
    ]) {
      expect([id, supportsReasoningEffort(id)]).toEqual([id, false]);
    }
  });

  it('map the effort onto each provider', () => {
    expect(PROVIDER_BINDINGS.openai.reasoning('high', 'o3')).toMatchObject({
      openai: { reasoningEffort: 'high' },
      openaiCompatible: { reasoningEffort: 'high' },
    });
    expect(PROVIDER_BINDINGS.openai.reasoning('high', 'gpt-4o')).toEqual({});
    expect(PROVIDER_BINDINGS.anthropic.reasoning('medium', 'claude-sonnet-4-5')).toEqual({
      anthropic: { thinking: { type: 'enabled', budgetTokens: 2048 } },
    });
    expect(PROVIDER_BINDINGS.anthropic.reasoning('none', 'claude-sonnet-4-5')).toBeUndefined();
    expect(PROVIDER_BINDINGS.gemini.reasoning('low', 'gemini-2.5-flash')).toEqual({
      google: { thinkingConfig: { thinkingBudget: 1024, includeThoughts: true } },
    });
    expect(PROVIDER_BINDINGS.hosted_vllm.reasoning('low', 'Qwen/Qwen3-8B')).toEqual({
      openaiCompatible: { reasoningEffort: 'low' },
    });
    expect(PROVIDER_BINDINGS.groq.reasoning('xhigh', 'openai/gpt-oss-20b')).toEqual({
      groq: { reasoningEffort: 'high' },
    });
  });

  it('give anthropic a max_tokens by default and leave the others to the server', () => {
    expect(PROVIDER_BINDINGS.anthropic.defaultMaxOutputTokens('claude-sonnet-4-5')).toBe(32_000);
    expect(PROVIDER_BINDINGS.anthropic.defaultMaxOutputTokens('claude-3-5-haiku')).toBe(4_096);
    expect(PROVIDER_BINDINGS.openai.defaultMaxOutputTokens('gpt-4o')).toBeUndefined();
  });
});

describe(LanguageModelFactory.name, () => {
  const profile = (over: Partial<ResolvedProfile> = {}): ResolvedProfile => ({
    name: 'p',
    config: { model: 'openai/gpt-4o' },
    apiKey: 'k',
    createdAt: new Date(0),
    updatedAt: new Date(1_000),
    ...over,
  });

  it('builds a client once per profile version', () => {
    const factory = new LanguageModelFactory();
    const first = factory.get(profile());
    expect(factory.get(profile())).toBe(first);
    const changed = factory.get(
      profile({ updatedAt: new Date(2_000), config: { model: 'anthropic/claude-x' } }),
    );
    expect(changed).not.toBe(first);
    expect((changed as Exclude<LanguageModel, string>).provider).toBe('anthropic.messages');
    expect(factory.get(profile({ name: 'other' }))).not.toBe(first);
  });
});
