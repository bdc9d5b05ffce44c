import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseEnv } from 'node:util';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { EnvSchema } from './env.schema';

/** The validated configuration: the schema's fields plus the collected indexed families. */
export type AppEnv = EnvSchema & {
  /** Every accepted session key, from all sources, in order, without duplicates. */
  readonly sessionKeys: readonly string[];
  /** Exact origins allowed by CORS. */
  readonly corsOrigins: readonly string[];
  /** The environment agent shells start with: the process's own, minus anything secret. */
  readonly shellEnv: Readonly<Record<string, string>>;
};

/** Shortest session key accepted when the service listens beyond loopback. */
export const MIN_REMOTE_KEY_LENGTH = 16;

export class InvalidConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidConfigError';
  }
}

let cached: AppEnv | undefined;

/**
 * Validates the environment once (plus `.env` when present, real variables first) and caches it.
 * Throws one `InvalidConfigError` listing every bad variable. The only reader of `process.env`.
 */
export function loadEnv(): AppEnv {
  cached ??= parseAppEnv(withDotEnv(process.env));
  return cached;
}

/**
 * The compiler and extra flags of the native sandbox program's build (`CC`, `OH_SANDBOX_CFLAGS`,
 * read by `scripts/build-native-sandbox.mjs`), as one string: a build from the sources with other
 * flags (a sanitizer build) is another build. Not service configuration; read as they are now.
 */
export function nativeBuildFlags(): string {
  return `${process.env.CC ?? ''} ${process.env.OH_SANDBOX_CFLAGS ?? ''}`.trim();
}

/** Tests change `process.env` between apps; this makes the next `loadEnv()` read it again. */
export function reloadEnv(): AppEnv {
  cached = undefined;
  return loadEnv();
}

/**
 * `env` over the variables of `file` (the real environment wins). Not under NODE_ENV=test, so a
 * developer's `.env` cannot leak into the test suite.
 */
export function withDotEnv(
  env: Record<string, string | undefined>,
  file = '.env',
): Record<string, string | undefined> {
  if (env.NODE_ENV === 'test' || !existsSync(file)) return { ...env };
  return { ...parseEnv(readFileSync(file, 'utf8')), ...env };
}

export function parseAppEnv(raw: Record<string, string | undefined>): AppEnv {
  const present = Object.fromEntries(
    Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''),
  );
  const schema = plainToInstance(EnvSchema, present, { exposeDefaultValues: true });
  const problems = validateSync(schema, { whitelist: false }).flatMap(describe);

  const sessionKeys = collectSessionKeys(present, problems);
  const corsOrigins = collectIndexed(present, 'OH_ALLOW_CORS_ORIGINS').filter((origin) => {
    if (isOrigin(origin)) return true;
    problems.push(
      `OH_ALLOW_CORS_ORIGINS_*: "${origin}" is not an origin like https://chat.example.com`,
    );
    return false;
  });
  if (problems.length === 0 && sessionKeys.length === 0 && !isLoopback(schema.HOST)) {
    problems.push(
      `HOST: refusing to listen on non-loopback address "${schema.HOST}" without a session key; ` +
        'set OH_SESSION_API_KEYS_0 (or SESSION_API_KEY), or bind to 127.0.0.1',
    );
  }
  const short = sessionKeys.filter((key) => key.length < MIN_REMOTE_KEY_LENGTH).length;
  if (problems.length === 0 && short > 0 && !isLoopback(schema.HOST)) {
    problems.push(
      `session keys: ${short} of ${sessionKeys.length} ${short === 1 ? 'is' : 'are'} shorter than ` +
        `${MIN_REMOTE_KEY_LENGTH} characters, refused when listening beyond loopback ` +
        `(HOST="${schema.HOST}"); generate one with: openssl rand -hex 32`,
    );
  }
  if (problems.length > 0) throw new InvalidConfigError(problems);
  return Object.assign(schema, { sessionKeys, corsOrigins, shellEnv: shellEnvOf(present) });
}

/** The service's own settings and secrets: never passed on, even when listed. */
const SERVICE_OWN = /^(OH_|OTEL_|SESSION_API_KEY$|DATABASE_URL$|PGLITE_|NODE_OPTIONS$)/;

/** Variables agent sandboxes get, besides the names listed in `OH_SANDBOX_ENV`. */
export const SANDBOX_ENV_ALWAYS = ['PATH', 'HOME', 'LANG', 'TERM', 'TZ'] as const;

/**
 * The environment of sandboxes: an allow-list (PATH, HOME, LANG, TERM, TZ and what the operator
 * names in `OH_SANDBOX_ENV`), never the service's settings or credentials.
 */
function shellEnvOf(env: Record<string, string | undefined>): Record<string, string> {
  const names = [
    ...SANDBOX_ENV_ALWAYS,
    ...(env.OH_SANDBOX_ENV ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '' && !SERVICE_OWN.test(name)),
  ];
  return Object.fromEntries(
    names.filter((name) => env[name] !== undefined).map((name) => [name, env[name] as string]),
  );
}

function describe(error: ValidationError): string[] {
  const value = /KEY|SECRET|URL|HEADERS|ENDPOINT/.test(error.property)
    ? '(hidden)'
    : JSON.stringify(error.value);
  const messages = Object.values(error.constraints ?? {});
  return messages.length > 0 ? [`${error.property}=${value}: ${messages.join('; ')}`] : [];
}

/** `NAME_0`, `NAME_1`, … in numeric order. */
function collectIndexed(env: Record<string, string | undefined>, prefix: string): string[] {
  const pattern = new RegExp(`^${prefix}_(\\d+)$`);
  return Object.entries(env)
    .map(([name, value]) => ({ index: pattern.exec(name)?.[1], value }))
    .filter((e): e is { index: string; value: string } => e.index !== undefined && !!e.value)
    .sort((a, b) => Number(a.index) - Number(b.index))
    .map((e) => e.value);
}

function collectSessionKeys(env: Record<string, string | undefined>, problems: string[]): string[] {
  const keys = collectIndexed(env, 'OH_SESSION_API_KEYS');
  if (env.OH_SESSION_API_KEYS) {
    try {
      const list: unknown = JSON.parse(env.OH_SESSION_API_KEYS);
      if (!Array.isArray(list) || !list.every((k) => typeof k === 'string' && k.length > 0)) {
        throw new Error('not a list of strings');
      }
      keys.push(...(list as string[]));
    } catch {
      problems.push(
        'OH_SESSION_API_KEYS: must be a JSON list of non-empty strings, e.g. ["key1","key2"]',
      );
    }
  }
  if (env.SESSION_API_KEY) keys.push(env.SESSION_API_KEY);
  return [...new Set(keys)];
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}
