import { registerAs } from '@nestjs/config';
import { loadEnv } from './load-env';

export const chatConfig = registerAs('chat', () => {
  const env = loadEnv();
  return {
    stepRendering: env.OH_STEP_RENDERING,
    keepaliveMs: Math.round(env.OH_KEEPALIVE_S * 1000),
  };
});

export const llmConfig = registerAs('llm', () => ({
  backoffBaseMs: loadEnv().OH_LLM_BACKOFF_MS,
}));
