/** One task of the conversation's plan (`task_tracker`). */
export interface TaskItem {
  title: string;
  notes: string;
  status: 'todo' | 'in_progress' | 'done';
}

/** Where the task list lives: with the conversation, in the database. */
export interface TaskStore {
  get(): Promise<TaskItem[]>;
  set(tasks: TaskItem[]): Promise<void>;
}
