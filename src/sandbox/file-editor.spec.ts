import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SandboxProgramKind } from '../agent/workspace/sandbox-program';
import { describeEachProgram, SandboxProcess } from '../../test/support/sandbox-program';
import { FileEditor } from './file-editor';
import type { EditorParams, EditorResult } from './protocol';

type FileEditorArgs = EditorParams;

/** A conversation's editor: in this process, or a sandbox program's over the protocol. */
interface Editor {
  run(args: Partial<FileEditorArgs>): Promise<EditorResult>;
  close(): Promise<void>;
}
type MakeEditor = (workspace: string) => Promise<Editor>;

const inProcess: MakeEditor = async (workspace) => {
  const editor = new FileEditor(workspace);
  return { run: async (args) => editor.run(args as EditorParams), close: async () => undefined };
};

const overProtocol =
  (kind: SandboxProgramKind): MakeEditor =>
  async (workspace) => {
    const program = new SandboxProcess(kind);
    await program.hello(workspace);
    return {
      run: async (args) => {
        const answer = await program.call('editor', args);
        if (answer.error) throw new Error(`editor: ${answer.error.message}`);
        return answer.result as EditorResult;
      },
      close: () => program.close(),
    };
  };

describe(`${FileEditor.name} (in this process)`, () => editorSpec(inProcess));
describeEachProgram('file_editor through the sandbox program', (kind) =>
  editorSpec(overProtocol(kind)),
);

