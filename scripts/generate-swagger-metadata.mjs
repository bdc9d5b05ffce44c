// Writes src/metadata.ts: the @nestjs/swagger CLI plugin's metadata (DTO properties, descriptions,
// validation limits, route summaries) as a plain module. `nest build` applies the plugin itself;
// jest (@swc/jest) does not, so configureApp loads this file and the tests see the same schemas.
//
//   npm run swagger:metadata                  regenerate src/metadata.ts
//   npm run swagger:metadata -- --check       exit 1 when src/metadata.ts is stale (CI)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PluginMetadataGenerator } from '@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator.js';
import { ReadonlyVisitor } from '@nestjs/swagger/plugin';
import * as prettier from 'prettier';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const target = join(src, 'metadata.ts');
const check = process.argv.includes('--check');

// The plugin options `nest build` uses, so the built app and the tests describe the same API.
const nestCli = JSON.parse(readFileSync(join(root, 'nest-cli.json'), 'utf8'));
const plugin = nestCli.compilerOptions.plugins.find((p) => p.name === '@nestjs/swagger');

// Our own program instead of the CLI's type-checking host: that one exits on any type error,
// including those of a stale metadata.ts. Type errors are the typecheck step's business.
const config = ts.getParsedCommandLineOfConfigFile(
  join(root, 'tsconfig.build.json'),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  },
);
const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });

// Import paths are relative to `pathToSource`, so the file can be printed anywhere first.
const outputDir = mkdtempSync(join(tmpdir(), 'swagger-metadata-'));
try {
  new PluginMetadataGenerator().generate({
    visitors: [new ReadonlyVisitor({ ...plugin.options, pathToSource: src })],
    outputDir,
    tsProgramRef: program,
  });
  var printed = readFileSync(join(outputDir, 'metadata.ts'), 'utf8');
} finally {
  rmSync(outputDir, { recursive: true, force: true });
}

// Nest CLI 11 prints `import("./x")`; under `module: nodenext` TypeScript wants `./x.js`
// (jest maps it back through moduleNameMapper). Prettier makes the diffs reviewable.
const withExtensions = printed.replace(
  /import\("(\.{1,2}\/[^"]+?)(?<!\.js)"\)/g,
  'import("$1.js")',
);
const prettierConfig = (await prettier.resolveConfig(target)) ?? {};
const generated = await prettier.format(withExtensions, {
  ...prettierConfig,
  parser: 'typescript',
});

const current = readFileSync(target, 'utf8');
if (generated === current) {
  console.log('src/metadata.ts is up to date.');
} else if (check) {
  console.error(
    'src/metadata.ts is stale: the DTOs changed. Run `npm run swagger:metadata` and commit it.',
  );
  process.exit(1);
} else {
  writeFileSync(target, generated);
  console.log('src/metadata.ts regenerated.');
}
