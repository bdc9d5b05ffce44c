import type { ResolvedProfile } from '../profiles/llm-config.types';
import type { ProfilesService } from '../profiles/profiles.service';
import { LanguageModelFactory } from './language-model.factory';
import { ModelsService } from './models.service';

describe(ModelsService.name, () => {
  const profiles = {
    resolve: jest.fn<Promise<ResolvedProfile | null>, [string]>(),
    list: jest.fn<Promise<ResolvedProfile[]>, []>(),
  };
  const sut = new ModelsService(profiles as unknown as ProfilesService, new LanguageModelFactory());
  const profile = (over: Partial<ResolvedProfile> = {}): ResolvedProfile => ({
    name: 'work',
    config: { model: 'openai/gpt-4o-mini' },
    apiKey: 'sk-abc-123456',
    createdAt: new Date(0),
    updatedAt: new Date(1_000),
    ...over,
  });

  beforeEach(() => profiles.resolve.mockReset());

  it('resolves a gateway model to its profile, key and a callable model, with defaults', async () => {
    profiles.resolve.mockResolvedValue(profile());
    const resolved = await sut.resolve('openhands_work');
    expect(profiles.resolve).toHaveBeenCalledWith('work');
    expect(resolved).toMatchObject({
      gatewayModel: 'openhands_work',
      profileName: 'work',
      model: 'openai/gpt-4o-mini',
      timeoutMs: 45_000,
      firstByteTimeoutMs: 45_000,
      timeoutRetries: 1,
      maxRetries: 3,
      contextWindow: 128_000,
      secrets: ['sk-abc-123456'],
    });
    expect(resolved.languageModel).toMatchObject({
      provider: 'openai.chat',
      modelId: 'gpt-4o-mini',
    });
  });

  it("takes the profile's timeout, retries and context window", async () => {
    profiles.resolve.mockResolvedValue(
      profile({
        apiKey: null,
        config: {
          model: 'ollama/llama3.1',
          timeout: 30,
          num_retries: 0,
          max_input_tokens: 8_192,
        },
      }),
    );
    expect(await sut.resolve('openhands_work')).toMatchObject({
      timeoutMs: 30_000,
      firstByteTimeoutMs: 30_000,
      maxRetries: 0,
      contextWindow: 8_192,
      secrets: [],
    });
  });

  it('has no context window for a model nobody knows', async () => {
    profiles.resolve.mockResolvedValue(
      profile({ config: { model: 'hosted_vllm/x', base_url: 'http://127.0.0.1:1/v1' } }),
    );
    expect((await sut.resolve('openhands_work')).contextWindow).toBeNull();
  });

  it('reuses the provider client until the profile changes', async () => {
    profiles.resolve.mockResolvedValue(profile());
    const first = await sut.resolve('openhands_work');
    expect((await sut.resolve('openhands_work')).languageModel).toBe(first.languageModel);
    profiles.resolve.mockResolvedValue(profile({ updatedAt: new Date(2_000) }));
    expect((await sut.resolve('openhands_work')).languageModel).not.toBe(first.languageModel);
  });

  it('answers 404 model_not_found for a missing profile or a foreign model id', async () => {
    profiles.resolve.mockResolvedValue(null);
    profiles.list.mockResolvedValue([profile({ name: 'work' }), profile({ name: 'home' })]);
    await expect(sut.resolve('openhands_gone')).rejects.toMatchObject({
      status: 404,
      code: 'models.model_not_found',
    });
    await expect(sut.resolve('openhands_gone')).rejects.toThrow(
      "Models: 'openhands_home', 'openhands_work'",
    );
    await expect(sut.resolve('gpt-4o')).rejects.toMatchObject({ status: 404 });
    await expect(sut.resolve('openhands_')).rejects.toMatchObject({ status: 404 });
    expect(profiles.resolve).toHaveBeenCalledTimes(2);
  });

  it('answers 400 for a profile that cannot work', async () => {
    profiles.resolve.mockResolvedValue(profile({ config: { model: 'azure/deployment' } }));
    await expect(sut.resolve('openhands_work')).rejects.toMatchObject({
      status: 400,
      code: 'models.profile_misconfigured',
    });
  });
});
