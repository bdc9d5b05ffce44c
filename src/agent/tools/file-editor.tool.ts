import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import {
  createFileInside,
  resolveWorkspacePath,
  WorkspacePathError,
} from '../workspace/workspace-paths';
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

const MAX_VIEW_CHARS = 16_000;
const MAX_FILE_BYTES = 10 * 1024 * 1024;
const SNIPPET_LINES = 4;
const UNDO_STEPS = 10;
const REMEMBERED_CONVERSATIONS = 200;

class EditorError extends Error {}

interface TextFile {
  /** With `\n` line endings. */
  text: string;
  crlf: boolean;
  /** Exactly as on disk, for undo. */
  raw: string;
}

/** `file_editor`: view, create and edit text files, confined to the workspace. */
export class FileEditorTool implements AgentTool<FileEditorArgs> {
  readonly name = 'file_editor';
  readonly description = DESCRIPTION;
  readonly inputSchema = fileEditorArgs;
  readonly hasSideEffects = true;
  /** conversation → real path → previous contents, oldest first. */
  private readonly history = new Map<string, Map<string, string[]>>();

  async execute(args: FileEditorArgs, ctx: ToolContext): Promise<ToolOutcome> {
    try {
      return { output: this.run(args, ctx), isError: false };
    } catch (error) {
      if (error instanceof EditorError || error instanceof WorkspacePathError) {
        return { output: error.message, isError: true };
      }
      throw error;
    }
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

  private run(args: FileEditorArgs, ctx: ToolContext): string {
    const real = resolveWorkspacePath(ctx.workspaceDir, args.path);
    const shown = path.normalize(args.path);
    const stat = lstatOrNull(real);
    if (args.command === 'create') {
      if (stat || lstatOrNull(shown)) {
        throw new EditorError(
          `File already exists at: ${shown}. \`create\` cannot overwrite files; use \`str_replace\` to change it.`,
        );
      }
      fs.mkdirSync(path.dirname(real), { recursive: true });
      writeAtomic(ctx.workspaceDir, real, args.file_text ?? '');
      return `File created successfully at: ${shown}`;
    }
    if (!stat)
      throw new EditorError(`The path ${shown} does not exist. Please provide a valid path.`);
    if (stat.isDirectory()) {
      if (args.command !== 'view') {
        throw new EditorError(
          `The path ${shown} is a directory; only \`view\` works on directories.`,
        );
      }
      if (args.view_range) throw new EditorError('`view_range` cannot be used with a directory.');
      return listDirectory(real, shown);
    }
    switch (args.command) {
      case 'view':
        return viewFile(readText(real, shown), shown, args.view_range);
      case 'str_replace':
        return this.replace(ctx, real, shown, args.old_str ?? '', args.new_str ?? '');
      case 'insert':
        return this.insert(ctx, real, shown, args.insert_line ?? 0, args.new_str ?? '');
      case 'undo_edit': {
        const previous = this.filesOf(ctx.conversationId).get(real)?.pop();
        if (previous === undefined) throw new EditorError(`No edit history found for ${shown}.`);
        writeAtomic(ctx.workspaceDir, real, previous);
        const restored = readText(real, shown);
        return `Last edit to ${shown} undone successfully. ${numbered(restored.text, shown, 1)}`;
      }
    }
  }

  private replace(
    ctx: ToolContext,
    real: string,
    shown: string,
    oldStr: string,
    newStr: string,
  ): string {
    const file = readText(real, shown);
    let [oldText, newText] = file.crlf ? [unCrlf(oldStr), unCrlf(newStr)] : [oldStr, newStr];
    if (oldText === '')
      throw new EditorError('`old_str` is empty; give the exact text to replace.');
    if (oldText === newText) {
      throw new EditorError('No replacement was performed: `new_str` is the same as `old_str`.');
    }
    let found = occurrences(file.text, oldText);
    if (found.length === 0 && oldText.trim() !== '' && oldText.trim() !== oldText) {
      [oldText, newText] = [oldText.trim(), newText.trim()];
      found = occurrences(file.text, oldText);
    }
    if (found.length === 0) {
      throw new EditorError(
        `No replacement was performed, old_str \`${oldStr}\` did not appear verbatim in ${shown}.`,
      );
    }
    if (found.length > 1) {
      const lines = [...new Set(found.map((at) => lineOf(file.text, at)))];
      throw new EditorError(
        `No replacement was performed. Multiple occurrences of old_str \`${oldStr}\` in lines ` +
          `[${lines.join(', ')}]. Please ensure it is unique.`,
      );
    }
    const at = found[0];
    const text = file.text.slice(0, at) + newText + file.text.slice(at + oldText.length);
    this.save(ctx, real, file, text);
    const line = lineOf(file.text, at);
    return edited(shown, text, line, line + newText.split('\n').length - 1);
  }

  private insert(
    ctx: ToolContext,
    real: string,
    shown: string,
    after: number,
    newStr: string,
  ): string {
    const file = readText(real, shown);
    const lines = splitLines(file.text);
    if (after > lines.length) {
      throw new EditorError(
        `Invalid \`insert_line\` ${after}: the file has ${lines.length} lines, so it must be between 0 and ${lines.length}.`,
      );
    }
    const inserted = splitLines(file.crlf ? unCrlf(newStr) : newStr);
    const added = inserted.length === 0 ? [''] : inserted;
    const result = [...lines.slice(0, after), ...added, ...lines.slice(after)];
    const text = result.join('\n') + (file.text === '' || file.text.endsWith('\n') ? '\n' : '');
    this.save(ctx, real, file, text);
    return edited(shown, text, after + 1, after + added.length);
  }

  private save(ctx: ToolContext, real: string, file: TextFile, text: string): void {
    writeAtomic(ctx.workspaceDir, real, file.crlf ? text.replace(/\n/g, '\r\n') : text);
    const files = this.filesOf(ctx.conversationId);
    const steps = files.get(real) ?? [];
    steps.push(file.raw);
    files.set(real, steps.slice(-UNDO_STEPS));
  }

  private filesOf(conversationId: string): Map<string, string[]> {
    const files = this.history.get(conversationId) ?? new Map<string, string[]>();
    this.history.delete(conversationId); // re-inserted last: most recently used
    this.history.set(conversationId, files);
    if (this.history.size > REMEMBERED_CONVERSATIONS) {
      this.history.delete(this.history.keys().next().value as string);
    }
    return files;
  }
}

function readText(real: string, shown: string): TextFile {
  const size = fs.statSync(real).size;
  if (size > MAX_FILE_BYTES) {
    throw new EditorError(
      `${shown} is too large (${(size / 1024 / 1024).toFixed(1)} MB; the limit is 10 MB). Use the terminal (grep, head, sed) instead.`,
    );
  }
  const bytes = fs.readFileSync(real);
  let raw: string;
  try {
    if (bytes.subarray(0, 8192).includes(0)) throw new Error('NUL byte');
    raw = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new EditorError(
      `${shown} is a binary file (or not UTF-8 text); the file editor only handles text. Inspect it in the terminal (e.g. \`file\`, \`xxd | head\`).`,
    );
  }
  const crlf = raw.includes('\r\n') && raw.split('\r\n').length === raw.split('\n').length;
  return { text: crlf ? unCrlf(raw) : raw, crlf, raw };
}

function viewFile(file: TextFile, shown: string, range: number[] | undefined): string {
  const lines = splitLines(file.text);
  if (!range)
    return lines.length === 0 ? `The file ${shown} is empty.` : numbered(file.text, shown, 1);
  const [start, requestedEnd] = range;
  if (start < 1 || start > lines.length) {
    throw new EditorError(
      `Invalid \`view_range\` ${JSON.stringify(range)}: its first element should be between 1 and ${lines.length}.`,
    );
  }
  const end = requestedEnd === -1 ? lines.length : Math.min(requestedEnd, lines.length);
  if (end < start) {
    throw new EditorError(
      `Invalid \`view_range\` ${JSON.stringify(range)}: its second element should be -1 or at least ${start}.`,
    );
  }
  const note =
    requestedEnd > lines.length ? `NOTE: the file has only ${lines.length} lines.\n` : '';
  return note + numbered(lines.slice(start - 1, end).join('\n'), shown, start);
}

/** `cat -n` style, capped at 16,000 characters with a hint. */
function numbered(text: string, shown: string, firstLine: number, what = shown): string {
  const lines = splitLines(text);
  let body = lines.map((line, i) => `${String(i + firstLine).padStart(6)}\t${line}`).join('\n');
  if (body.length > MAX_VIEW_CHARS) {
    body =
      body.slice(0, body.lastIndexOf('\n', MAX_VIEW_CHARS)) +
      `\n[Output cut at ${MAX_VIEW_CHARS} characters (${lines.length} lines in all). Find lines with ` +
      `\`grep -n PATTERN ${shown}\` in the terminal, then view them with \`view_range\`.]`;
  }
  return `Here's the result of running \`cat -n\` on ${what}:\n${body}\n`;
}

function edited(shown: string, text: string, fromLine: number, toLine: number): string {
  const lines = splitLines(text);
  const start = Math.max(1, fromLine - SNIPPET_LINES);
  const end = Math.min(lines.length, toLine + SNIPPET_LINES);
  const snippet = numbered(
    lines.slice(start - 1, end).join('\n'),
    shown,
    start,
    `a snippet of ${shown}`,
  );
  return (
    `The file ${shown} has been edited. ${snippet}` +
    'Review the changes and make sure they are as expected. Edit the file again if necessary.'
  );
}

function listDirectory(real: string, shown: string): string {
  const lines = [`${shown}/`];
  let hidden = 0;
  for (const entry of entriesOf(real)) {
    if (entry.name.startsWith('.')) {
      hidden++;
      continue;
    }
    const display = path.join(shown, entry.name);
    if (!entry.isDirectory()) {
      lines.push(display);
      continue;
    }
    lines.push(`${display}/`);
    for (const child of entriesOf(path.join(real, entry.name))) {
      if (child.name.startsWith('.')) hidden++;
      else lines.push(path.join(display, child.name) + (child.isDirectory() ? '/' : ''));
    }
  }
  let output =
    `Here's the files and directories up to 2 levels deep in ${shown}, excluding hidden items:\n` +
    lines.join('\n');
  if (output.length > MAX_VIEW_CHARS) {
    output =
      output.slice(0, output.lastIndexOf('\n', MAX_VIEW_CHARS)) +
      `\n[Listing cut at ${MAX_VIEW_CHARS} characters; use \`find ${shown} -maxdepth 2\` or \`ls\` in the terminal.]`;
  }
  if (hidden > 0) {
    output += `\n\n${hidden} hidden files/directories were left out; use \`ls -la ${shown}\` to see them.`;
  }
  return output;
}

function entriesOf(dir: string): fs.Dirent[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    return [];
  }
}

