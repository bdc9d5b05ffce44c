import { connect, type Socket } from 'node:net';
import { ensureBuilt } from '../support/built-server';
import type { TestDatabase } from '../support/database';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import {
  persistentDatabase,
  removeDir,
  ServerProcess,
  serverEnv,
  TEST_KEY,
  tempDir,
} from '../support/server-process';
import { contentOf, SseReader } from '../support/sse';
import { processes, waitFor } from '../support/wait';

const HEADER = 'x-openhands-serverconversation-id';
const MODEL = 'openhands_p';
const SLEEP = 'sleep 60.6161'; // unique, so pgrep finds only this test's command

/**
 * SIGTERM to a real server process: it stops taking connections and turns at once, lets the
 * running turns finish within OH_SHUTDOWN_GRACE_S (their responses and SSE streams included),
 * cancels what is still running when the grace ends (recorded, lock released, shells killed) and
 * exits 0. A restart on the same database shows what was recorded. Both databases: the embedded
 * one on disk, or a fresh database on the PostgreSQL of DATABASE_URL.
 */
describe('graceful shutdown on SIGTERM', () => {
  let llm: FakeLlmServer;
  const cleanup: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    ensureBuilt(); // CI builds first; locally this may compile dist/ once
    llm = await FakeLlmServer.start();
  }, 180_000);
  beforeEach(() => llm.reset());
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
    for (const pid of processes(SLEEP)) process.kill(Number(pid), 'SIGKILL');
    await llm.close();
  });

  /** A server on its own persistent database; `restart()` starts a new one on the same data. */
  async function start(extra: Record<string, string>) {
    const dir = tempDir();
    const db: TestDatabase = await persistentDatabase(dir);
    const env = serverEnv(dir, db.env, extra);
    const servers: ServerProcess[] = [];
    cleanup.push(async () => {
      for (const s of servers) await s.stop();
      await db.drop();
      removeDir(dir);
    });
    const launch = async () => {
      const server = await ServerProcess.start(env);
      servers.push(server);
      return server;
    };
    const server = await launch();
    const res = await server.request('/api/profiles/p', {
      method: 'POST',
      json: {
        llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-shutdown-0000' },
      },
    });
    expect(res.status).toBe(201);
    return { server, restart: launch };
  }

  it('finishes running turns and streams within the grace, takes no new work, exits 0', async () => {
    const { server, restart } = await start({ OH_SHUTDOWN_GRACE_S: '60' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    llm.setHandler(async (req) => {
      await gate;
      return fakeReply.text(`Answer to ${req.lastUserText}.`, { chunks: 3 });
    });

    // A streamed turn and a buffered one are running when SIGTERM arrives; the buffered one on a
    // kept-alive connection that will carry one more request.
    const streamed = await server.request('/v1/chat/completions', {
      method: 'POST',
      json: { model: MODEL, stream: true, messages: [{ role: 'user', content: 'streamed' }] },
    });
    const sse = new SseReader(streamed);
    const connection = await RawConnection.open(server.url);
    connection.send(chat('buffered'));
    await llm.waitForRequests(2);

    server.kill('SIGTERM');
    // New connections are refused from now on, while the turns are still running.
    await waitFor(
      () =>
        server.request('/alive').then(
          () => false,
          () => true,
        ),
      10_000,
      'connections refused',
    );
    // The next request on the open connection (pipelined: it is read once the running response
    // is complete) must not start a turn.
    connection.send(chat('too late'));
    expect(server.running).toBe(true);

    release();
    await sse.readAll();
    expect(contentOf(sse.data)).toBe('Answer to streamed.');
    expect(sse.lines.at(-1)).toBe('data: [DONE]');
    const [buffered, late, ...more] = await connection.responses();
    expect(more).toEqual([]);
    expect(buffered.status).toBe(200);
    expect(JSON.parse(buffered.body).choices[0].message.content).toBe('Answer to buffered.');
    expect(late.status).toBe(503);
    expect(late.headers.connection).toBe('close'); // and the server closed it
    expect(JSON.parse(late.body).error).toMatchObject({
      type: 'server_error',
      code: 'shutting_down',
    });
    expect(llm.requests.map((r) => r.lastUserText).sort()).toEqual(['buffered', 'streamed']);

    expect(await server.waitForExit()).toEqual({ code: 0, signal: null });

    const again = await restart();
    const ids = [streamed.headers.get(HEADER)!, buffered.headers[HEADER]];
    for (const id of ids) {
      expect((await again.json(`/api/conversations/${id}`)).execution_status).toBe('finished');
    }
    expect(await again.json('/api/conversations/count')).toBe(2); // none for 'too late'
  });

  it('cancels turns still running when the grace ends: recorded, lock free, shell killed, exit 0', async () => {
    const { server, restart } = await start({ OH_SHUTDOWN_GRACE_S: '1' });
    llm.enqueue(fakeReply.toolCall('terminal', { command: SLEEP }));
    const res = await server.request('/v1/chat/completions', {
      method: 'POST',
      json: { model: MODEL, stream: true, messages: [{ role: 'user', content: 'wait a minute' }] },
    });
    const id = res.headers.get(HEADER)!;
    const sse = new SseReader(res);
    await waitFor(() => processes(SLEEP).length > 0, 15_000, 'the tool command running');

    server.kill('SIGTERM');
    await sse.readAll();
    // the client learns the turn was cancelled, and the stream ends properly
    expect(sse.data.at(-1)).toMatchObject({ error: { code: 'turn_cancelled' } });
    expect(sse.lines.at(-1)).toBe('data: [DONE]');
    expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
    await waitFor(() => processes(SLEEP).length === 0, 5_000, 'the shell killed'); // reaped

    const again = await restart();
    expect((await again.json(`/api/conversations/${id}`)).execution_status).toBe('cancelled');
    const log = await again.json<{ items: { kind: string; payload: Record<string, unknown> }[] }>(
      `/api/conversations/${id}/events/search?limit=100`,
    );
    expect(log.items.at(-1)).toMatchObject({
      kind: 'turn_end',
      payload: { reason: 'cancelled', status: 'cancelled' },
    });
    expect(log.items.map((e) => e.kind)).not.toContain('interrupted'); // a clean end, not a crash

    llm.enqueue(fakeReply.text('Here again.'));
    const next = await again.openai.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'still there?' }] },
      { headers: { [HEADER]: id } },
    );
    expect(next.choices[0].message.content).toBe('Here again.');
  });
});

