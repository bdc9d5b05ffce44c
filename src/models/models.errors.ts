import { AppError } from '../common/errors/app-error';

/** How many model ids a 404 names before it refers to `GET /v1/models` for the rest. */
const LISTED = 20;

/** 404 naming the models that exist (the closest first, when one is close), so a typo is obvious. */
export const modelNotFound = (model: string, available: readonly string[]) => {
  const wanted = model.toLowerCase();
  const near = available.filter(
    (id) => id.toLowerCase() === wanted || id.toLowerCase() === `openhands_${wanted}`,
  );
  const ordered = [...near, ...available.filter((id) => !near.includes(id))];
  const listed = ordered.slice(0, LISTED).map((id) => `'${id}'`);
  const more = ordered.length > LISTED ? ` and ${ordered.length - LISTED} more` : '';
  const which =
    available.length === 0
      ? 'No model exists yet: store a profile with POST /api/profiles/{name}, it becomes openhands_<name>.'
      : `${near.length ? `Did you mean '${near[0]}'? ` : ''}Models: ${listed.join(', ')}${more} (GET /v1/models).`;
  return new AppError(
    'not_found',
    'models.model_not_found',
    `The model '${model}' does not exist. ${which}`,
    { param: 'model' },
  );
};
