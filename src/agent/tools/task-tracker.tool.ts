import { z } from 'zod';
import type { TaskItem } from '../../conversations/tasks.types';
import type { AgentTool, ToolContext, ToolOutcome } from './tool';

const taskItem = z.object({
  title: z.string().min(1).describe('What the task is, briefly.'),
  notes: z.string().default('').describe('Details, findings, what is left.'),
  status: z.enum(['todo', 'in_progress', 'done']).default('todo'),
});

const taskTrackerArgs = z.object({
  command: z
    .enum(['view', 'plan'])
    .default('view')
    .describe('`view` shows the task list; `plan` replaces it with `task_list`.'),
  task_list: z.array(taskItem).default([]).describe('`plan`: the whole new list, in order.'),
});

export type TaskTrackerArgs = z.infer<typeof taskTrackerArgs>;

const DESCRIPTION = `Keep the plan of multi-step work as a task list, kept with the conversation. \`view\` shows it; \`plan\` replaces it with \`task_list\` (the whole list each time). Mark one task \`in_progress\` at a time, and \`done\` only once it is verified. Skip it for simple one-step requests.`;

const MARK: Record<TaskItem['status'], string> = { todo: '[ ]', in_progress: '[~]', done: '[x]' };

/** `task_tracker`: the conversation's plan, stored through `ctx.tasks`. */
export class TaskTrackerTool implements AgentTool<TaskTrackerArgs> {
  readonly name = 'task_tracker';
  readonly description = DESCRIPTION;
  readonly inputSchema = taskTrackerArgs;
  readonly hasSideEffects = false;

  async execute(args: TaskTrackerArgs, ctx: ToolContext): Promise<ToolOutcome> {
    if (args.command === 'plan') {
      await ctx.tasks.set(args.task_list);
      const count = `${args.task_list.length} item${args.task_list.length === 1 ? '' : 's'}`;
      const list = args.task_list.length > 0 ? `\n${render(args.task_list)}` : '';
      return {
        output: `Task list has been updated with ${count}.${list}`,
        isError: false,
        meta: { tasks: args.task_list.length },
      };
    }
    const tasks = await ctx.tasks.get();
    if (tasks.length === 0) {
      return {
        output: 'No task list found. Use the "plan" command to create one.',
        isError: false,
      };
    }
    return { output: render(tasks), isError: false, meta: { tasks: tasks.length } };
  }

  describe(args: TaskTrackerArgs): string {
    if (args.command === 'view') return 'Viewing the task list';
    const n = args.task_list.length;
    return n === 0 ? 'Clearing the task list' : `Planning ${n} task${n === 1 ? '' : 's'}`;
  }
}

function render(tasks: TaskItem[]): string {
  const counts = (['done', 'in_progress', 'todo'] as const)
    .map((status) => [status, tasks.filter((t) => t.status === status).length] as const)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status.replace('_', ' ')}`);
  const lines = tasks.map((task, i) => {
    const notes = task.notes.trim() ? `\n   ${task.notes.trim().replace(/\n/g, '\n   ')}` : '';
    return `${i + 1}. ${MARK[task.status]} ${task.title}${notes}`;
  });
  return `Tasks (${counts.join(', ')}):\n${lines.join('\n')}`;
}
