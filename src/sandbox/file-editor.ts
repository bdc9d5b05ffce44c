import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EditorParams, EditorResult } from './protocol';
import {
  createFileInside,
  isInside,
  resolveWorkspacePath,
  WorkspacePathError,
} from './workspace-paths';

const MAX_VIEW_CHARS = 16_000;
const MAX_FILE_BYTES = 10 * 1024 * 1024;
const SNIPPET_LINES = 4;
const UNDO_STEPS = 10;

class EditorError extends Error {}

interface TextFile {
  /** With `\n` line endings. */
  text: string;
  crlf: boolean;
  /** Exactly as on disk, for undo. */
  raw: string;
}

/**
 * The `file_editor` commands, run inside the conversation's sandbox against its workspace. Every
 * read goes through a descriptor opened without following a final symlink and without blocking
 * (a FIFO with no writer does not stall it), checked with `fstat` (only regular files and
 * directories) and with `/proc/self/fd` (where it really is: a directory on the way swapped for a
 * symlink is caught). Writes land through `createFileInside`, checked the same way.
 */
export class FileEditor {
  /** Real path → previous contents, oldest first. */
  private readonly history = new Map<string, string[]>();

  constructor(private readonly workspaceDir: string) {}

  run(args: EditorParams): EditorResult {
    try {
      return { output: this.dispatch(args), isError: false };
    } catch (error) {
      if (error instanceof EditorError || error instanceof WorkspacePathError) {
        return { output: error.message, isError: true };
      }
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') {
        return {
          output: `${args.path} is a symbolic link the file editor does not follow; use its target.`,
          isError: true,
        };
      }
      if (code === 'EACCES' || code === 'EPERM') {
        return { output: `Permission denied: ${args.path}.`, isError: true };
      }
      throw error;
    }
  }

  private dispatch(args: EditorParams): string {
    const workspaceDir = this.workspaceDir;
    const real = resolveWorkspacePath(workspaceDir, args.path);
    const shown = path.normalize(args.path);
    const stat = lstatOrNull(real);
    if (args.command === 'create') {
      if (stat || lstatOrNull(shown)) {
        throw new EditorError(
          `File already exists at: ${shown}. \`create\` cannot overwrite files; use \`str_replace\` to change it.`,
        );
      }
      fs.mkdirSync(path.dirname(real), { recursive: true });
      writeAtomic(workspaceDir, real, args.file_text ?? '');
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
      return listDirectory(workspaceDir, real, shown);
    }
    switch (args.command) {
      case 'view':
        return viewFile(readText(workspaceDir, real, shown), shown, args.view_range);
      case 'str_replace':
        return this.replace(real, shown, args.old_str ?? '', args.new_str ?? '');
      case 'insert':
        return this.insert(real, shown, args.insert_line ?? 0, args.new_str ?? '');
      case 'undo_edit': {
        const previous = this.history.get(real)?.pop();
        if (previous === undefined) throw new EditorError(`No edit history found for ${shown}.`);
        writeAtomic(workspaceDir, real, previous);
        const restored = readText(workspaceDir, real, shown);
        return `Last edit to ${shown} undone successfully. ${numbered(restored.text, shown, 1)}`;
      }
    }
  }

  private replace(real: string, shown: string, oldStr: string, newStr: string): string {
    const file = readText(this.workspaceDir, real, shown);
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
      const lines = [...new Set(linesOf(file.text, found))];
      throw new EditorError(
        `No replacement was performed. Multiple occurrences of old_str \`${oldStr}\` in lines ` +
          `[${lines.join(', ')}]. Please ensure it is unique.`,
      );
    }
    const at = found[0];
    const text = file.text.slice(0, at) + newText + file.text.slice(at + oldText.length);
    this.save(real, file, text);
    const [line] = linesOf(file.text, [at]);
    return edited(shown, text, line, line + newText.split('\n').length - 1);
  }

  private insert(real: string, shown: string, after: number, newStr: string): string {
    const file = readText(this.workspaceDir, real, shown);
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
    this.save(real, file, text);
    return edited(shown, text, after + 1, after + added.length);
  }

  private save(real: string, file: TextFile, text: string): void {
    writeAtomic(this.workspaceDir, real, file.crlf ? text.replace(/\n/g, '\r\n') : text);
    const steps = this.history.get(real) ?? [];
    steps.push(file.raw);
    this.history.set(real, steps.slice(-UNDO_STEPS));
  }
}

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY, O_DIRECTORY } = fs.constants;

