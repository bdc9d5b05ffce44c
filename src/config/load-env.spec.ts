import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidConfigError, isLoopback, parseAppEnv, withDotEnv } from './load-env';

/** The error `parseAppEnv` throws, for assertions on its list of problems. */
function configError(raw: Record<string, string | undefined>): InvalidConfigError {
  try {
    parseAppEnv(raw);
  } catch (err) {
    if (err instanceof InvalidConfigError) return err;
    throw err;
  }
  throw new Error('expected the configuration to be refused');
}

describe('parseAppEnv', () => {
  it('applies the documented defaults to an empty environment', () => {
    const env = parseAppEnv({});
    expect(env).toMatchObject({
      NODE_ENV: 'development',
      PORT: 8000,
      HOST: '127.0.0.1',
      OH_PERSISTENCE_DIR: './data',
      OH_WORKSPACE_PATH: './workspace',
      OH_MAX_ITERATIONS: 100,
      OH_TURN_TIMEOUT_S: 900,
      OH_MAX_PROFILES: 1000,
      LOG_LEVEL: 'info',
      sessionKeys: [],
      corsOrigins: [],
    });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.PGLITE_DATA_DIR).toBeUndefined();
    expect(env.OH_SECRET_KEY).toBeUndefined();
  });

  it('turns numeric variables into numbers and treats empty values as unset', () => {
    const env = parseAppEnv({
      PORT: '9001',
      OH_TURN_TIMEOUT_S: '2.5',
      OH_MAX_ITERATIONS: '',
      HOST: '',
    });
    expect(env.PORT).toBe(9001);
    expect(env.OH_TURN_TIMEOUT_S).toBe(2.5);
    expect(env.OH_MAX_ITERATIONS).toBe(100);
    expect(env.HOST).toBe('127.0.0.1');
  });

  it('lists every bad variable in one error', () => {
    const error = configError({
      NODE_ENV: 'staging',
      PORT: 'eighty',
      OH_MAX_ITERATIONS: '0',
      OH_TURN_TIMEOUT_S: '-1',
      OH_MAX_PROFILES: '1.5',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://db.example.com/app',
      OH_SECRET_KEY: 'too-short',
      OH_SESSION_API_KEYS: 'not json',
      OH_ALLOW_CORS_ORIGINS_0: 'https://chat.example.com/with/a/path',
    });
    const named = (variable: string) => error.problems.some((p) => p.startsWith(variable));
    for (const variable of [
      'NODE_ENV',
      'PORT',
      'OH_MAX_ITERATIONS',
      'OH_TURN_TIMEOUT_S',
      'OH_MAX_PROFILES',
      'LOG_LEVEL',
      'DATABASE_URL',
      'OH_SECRET_KEY',
      'OH_SESSION_API_KEYS',
      'OH_ALLOW_CORS_ORIGINS_',
    ]) {
      expect({ variable, named: named(variable) }).toEqual({ variable, named: true });
    }
    expect(error.problems).toHaveLength(10); // one line per variable, however many rules it broke
    expect(error.message.split('\n')[0]).toBe('Invalid configuration:');
    for (const problem of error.problems) expect(error.message).toContain(problem);
  });

  it('never repeats a secret value in its error', () => {
    const error = configError({
      OH_SECRET_KEY: 'hunter2-secret',
      DATABASE_URL: 'mysql://admin:db-password-1@db.example.com/app',
      PORT: 'x',
    });
    expect(error.message).not.toContain('hunter2-secret');
    expect(error.message).not.toContain('db-password-1');
    expect(error.message).toContain('OH_SECRET_KEY=(hidden)');
  });

  it('refuses a non-loopback HOST when no session key is configured', () => {
    for (const HOST of ['0.0.0.0', '::', '192.168.1.20', 'gateway.example.com']) {
      const error = configError({ HOST });
      expect(error.problems).toEqual([
        expect.stringMatching(/^HOST: refusing to listen on non-loopback/),
      ]);
      expect(error.message).toContain('OH_SESSION_API_KEYS_0');
    }
  });

  it('allows a non-loopback HOST once any session key is configured', () => {
    const k = 'k'.repeat(16);
    expect(parseAppEnv({ HOST: '0.0.0.0', SESSION_API_KEY: k }).HOST).toBe('0.0.0.0');
    expect(parseAppEnv({ HOST: '0.0.0.0', OH_SESSION_API_KEYS_3: k }).HOST).toBe('0.0.0.0');
    expect(parseAppEnv({ HOST: '0.0.0.0', OH_SESSION_API_KEYS: `["${k}"]` }).HOST).toBe('0.0.0.0');
  });

  it('refuses a session key shorter than 16 characters beyond loopback, without quoting it', () => {
    const error = configError({
      HOST: '0.0.0.0',
      OH_SESSION_API_KEYS_0: 'long-enough-key-0123',
      OH_SESSION_API_KEYS_1: 'short-key-15chr',
    });
    expect(error.problems).toEqual([
      'session keys: 1 of 2 is shorter than 16 characters, refused when listening beyond ' +
        'loopback (HOST="0.0.0.0"); generate one with: openssl rand -hex 32',
    ]);
    expect(error.message).not.toContain('short-key-15chr');
    // on loopback a short key is the developer's business
    expect(parseAppEnv({ HOST: '127.0.0.1', SESSION_API_KEY: 'short' }).sessionKeys).toEqual([
      'short',
    ]);
  });

  it('accepts every loopback spelling without a key', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) {
      expect(isLoopback(host)).toBe(true);
      expect(parseAppEnv({ HOST: host }).sessionKeys).toEqual([]);
    }
    expect(isLoopback('128.0.0.1')).toBe(false);
    expect(isLoopback('localhost.example.com')).toBe(false);
  });

  it('collects the session keys of all sources at once, in order, without duplicates', () => {
    const env = parseAppEnv({
      OH_SESSION_API_KEYS_10: 'indexed-10',
      OH_SESSION_API_KEYS_2: 'indexed-2',
      OH_SESSION_API_KEYS_0: 'indexed-0',
      OH_SESSION_API_KEYS: '["json-a","json-b","indexed-0"]',
      SESSION_API_KEY: 'single',
    });
    expect(env.sessionKeys).toEqual([
      'indexed-0',
      'indexed-2',
      'indexed-10',
      'json-a',
      'json-b',
      'single',
    ]);
  });

  it('refuses a JSON key list that is not a list of non-empty strings', () => {
    for (const value of ['{"k":"v"}', '[1,2]', '[""]', '"k"']) {
      expect(configError({ OH_SESSION_API_KEYS: value }).problems).toEqual([
        expect.stringMatching(/^OH_SESSION_API_KEYS: must be a JSON list/),
      ]);
    }
  });

  it('collects exact CORS origins in index order', () => {
    const env = parseAppEnv({
      OH_ALLOW_CORS_ORIGINS_1: 'http://localhost:3000',
      OH_ALLOW_CORS_ORIGINS_0: 'https://chat.example.com',
    });
    expect(env.corsOrigins).toEqual(['https://chat.example.com', 'http://localhost:3000']);
  });

  it('accepts and ignores the variables clients of the reference server set', () => {
    expect(() =>
      parseAppEnv({
        OH_ENABLE_VNC: 'false',
        OH_ENABLE_VSCODE: 'true',
        OH_PRELOAD_TOOLS: 'false',
        OH_WEBHOOKS: '[]',
      }),
    ).not.toThrow();
  });

  it('keeps the service settings and credentials out of the agent shells', () => {
    const env = parseAppEnv({
      PATH: '/usr/bin',
      HOME: '/home/agent',
      OH_SESSION_API_KEYS_0: 'session',
      SESSION_API_KEY: 'single',
      OH_SECRET_KEY: 'a-long-enough-secret-key',
      DATABASE_URL: 'postgres://u:p@localhost/db',
      OPENAI_API_KEY: 'sk-provider',
      GITHUB_TOKEN: 'ghp_x',
    });
    expect(env.shellEnv).toEqual({ PATH: '/usr/bin', HOME: '/home/agent' });
  });

  it("passes only the allow-list and the names in OH_SANDBOX_ENV, never the service's own", () => {
    const env = parseAppEnv({
      PATH: '/usr/bin',
      LANG: 'C.UTF-8',
      EDITOR: 'vi',
      PGPASSWORD: 'db-password',
      GITHUB_TOKEN: 'ghp_x',
      OH_SECRET_KEY: 'a-long-enough-secret-key',
      OH_SANDBOX_ENV: 'GITHUB_TOKEN, MISSING,OH_SECRET_KEY,DATABASE_URL',
      DATABASE_URL: 'postgres://u:p@localhost/db',
    });
    expect(env.shellEnv).toEqual({ PATH: '/usr/bin', LANG: 'C.UTF-8', GITHUB_TOKEN: 'ghp_x' });
  });
});

