import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { type FieldError, invalidRequest } from '../errors/app-error';

/** `messages[0].content`-style paths for every failed constraint, nested ones included. */
export function fieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = /^\d+$/.test(error.property)
      ? `${parent}[${error.property}]`
      : parent
        ? `${parent}.${error.property}`
        : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...fieldErrors(error.children ?? [], field)];
  });
}

/** Validation failures are 400 `request.invalid` with one entry per field, in either error shape. */
export const validationPipe = () =>
  new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: false,
    transform: true,
    stopAtFirstError: false,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const fields = fieldErrors(errors);
      const summary = fields.map((e) => `${e.field}: ${e.message}`).join('; ');
      return invalidRequest(`Invalid request: ${summary}`, fields);
    },
  });
