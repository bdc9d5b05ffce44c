// Prints which module of src/ imports which (a text graph for docs/architecture.md), and every
// import that reaches into another module's private files (the ESLint boundary rule's view).
//
//   node scripts/module-graph.mjs            the graph
//   node scripts/module-graph.mjs --files    each edge with the files it goes through
//   node scripts/module-graph.mjs --src DIR  another tree (e.g. an older commit's src/)
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const at = process.argv.indexOf('--src');
const src =
  at > 0 ? resolve(process.argv[at + 1]) : fileURLToPath(new URL('../src', import.meta.url));
const BASE = new Set(['common', 'config', 'database']);
const PUBLIC = /\.(service|module|types)$/;
/** The sandbox program is a separate process: the agent shares only its protocol and path rules. */
const SHARED = new Set([join('sandbox', 'protocol'), join('sandbox', 'workspace-paths')]);

const files = [];
(function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) files.push(path);
  }
})(src);

const moduleOf = (path) => {
  const parts = relative(src, path).split(sep);
  return parts.length > 1 ? parts[0] : null; // src/*.ts: the composition root
};
const edges = new Map();
const private_ = [];
for (const file of files) {
  const from = moduleOf(file);
  if (!from) continue;
  for (const [, spec] of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
    const target = resolve(dirname(file), spec);
    const to = moduleOf(target);
    if (!to || to === from) continue;
    const targets = edges.get(`${from} ${to}`) ?? new Set();
    targets.add(relative(src, target));
    edges.set(`${from} ${to}`, targets);
    const inside = relative(join(src, to), target);
    const shared = SHARED.has(relative(src, target));
    if (!BASE.has(to) && !shared && (inside.includes(sep) || !PUBLIC.test(inside)))
      private_.push(`${relative(src, file)} -> ${relative(src, target)}`);
  }
}

const showFiles = process.argv.includes('--files');
const byModule = new Map();
for (const [key, targets] of edges) {
  const [from, to] = key.split(' ');
  if (!byModule.has(from)) byModule.set(from, []);
  byModule.get(from).push({ to, targets: [...targets].sort() });
}
for (const from of [...byModule.keys()].sort()) {
  const deps = byModule.get(from).sort((a, b) => a.to.localeCompare(b.to));
  const features = deps.filter((d) => !BASE.has(d.to));
  const base = deps.filter((d) => BASE.has(d.to)).map((d) => d.to);
  console.log(
    `${from.padEnd(17)}-> ${features.map((d) => d.to).join(', ') || '(none)'}` +
      (base.length ? `   [+ ${base.join(', ')}]` : ''),
  );
  if (showFiles) for (const d of features) console.log(`${' '.repeat(21)}${d.targets.join(', ')}`);
}
console.log(`\nimports into another module's private files: ${private_.length}`);
for (const line of private_) console.log(`  ${line}`);
