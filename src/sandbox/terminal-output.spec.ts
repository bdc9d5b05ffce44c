import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AnsiStripper, cleanLines, OutputCollector } from './terminal-output';

describe(AnsiStripper.name, () => {
  it('removes colours, cursor moves and titles, also when split across chunks', () => {
    const stripper = new AnsiStripper();
    const chunks = ['\x1b[1;3', '1mred\x1b[0m plain \x1b]0;tit', 'le\x07done\x1b[2K\x1b', '[Gend'];
    expect(chunks.map((c) => stripper.push(c)).join('') + stripper.flush()).toBe(
      'red plain doneend',
    );
  });
});

describe(cleanLines.name, () => {
  it('turns CRLF into LF and keeps the last version of a redrawn line', () => {
    expect(cleanLines('a\r\nprogress 10%\rprogress 100%\nb\r\n')).toBe('a\nprogress 100%\nb\n');
  });
});

describe(OutputCollector.name, () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oh-collector-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('returns short output whole', () => {
    const collector = new OutputCollector({
      maxChars: 100,
      maxLogBytes: 1000,
      openLog: () => null,
    });
    collector.push('hello ');
    collector.push('world');
    expect(collector.finish()).toEqual({ text: 'hello world', totalChars: 11 });
  });

  it('keeps head and tail of long output and writes all of it to the log, up to its cap', () => {
    const log = path.join(dir, 'out.log');
    const collector = new OutputCollector({
      maxChars: 40,
      maxLogBytes: 1000,
      openLog: () => ({ fd: fs.openSync(log, 'wx'), path: log }),
    });
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i}\n`);
    for (const line of lines) collector.push(line);
    const result = collector.finish();
    expect(result.totalChars).toBe(lines.join('').length);
    expect(result.text).toMatch(/^line 0\nline 1\n(line \d+\n)*\[\.\.\. \d+ characters omitted\. /);
    expect(result.text).toMatch(/ \.\.\.\]\n(line \d+\n)*line 298\nline 299\n$/);
    expect(result.text.length).toBeLessThan(40 + 300);
    expect(result.text).toContain(
      `characters omitted. The full output (its first 1000 bytes) is in ${log}`,
    );
    expect(result.fullOutputPath).toBe(log);
    const saved = fs.readFileSync(log, 'utf8');
    expect(saved.startsWith(lines.join('').slice(0, 1000))).toBe(true);
    expect(saved).toContain('[... output log truncated here ...]');
  });
});
