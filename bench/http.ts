import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';

/** One keep-alive pool for everything the benchmark sends, gateway and direct alike. */
export const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 2048 });

export interface Timed {
  status: number;
  headers: IncomingHttpHeaders;
  /** ms from sending the request to the end of the response. */
  totalMs: number;
  /** ms to the first SSE chunk carrying non-empty `delta.content` (streams only). */
  firstContentMs: number | null;
  /** Streams: whether `data: [DONE]` arrived; an `error` frame counts as a failure. */
  done: boolean;
  streamError: string | null;
  body: string;
}

export interface Post {
  url: string;
  body: string;
  headers?: Record<string, string>;
  /** Parse the response as server-sent events (first content byte, `[DONE]`, error frames). */
  sse?: boolean;
  /** Keep the body (non-streams); streams keep only what the parser needs. */
  keepBody?: boolean;
  timeoutMs?: number;
}

/** POSTs with node:http (leaner than fetch, the same for every target) and times the answer. */
export function post(p: Post): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const url = new URL(p.url);
    const req = httpRequest(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(p.body),
          ...p.headers,
        },
      },
      (res) => {
        res.setEncoding('utf8');
        let body = '';
        let pending = '';
        let firstContentMs: number | null = null;
        let done = false;
        let streamError: string | null = null;
        res.on('data', (text: string) => {
          if (!p.sse) {
            body += text;
            return;
          }
          pending += text;
          let cut: number;
          while ((cut = pending.indexOf('\n\n')) !== -1) {
            const frame = pending.slice(0, cut);
            pending = pending.slice(cut + 2);
            if (!frame.startsWith('data: ')) continue; // keepalive comments
            const data = frame.slice(6);
            if (data === '[DONE]') {
              done = true;
              continue;
            }
            if (firstContentMs === null && data.includes('"content":"') && hasContent(data))
              firstContentMs = performance.now() - started;
            if (data.startsWith('{"error"')) streamError = data.slice(0, 300);
          }
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            totalMs: performance.now() - started,
            firstContentMs,
            done,
            streamError,
            body: p.keepBody || (res.statusCode ?? 0) >= 400 ? body : '',
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (p.timeoutMs) req.setTimeout(p.timeoutMs, () => req.destroy(new Error('timeout')));
    req.end(p.body);
  });
}

function hasContent(data: string): boolean {
  const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string | null } }[] };
  return Boolean(chunk.choices?.[0]?.delta?.content);
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<unknown> {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}
