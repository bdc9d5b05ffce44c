import { SandboxClient, type SandboxTransport } from './sandbox-client';

/** A transport whose "program" answers `hello`; the test writes any other line itself. */
class ScriptedTransport implements SandboxTransport {
  private readonly listeners: ((line: string) => void)[] = [];

  send(line: string): void {
    const message = JSON.parse(line) as { id: number; method: string };
    if (message.method !== 'hello') return;
    const result = { protocol: 1, pid: 1, workspace: '/workspace' };
    queueMicrotask(() => this.emit(JSON.stringify({ jsonrpc: '2.0', id: message.id, result })));
  }
  onLine(listener: (line: string) => void): void {
    this.listeners.push(listener);
  }
  onClose(): void {}
  async close(): Promise<void> {}

  emit(line: string): void {
    for (const listener of this.listeners) listener(line);
  }
}

describe(SandboxClient.name, () => {
  it('ignores lines that are JSON but no answer (null threw out of the stream listener)', async () => {
    const transport = new ScriptedTransport();
    const client = await SandboxClient.start(
      transport,
      { workspace: '/workspace' },
      { heartbeatMs: 0 },
    );
    const ping = client.request('ping'); // id 2
    for (const line of ['null', '1', '"x"', 'true', '[]', '[{"id":2}]', '{"id":"2","result":1}']) {
      expect(() => transport.emit(line)).not.toThrow();
    }
    transport.emit('{"jsonrpc":"2.0","id":2,"result":{}}');
    await expect(ping).resolves.toEqual({});
    expect(client.alive).toBe(true);
  });
});