/**
 * Temporary file in the same directory, then rename: readers never see half a file. The temporary
 * file is created by `createFileInside`, which checks where it really landed: a process of the
 * agent swapping a directory on the way for a symlink after the path check cannot make the service
 * write outside the workspace (the rename then finds no such file).
 */
function writeAtomic(workspaceDir: string, file: string, content: string): void {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const mode = lstatOrNull(file)?.mode;
  let created = false;
  try {
    const fd = createFileInside(workspaceDir, temp);
    created = true;
    try {
      fs.writeFileSync(fd, content);
      if (mode !== undefined) fs.fchmodSync(fd, mode & 0o7777);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (error) {
    if (created) fs.rmSync(temp, { force: true });
    throw error;
  }
}

function occurrences(text: string, search: string): number[] {
  const found: number[] = [];
  for (let at = text.indexOf(search); at !== -1; at = text.indexOf(search, at + search.length)) {
    found.push(at);
  }
  return found;
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Lines without the final newline's empty remainder: "a\nb\n" → ["a", "b"]. */
function splitLines(text: string): string[] {
  if (text === '') return [];
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

function unCrlf(text: string): string {
  return text.replace(/\r\n/g, '\n');
}

function lstatOrNull(target: string): fs.Stats | null {
  try {
    return fs.lstatSync(target);
  } catch {
    return null;
  }
}
