import * as os from 'node:os';
import * as path from 'node:path';
import { FileEditor } from './file-editor';

/** Runs once, inside the editor's next `mkdirSync`: between its path check and its write. */
let mockBetweenCheckAndWrite: (() => void) | null = null;

jest.mock('node:fs', () => {
  const real = jest.requireActual<typeof import('node:fs')>('node:fs');
  return {
    ...real,
    mkdirSync: (...args: Parameters<typeof real.mkdirSync>) => {
      const hook = mockBetweenCheckAndWrite;
      mockBetweenCheckAndWrite = null;
      hook?.();
      return real.mkdirSync(...args);
    },
  };
});

const fs = jest.requireActual<typeof import('node:fs')>('node:fs');

describe("file_editor racing the agent's own shell", () => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'oh-editor-race-')));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('never writes outside the workspace when a directory becomes a symlink after the check', async () => {
    const ws = path.join(root, 'ws');
    const outside = path.join(root, 'outside');
    const dir = path.join(ws, 'dir');
    fs.mkdirSync(dir, { recursive: true });
    fs.mkdirSync(outside);
    mockBetweenCheckAndWrite = () => {
      fs.renameSync(dir, path.join(ws, 'moved'));
      fs.symlinkSync(outside, dir);
    };
    const result = new FileEditor(ws).run({
      command: 'create',
      path: path.join(dir, 'new.txt'),
      file_text: 'planted',
    });
    expect(mockBetweenCheckAndWrite).toBeNull(); // the race really happened
    expect(result.isError).toBe(true);
    expect(result.output).toContain('outside the workspace');
    expect(fs.readdirSync(outside)).toEqual([]);
  });
});
