import { z } from 'zod';
import type { WorkspaceRuntime } from '../workspace/workspace-runtime';
import type { AgentTool, ToolContext, ToolOutcome } from './tool';

const fileEditorArgs = z
  .object({
    command: z
      .enum(['view', 'create', 'str_replace', 'insert', 'undo_edit'])
      .describe('What to do with `path`.'),
    path: z.string().describe('Absolute path of a file or directory in the workspace.'),
    file_text: z.string().optional().describe('`create`: the content of the new file.'),
    old_str: z
      .string()
      .optional()
      .describe('`str_replace`: the exact text to replace; it must occur exactly once.'),
    new_str: z
      .string()
      .optional()
      .describe('`str_replace`: the replacement (empty deletes). `insert`: the text to insert.'),
    insert_line: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('`insert`: insert after this line (0 = at the top).'),
    view_range: z
      .array(z.number().int())
      .length(2)
      .optional()
      .describe('`view` of a file: `[start, end]` lines, 1-based; end -1 = to the end.'),
  })
  .superRefine((args, ctx) => {
    const require = (field: keyof typeof args, when: boolean) => {
      if (when && args[field] === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `required for command \`${args.command}\``,
        });
      }
    };
    require('file_text', args.command === 'create');
    require('old_str', args.command === 'str_replace');
    require('new_str', args.command === 'insert');
    require('insert_line', args.command === 'insert');
  });

export type FileEditorArgs = z.infer<typeof fileEditorArgs>;

const DESCRIPTION = `View, create and edit files in the workspace; \`path\` is absolute.
* \`view\`: a file with line numbers (\`cat -n\`), capped at 16,000 characters (use \`view_range\`, and \`grep -n\` in the terminal, for long files); a directory: its entries two levels deep, hidden ones left out.
* \`create\`: a new file with \`file_text\` (refuses an existing file).
* \`str_replace\`: replace \`old_str\` by \`new_str\`. \`old_str\` must match exactly one place, whitespace included: add surrounding lines to make it unique.
* \`insert\`: insert \`new_str\` after line \`insert_line\` (0 = top).
* \`undo_edit\`: revert the last edit of the file (up to 10 steps).`;

/**
 * `file_editor`: view, create and edit text files. Every command runs inside the conversation's
 * sandbox (`src/sandbox/file-editor.ts`); this process never opens a path of the workspace.
 */
export class FileEditorTool implements AgentTool<FileEditorArgs> {
  readonly name = 'file_editor';
  readonly description = DESCRIPTION;
  readonly inputSchema = fileEditorArgs;
  readonly hasSideEffects = true;

  constructor(private readonly runtime: WorkspaceRuntime) {}

  execute(args: FileEditorArgs, ctx: ToolContext): Promise<ToolOutcome> {
    return this.runtime.editor(ctx.conversationId, ctx.workspaceDir, args, ctx.signal);
  }

  describe(args: FileEditorArgs): string {
    switch (args.command) {
      case 'view':
        return `Viewing ${args.path}`;
      case 'create':
        return `Creating ${args.path}`;
      case 'str_replace':
        return `Editing ${args.path} (str_replace)`;
      case 'insert':
        return `Editing ${args.path} (insert after line ${args.insert_line ?? 0})`;
      case 'undo_edit':
        return `Undoing the last edit of ${args.path}`;
    }
  }
}