const chat = (content: string) =>
  JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }] });

interface RawResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

/** One HTTP/1.1 keep-alive connection, written to by hand so that what rides on it is certain. */
class RawConnection {
  private data = '';
  private readonly ended: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (this.data += chunk));
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** POST /v1/chat/completions with `body`, keep-alive. */
  send(body: string): void {
    this.socket.write(
      [
        'POST /v1/chat/completions HTTP/1.1',
        'Host: 127.0.0.1',
        `X-Session-API-Key: ${TEST_KEY}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: keep-alive',
        '',
        body,
      ].join('\r\n'),
    );
  }

  /** Every response, once the server has closed the connection. */
  async responses(): Promise<RawResponse[]> {
    await this.ended;
    const out: RawResponse[] = [];
    let rest = this.data;
    while (rest.startsWith('HTTP/1.1 ')) {
      const headEnd = rest.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = rest.slice(0, headEnd).split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => {
          const at = line.indexOf(':');
          return [line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()];
        }),
      );
      const length = Number(headers['content-length']);
      const bodyStart = headEnd + 4;
      const body = Buffer.from(rest.slice(bodyStart)).subarray(0, length).toString();
      out.push({ status: Number(statusLine.split(' ')[1]), headers, body });
      rest = rest.slice(bodyStart + body.length);
    }
    return out;
  }
}
