// Writes deploy/seccomp.json: Docker's default seccomp profile (deploy/seccomp/moby-default.json,
// vendored verbatim, Apache-2.0) plus one rule, so bubblewrap can build its sandbox inside a
// container whose user has no capability. docs/container-sandbox.md explains each call.
//
//   node scripts/make-seccomp-profile.mjs            regenerate deploy/seccomp.json
//   node scripts/make-seccomp-profile.mjs --check    exit 1 when deploy/seccomp.json is stale
//   node scripts/make-seccomp-profile.mjs --default  print the upstream profile alone (the control)
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const upstreamFile = join(root, 'deploy/seccomp/moby-default.json');
const target = join(root, 'deploy/seccomp.json');

// github.com/moby/profiles, tag seccomp/v0.2.3 (the version moby/moby vendors), file
// seccomp/default.json. A new upstream version: replace the file, update both lines, regenerate.
const UPSTREAM_COMMIT = '836ae4d37ef2ec995c77c99fc55f5b5f3af3a897';
const UPSTREAM_SHA256 = '536529b665dd0972c37bfb569f5d4ac8a53592e7b00752bc39ff063ca9864c74';

// Upstream allows these only with CAP_SYS_ADMIN (clone: only without namespace flags). clone3
// keeps upstream's ENOSYS, so libc and bwrap fall back to clone, whose flags a filter can see.
const ADDED = {
  names: ['clone', 'mount', 'pivot_root', 'setns', 'umount2', 'unshare'],
  action: 'SCMP_ACT_ALLOW',
  comment:
    'agent-gateway: added to the Moby default profile (Apache-2.0) for bubblewrap, whose ' +
    'sandbox needs namespaces (clone with namespace flags, unshare, setns) and its own mount tree',
};

const text = readFileSync(upstreamFile, 'utf8');
const digest = createHash('sha256').update(text).digest('hex');
if (digest !== UPSTREAM_SHA256) {
  console.error(
    `${upstreamFile}: sha256 ${digest}, expected ${UPSTREAM_SHA256} (${UPSTREAM_COMMIT})`,
  );
  process.exit(2);
}
const upstream = JSON.parse(text);
const profile = { ...upstream, syscalls: [...upstream.syscalls, ADDED] };
const output = `${JSON.stringify(profile, null, '\t')}\n`;

if (process.argv.includes('--default')) {
  process.stdout.write(text);
} else if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing: stale
  }
  if (current !== output) {
    console.error('deploy/seccomp.json is stale: run node scripts/make-seccomp-profile.mjs');
    process.exit(1);
  }
  console.log('deploy/seccomp.json is current');
} else {
  writeFileSync(target, output);
  console.log(`wrote deploy/seccomp.json (Moby seccomp/v0.2.3 + ${ADDED.names.join(', ')})`);
}
