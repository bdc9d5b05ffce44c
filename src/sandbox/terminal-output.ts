import * as fs from 'node:fs';

/* eslint-disable no-control-regex -- these patterns are about control characters */
// CSI (colours, cursor moves), OSC (titles, hyperlinks), two-byte escapes and charset selection.
const ANSI =
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[@-Z\\^_]/g;
// What an escape sequence cut off at the end of a chunk can look like.
const PARTIAL_ANSI = /\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[()])?$/;
// Control characters except tab, newline and carriage return (handled by `cleanLines`), and a
// stray ESC that starts no known sequence.
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;
/* eslint-enable no-control-regex */
const MAX_ESCAPE_CARRY = 512;

/** Removes ANSI escape sequences from a stream, also when one is split across chunks. */
export class AnsiStripper {
  private carry = '';

  push(chunk: string): string {
    let text = (this.carry + chunk).replace(ANSI, '');
    this.carry = '';
    const partial = PARTIAL_ANSI.exec(text);
    if (partial && partial[0].length < MAX_ESCAPE_CARRY) {
      this.carry = partial[0]; // the start of a sequence that ends in the next chunk
      text = text.slice(0, partial.index);
    }
    return text.replace(CONTROL, '');
  }

  flush(): string {
    const rest = this.carry.replace(CONTROL, '');
    this.carry = '';
    return rest;
  }
}

/** `\r\n` becomes `\n`; a line redrawn with `\r` (progress bars) keeps only its last version. */
export function cleanLines(text: string): string {
  if (!text.includes('\r')) return text;
  return text
    .replace(/\r+\n/g, '\n')
    .split('\n')
    .map((line) => {
      if (!line.includes('\r')) return line;
      const versions = line.split('\r').filter((v) => v !== '');
      return versions.at(-1) ?? '';
    })
    .join('\n');
}

export interface CollectedOutput {
  text: string;
  totalChars: number;
  /** Set when the output was cut: where the full output was written. */
  fullOutputPath?: string;
}

export interface OutputCollectorOptions {
  /** Longer output keeps its head and tail, about half of this each. */
  maxChars: number;
  /** The full-output file stops growing here. */
  maxLogBytes: number;
  /**
   * Creates the file the full output goes to once it is too long (a new one, never through a
   * link); null when it cannot be saved.
   */
  openLog: () => { fd: number; path: string } | null;
}

/**
 * Gathers one call's output in bounded memory: everything up to `maxChars`, then only a head and a
 * rolling tail, while the full output streams to a file.
 */
export class OutputCollector {
  private whole = '';
  private head = '';
  private tail = '';
  private total = 0;
  private cut = false;
  private logFd: number | null = null;
  private logPath: string | null = null;
  private logBytes = 0;
  private logFull = false;

  constructor(private readonly options: OutputCollectorOptions) {}

  get totalChars(): number {
    return this.total;
  }

  push(text: string): void {
    if (text === '') return;
    this.total += text.length;
    if (!this.cut) {
      this.whole += text;
      if (this.whole.length <= this.options.maxChars) return;
      this.cut = true;
      this.openLog();
      this.writeLog(this.whole);
      this.head = this.whole.slice(0, this.half);
      this.tail = this.whole.slice(-this.half);
      this.whole = '';
      return;
    }
    this.writeLog(text);
    this.tail += text;
    if (this.tail.length > 2 * this.half) this.tail = this.tail.slice(-this.half);
  }

  finish(): CollectedOutput {
    if (this.logFd !== null) fs.closeSync(this.logFd);
    this.logFd = null;
    if (!this.cut) return { text: cleanLines(this.whole), totalChars: this.total };
    const head = cutAfterLastNewline(this.head);
    const tail = cutBeforeFirstNewline(this.tail.slice(-this.half));
    const omitted = this.total - head.length - tail.length;
    const where = this.logPath
      ? `The full output${this.logFull ? ` (its first ${this.options.maxLogBytes} bytes)` : ''} is in ` +
        `${this.logPath}: search it with \`grep -n\` or read parts with \`sed -n 'START,ENDp'\`.`
      : 'The full output could not be saved.';
    return {
      text: `${cleanLines(head)}${head.endsWith('\n') ? '' : '\n'}[... ${omitted} characters omitted. ${where} ...]\n${cleanLines(tail)}`,
      totalChars: this.total,
      fullOutputPath: this.logPath ?? undefined,
    };
  }

  private get half(): number {
    return Math.floor(this.options.maxChars / 2);
  }

  private openLog(): void {
    try {
      const log = this.options.openLog();
      if (log === null) return;
      this.logFd = log.fd;
      this.logPath = log.path;
    } catch {
      this.logFd = null;
    }
  }

  private writeLog(text: string): void {
    if (this.logFd === null || this.logFull) return;
    let data = Buffer.from(text, 'utf8');
    if (this.logBytes + data.length > this.options.maxLogBytes) {
      data = data.subarray(0, this.options.maxLogBytes - this.logBytes);
      this.logFull = true;
    }
    try {
      fs.writeSync(this.logFd, data);
      this.logBytes += data.length;
      if (this.logFull) fs.writeSync(this.logFd, '\n[... output log truncated here ...]\n');
    } catch {
      this.logFull = true;
    }
  }
}

/** Ends a head at a line break when one is in its second half. */
function cutAfterLastNewline(text: string): string {
  const at = text.lastIndexOf('\n');
  return at >= text.length / 2 ? text.slice(0, at + 1) : text;
}

/** Starts a tail at a line start when one is in its first half. */
function cutBeforeFirstNewline(text: string): string {
  const at = text.indexOf('\n');
  return at !== -1 && at < text.length / 2 ? text.slice(at + 1) : text;
}
