import { AppError } from '../common/errors/app-error';
import { LLM_PROVIDERS } from './llm-providers';
import { suggestProvider } from './model-name-hints';

export const profileNotFound = (name: string) =>
  new AppError('not_found', 'profiles.not_found', `Profile '${name}' was not found.`, { name });

export const profileLimitReached = (limit: number) =>
  new AppError(
    'conflict',
    'profiles.limit_reached',
    `The profile limit (${limit}) is reached; delete a profile first.`,
    { limit },
  );

export const unsupportedProvider = (model: string) => {
  const slash = model.indexOf('/');
  const suggestion = slash > 0 ? suggestProvider(model.slice(0, slash)) : null;
  const didYouMean = suggestion ? ` Did you mean '${suggestion}${model.slice(slash)}'?` : '';
  return new AppError(
    'invalid',
    'profiles.unsupported_provider',
    `Model '${model}' has an unsupported provider prefix.${didYouMean} Use a bare OpenAI model name or one of: ` +
      `${LLM_PROVIDERS.map((p) => `${p}/`).join(', ')}.`,
    {
      param: 'llm.model',
      errors: [{ field: 'llm.model', message: 'unsupported provider prefix' }],
    },
  );
};
