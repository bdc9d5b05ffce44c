/** A parsed `data:` payload (a chunk or an error frame). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test code indexes chunks freely
export type SseData = Record<string, any>;

/** Reads a server-sent-event stream as it arrives: raw lines, plus the parsed `data:` payloads. */
export class SseReader {
  readonly lines: string[] = [];
  private buffer = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  done = false;

  constructor(response: Response) {
    this.reader = response.body!.getReader();
  }

  /** Parsed JSON of every `data:` line so far (`[DONE]` left out). */
  get data(): SseData[] {
    return this.lines
      .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
      .map((l) => JSON.parse(l.slice(6)));
  }

  /** Reads until `predicate` holds for the lines so far, or the stream ends. */
  async until(predicate: (lines: string[]) => boolean): Promise<void> {
    while (!predicate(this.lines) && !this.done) {
      const { value, done } = await this.reader.read();
      if (done) {
        this.done = true;
        break;
      }
      this.buffer += this.decoder.decode(value, { stream: true });
      const parts = this.buffer.split('\n');
      this.buffer = parts.pop() ?? '';
      this.lines.push(...parts.filter((l) => l !== ''));
    }
  }

  readAll(): Promise<void> {
    return this.until(() => false);
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}

export const contentOf = (data: SseData[]) =>
  data.map((d) => d.choices?.[0]?.delta?.content ?? '').join('');
export const reasoningOf = (data: SseData[]) =>
  data.map((d) => d.choices?.[0]?.delta?.reasoning_content ?? '').join('');
