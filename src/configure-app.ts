import type { INestApplication } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { BEARER_SCHEME, SESSION_KEY_SCHEME } from './common/auth/api-key-auth.decorator';
import { expressErrorHandler, HttpErrorFilter } from './common/errors/http-error.filter';
import { polishDocument } from './common/http/openapi-document';
import { applyPluginResponses } from './common/http/openapi-responses';
import { jsonBudgetVerifier } from './common/http/json-budget';
import { loopbackHostOnly } from './common/http/loopback-host';
import { requestId } from './common/http/request-id.middleware';
import { validationPipe } from './common/http/validation';
import { appConfig } from './config/app.config';
import { authConfig } from './config/auth.config';
import { limitsConfig } from './config/limits.config';
import metadata from './metadata';

/** Headers browsers may read from our responses (the OpenAI SDKs read the retry ones too). */
export const EXPOSED_HEADERS = [
  'X-OpenHands-ServerConversation-ID',
  'X-Request-ID',
  'Retry-After',
  'X-Should-Retry',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
];

/** The version of package.json (the same file from src/ and from dist/). */
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
).version;

/** Everything between `NestFactory.create` and `listen`, shared by main.ts and the tests. */
export async function configureApp(app: INestApplication): Promise<INestApplication> {
  const config = app.get<ConfigType<typeof appConfig>>(appConfig.KEY);
  const limits = app.get<ConfigType<typeof limitsConfig>>(limitsConfig.KEY);
  app.useLogger(app.get(Logger));
  app.flushLogs();

  if (config.trustProxy !== false) {
    // req.ip, req.protocol and req.host then follow X-Forwarded-For / -Proto / -Host of those proxies
    (app.getHttpAdapter().getInstance() as express.Express).set('trust proxy', config.trustProxy);
  }
  app.use(requestId);
  if (app.get<ConfigType<typeof authConfig>>(authConfig.KEY).sessionKeys.length === 0) {
    app.use(loopbackHostOnly); // open access: DNS rebinding must not reach the agent
  }
  app.use(helmet({ contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': null } } }));
  if (config.corsOrigins.length > 0) {
    const allowed = new Set(config.corsOrigins);
    app.use(varyOnOrigin);
    app.enableCors({
      // A foreign origin gets no CORS header at all (an array would still answer its preflights).
      origin: (origin: string | undefined, done: (err: null, allow: string | false) => void) =>
        done(null, origin !== undefined && allowed.has(origin) && origin),
      // allowedHeaders unset: a preflight's requested headers are reflected, so every header the
      // OpenAI SDKs send (authorization, x-stainless-*, new ones in later versions) passes.
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    });
  }
  app.use(
    express.json({ limit: limits.maxBodyBytes, verify: jsonBudgetVerifier(limits.jsonBudget) }),
  );
  app.use(expressErrorHandler);

  app.useGlobalFilters(new HttpErrorFilter());
  app.useGlobalPipes(validationPipe({ maxMessages: limits.maxMessages }));
  // SIGTERM/SIGINT: graceful shutdown (AgentLifecycle), then exit 0, not the signal re-raised
  app.enableShutdownHooks([], { useProcessExit: true });

  await SwaggerModule.loadPluginMetadata(metadata);
  await applyPluginResponses(metadata);
  const patchServers = <TRequest>(req: TRequest, _res: unknown, document: OpenAPIObject) =>
    withServerOf(req as Request, document, config.trustProxy !== false);
  SwaggerModule.setup('docs', app, () => openApiDocument(app), {
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
    customSiteTitle: 'agent-gateway API',
    // behind a trusted proxy under a path prefix, "Try it out" must call the prefixed URLs (the
    // JSON/YAML routes read the hook from swaggerOptions, the UI from the top level)
    patchDocumentOnRequest: patchServers,
    // The session key stays in the page's memory, never in the browser's localStorage.
    swaggerOptions: {
      persistAuthorization: false,
      displayRequestDuration: true,
      patchDocumentOnRequest: patchServers,
    },
  });
  return app;
}

export function openApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('agent-gateway')
    .setDescription(
      'A coding agent behind an OpenAI-compatible API. Store an LLM profile, see it in `GET /v1/models` ' +
        'as `openhands_<profile>`, and every `POST /v1/chat/completions` runs a real agent turn in a ' +
        'per-conversation workspace. Authorize with a session key, as `X-Session-API-Key` or as a Bearer token.',
    )
    .setVersion(PACKAGE_VERSION)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Session-API-Key' }, SESSION_KEY_SCHEME)
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'session key',
        description: 'The session key',
      },
      BEARER_SCHEME,
    )
    .build();
  return polishDocument(SwaggerModule.createDocument(app, config));
}

/** The document with `servers` set to where the client reached it, through a trusted proxy. */
function withServerOf(req: Request, document: OpenAPIObject, trusted: boolean): OpenAPIObject {
  const raw = req.headers['x-forwarded-prefix'];
  const prefix = (Array.isArray(raw) ? raw[0] : raw)?.trim().replace(/\/+$/, '');
  if (!trusted || !prefix || !/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(prefix)) return document;
  return { ...document, servers: [{ url: `${req.protocol}://${req.get('host')}${prefix}` }] };
}

/** With an allow-list the answer depends on the Origin header: shared caches must key on it. */
function varyOnOrigin(_req: Request, res: Response, next: NextFunction): void {
  res.vary('Origin');
  next();
}
