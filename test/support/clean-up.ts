/**
 * Runs every clean-up step, even after one failed or when setup stopped half-way (steps see
 * `undefined` fixtures and skip them), then throws the first error. Never waits on a callback that
 * cannot fire.
 */
export async function cleanUp(...steps: Array<() => unknown>): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw errors[0];
}
