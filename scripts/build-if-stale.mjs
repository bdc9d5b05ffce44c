// `npm start` runs this first (prestart): builds dist/ only when it is missing or older than what
// it is built from, so a start after a build is immediate instead of a ~10 s recompile.
//   node scripts/build-if-stale.mjs          build when stale
//   node scripts/build-if-stale.mjs --check  only say whether dist/ is current (exit 1 when stale)
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const INPUTS = [
  'src',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'nest-cli.json',
];

const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
};

function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce(
    (max, name) => Math.max(max, newest(join(path, name))),
    0, // files only, as test/support/built-server.ts counts them
  );
}

const built = mtime(join(root, 'dist', 'main.js'));
const source = Math.max(...INPUTS.map((input) => newest(join(root, input))));
const current = built > 0 && built >= source;

if (process.argv.includes('--check')) {
  console.log(current ? 'dist/ is current' : 'dist/ is stale');
  process.exit(current ? 0 : 1);
}
if (current) {
  console.log('dist/ is current; not rebuilding (npm run build forces it)');
  // A C compiler installed since the last build: add the native sandbox program alone.
  if (!existsSync(join(root, 'dist', 'sandbox', 'native', 'oh-sandbox'))) {
    execFileSync(process.execPath, [join(root, 'scripts', 'build-native-sandbox.mjs')], {
      cwd: root,
      stdio: 'inherit',
    });
  }
} else {
  console.log(built ? 'dist/ is older than its sources; building' : 'no dist/ yet; building');
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], {
    cwd: root,
    stdio: 'inherit',
  });
}
