import { FinishTool } from './finish.tool';
import { TaskTrackerTool } from './task-tracker.tool';
import { ThinkTool } from './think.tool';
import type { TaskItem, TaskStore } from '../../conversations/tasks.types';
import type { ToolContext } from './tool';

class MemoryTaskStore implements TaskStore {
  tasks: TaskItem[] = [];
  async get(): Promise<TaskItem[]> {
    return this.tasks.map((t) => ({ ...t }));
  }
  async set(tasks: TaskItem[]): Promise<void> {
    this.tasks = tasks.map((t) => ({ ...t }));
  }
}

describe(TaskTrackerTool.name, () => {
  const sut = new TaskTrackerTool();
  let store: MemoryTaskStore;
  let ctx: ToolContext;

  beforeEach(() => {
    store = new MemoryTaskStore();
    ctx = {
      conversationId: 'c',
      workspaceDir: '/tmp',
      signal: new AbortController().signal,
      tasks: store,
    };
  });

  it('hints at `plan` when there is no list yet', async () => {
    expect(await sut.execute({ command: 'view', task_list: [] }, ctx)).toEqual({
      output: 'No task list found. Use the "plan" command to create one.',
      isError: false,
    });
  });

  it('replaces the list on plan and renders it on view', async () => {
    store.tasks = [{ title: 'old', notes: '', status: 'todo' }];
    const planned = await sut.execute(
      {
        command: 'plan',
        task_list: [
          { title: 'Read the code', notes: '', status: 'done' },
          { title: 'Fix the bug', notes: 'in src/app.ts\nline 40', status: 'in_progress' },
          { title: 'Run the tests', notes: '', status: 'todo' },
        ],
      },
      ctx,
    );
    expect(planned.output.startsWith('Task list has been updated with 3 items.\n')).toBe(true);
    expect(store.tasks.map((t) => t.title)).toEqual([
      'Read the code',
      'Fix the bug',
      'Run the tests',
    ]);
    expect((await sut.execute({ command: 'view', task_list: [] }, ctx)).output).toBe(
      'Tasks (1 done, 1 in progress, 1 todo):\n' +
        '1. [x] Read the code\n2. [~] Fix the bug\n   in src/app.ts\n   line 40\n3. [ ] Run the tests',
    );
  });

  it('applies the defaults of notes and status', () => {
    const parsed = sut.inputSchema.parse({ command: 'plan', task_list: [{ title: 'A' }] });
    expect(parsed.task_list).toEqual([{ title: 'A', notes: '', status: 'todo' }]);
    expect(sut.inputSchema.parse({})).toEqual({ command: 'view', task_list: [] });
  });

  it('describes calls', () => {
    expect(
      sut.describe({ command: 'plan', task_list: [{ title: 'a', notes: '', status: 'todo' }] }),
    ).toBe('Planning 1 task');
    expect(sut.describe({ command: 'view', task_list: [] })).toBe('Viewing the task list');
  });
});

describe(ThinkTool.name, () => {
  it('logs the thought and changes nothing', async () => {
    expect(await new ThinkTool().execute()).toEqual({
      output: 'Your thought has been logged.',
      isError: false,
    });
    expect(new ThinkTool().describe({ thought: 'The bug is in the parser.\nMore.' })).toBe(
      'Thinking: The bug is in the parser.',
    );
  });
});

describe(FinishTool.name, () => {
  it('ends the turn with the message as the answer', async () => {
    expect(await new FinishTool().execute({ message: 'Done: 3 tests fixed.' })).toEqual({
      output: 'Done: 3 tests fixed.',
      isError: false,
      finish: { message: 'Done: 3 tests fixed.' },
    });
  });
});
