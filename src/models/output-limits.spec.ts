import { bareModelName, clampOutputTokens, knownMaxOutputTokens } from './output-limits';

describe('knownMaxOutputTokens', () => {
  it.each([
    ['openai/gpt-4o-mini', 16_384],
    ['gpt-4o-2024-08-06', 16_384],
    ['gpt-4o-2024-05-13', 4_096],
    ['openai/gpt-4.1-mini', 32_768],
    ['gpt-5', 128_000],
    ['openai/gpt-5.1-codex', 128_000],
    ['gpt-5-chat-latest', 16_384],
    ['o1-mini', 65_536],
    ['o3', 100_000],
    ['openai/o4-mini', 100_000],
    ['gpt-4-turbo', 4_096],
    ['gpt-4', 8_192],
    ['anthropic/claude-3-5-sonnet-20241022', 8_192],
    ['claude-3-haiku-20240307', 4_096],
    ['anthropic/claude-3-7-sonnet-latest', 64_000],
    ['claude-opus-4-20250514', 32_000],
    ['claude-opus-4-1', 32_000],
    ['claude-opus-4-5-20251101', 64_000],
    ['anthropic/claude-sonnet-4-5', 64_000],
    ['openrouter/anthropic/claude-sonnet-4.5', 64_000],
    ['claude-haiku-4-5', 64_000],
    ['bedrock/us.anthropic.claude-3-7-sonnet-20250219-v1:0', 64_000],
    ['gemini/gemini-2.5-pro', 65_536],
    ['vertex_ai/gemini-2.0-flash-001', 8_192],
    ['deepseek/deepseek-chat', 8_192],
    ['deepseek/deepseek-reasoner', 64_000],
    ['hosted_vllm/Qwen/Qwen3-Coder-480B-A35B-Instruct', 65_536],
    ['openrouter/qwen/qwen3-235b-a22b', 32_768],
    ['qwen-plus', 8_192],
    ['mistral/mistral-large-latest', 32_768],
    ['mistral/devstral-medium-2507', 32_768],
    ['groq/llama-3.3-70b-versatile', 8_192],
    ['ollama/llama3.1:8b', 8_192],
    ['groq/meta-llama/llama-4-scout-17b-16e-instruct', 8_192],
  ])('%s: %i', (model, limit) => {
    expect(knownMaxOutputTokens(model)).toBe(limit);
  });

  it.each([
    'azure/my-deployment',
    'openai/gpt-9-mini',
    'hosted_vllm/my-org/fine-tune',
    'deepseek/deepseek-r1-distill-llama-70b',
    'claude-5-opus',
    'o2',
  ])('%s: unknown', (model) => {
    expect(knownMaxOutputTokens(model)).toBeUndefined();
  });
});

describe('bareModelName', () => {
  it('strips router, Bedrock and tag parts', () => {
    expect(bareModelName('openrouter/anthropic/Claude-Sonnet-4.5')).toBe('claude-sonnet-4.5');
    expect(bareModelName('bedrock/eu.anthropic.claude-3-5-haiku-20241022-v1:0')).toBe(
      'claude-3-5-haiku-20241022-v1',
    );
    expect(bareModelName('ollama/qwen3:32b')).toBe('qwen3');
  });
});

describe('clampOutputTokens', () => {
  it("clamps to the profile's max_output_tokens first, whatever the model", () => {
    expect(clampOutputTokens(32_000, { model: 'openai/gpt-4o', max_output_tokens: 4_000 })).toBe(
      4_000,
    );
    expect(clampOutputTokens(32_000, { model: 'openai/gpt-4o', max_output_tokens: 20_000 })).toBe(
      20_000,
    );
  });

  it("clamps to the model's known limit when the profile sets none", () => {
    expect(clampOutputTokens(32_000, { model: 'openai/gpt-4o' })).toBe(16_384);
    expect(clampOutputTokens(32_000, { model: 'openai/gpt-4o', max_output_tokens: null })).toBe(
      16_384,
    );
    expect(clampOutputTokens(1_000, { model: 'openai/gpt-4o' })).toBe(1_000);
  });

  it('leaves an unknown model and an absent limit alone', () => {
    expect(clampOutputTokens(500_000, { model: 'hosted_vllm/my-model' })).toBe(500_000);
    expect(clampOutputTokens(undefined, { model: 'openai/gpt-4o' })).toBeUndefined();
  });
});