function editorSpec(make: MakeEditor): void {
  let root: string;
  let ws: string;
  let sut: Editor;
  let n = 0;

  const run = (args: Partial<FileEditorArgs> & Pick<FileEditorArgs, 'command' | 'path'>) =>
    sut.run(args);
  const file = (name: string, content?: string): string => {
    const target = path.join(ws, name);
    if (content !== undefined) {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
    }
    return target;
  };
  const read = (target: string) => fs.readFileSync(target, 'utf8');

  beforeAll(() => (root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'oh-editor-')))));
  beforeEach(async () => {
    ws = path.join(root, `ws-${++n}`);
    fs.mkdirSync(ws);
    sut = await make(ws);
  });
  afterEach(() => sut.close());
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  describe('view', () => {
    it('numbers the lines of a file like cat -n', async () => {
      const target = file('a.txt', 'alpha\nbeta\n');
      expect(await run({ command: 'view', path: target })).toEqual({
        output: `Here's the result of running \`cat -n\` on ${target}:\n     1\talpha\n     2\tbeta\n`,
        isError: false,
      });
    });

    it('shows a range, -1 meaning the end, and rejects ranges outside the file', async () => {
      const target = file('r.txt', 'l1\nl2\nl3\nl4\n');
      expect((await run({ command: 'view', path: target, view_range: [2, 3] })).output).toBe(
        `Here's the result of running \`cat -n\` on ${target}:\n     2\tl2\n     3\tl3\n`,
      );
      expect((await run({ command: 'view', path: target, view_range: [3, -1] })).output).toContain(
        '     3\tl3\n     4\tl4\n',
      );
      expect(await run({ command: 'view', path: target, view_range: [5, 6] })).toMatchObject({
        isError: true,
        output: 'Invalid `view_range` [5,6]: its first element should be between 1 and 4.',
      });
      expect((await run({ command: 'view', path: target, view_range: [3, 2] })).isError).toBe(true);
    });

    it('caps long files at 16,000 characters with a hint to grep and view_range', async () => {
      const target = file(
        'big.txt',
        Array.from({ length: 3000 }, (_, i) => `line ${i + 1}`).join('\n'),
      );
      const { output } = await run({ command: 'view', path: target });
      expect(output.length).toBeLessThan(16_400);
      expect(output).toContain('     1\tline 1\n');
      expect(output).not.toContain('\tline 3000');
      expect(output).toContain(
        `[Output cut at 16000 characters (3000 lines in all). Find lines with \`grep -n PATTERN ${target}\``,
      );
    });

    it('refuses binary files', async () => {
      const target = path.join(ws, 'bin.dat');
      fs.writeFileSync(target, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01, 0xff]));
      expect(await run({ command: 'view', path: target })).toMatchObject({ isError: true });
      expect((await run({ command: 'view', path: target })).output).toContain('is a binary file');
    });

    it('lists a directory two levels deep, leaving out and counting hidden entries', async () => {
      file('src/index.ts', '');
      file('src/lib/deep/too-deep.ts', '');
      file('src/.env', 'X=1');
      file('.git/config', '');
      file('README.md', '');
      const { output, isError } = await run({ command: 'view', path: ws });
      expect(isError).toBe(false);
      expect(output).toBe(
        `Here's the files and directories up to 2 levels deep in ${ws}, excluding hidden items:\n` +
          `${ws}/\n${ws}/README.md\n${ws}/src/\n${ws}/src/index.ts\n${ws}/src/lib/\n\n` +
          `2 hidden files/directories were left out; use \`ls -la ${ws}\` to see them.`,
      );
    });
  });

  describe('create', () => {
    it('writes a new file, creating its directories', async () => {
      const target = path.join(ws, 'new/dir/file.py');
      expect(await run({ command: 'create', path: target, file_text: 'print(1)\n' })).toEqual({
        output: `File created successfully at: ${target}`,
        isError: false,
      });
      expect(read(target)).toBe('print(1)\n');
    });

    it('refuses to overwrite an existing file', async () => {
      const target = file('keep.txt', 'original');
      const outcome = await run({ command: 'create', path: target, file_text: 'new' });
      expect(outcome.isError).toBe(true);
      expect(outcome.output).toContain(`File already exists at: ${target}.`);
      expect(read(target)).toBe('original');
    });
  });

  describe('str_replace', () => {
    it('replaces the one occurrence and shows a snippet of four lines around it', async () => {
      const lines = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`);
      const target = file('s.txt', `${lines.join('\n')}\n`);
      const outcome = await run({
        command: 'str_replace',
        path: target,
        old_str: 'line 6',
        new_str: 'six\nsix-b',
      });
      expect(outcome.isError).toBe(false);
      expect(outcome.output).toBe(
        `The file ${target} has been edited. Here's the result of running \`cat -n\` on a snippet of ${target}:\n` +
          '     2\tline 2\n     3\tline 3\n     4\tline 4\n     5\tline 5\n     6\tsix\n     7\tsix-b\n' +
          '     8\tline 7\n     9\tline 8\n    10\tline 9\n    11\tline 10\n' +
          'Review the changes and make sure they are as expected. Edit the file again if necessary.',
      );
      expect(read(target)).toContain('line 5\nsix\nsix-b\nline 7\n');
    });

    it('quotes old_str when it does not match, even trimmed', async () => {
      const target = file('s.txt', 'hello world\n');
      const outcome = await run({
        command: 'str_replace',
        path: target,
        old_str: 'bye',
        new_str: 'x',
      });
      expect(outcome).toEqual({
        output: `No replacement was performed, old_str \`bye\` did not appear verbatim in ${target}.`,
        isError: true,
      });
    });

    it('retries with old_str and new_str trimmed', async () => {
      const target = file('t.txt', 'a = 1\nb = 2\n');
      const outcome = await run({
        command: 'str_replace',
        path: target,
        old_str: '\nb = 2  \n\n',
        new_str: '\nb = 3\n',
      });
      expect(outcome.isError).toBe(false);
      expect(read(target)).toBe('a = 1\nb = 3\n');
    });

    it('lists the lines of several matches and changes nothing', async () => {
      const target = file('m.txt', 'x = 1\ny = 2\nx = 1\n\nx = 1\n');
      const outcome = await run({
        command: 'str_replace',
        path: target,
        old_str: 'x = 1',
        new_str: 'x = 9',
      });
      expect(outcome).toEqual({
        output:
          'No replacement was performed. Multiple occurrences of old_str `x = 1` in lines [1, 3, 5]. Please ensure it is unique.',
        isError: true,
      });
      expect(read(target)).toBe('x = 1\ny = 2\nx = 1\n\nx = 1\n');
    });

    it('lists the lines of 200,000 matches in linear time (it once rescanned per match)', async () => {
      const target = file('many.txt', 'x\n'.repeat(200_000));
      const started = Date.now();
      const outcome = await run({
        command: 'str_replace',
        path: target,
        old_str: 'x',
        new_str: 'y',
      });
      expect(outcome.isError).toBe(true);
      expect(outcome.output).toMatch(/in lines \[1, 2, 3, [\d, ]*, 199999, 200000\]\. Please/);
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('deletes with an empty new_str, and refuses identical strings', async () => {
      const target = file('d.txt', 'keep\ndrop me\nkeep\n');
      await run({ command: 'str_replace', path: target, old_str: 'drop me\n' });
      expect(read(target)).toBe('keep\nkeep\n');
      const same = await run({
        command: 'str_replace',
        path: target,
        old_str: 'keep\nkeep',
        new_str: 'keep\nkeep',
      });
      expect(same.isError).toBe(true);
    });

    it('keeps CRLF line endings and the file mode, and leaves no temporary file', async () => {
      const target = file('w.bat', 'echo one\r\necho two\r\n');
      fs.chmodSync(target, 0o750);
      await run({
        command: 'str_replace',
        path: target,
        old_str: 'echo one\necho two',
        new_str: 'echo 1\necho 2',
      });
      expect(read(target)).toBe('echo 1\r\necho 2\r\n');
      expect(fs.statSync(target).mode & 0o777).toBe(0o750);
      expect(fs.readdirSync(ws)).toEqual(['w.bat']);
    });
  });

  describe('insert', () => {
    it('inserts after the given line, 0 being the top', async () => {
      const target = file('i.txt', 'a\nb\n');
      await run({ command: 'insert', path: target, insert_line: 0, new_str: 'top' });
      await run({ command: 'insert', path: target, insert_line: 2, new_str: 'middle\n' });
      const outcome = await run({
        command: 'insert',
        path: target,
        insert_line: 4,
        new_str: 'end',
      });
      expect(read(target)).toBe('top\na\nmiddle\nb\nend\n');
      expect(outcome.output).toContain('     5\tend\n');
    });

    it('rejects a line beyond the end', async () => {
      const target = file('i.txt', 'a\nb\n');
      const outcome = await run({ command: 'insert', path: target, insert_line: 3, new_str: 'x' });
      expect(outcome).toEqual({
        output: 'Invalid `insert_line` 3: the file has 2 lines, so it must be between 0 and 2.',
        isError: true,
      });
    });
  });

  describe('undo_edit', () => {
    it('restores previous contents step by step, up to ten steps', async () => {
      const target = file('u.txt', 'v0\n');
      for (let i = 1; i <= 12; i++) {
        await run({ command: 'str_replace', path: target, old_str: `v${i - 1}`, new_str: `v${i}` });
      }
      expect((await run({ command: 'undo_edit', path: target })).output).toContain(
        `Last edit to ${target} undone successfully.`,
      );
      expect(read(target)).toBe('v11\n');
      for (let i = 0; i < 9; i++) await run({ command: 'undo_edit', path: target });
      expect(read(target)).toBe('v2\n');
      expect(await run({ command: 'undo_edit', path: target })).toEqual({
        output: `No edit history found for ${target}.`,
        isError: true,
      });
      expect(read(target)).toBe('v2\n');
    });

    it('keeps histories per conversation (each sandbox has its own editor)', async () => {
      const target = file('p.txt', 'one\n');
      await run({ command: 'str_replace', path: target, old_str: 'one', new_str: 'two' });
      const second = await make(ws);
      const other = await second.run({ command: 'undo_edit', path: target });
      await second.close();
      expect(other.isError).toBe(true);
      expect(read(target)).toBe('two\n');
    });
  });

  describe('files that are not regular', () => {
    it('refuses a FIFO at once, without waiting for a writer', async () => {
      const fifo = path.join(ws, 'pipe');
      execFileSync('mkfifo', [fifo]);
      const started = Date.now();
      expect(await run({ command: 'view', path: fifo })).toEqual({
        output: `${fifo} is a FIFO (named pipe), not a regular file or directory; the file editor only opens regular files and directories. Use the terminal for it.`,
        isError: true,
      });
      expect(Date.now() - started).toBeLessThan(1000);
      const edit = await run({ command: 'str_replace', path: fifo, old_str: 'a', new_str: 'b' });
      expect(edit.output).toContain('is a FIFO');
    });

    it('refuses a socket', async () => {
      const socketPath = path.join(ws, 'sock');
      const server = net.createServer().listen(socketPath);
      await new Promise((resolve) => server.once('listening', resolve));
      try {
        expect((await run({ command: 'view', path: socketPath })).output).toMatch(
          /is a socket, not a regular file/,
        );
      } finally {
        server.close();
      }
    });
  });

  describe('paths', () => {
    it('refuses a path longer than 4,096 characters at once (it once recursed per component)', async () => {
      const long = `${ws}/${'a/'.repeat(100_000)}x`;
      const started = Date.now();
      for (const command of ['view', 'create'] as const) {
        expect(await run({ command, path: long, file_text: 'x' })).toEqual({
          output: `The path is too long (${long.length} characters; the limit is 4096).`,
          isError: true,
        });
      }
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('suggests the absolute path for a relative one', async () => {
      expect(await run({ command: 'view', path: 'src/a.ts' })).toEqual({
        output: `The path src/a.ts is not absolute; it should start with \`/\`. Maybe you meant ${ws}/src/a.ts?`,
        isError: true,
      });
    });

    it('refuses paths outside the workspace, through .. or a symlink', async () => {
      const outside = path.join(root, `outside-${n}`);
      fs.mkdirSync(outside);
      fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');
      fs.symlinkSync(outside, path.join(ws, 'link'));
      const viaLink = await run({ command: 'view', path: path.join(ws, 'link', 'secret.txt') });
      expect(viaLink.isError).toBe(true);
      expect(viaLink.output).toContain('is outside the workspace');
      const created = await run({
        command: 'create',
        path: path.join(ws, 'link', 'new.txt'),
        file_text: 'x',
      });
      expect(created.isError).toBe(true);
      expect(fs.existsSync(path.join(outside, 'new.txt'))).toBe(false);
      expect(
        (await run({ command: 'view', path: `${ws}/../outside-${n}/secret.txt` })).isError,
      ).toBe(true);
      expect((await run({ command: 'view', path: '/etc/hostname' })).isError).toBe(true);
    });

    it('refuses outside absolute paths and `..` for every command, touching nothing', async () => {
      const outside = path.join(root, `outside-abs-${n}`);
      fs.mkdirSync(outside);
      const target = path.join(outside, 'notes.txt');
      fs.writeFileSync(target, 'keep\n');
      const escapes = [target, `${ws}/../outside-abs-${n}/notes.txt`];
      for (const p of escapes) {
        const calls: Parameters<typeof run>[0][] = [
          { command: 'view', path: p },
          { command: 'create', path: `${p}.new`, file_text: 'x' },
          { command: 'str_replace', path: p, old_str: 'keep', new_str: 'gone' },
          { command: 'insert', path: p, insert_line: 0, new_str: 'gone' },
          { command: 'undo_edit', path: p },
        ];
        for (const call of calls) {
          const result = await run(call);
          expect({ call, isError: result.isError }).toEqual({ call, isError: true });
          expect(result.output).toMatch(/is outside the workspace|contains `\.\.`/);
        }
      }
      expect(fs.readdirSync(outside)).toEqual(['notes.txt']);
      expect(read(target)).toBe('keep\n');
    });

    it('refuses symlinks that lead out: to a file, to a directory, dangling, chained', async () => {
      const outside = path.join(root, `outside-links-${n}`);
      fs.mkdirSync(outside);
      const target = path.join(outside, 'config');
      fs.writeFileSync(target, 'keep\n');
      fs.symlinkSync(target, path.join(ws, 'file-link'));
      fs.symlinkSync(path.join(outside, 'planted.txt'), path.join(ws, 'dangling'));
      fs.symlinkSync(outside, path.join(ws, 'dir-link'));
      fs.symlinkSync(path.join(ws, 'dir-link'), path.join(ws, 'chain'));
      const calls: Parameters<typeof run>[0][] = [
        { command: 'view', path: path.join(ws, 'file-link') },
        { command: 'str_replace', path: path.join(ws, 'file-link'), old_str: 'keep', new_str: 'x' },
        { command: 'insert', path: path.join(ws, 'file-link'), insert_line: 0, new_str: 'x' },
        { command: 'create', path: path.join(ws, 'dangling'), file_text: 'x' },
        { command: 'view', path: path.join(ws, 'dir-link') },
        { command: 'create', path: path.join(ws, 'dir-link', 'deep', 'new.txt'), file_text: 'x' },
        {
          command: 'str_replace',
          path: path.join(ws, 'chain', 'config'),
          old_str: 'k',
          new_str: 'x',
        },
      ];
      for (const call of calls) {
        const result = await run(call);
        expect({ call, isError: result.isError }).toEqual({ call, isError: true });
        expect(result.output).toContain('is outside the workspace');
      }
      expect(fs.readdirSync(outside)).toEqual(['config']);
      expect(read(target)).toBe('keep\n');
    });

    it('says when a path is missing or a directory is edited', async () => {
      expect(await run({ command: 'view', path: path.join(ws, 'nope.txt') })).toEqual({
        output: `The path ${ws}/nope.txt does not exist. Please provide a valid path.`,
        isError: true,
      });
      const dir = await run({ command: 'str_replace', path: ws, old_str: 'a', new_str: 'b' });
      expect(dir.output).toBe(`The path ${ws} is a directory; only \`view\` works on directories.`);
    });
  });
}
