import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const SRC = join(__dirname, '..');
const ROOT = join(SRC, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(entry.name) && !/\.(int-|e2e-)?spec\.ts$/.test(entry.name) ? [path] : [];
  });
}

const isProcess = (node: ts.Node) => ts.isIdentifier(node) && node.text === 'process';

/** Every way of reaching the environment through `process` (comments and strings do not count). */
function readsProcessEnv(file: string): string[] {
  const source = ts.createSourceFile(
    file,
    readFileSync(file, 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
  const found: string[] = [];
  const report = (node: ts.Node) =>
    found.push(
      `${relative(ROOT, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`,
    );
  const visit = (node: ts.Node): void => {
    if (
      ts.isPropertyAccessExpression(node) &&
      isProcess(node.expression) &&
      node.name.text === 'env'
    )
      report(node);
    if (
      ts.isElementAccessExpression(node) &&
      isProcess(node.expression) &&
      !(ts.isStringLiteral(node.argumentExpression) && node.argumentExpression.text !== 'env')
    )
      report(node);
    if (ts.isVariableDeclaration(node) && node.initializer && isProcess(node.initializer))
      report(node); // const { env } = process
    if (
      ts.isImportDeclaration(node) &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      /^(node:)?process$/.test(node.moduleSpecifier.text)
    )
      report(node); // import { env } from 'node:process'
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('configuration boundary', () => {
  it('reads process.env nowhere but src/config/load-env.ts', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(20); // the walk really saw the source tree
    const readers = files.flatMap(readsProcessEnv);
    // src/sandbox/main.ts is another program (the sandbox's), whose environment is the allow-list.
    const service = readers.filter((r) => !r.startsWith('src/sandbox/main.ts:'));
    expect(service.filter((r) => !r.startsWith('src/config/load-env.ts:'))).toEqual([]);
    expect(readers.length).toBeGreaterThan(0); // and load-env.ts itself is found, so the check works
  });
});
