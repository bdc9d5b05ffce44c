import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFileInside, resolveWorkspacePath, WorkspacePathError } from './workspace-paths';

describe('resolveWorkspacePath', () => {
  let root: string;
  let workspace: string;
  let outside: string;

  beforeAll(() => {
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'oh-paths-')));
    workspace = path.join(root, 'ws');
    outside = path.join(root, 'outside');
    fs.mkdirSync(path.join(workspace, 'src'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(workspace, 'src', 'a.ts'), 'a');
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    fs.symlinkSync(outside, path.join(workspace, 'escape'));
    fs.symlinkSync(path.join(outside, 'new.txt'), path.join(workspace, 'dangling-out'));
    fs.symlinkSync(path.join(workspace, 'src'), path.join(workspace, 'src-link'));
    fs.symlinkSync('src/later.ts', path.join(workspace, 'dangling-in'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  const resolve = (p: string) => resolveWorkspacePath(workspace, p);
  const refusal = (p: string): string => {
    try {
      resolve(p);
    } catch (error) {
      expect(error).toBeInstanceOf(WorkspacePathError);
      return (error as Error).message;
    }
    throw new Error(`${p} was accepted`);
  };

  it('returns the real path of existing and not-yet-existing paths inside the workspace', () => {
    expect(resolve(path.join(workspace, 'src', 'a.ts'))).toBe(path.join(workspace, 'src', 'a.ts'));
    expect(resolve(workspace)).toBe(workspace);
    expect(resolve(path.join(workspace, 'new', 'deep', 'b.ts'))).toBe(
      path.join(workspace, 'new', 'deep', 'b.ts'),
    );
    expect(resolve(path.join(workspace, 'src-link', 'a.ts'))).toBe(
      path.join(workspace, 'src', 'a.ts'),
    );
    expect(resolve(path.join(workspace, 'dangling-in'))).toBe(
      path.join(workspace, 'src', 'later.ts'),
    );
  });

  it('refuses a relative path and suggests the absolute one', () => {
    expect(refusal('src/a.ts')).toBe(
      `The path src/a.ts is not absolute; it should start with \`/\`. Maybe you meant ${workspace}/src/a.ts?`,
    );
  });

  it('refuses `..` even when it would stay inside', () => {
    expect(refusal(`${workspace}/src/../src/a.ts`)).toContain('contains `..`');
  });

  it('refuses absolute paths outside the workspace', () => {
    expect(refusal(path.join(outside, 'secret.txt'))).toContain('is outside the workspace');
    expect(refusal('/etc/passwd')).toContain('is outside the workspace');
    expect(refusal(`${workspace}-other/x`)).toContain('is outside the workspace');
  });

  it('refuses symlinks that lead out, also to files that do not exist yet', () => {
    expect(refusal(path.join(workspace, 'escape', 'secret.txt'))).toContain(
      `(it resolves to ${path.join(outside, 'secret.txt')})`,
    );
    expect(refusal(path.join(workspace, 'escape', 'new', 'file.txt'))).toContain(
      'outside the workspace',
    );
    expect(refusal(path.join(workspace, 'dangling-out'))).toContain(path.join(outside, 'new.txt'));
  });
});

describe('createFileInside', () => {
  let root: string;
  let workspace: string;
  let outside: string;

  beforeAll(() => {
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'oh-create-')));
    workspace = path.join(root, 'ws');
    outside = path.join(root, 'outside');
    fs.mkdirSync(path.join(workspace, 'logs'), { recursive: true });
    fs.mkdirSync(outside);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('creates a new file inside the workspace and refuses an existing one', () => {
    const target = path.join(workspace, 'logs', 'a.log');
    fs.closeSync(createFileInside(workspace, target));
    expect(fs.existsSync(target)).toBe(true);
    expect(() => createFileInside(workspace, target)).toThrow(/EEXIST/);
  });

  it('removes the file and throws when a directory was swapped for a link since the check', () => {
    // What a command of the agent could do between resolveWorkspacePath and the creation.
    fs.rmSync(path.join(workspace, 'logs'), { recursive: true });
    fs.symlinkSync(outside, path.join(workspace, 'logs'));
    expect(() => createFileInside(workspace, path.join(workspace, 'logs', 'b.log'))).toThrow(
      WorkspacePathError,
    );
    expect(fs.readdirSync(outside)).toEqual([]);
  });
});
