import type { TokenUsage } from '../conversations/usage.types';
import { contextWindowOf, isInPriceTable, priceCall } from './pricing';

const usage = (over: Partial<TokenUsage> = {}): TokenUsage => ({
  promptTokens: 1_000,
  completionTokens: 100,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
  ...over,
});

describe('priceCall', () => {
  it('prices a model the table knows', () => {
    const cost = priceCall({ model: 'openai/gpt-4o-mini' }, usage());
    // gpt-4o-mini: $0.15 / Mtok in, $0.60 / Mtok out
    expect(cost).toEqual({ costUsd: expect.closeTo(0.00021, 8), priced: true, source: 'table' });
  });

  it('maps LiteLLM prefixes onto the table providers', () => {
    for (const model of [
      'gpt-4o',
      'anthropic/claude-sonnet-4-5-20250929',
      'gemini/gemini-2.5-pro',
      'openrouter/anthropic/claude-3.5-sonnet',
      'deepseek/deepseek-chat',
      'groq/llama-3.3-70b-versatile',
      'mistral/mistral-large-latest',
      'xai/grok-4',
      'azure/gpt-4o',
      'litellm_proxy/anthropic/claude-sonnet-4-5',
      'litellm_proxy/gpt-4o-mini',
    ]) {
      expect([model, priceCall({ model }, usage()).priced]).toEqual([model, true]);
      expect(priceCall({ model }, usage()).costUsd).toBeGreaterThan(0);
    }
  });

  it('prices cache reads at their own, lower rate', () => {
    const full = priceCall({ model: 'anthropic/claude-sonnet-4-5' }, usage());
    const cached = priceCall(
      { model: 'anthropic/claude-sonnet-4-5' },
      usage({ cacheReadTokens: 900 }),
    );
    expect(cached.costUsd).toBeLessThan(full.costUsd);
    const written = priceCall(
      { model: 'anthropic/claude-sonnet-4-5' },
      usage({ cacheWriteTokens: 900 }),
    );
    expect(written.costUsd).toBeGreaterThan(full.costUsd); // writes cost 1.25× input
  });

  it('costs nothing and says so for a model nobody prices', () => {
    for (const model of [
      'openai/my-finetune-that-does-not-exist',
      'hosted_vllm/Qwen/Qwen3-32B',
      'ollama/llama3.1',
      'lm_studio/some-model',
    ]) {
      expect(priceCall({ model }, usage())).toEqual({ costUsd: 0, priced: false, source: 'none' });
    }
  });

  it("prefers the profile's own prices", () => {
    const cost = priceCall(
      { model: 'openai/gpt-4o-mini', input_cost_per_token: 0.001, output_cost_per_token: 0.002 },
      usage(),
    );
    expect(cost).toEqual({ costUsd: expect.closeTo(1.2, 10), priced: true, source: 'profile' });
    // also for a model the table does not know, and with only one of the two prices
    expect(
      priceCall({ model: 'ollama/llama3.1', output_cost_per_token: 0.01 }, usage()),
    ).toMatchObject({ costUsd: expect.closeTo(1, 10), priced: true });
    // explicit zero prices make a model free, and priced
    expect(
      priceCall(
        { model: 'openai/gpt-4o', input_cost_per_token: 0, output_cost_per_token: 0 },
        usage(),
      ),
    ).toEqual({ costUsd: 0, priced: true, source: 'profile' });
  });

  it('survives cache counts larger than the prompt', () => {
    const cost = priceCall(
      { model: 'openai/gpt-4o-mini' },
      usage({ promptTokens: 10, cacheReadTokens: 50, cacheWriteTokens: 50 }),
    );
    expect(cost.priced).toBe(true);
    expect(cost.costUsd).toBeGreaterThan(0);
  });
});

describe('contextWindowOf', () => {
  it('knows the window of a tabled model, and null otherwise', () => {
    expect(contextWindowOf('openai/gpt-4o-mini')).toBe(128_000);
    expect(contextWindowOf('anthropic/claude-sonnet-4-5-20250929')).toBe(200_000);
    expect(contextWindowOf('hosted_vllm/anything')).toBeNull();
    expect(contextWindowOf('openai/nope-nope')).toBeNull();
    expect(contextWindowOf('unknown_prefix/x')).toBeNull();
  });

  it('tells whether the table knows a model', () => {
    expect(isInPriceTable('gpt-4o')).toBe(true);
    expect(isInPriceTable('ollama/llama3')).toBe(false);
  });
});
