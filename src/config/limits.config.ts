import { registerAs } from '@nestjs/config';
import { MAX_BODY_DEPTH } from '../common/http/validation';
import { loadEnv } from './load-env';

/** Request limits: body size, messages per chat completion, requests per minute per key. */
export const limitsConfig = registerAs('limits', () => {
  const env = loadEnv();
  return {
    /** Largest request body in bytes; larger ones are answered 413 before they are parsed. */
    maxBodyBytes: env.OH_MAX_BODY_SIZE,
    /** Object keys (at every depth) and nesting a JSON body may have; checked before parsing. */
    jsonBudget: { maxKeys: env.OH_MAX_JSON_KEYS, maxDepth: MAX_BODY_DEPTH },
    /** Most `messages` in one chat completion request. */
    maxMessages: env.OH_MAX_MESSAGES,
    /** Requests per minute per session key (per client address when access is open); 0: off. */
    rateLimitPerMinute: env.OH_RATE_LIMIT_PER_MINUTE,
  };
});
