import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { parse } from 'yaml';
import { EnvSchema } from '../../src/config/env.schema';
import { InvalidConfigError, parseAppEnv } from '../../src/config/load-env';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Every variable the configuration schema validates, plus the indexed families load-env collects. */
const SCHEMA_VARIABLES = new Set(
  getMetadataStorage()
    .getTargetValidationMetadatas(EnvSchema, '', true, false)
    .map((m) => m.propertyName),
);
const INDEXED = /^(OH_SESSION_API_KEYS|OH_ALLOW_CORS_ORIGINS)_\d+$/;
const isConfigVariable = (name: string) => SCHEMA_VARIABLES.has(name) || INDEXED.test(name);

/** The variables of API.md section 1 (the contract), indexed families by their `_0`. */
const CONTRACT_VARIABLES = [
  'PORT',
  'HOST',
  'OH_SESSION_API_KEYS_0',
  'OH_SESSION_API_KEYS',
  'SESSION_API_KEY',
  'OH_SECRET_KEY',
  'DATABASE_URL',
  'PGLITE_DATA_DIR',
  'OH_PERSISTENCE_DIR',
  'OH_WORKSPACE_PATH',
  'OH_MAX_ITERATIONS',
  'OH_TURN_TIMEOUT_S',
  'OH_ALLOW_CORS_ORIGINS_0',
  'LOG_LEVEL',
  'OH_ENABLE_VNC',
  'OH_ENABLE_VSCODE',
  'OH_PRELOAD_TOOLS',
  'OH_WEBHOOKS',
];

/** Variables of .env.example that only docker-compose.yml reads, not the service. */
const COMPOSE_ONLY = ['POSTGRES_PASSWORD'];

/** What an operator's .env gives compose in these tests. */
const DOT_ENV: Record<string, string> = {
  POSTGRES_PASSWORD: 'pg-password-from-dot-env',
  OH_SECRET_KEY: 'secret-key-from-dot-env-0123456789',
};

/**
 * Compose's interpolation: `${NAME}`, `${NAME:-default}`, and `${NAME:?message}`, which refuses to
 * start (here: throws the message) when NAME is unset or empty.
 */
const interpolate = (value: string, vars: Record<string, string> = DOT_ENV) =>
  value.replace(
    /\$\{(\w+)(?:(:?[-?])([^}]*))?\}/g,
    (_, name: string, op?: string, arg?: string) => {
      if (vars[name]) return vars[name];
      if (op?.endsWith('?')) throw new Error(`${name}: ${arg}`);
      return arg ?? '';
    },
  );

