import { LineSplitter } from './protocol';

describe(LineSplitter.name, () => {
  it('frames lines across chunks and drops blank ones', () => {
    const splitter = new LineSplitter();
    expect(splitter.push('{"a":1}\n\n  \n{"b"')).toEqual(['{"a":1}']);
    expect(splitter.push(':2}')).toEqual([]);
    expect(splitter.push('\n{"c":3}\n')).toEqual(['{"b":2}', '{"c":3}']);
  });

  it('takes a 32 MB line in 64 KB chunks in linear time (it re-split the whole buffer per chunk: 13.5 s)', () => {
    const splitter = new LineSplitter();
    const chunk = 'x'.repeat(64 * 1024);
    const started = Date.now();
    for (let i = 0; i < 512; i++) expect(splitter.push(chunk)).toEqual([]);
    const [line] = splitter.push('\n');
    expect(line).toHaveLength(32 * 1024 * 1024);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a line longer than its limit, whole or in pieces', () => {
    expect(() => new LineSplitter(10).push('x'.repeat(11))).toThrow('a protocol line exceeds 10');
    const splitter = new LineSplitter(10);
    splitter.push('x'.repeat(6));
    expect(() => splitter.push('\nyyyyyy' + 'y'.repeat(5))).toThrow('exceeds 10 characters');
  });
});
