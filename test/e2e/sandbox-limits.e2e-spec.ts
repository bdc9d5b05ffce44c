import { cgroupFactory } from '../../src/agent/workspace/sandbox-cgroup';
import type { TestApp } from '../support/create-test-app';
import { closeAgentApp, startAgentApp } from '../support/agent-app';
import { type FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { isCi, needs } from '../support/system-tools';

/**
 * OH_SANDBOX_PIDS and OH_SANDBOX_MEMORY_MB hold inside a real sandbox, through the public API: a
 * model that forks without end or allocates past the limit is stopped by the sandbox's cgroup.
 * The host must let this process make cgroups (root on this machine and in CI): elsewhere the
 * service runs without them (and says so at start), and this suite skips with one line; as root
 * under CI=true a missing cgroup fails it.
 */
const LIMITS = { pids: 24, memoryMb: 64 };
const cgroup = cgroupFactory(LIMITS);
const mandatory = isCi() && process.getuid?.() === 0;
if (!cgroup.factory && !mandatory) {
  console.log(`sandbox limits: skipped, no cgroup for sandboxes here (${cgroup.why})`);
}
const suite = cgroup.factory || mandatory ? needs.bwrap() : describe.skip;

suite('sandbox limits (cgroup): processes and memory', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    if (!cgroup.factory) throw new Error(`no cgroup for sandboxes: ${cgroup.why}`);
    ({ t, llm } = await startAgentApp({
      OH_SANDBOX_PIDS: String(LIMITS.pids),
      OH_SANDBOX_MEMORY_MB: String(LIMITS.memoryMb),
    }));
  });
  afterAll(() => closeAgentApp({ t, llm }));

  /** The output of one terminal command the model runs in a new conversation's sandbox. */
  async function run(command: string): Promise<string> {
    llm.reset();
    llm.enqueue(fakeReply.toolCall('terminal', { command }), fakeReply.text('Done.'));
    await t.openai.chat.completions.create({
      model: 'openhands_agent',
      messages: [{ role: 'user', content: 'go' }],
    });
    return llm.requests[1].toolResults[0].content;
  }

  it(`a fork loop stops at OH_SANDBOX_PIDS (${LIMITS.pids}) processes`, async () => {
    const output = await run(
      `perl -e 'my @kids; for (1..200) { my $p = fork(); if (!defined $p) { print "fork failed after ", scalar(@kids), ": $!\\n"; last } if (!$p) { sleep 60; exit } push @kids, $p } kill "KILL", @kids; print "forked ", scalar(@kids), "\\n"'`,
    );
    const failed = /fork failed after (\d+): Resource temporarily unavailable/.exec(output);
    expect(failed).not.toBeNull();
    expect(Number(failed![1])).toBeLessThan(LIMITS.pids);
  });

  it(`an allocation past OH_SANDBOX_MEMORY_MB (${LIMITS.memoryMb} MiB) is killed`, async () => {
    const output = await run(
      `perl -e '$x = "a" x (256 * 1024 * 1024); print join("-", "made", "it"), "\\n"'; echo "exit=$?"`,
    );
    expect(output).not.toContain('made-it'); // the command line echoed in bash's report has no such text
    expect(output).toContain('exit=137'); // SIGKILL from the cgroup's OOM killer
  });
});
