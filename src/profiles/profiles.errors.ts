import { AppError } from '../common/errors/app-error';
import { LLM_PROVIDERS } from './llm-providers';

export const profileNotFound = (name: string) =>
  new AppError('not_found', 'profiles.not_found', `Profile '${name}' was not found.`, { name });

export const profileLimitReached = (limit: number) =>
  new AppError(
    'conflict',
    'profiles.limit_reached',
    `The profile limit (${limit}) is reached; delete a profile first.`,
    { limit },
  );

export const unsupportedProvider = (model: string) =>
  new AppError(
    'invalid',
    'profiles.unsupported_provider',
    `Model '${model}' has an unsupported provider prefix. Use a bare OpenAI model name or one of: ` +
      `${LLM_PROVIDERS.map((p) => `${p}/`).join(', ')}.`,
    {
      param: 'llm.model',
      errors: [{ field: 'llm.model', message: 'unsupported provider prefix' }],
    },
  );
