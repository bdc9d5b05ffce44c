import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A lean scripted LLM for the benchmark, speaking OpenAI Chat Completions (streamed or not). Unlike
 * `test/support/fake-llm-server.ts` it records nothing per request and digests nothing, so its own
 * cost stays small and equal for the gateway's calls and the direct ones. What it answers depends
 * on the requested model:
 *
 * - `bench-fast`: at once, the answer in three chunks;
 * - `bench-slow`: the answer in five chunks, one a second (a 5 s LLM).
 */
export const FAST_MODEL = 'bench-fast';
export const SLOW_MODEL = 'bench-slow';

const ANSWER = ['Hello', ' from the', ' benchmark.'];
const SLOW_ANSWER = ['One', ' two', ' three', ' four', ' five.'];
const USAGE = { prompt_tokens: 120, completion_tokens: 6, total_tokens: 126 };

export class BenchLlm {
  /** Requests answered, gateway and direct together. */
  requests = 0;
  private captureNext = false;
  private captured: Promise<string> | null = null;
  private resolveCapture: ((body: string) => void) | null = null;

  private constructor(
    private readonly server: Server,
    /** Base URL, `http://127.0.0.1:<port>/v1`. */
    readonly url: string,
  ) {}

  static async start(): Promise<BenchLlm> {
    const server = createServer();
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const llm = new BenchLlm(server, `http://127.0.0.1:${port}/v1`);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => llm.handle(req, res));
    return llm;
  }

  /** The raw body of the next request that arrives (to replay it directly, or count its tokens). */
  capture(): Promise<string> {
    this.captureNext = true;
    this.captured = new Promise((resolve) => (this.resolveCapture = resolve));
    return this.captured;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      this.requests++;
      const raw = Buffer.concat(parts).toString('utf8');
      if (this.captureNext) {
        this.captureNext = false;
        this.resolveCapture?.(raw);
      }
      let body: { model?: string; stream?: boolean };
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"invalid JSON","type":"invalid_request_error"}}');
        return;
      }
      const slow = body.model === SLOW_MODEL;
      const model = body.model ?? FAST_MODEL;
      if (body.stream) this.stream(res, model, slow);
      else this.complete(res, model, slow);
    });
  }

  private complete(res: ServerResponse, model: string, slow: boolean): void {
    const send = () => {
      const body = JSON.stringify({
        id: 'chatcmpl-bench',
        object: 'chat.completion',
        created: 1,
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: (slow ? SLOW_ANSWER : ANSWER).join('') },
            finish_reason: 'stop',
            logprobs: null,
          },
        ],
        usage: USAGE,
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    };
    if (slow) setTimeout(send, 5_000);
    else send();
  }

  private stream(res: ServerResponse, model: string, slow: boolean): void {
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":${JSON.stringify(model)},"choices":[{"index":0,"delta":${JSON.stringify(delta)},"finish_reason":${JSON.stringify(finish)}}]}\n\n`;
    const tail =
      chunk({}, 'stop') +
      `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":${JSON.stringify(model)},"choices":[],"usage":${JSON.stringify(USAGE)}}\n\n` +
      'data: [DONE]\n\n';
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
    });
    res.socket?.setNoDelay(true);
    if (!slow) {
      res.end(
        chunk({ role: 'assistant', content: '' }, null) +
          ANSWER.map((text) => chunk({ content: text }, null)).join('') +
          tail,
      );
      return;
    }
    res.write(chunk({ role: 'assistant', content: '' }, null));
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed) {
        clearInterval(timer);
        return;
      }
      res.write(chunk({ content: SLOW_ANSWER[sent] }, null));
      sent++;
      if (sent === SLOW_ANSWER.length) {
        clearInterval(timer);
        res.end(tail);
      }
    }, 1_000);
    res.on('close', () => clearInterval(timer));
  }
}
