import {
  type ArgumentMetadata,
  ValidationPipe,
  type ValidationError,
  type ValidationPipeOptions,
} from '@nestjs/common';
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

/**
 * Deepest nesting a request body may have. class-transformer and class-validator recurse into
 * every level, so a body of a few kilobytes nested some thousand levels deep would overflow the
 * stack (a 500); real OpenAI requests, tool JSON schemas included, stay far below this.
 */
export const MAX_BODY_DEPTH = 100;

/** Configured caps the pipe enforces on body DTO properties marked with `@MaxItemsFrom`. */
export interface BodyLimits {
  /** Most `messages` of a chat completion request. */
  maxMessages: number;
}

/** The variable that sets each limit, for error messages an operator can act on. */
const SETTING_OF: Record<keyof BodyLimits, string> = { maxMessages: 'OH_MAX_MESSAGES' };

const ITEM_LIMITS = Symbol('validation:item-limits');

interface ItemLimit {
  property: string;
  limit: keyof BodyLimits;
}

/**
 * Caps an array property of a body DTO by a configured limit. The pipe checks it before the body
 * is transformed or validated, so an oversized array costs one length check instead of the
 * validation of every item.
 */
export function MaxItemsFrom(limit: keyof BodyLimits): PropertyDecorator {
  return (target, property) => {
    const owner = target.constructor;
    const declared = (Reflect.getMetadata(ITEM_LIMITS, owner) as ItemLimit[] | undefined) ?? [];
    Reflect.defineMetadata(
      ITEM_LIMITS,
      [...declared, { property: String(property), limit }],
      owner,
    );
  };
}

/**
 * The global pipe: validation failures are 400 `request.invalid` with one entry per field, in
 * either error shape. Before any of that, a body's shape is bounded (depth, `@MaxItemsFrom`
 * caps), so no input can make transformation or validation recurse or loop without end.
 */
class BoundedValidationPipe extends ValidationPipe {
  constructor(
    private readonly limits: BodyLimits,
    options: ValidationPipeOptions,
  ) {
    super(options);
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body') {
      checkDepth(value);
      if (metadata.metatype) this.checkItems(value, metadata.metatype);
    }
    const result: unknown = await super.transform(value, metadata);
    if (metadata.type !== 'custom') checkText(result);
    return result;
  }

  private checkItems(value: unknown, metatype: object): void {
    if (typeof value !== 'object' || value === null) return;
    const declared = (Reflect.getMetadata(ITEM_LIMITS, metatype) as ItemLimit[] | undefined) ?? [];
    for (const { property, limit } of declared) {
      const items: unknown = Object.getOwnPropertyDescriptor(value, property)?.value;
      const max = this.limits[limit];
      if (Array.isArray(items) && items.length > max) {
        const message = `${property} has ${items.length} items; this server accepts at most ${max} (${SETTING_OF[limit]}).`;
        throw invalidRequest(message, [{ field: property, message }], property);
      }
    }
  }
}

/** Iterative, so the check itself cannot overflow the stack it protects. */
function checkDepth(body: unknown): void {
  const stack: [unknown, number][] = [[body, 1]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [value, depth] = next;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_BODY_DEPTH) {
      throw invalidRequest(`The body is nested more than ${MAX_BODY_DEPTH} levels deep.`);
    }
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
}

/**
 * Every string the handler gets (values and keys, after whitelisting) must be storable: PostgreSQL
 * text and jsonb refuse U+0000 and unpaired surrogates (`\ud800`), which JSON can carry. Refused
 * here as a 400 naming the field, instead of failing as a 500 at the first INSERT.
 */
function checkText(input: unknown): void {
  interface Item {
    value: unknown;
    key: string;
    parent: Item | null;
  }
  const stack: Item[] = [{ value: input, key: '', parent: null }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { value } = item;
    if (typeof value === 'string') {
      if (!storable(value)) throw unstorable(pathOf(item));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
        const childItem: Item = { value: child, key, parent: item };
        if (!storable(key)) throw unstorable(pathOf(childItem));
        stack.push(childItem);
      }
    }
  }

  function pathOf(item: Item): string {
    const keys: string[] = [];
    for (let at: Item | null = item; at?.parent; at = at.parent) keys.unshift(at.key);
    return keys.reduce(
      (path, key) => (/^\d+$/.test(key) ? `${path}[${key}]` : path ? `${path}.${key}` : key),
      '',
    );
  }
}

/** NUL, or a surrogate code unit outside a pair (with `u`, a proper pair is one code point). */
const LONE_SURROGATE = /\p{Cs}/u;
const storable = (text: string) => !text.includes('\u0000') && !LONE_SURROGATE.test(text);

function unstorable(field: string) {
  const message = 'must be valid Unicode text without NUL (U+0000) characters or lone surrogates';
  return invalidRequest(`Invalid request: ${field || 'body'} ${message}.`, [{ field, message }]);
}

export const validationPipe = (limits: BodyLimits) =>
  new BoundedValidationPipe(limits, {
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