describe('withDotEnv', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-dotenv-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads .env when present, and the real environment wins', () => {
    const file = join(dir, '.env');
    writeFileSync(file, '# comment\nPORT=9100\nHOST=localhost\nLOG_LEVEL="debug"\n');
    const env = parseAppEnv(withDotEnv({ PORT: '9200' }, file));
    expect(env.PORT).toBe(9200);
    expect(env.HOST).toBe('localhost');
    expect(env.LOG_LEVEL).toBe('debug');
  });

  it('reports a bad value from .env like any other', () => {
    const file = join(dir, '.env');
    writeFileSync(file, 'OH_MAX_ITERATIONS=lots\n');
    expect(() => parseAppEnv(withDotEnv({}, file))).toThrow(/OH_MAX_ITERATIONS/);
  });

  it('works without a .env file', () => {
    expect(withDotEnv({ PORT: '1' }, join(dir, 'missing.env'))).toEqual({ PORT: '1' });
  });

  it('ignores .env under NODE_ENV=test, so a developer file cannot leak into the tests', () => {
    const file = join(dir, '.env');
    writeFileSync(file, 'DATABASE_URL=postgres://localhost/dev\n');
    expect(withDotEnv({ NODE_ENV: 'test' }, file)).toEqual({ NODE_ENV: 'test' });
  });
});