/**
 * Opens `real` for reading without following a final symlink and without blocking, and returns
 * the descriptor once `fstat` says it is what `want` asks for and `/proc/self/fd` says it lies in
 * the workspace. A FIFO, socket or device is refused with a message for the LLM.
 */
function openChecked(
  workspaceDir: string,
  real: string,
  shown: string,
  want: 'file' | 'dir',
): number {
  let fd: number;
  try {
    fd = fs.openSync(
      real,
      O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | (want === 'dir' ? O_DIRECTORY : 0),
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      throw new EditorError(
        `${shown} changed while it was being opened (it is now a symbolic link or not a ${want === 'dir' ? 'directory' : 'file'}); try again.`,
      );
    }
    if (code === 'ENXIO') throw new EditorError(notRegular(shown, 'a socket'));
    throw error;
  }
  try {
    const stat = fs.fstatSync(fd);
    const kind = stat.isFIFO()
      ? 'a FIFO (named pipe)'
      : stat.isSocket()
        ? 'a socket'
        : stat.isCharacterDevice() || stat.isBlockDevice()
          ? 'a device'
          : null;
    if (kind) throw new EditorError(notRegular(shown, kind));
    if (want === 'file' ? !stat.isFile() : !stat.isDirectory()) {
      throw new EditorError(`${shown} changed while it was being opened; try again.`);
    }
    const landed = landedPath(fd);
    if (landed !== null && !isInside(fs.realpathSync(workspaceDir), landed)) {
      throw new WorkspacePathError(
        `The path ${shown} leads outside the workspace ${workspaceDir}; only paths inside it can be used.`,
      );
    }
    return fd;
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

function notRegular(shown: string, kind: string): string {
  return `${shown} is ${kind}, not a regular file or directory; the file editor only opens regular files and directories. Use the terminal for it.`;
}

/** Where an open descriptor really is (Linux), or null when `/proc` cannot say. */
function landedPath(fd: number): string | null {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return null;
  }
}

function readText(workspaceDir: string, real: string, shown: string): TextFile {
  const fd = openChecked(workspaceDir, real, shown, 'file');
  let bytes: Buffer;
  try {
    const size = fs.fstatSync(fd).size;
    if (size > MAX_FILE_BYTES) {
      throw new EditorError(
        `${shown} is too large (${(size / 1024 / 1024).toFixed(1)} MB; the limit is 10 MB). Use the terminal (grep, head, sed) instead.`,
      );
    }
    bytes = readAll(fd, MAX_FILE_BYTES + 1);
  } finally {
    fs.closeSync(fd);
  }
  if (bytes.length > MAX_FILE_BYTES) {
    throw new EditorError(
      `${shown} is too large (the limit is 10 MB). Use the terminal (grep, head, sed) instead.`,
    );
  }
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

/** Up to `limit` bytes of an open file, whatever its reported size (it may grow meanwhile). */
function readAll(fd: number, limit: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, limit - total));
    if (chunk.length === 0) break;
    const read = fs.readSync(fd, chunk, 0, chunk.length, null);
    if (read === 0) break;
    chunks.push(chunk.subarray(0, read));
    total += read;
  }
  return Buffer.concat(chunks, total);
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

function listDirectory(workspaceDir: string, real: string, shown: string): string {
  const lines = [`${shown}/`];
  let hidden = 0;
  for (const entry of entriesOf(workspaceDir, real, shown, true)) {
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
    for (const child of entriesOf(workspaceDir, path.join(real, entry.name), display)) {
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

/** The entries of a directory, read through a checked descriptor; none when it cannot be read. */
function entriesOf(workspaceDir: string, dir: string, shown: string, top = false): fs.Dirent[] {
  let fd: number;
  try {
    fd = openChecked(workspaceDir, dir, shown, 'dir');
  } catch (error) {
    if (top) throw error; // the directory asked for: say why
    return [];
  }
  try {
    return fs
      .readdirSync(`/proc/self/fd/${fd}`, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    return [];
  } finally {
    fs.closeSync(fd);
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

/** The line of each index (ascending), counting line breaks once: linear, not quadratic. */
function linesOf(text: string, indexes: number[]): number[] {
  let line = 1;
  let nl = text.indexOf('\n');
  return indexes.map((at) => {
    for (; nl !== -1 && nl < at; nl = text.indexOf('\n', nl + 1)) line++;
    return line;
  });
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
