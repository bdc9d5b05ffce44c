import { JsonBudgetError, jsonBudgetVerifier } from './json-budget';

const verify = jsonBudgetVerifier({ maxKeys: 20_000, maxDepth: 100 });
const check = (body: string) => () => verify({} as never, {}, Buffer.from(body));

describe('jsonBudgetVerifier', () => {
  it('stops a 400,000-key body at the first key over budget, in milliseconds', () => {
    const body = Buffer.from(
      `{${Array.from({ length: 400_000 }, (_, i) => `"k${i}":0`).join(',')}}`,
    );
    const started = performance.now();
    expect(() => verify({} as never, {}, body)).toThrow(JsonBudgetError);
    // ~4 ms on an idle machine; JSON.parse alone takes seconds on this body
    expect(performance.now() - started).toBeLessThan(250);
  });

  it('counts keys at every depth, and nesting of objects and arrays', () => {
    const keys = (n: number) => `[${Array.from({ length: n }, () => '{"a":{"b":1}}').join(',')}]`;
    expect(check(keys(10_000))).not.toThrow(); // 20,000 keys in all
    expect(check(keys(10_001))).toThrow('more than 20000 keys in all (OH_MAX_JSON_KEYS)');
    expect(check(`${'['.repeat(100)}${']'.repeat(100)}`)).not.toThrow();
    expect(check(`${'[{"a":'.repeat(50)}1${'}]'.repeat(50)}`)).not.toThrow();
    expect(check(`${'['.repeat(101)}${']'.repeat(101)}`)).toThrow('nested more than 100 levels');
  });

  it('ignores structure inside strings, escaped quotes included', () => {
    const tricky = JSON.stringify({ s: '\\":'.repeat(30_000) + '[{'.repeat(100) + 'é:日本' });
    expect(check(tricky)).not.toThrow();
  });
});