interface ComposeService {
  image?: string;
  security_opt?: string[];
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string | number>;
  env_file?: string | string[] | { path: string }[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string; interval?: string; retries?: number };
  ports?: string[];
  volumes?: string[];
  stop_grace_period?: string;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as ComposeFile;
  const { postgres, gateway } = compose.services;
  const env = Object.fromEntries(
    Object.entries(gateway?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]),
  );
  const namedVolume = (mount: string) => {
    const [source, target] = mount.split(':');
    expect(Object.keys(compose.volumes ?? {})).toContain(source);
    return target;
  };

  it('has exactly the database and the gateway', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['gateway', 'postgres']);
  });

  it('runs PostgreSQL 16 (a pinned tag) with a healthcheck and its data on a named volume', () => {
    expect(postgres.image).toMatch(/^postgres:16\.\d+-bookworm$/);
    expect(JSON.stringify(postgres.healthcheck?.test)).toContain('pg_isready');
    expect(postgres.healthcheck?.retries).toBeGreaterThan(0);
    expect(postgres.volumes?.map(namedVolume)).toContain('/var/lib/postgresql/data');
  });

  it('builds the gateway from the Dockerfile and starts it once postgres is healthy', () => {
    expect(gateway.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    expect(gateway.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect([gateway.env_file].flat()).toContain('.env');
    expect(gateway.ports).toEqual(['127.0.0.1:8000:8000']); // loopback; a proxy serves others
  });

  it('gives running turns their shutdown grace before Docker kills the gateway', () => {
    const seconds = Number(/^(\d+)s$/.exec(gateway.stop_grace_period ?? '')?.[1]);
    const grace = parseAppEnv({
      ...env,
      OH_SESSION_API_KEYS_0: 'k'.repeat(16),
    }).OH_SHUTDOWN_GRACE_S;
    expect(seconds).toBeGreaterThan(grace);
  });

  it('keeps the workspace and the local state on named volumes', () => {
    const mounts = gateway.volumes?.map(namedVolume) ?? [];
    expect(mounts).toContain(env.OH_WORKSPACE_PATH);
    expect(mounts).toContain(env.OH_PERSISTENCE_DIR);
  });

  it('sets only variables the configuration schema knows', () => {
    const unknown = Object.keys(env).filter((name) => !isConfigVariable(name));
    expect(unknown).toEqual([]);
  });

  it('points the gateway at the postgres service with credentials postgres accepts', () => {
    const url = new URL(env.DATABASE_URL);
    const pg = Object.fromEntries(
      Object.entries(postgres.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]),
    );
    expect(url.hostname).toBe('postgres');
    expect(url.username).toBe(pg.POSTGRES_USER);
    expect(url.password).toBe(pg.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${pg.POSTGRES_DB}`);
  });

  it('forms a valid configuration with a session key from .env, and none without', () => {
    const withKey = parseAppEnv({ ...env, OH_SESSION_API_KEYS_0: 'from-dot-env-0123456789' });
    expect(withKey).toMatchObject({ HOST: '0.0.0.0', PORT: 8000 });
    expect(withKey.DATABASE_URL).toMatch(/^postgres:\/\//);
    expect(() => parseAppEnv(env)).toThrow(InvalidConfigError); // 0.0.0.0 needs a key
  });

  it('refuses to start without POSTGRES_PASSWORD or OH_SECRET_KEY, naming how to make one', () => {
    const raw = read('docker-compose.yml');
    for (const name of ['POSTGRES_PASSWORD', 'OH_SECRET_KEY']) {
      const uses = [...raw.matchAll(new RegExp(`\\$\\{${name}(?::[-?][^}]*)?\\}`, 'g'))];
      expect(uses.length).toBeGreaterThan(0);
      for (const [use] of uses) {
        expect(use).toMatch(new RegExp(`^\\$\\{${name}:\\?set ${name} in \\.env \\(openssl rand `));
        expect(() => interpolate(use, {})).toThrow(name);
      }
    }
    expect(env.OH_SECRET_KEY).toBe(DOT_ENV.OH_SECRET_KEY);
  });

  it('lets bubblewrap sandbox the agent with exactly the seccomp profile and unmasked /proc, nothing broader', () => {
    const raw = gateway as ComposeService & Record<string, unknown>;
    expect(raw.security_opt).toEqual(['seccomp=./deploy/seccomp.json', 'systempaths=unconfined']);
    for (const broader of ['privileged', 'cap_add', 'devices', 'pid', 'ipc', 'userns_mode'])
      expect({ broader, set: broader in raw }).toEqual({ broader, set: false });
    expect(postgres.security_opt).toBeUndefined();
    expect(JSON.stringify(compose.services)).not.toMatch(
      /SYS_ADMIN|privileged|seccomp[=:]unconfined|apparmor[=:]unconfined/,
    );
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages[stages.length - 1];

  it('builds in one stage and runs from a slim Node 22 image in another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage).toMatch(/^node:22\.\d+\.\d+-bookworm-slim\b/);
    expect(stages[0]).toMatch(/npm ci\b/);
    expect(stages[0]).toMatch(/npm run build/);
    expect(stages[0]).toMatch(/npm prune --omit=dev/);
    expect(runtime).toMatch(/COPY --from=build .*\/app\/dist/);
  });

  it('builds the native sandbox program with a C compiler only the build stage has', () => {
    expect(stages[0]).toMatch(/apt-get install[^\n]*\bgcc\b[^\n]*\blibc6-dev\b/);
    expect(stages[0]).toMatch(/COPY scripts\/build-native-sandbox\.mjs/);
    expect(stages[0]).toMatch(/test -x dist\/sandbox\/native\/oh-sandbox/);
    expect(runtime).not.toMatch(/\b(gcc|clang|libc6-dev|build-essential)\b/);
  });

  it('runs as the unprivileged node user with the tools the agent needs', () => {
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).not.toMatch(/^USER root$/m);
    for (const tool of ['bash', 'git', 'ca-certificates', 'curl', 'procps', 'tini']) {
      expect({ tool, installed: new RegExp(`\\b${tool}\\b`).test(runtime) }).toEqual({
        tool,
        installed: true,
      });
    }
  });

  it('listens on 8000, checks /ready and starts dist/main.js', () => {
    expect(runtime).toMatch(/^EXPOSE 8000$/m);
    expect(runtime).toMatch(/HEALTHCHECK[\s\S]*\/ready/);
    expect(runtime).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    for (const name of [...runtime.matchAll(/^\s+(\w+)=\S+(?: \\)?$/gm)].map((m) => m[1])) {
      expect({ name, known: isConfigVariable(name) }).toEqual({ name, known: true });
    }
  });

  it('keeps secrets and local state out of the build context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.env', 'node_modules', 'data', 'workspace', 'dist', '.git']) {
      expect(ignored).toContain(entry);
    }
  });
});

describe('.env.example', () => {
  const lines = read('.env.example').split('\n');
  const entries = lines.flatMap((line, i) => {
    const m = /^# ?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    return m ? [{ name: m[1], value: m[2], comment: lines[i - 1] ?? '' }] : [];
  });
  const names = entries.map((e) => e.name);

  it('lists every variable of the contract and every variable the schema reads', () => {
    for (const name of [...CONTRACT_VARIABLES, ...SCHEMA_VARIABLES]) {
      expect({ name, listed: names.includes(name) }).toEqual({ name, listed: true });
    }
  });

  it('lists nothing the configuration does not know, each once, each with a comment', () => {
    expect(names.filter((n) => !isConfigVariable(n) && !COMPOSE_ONLY.includes(n))).toEqual([]);
    expect(new Set(names).size).toBe(names.length);
    for (const { name, comment } of entries) {
      expect({
        name,
        comment: /^# [A-Z(a-z]/.test(comment) && !/^# ?[A-Z0-9_]+=/.test(comment),
      }).toEqual({
        name,
        comment: true,
      });
    }
  });

  it('shows the real defaults: uncommented as written, it is the default configuration', () => {
    const written = Object.fromEntries(entries.map((e) => [e.name, e.value]));
    const { shellEnv: _fromFile, ...fromFile } = parseAppEnv(written);
    const { shellEnv: _defaults, ...defaults } = parseAppEnv({ PGLITE_DATA_DIR: './data/pglite' });
    expect(fromFile).toEqual(defaults);
    // PGLITE_DATA_DIR's default is derived from OH_PERSISTENCE_DIR; the file spells it out.
    expect(written.PGLITE_DATA_DIR).toBe(`${written.OH_PERSISTENCE_DIR}/pglite`);
  });
});

describe('README.md', () => {
  const readme = read('README.md');
  const table = /## Configuration\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';

  it('documents every configuration variable in its table', () => {
    expect(table).toContain('| Variable | Default | Meaning |');
    for (const name of [...CONTRACT_VARIABLES, ...SCHEMA_VARIABLES]) {
      expect({ name, documented: table.includes(`\`${name}\``) }).toEqual({
        name,
        documented: true,
      });
    }
  });
});
