// Writes openapi.json, the committed OpenAPI document, from the built app (dist/), exactly as
// GET /openapi.json serves it. The app boots on a throwaway in-memory database and never listens.
//
//   npm run openapi                                   build, then write openapi.json
//   node scripts/write-openapi.mjs --check            exit 1 when openapi.json differs from dist (CI)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = join(root, 'openapi.json');
const check = process.argv.includes('--check');
const require = createRequire(import.meta.url);

// Hermetic: NODE_ENV=test ignores any .env, and nothing here touches the developer's data.
const scratch = mkdtempSync(join(tmpdir(), 'openapi-'));
const forced = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  HOST: '127.0.0.1',
  PGLITE_DATA_DIR: 'memory://',
  OH_PERSISTENCE_DIR: join(scratch, 'data'),
  OH_WORKSPACE_PATH: join(scratch, 'workspace'),
};
for (const name of Object.keys(process.env)) {
  if (/^(OH_|SESSION_API_KEY$|DATABASE_URL$|PGLITE_)/.test(name)) delete process.env[name];
}
Object.assign(process.env, forced);

let document;
try {
  const { NestFactory } = require('@nestjs/core');
  const { AppModule } = require(join(root, 'dist/app.module.js'));
  const { configureApp, openApiDocument } = require(join(root, 'dist/configure-app.js'));
  const app = await NestFactory.create(AppModule, { bodyParser: false, logger: false });
  try {
    await configureApp(app);
    document = `${JSON.stringify(openApiDocument(app), null, 2)}\n`;
  } finally {
    await app.close();
  }
} catch (err) {
  if (err?.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/')) {
    console.error('dist/ is missing: run `npm run build` first (or `npm run openapi`).');
    process.exit(1);
  }
  throw err;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

let current = '';
try {
  current = readFileSync(target, 'utf8');
} catch {
  // first run
}
if (document === current) {
  console.log('openapi.json is up to date.');
} else if (check) {
  console.error(
    'openapi.json differs from the API the code serves: run `npm run openapi` and commit it.',
  );
  process.exit(1);
} else {
  writeFileSync(target, document);
  console.log('openapi.json written.');
}
