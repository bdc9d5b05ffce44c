import { registerAs } from '@nestjs/config';
import { loadEnv } from './load-env';

export const chatConfig = registerAs('chat', () => {
  const env = loadEnv();
  return {
    stepRendering: env.OH_STEP_RENDERING,
    keepaliveMs: Math.round(env.OH_KEEPALIVE_S * 1000),
    idempotencyTtlMs: Math.round(env.OH_IDEMPOTENCY_TTL_S * 1000),
    nonStreamKeepaliveMs: Math.round(env.OH_NONSTREAM_KEEPALIVE_S * 1000),
    retryGraceMs: Math.round(env.OH_RETRY_GRACE_S * 1000),
  };
});

export const llmConfig = registerAs('llm', () => {
  const env = loadEnv();
  return {
    backoffBaseMs: env.OH_LLM_BACKOFF_MS,
    firstByteTimeoutMs: Math.round(env.OH_LLM_FIRST_BYTE_TIMEOUT_S * 1000),
    idleTimeoutMs: Math.round(env.OH_LLM_IDLE_TIMEOUT_S * 1000),
    timeoutRetries: env.OH_LLM_TIMEOUT_RETRIES,
  };
});
