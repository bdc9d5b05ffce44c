import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface Rule {
  names: string[];
  action: string;
  args?: { index: number; value: number; op: string }[] | null;
  errnoRet?: number;
  comment?: string;
  includes?: { arches?: string[]; caps?: string[]; minKernel?: string };
  excludes?: { arches?: string[]; caps?: string[] };
}
interface Profile {
  defaultAction: string;
  defaultErrnoRet: number;
  archMap: { architecture: string; subArchitectures: string[] | null }[];
  syscalls: Rule[];
}

const profile = JSON.parse(read('deploy/seccomp.json')) as Profile;
const upstream = JSON.parse(read('deploy/seccomp/moby-default.json')) as Profile;

/** The capabilities Docker gives a container by default (moby's oci/caps/defaults.go). */
const DOCKER_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/**
 * What a profile does to each call in a container, resolved as Docker and podman resolve it when
 * they load it: a rule counts when its `includes` hold (the arch, all its caps, the kernel) and
 * its `excludes` do not. Per call: `allow` (unconditionally), `args` (only with some arguments),
 * `errno N`, or nothing (the default action: EPERM).
 */
function effective(p: Profile, arch: string, caps: string[], kernel = '6.1') {
  const newer = (a: string, b: string) => {
    const [x, y] = [a, b].map((v) => v.split('.').map(Number));
    return x[0] !== y[0] ? x[0] > y[0] : x[1] >= y[1];
  };
  const verdicts = new Map<string, string>();
  for (const rule of p.syscalls) {
    const inc = rule.includes ?? {};
    const exc = rule.excludes ?? {};
    if (inc.arches && !inc.arches.includes(arch)) continue;
    if (inc.caps && !inc.caps.every((c) => caps.includes(c))) continue;
    if (inc.minKernel && !newer(kernel, inc.minKernel)) continue;
    if (exc.arches?.includes(arch) || exc.caps?.some((c) => caps.includes(c))) continue;
    const verdict =
      rule.action === 'SCMP_ACT_ERRNO'
        ? `errno ${rule.errnoRet ?? p.defaultErrnoRet}`
        : rule.args?.length
          ? 'args'
          : 'allow';
    for (const name of rule.names) {
      if (verdicts.get(name) !== 'allow') verdicts.set(name, verdict);
    }
  }
  return verdicts;
}

const ADDED = ['clone', 'mount', 'pivot_root', 'setns', 'umount2', 'unshare'];

describe('deploy/seccomp.json', () => {
  it('is what scripts/make-seccomp-profile.mjs makes from the vendored Moby profile', () => {
    const check = spawnSync(process.execPath, ['scripts/make-seccomp-profile.mjs', '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
    // the vendored copy is upstream's file as it was (the script names the commit and its digest)
    const script = read('scripts/make-seccomp-profile.mjs');
    const digest = createHash('sha256').update(read('deploy/seccomp/moby-default.json'));
    expect(script).toContain(`'${digest.digest('hex')}'`);
    expect(script).toMatch(/UPSTREAM_COMMIT = '[0-9a-f]{40}'/);
    expect(read('deploy/seccomp/LICENSE')).toMatch(/Apache License\s+Version 2\.0/);
  });

  it("is Docker's default profile with one rule appended, which says where it comes from", () => {
    expect({ ...profile, syscalls: profile.syscalls.slice(0, -1) }).toEqual(upstream);
    expect(profile.syscalls.at(-1)).toEqual({
      names: ADDED,
      action: 'SCMP_ACT_ALLOW',
      comment: expect.stringMatching(/^agent-gateway: added to the Moby default profile/),
    });
  });

  it('parses as a seccomp profile: deny by default (EPERM), known actions and arches', () => {
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(profile.defaultErrnoRet).toBe(1);
    const arches = profile.archMap.map((a) => a.architecture);
    expect(arches).toEqual(expect.arrayContaining(['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64']));
    for (const arch of arches) expect(arch).toMatch(/^SCMP_ARCH_[A-Z0-9_]+$/);
    for (const rule of profile.syscalls) {
      expect(rule.names.length).toBeGreaterThan(0);
      for (const name of rule.names) expect(name).toMatch(/^_?[a-z][a-z0-9_]*$/);
      expect(['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO']).toContain(rule.action);
      for (const arg of rule.args ?? []) expect(arg.op).toMatch(/^SCMP_CMP_[A-Z_]+$/);
    }
  });

  describe.each(['amd64', 'arm64'])(
    'in a container with Docker’s default capabilities (%s)',
    (arch) => {
      const ours = effective(profile, arch, DOCKER_CAPS);
      const theirs = effective(upstream, arch, DOCKER_CAPS);

      it('allows exactly the namespace calls more than Docker’s default does', () => {
        const changed = [...new Set([...ours.keys(), ...theirs.keys()])].filter(
          (name) => ours.get(name) !== theirs.get(name),
        );
        expect(changed.sort()).toEqual(ADDED);
        for (const name of ADDED)
          expect({ name, ours: ours.get(name) }).toEqual({ name, ours: 'allow' });
        // upstream: clone only without namespace flags, the others not at all
        expect(theirs.get('clone')).toBe('args');
        for (const name of ADDED.filter((n) => n !== 'clone'))
          expect(theirs.get(name)).toBeUndefined();
        // clone3 still says ENOSYS, so libc and bwrap use clone, whose flags a filter can see
        expect(ours.get('clone3')).toBe('errno 38');
      });

      it('keeps the kernel-wide calls denied', () => {
        for (const name of [
          'bpf',
          'init_module',
          'finit_module',
          'delete_module',
          'kexec_load',
          'kexec_file_load',
          'open_by_handle_at',
          'perf_event_open',
          'reboot',
          'swapon',
          'sethostname',
          'setdomainname',
          'acct',
          'settimeofday',
          'clock_settime',
          'fsopen',
          'fsmount',
          'move_mount',
          'open_tree',
          'mount_setattr',
          'keyctl',
          'add_key',
          'request_key',
          'quotactl',
          'syslog',
          'umount',
        ])
          expect({ name, verdict: ours.get(name) }).toEqual({ name, verdict: undefined });
      });
    },
  );

  it("shows why SYS_ADMIN alone would not do: Docker's default never allows pivot_root", () => {
    const withSysAdmin = effective(upstream, 'amd64', [...DOCKER_CAPS, 'CAP_SYS_ADMIN']);
    expect(withSysAdmin.get('unshare')).toBe('allow');
    expect(withSysAdmin.get('pivot_root')).toBeUndefined();
  });
});
