import { z } from 'zod';
import type { AgentTool, ToolOutcome } from './tool';

const finishArgs = z.object({
  message: z.string().describe('The final answer for the user: what was done and the result.'),
});

export type FinishArgs = z.infer<typeof finishArgs>;

/** `finish`: ends the turn; `message` is the answer the client gets. */
export class FinishTool implements AgentTool<FinishArgs> {
  readonly name = 'finish';
  readonly description =
    'End the turn when the task is done (or cannot be done). `message` is your final answer to the user.';
  readonly inputSchema = finishArgs;
  readonly hasSideEffects = false;

  async execute(args: FinishArgs): Promise<ToolOutcome> {
    return { output: args.message, isError: false, finish: { message: args.message } };
  }

  describe(): string {
    return 'Finishing';
  }
}
