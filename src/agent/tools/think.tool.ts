import { z } from 'zod';
import type { AgentTool, ToolOutcome } from './tool';

const thinkArgs = z.object({
  thought: z.string().describe('The reasoning to record.'),
});

export type ThinkArgs = z.infer<typeof thinkArgs>;

/** `think`: a place to reason out loud; changes nothing. */
export class ThinkTool implements AgentTool<ThinkArgs> {
  readonly name = 'think';
  readonly description =
    'Think out loud: record reasoning, hypotheses or a plan without acting. It changes nothing; use it when a problem needs working through before the next step.';
  readonly inputSchema = thinkArgs;
  readonly hasSideEffects = false;

  async execute(): Promise<ToolOutcome> {
    return { output: 'Your thought has been logged.', isError: false };
  }

  describe(args: ThinkArgs): string {
    const first = args.thought.trim().split('\n')[0];
    return first.length > 0
      ? `Thinking: ${first.length > 80 ? `${first.slice(0, 77)}...` : first}`
      : 'Thinking';
  }
}
