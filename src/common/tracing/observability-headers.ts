import { AsyncLocalStorage } from 'node:async_hooks';
import { AppError } from '../errors/app-error';

/** The reference's observability headers, which its clients (automations, SDK) send. */
export const SPAN_NAME_HEADER = 'X-OpenHands-Observability-Span-Name';
export const TAGS_HEADER = 'X-OpenHands-Observability-Tags';
export const METADATA_HEADER = 'X-OpenHands-Observability-Metadata';

export const SPAN_NAME_PATTERN = /^[A-Za-z0-9._:/-]+$/;
export const SPAN_NAME_MAX_LENGTH = 128;

type Scalar = string | number | boolean;
/** What OpenTelemetry takes as an attribute value: a scalar or a homogeneous list of them. */
export type MetadataValue = Scalar | string[] | number[] | boolean[];

/** A request's observability context, from its headers. */
export interface Observability {
  /** Names the turn's span (stable, low-cardinality names: backends group by them). */
  spanName?: string;
  tags: string[];
  metadata: Record<string, MetadataValue>;
}

const store = new AsyncLocalStorage<Observability>();

/** The observability context of the request being served, if it sent any. */
export const currentObservability = (): Observability | undefined => store.getStore();

/** Runs `fn` (and everything it starts) with this observability context. */
export const withObservability = <T>(observability: Observability, fn: () => T): T =>
  store.run(observability, fn);

/**
 * Validates the headers as the reference does: the span name non-empty, at most 128 characters of
 * `[A-Za-z0-9._:/-]`; tags comma-separated (blanks dropped); metadata a JSON object whose keys are
 * non-empty and whose values are scalars or homogeneous lists of scalars (OpenTelemetry attribute
 * values). `undefined` when none is sent; a 400 naming the header when one is invalid.
 */
export function parseObservabilityHeaders(
  get: (name: string) => string | undefined,
): Observability | undefined {
  const spanName = get(SPAN_NAME_HEADER);
  const tags = get(TAGS_HEADER);
  const metadata = get(METADATA_HEADER);
  if (!spanName && !tags && !metadata) return undefined;
  return {
    ...(spanName ? { spanName: checkSpanName(spanName) } : {}),
    tags: tags
      ? tags
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean)
      : [],
    metadata: metadata ? checkMetadata(metadata) : {},
  };
}

function checkSpanName(name: string): string {
  if (name.length > SPAN_NAME_MAX_LENGTH)
    throw invalidHeader(
      SPAN_NAME_HEADER,
      `must be at most ${SPAN_NAME_MAX_LENGTH} characters (it has ${name.length})`,
    );
  if (!SPAN_NAME_PATTERN.test(name))
    throw invalidHeader(
      SPAN_NAME_HEADER,
      'may only contain letters, digits, dots, underscores, colons, slashes and hyphens',
    );
  return name;
}

function checkMetadata(text: string): Record<string, MetadataValue> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidHeader(METADATA_HEADER, 'must be a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw invalidHeader(METADATA_HEADER, 'must be a JSON object');
  for (const [key, value] of Object.entries(parsed)) {
    if (!key) throw invalidHeader(METADATA_HEADER, 'keys must be non-empty strings');
    if (!isAttributeValue(value))
      throw invalidHeader(
        METADATA_HEADER,
        `value of '${key}' must be a string, number or boolean, or a list of one of these kinds ` +
          '(integers and fractions not mixed)',
      );
  }
  return parsed as Record<string, MetadataValue>;
}

function isAttributeValue(value: unknown): boolean {
  if (['string', 'boolean'].includes(typeof value)) return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (!Array.isArray(value)) return false;
  const kinds = new Set(
    value.map((v) =>
      typeof v === 'number' && Number.isFinite(v)
        ? Number.isInteger(v)
          ? 'integer'
          : 'fraction'
        : typeof v === 'string' || typeof v === 'boolean'
          ? typeof v
          : 'other',
    ),
  );
  return kinds.size <= 1 && !kinds.has('other');
}

const invalidHeader = (header: string, problem: string) =>
  new AppError('invalid', 'request.invalid_observability_header', `${header} ${problem}.`, {
    param: header,
  });
