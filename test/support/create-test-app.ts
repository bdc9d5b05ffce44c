import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import OpenAI from 'openai';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/configure-app';
import { reloadEnv } from '../../src/config/load-env';
import { useEmbeddedTemplate } from '../../src/database/database-options';
import { cleanUp } from './clean-up';
import { createTestDatabase, type TestDatabase } from './database';
import { TEMPLATE_ENV } from './global-setup';

export const TEST_KEY = 'test-session-key-0123456789';

export interface TestApp {
  app: INestApplication;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Persistence and workspace root of this app, removed on close. */
  dir: string;
  env: Record<string, string>;
  /** The official OpenAI client, pointed at `/v1` with the session key. */
  openai: OpenAI;
  /** fetch against the app with the session key header (unless `key: null`). */
  request(
    path: string,
    init?: RequestInit & { key?: string | null; json?: unknown },
  ): Promise<Response>;
  /** Stores profile `name` with these LLM settings; throws unless the answer is 201. */
  saveProfile(name: string, llm: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

/**
 * Boots the whole application exactly as main.ts does (configureApp), on a random loopback port,
 * with its own database and directories. `env` overrides the defaults below.
 */
export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-test-'));
  chmodSync(dir, 0o711); // run as root, sandboxes run as another user, who must get through it
  const database: TestDatabase = await createTestDatabase();
  const merged: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    OH_SESSION_API_KEYS_0: TEST_KEY,
    OH_SECRET_KEY: 'test-secret-key-for-profiles-0123',
    OH_PERSISTENCE_DIR: join(dir, 'data'),
    OH_WORKSPACE_PATH: join(dir, 'workspace'),
    ...database.env,
    ...env,
  };
  for (const name of Object.keys(process.env)) {
    if (/^(OH_|SESSION_API_KEY$|PGLITE_DATA_DIR$|DATABASE_URL$)/.test(name))
      delete process.env[name];
  }
  Object.assign(process.env, merged);
  for (const [name, value] of Object.entries(merged)) if (value === '') delete process.env[name];
  reloadEnv();
  useEmbeddedTemplate(embeddedTemplate());

  let app: NestExpressApplication | undefined;
  try {
    app = await NestFactory.create<NestExpressApplication>(AppModule, {
      bodyParser: false,
      bufferLogs: true,
      abortOnError: false,
    });
    await configureApp(app);
    await app.listen(0, '127.0.0.1');
  } catch (err) {
    // A half-started app (or a database left behind) would keep jest from ever exiting. When
    // NestFactory.create itself failed there is no app to close: dropping the database WITH
    // (FORCE) ends the connections its pool had opened.
    await cleanUp(
      () => app?.getHttpServer().closeAllConnections(),
      () => app?.close(),
      () => database.drop(),
      () => rmSync(dir, { recursive: true, force: true }),
    ).catch(() => undefined); // the start-up error is the one worth reporting
    throw err;
  }
  const started = app;
  const address = started.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  // With no key configured (open access) any value will do; the OpenAI client insists on one.
  const key = merged.OH_SESSION_API_KEYS_0 || 'none';

  const request: TestApp['request'] = (path, init = {}) => {
    const { key: override, json, ...rest } = init;
    const headers = new Headers(rest.headers);
    const sent = override === undefined ? key : override;
    if (sent !== null) headers.set('X-Session-API-Key', sent);
    if (json !== undefined) headers.set('Content-Type', 'application/json');
    return fetch(`${url}${path}`, {
      ...rest,
      headers,
      body: json !== undefined ? JSON.stringify(json) : rest.body,
    });
  };

  return {
    app: started,
    url,
    dir,
    env: merged,
    openai: new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0, timeout: 60_000 }),
    request,
    async saveProfile(name, llm) {
      const res = await request(`/api/profiles/${name}`, { method: 'POST', json: { llm } });
      if (res.status !== 201)
        throw new Error(`saving profile ${name}: ${res.status} ${await res.text()}`);
    },
    close: async () => {
      // A response body a test did not read keeps its keep-alive socket busy, and the server
      // would wait for it (seconds) before closing; the test is over, so cut them all.
      const server: Server = started.getHttpServer();
      await cleanUp(
        () => server.closeAllConnections(),
        () => started.close(),
        () => database.drop(),
        () => rmSync(dir, { recursive: true, force: true }),
      );
    },
  };
}

let template: Blob | undefined;

/** The initialised PGlite cluster global-setup.ts dumped, if any (read once per test file). */
function embeddedTemplate(): Blob | undefined {
  const path = process.env[TEMPLATE_ENV];
  if (!template && path) template = new Blob([readFileSync(path)]);
  return template;
}
