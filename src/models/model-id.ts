export const MODEL_PREFIX = 'openhands_';

export const modelIdOf = (profileName: string) => `${MODEL_PREFIX}${profileName}`;

/** The profile behind a gateway model id, or `null` when the id is not ours. */
export const profileNameOf = (modelId: string): string | null =>
  modelId.startsWith(MODEL_PREFIX) && modelId.length > MODEL_PREFIX.length
    ? modelId.slice(MODEL_PREFIX.length)
    : null;
