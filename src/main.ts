import 'reflect-metadata';
import './common/tracing/register-tracing';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureApp } from './configure-app';
import { InvalidConfigError, loadEnv } from './config/load-env';
import { ownerOnlyTree } from './common/owner-only';
import { ToolRegistry } from './agent/tools/tool-registry';
import { formatStartupSummary, startupSummary } from './config/startup-summary';

async function bootstrap(): Promise<void> {
  let env;
  try {
    env = loadEnv();
  } catch (err) {
    if (!(err instanceof InvalidConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
  // Host hygiene: everything the service creates (data directory, embedded database files, the
  // generated key file, workspaces) is owner-only; files left looser by earlier runs are fixed.
  process.umask(0o077);
  ownerOnlyTree(resolve(env.OH_PERSISTENCE_DIR));
  if (env.PGLITE_DATA_DIR && !env.PGLITE_DATA_DIR.startsWith('memory://'))
    ownerOnlyTree(resolve(env.PGLITE_DATA_DIR));
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    bodyParser: false,
    bufferLogs: true,
  });
  await configureApp(app);
  await app.listen(env.PORT, env.HOST);
  const { port } = app.getHttpServer().address() as AddressInfo;
  // The mode the start-up chose (OH_SANDBOX unset: bwrap if the probe passed, else none), and
  // the sandbox program in it (OH_SANDBOX_PROGRAM unset: native when built, else node).
  const tools = app.get(ToolRegistry, { strict: false });
  const summary = startupSummary(
    env,
    port,
    `${tools.sandbox} (${tools.sandboxProgram} sandbox program)`,
  );
  new Logger('Startup').log(summary, formatStartupSummary(summary));
}

void bootstrap();
