import { AppError } from '../common/errors/app-error';

export const modelNotFound = (model: string) =>
  new AppError(
    'not_found',
    'models.model_not_found',
    `The model '${model}' does not exist. Models are 'openhands_<profile>'; see GET /v1/models.`,
    { param: 'model' },
  );
