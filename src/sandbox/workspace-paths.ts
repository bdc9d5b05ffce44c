import * as fs from 'node:fs';
import * as path from 'node:path';

/** A path the agent may not use; the message is written for the LLM. */
export class WorkspacePathError extends Error {
  override readonly name = 'WorkspacePathError';
}

const MAX_SYMLINK_HOPS = 40;

/**
 * Checks a path the agent gave and returns its real path (symlinks resolved; for a path that does
 * not exist yet, through its nearest existing ancestor and any dangling link on the way). The path
 * must be absolute, without `..`, and its real path must stay inside the workspace.
 */
/** Longer than any real path (Linux's PATH_MAX). */
const MAX_PATH_CHARS = 4096;

export function resolveWorkspacePath(workspaceDir: string, requested: string): string {
  if (requested.trim() === '') throw new WorkspacePathError('The path is empty.');
  if (requested.length > MAX_PATH_CHARS) {
    // Resolving walks the path a component at a time: bounded work for any request.
    throw new WorkspacePathError(
      `The path is too long (${requested.length} characters; the limit is ${MAX_PATH_CHARS}).`,
    );
  }
  if (!path.isAbsolute(requested)) {
    const suggestion = requested.split(/[\\/]/).includes('..')
      ? ''
      : ` Maybe you meant ${path.join(workspaceDir, requested)}?`;
    throw new WorkspacePathError(
      `The path ${requested} is not absolute; it should start with \`/\`.${suggestion}`,
    );
  }
  if (requested.split('/').includes('..')) {
    throw new WorkspacePathError(
      `The path ${requested} contains \`..\`; give the absolute path without it.`,
    );
  }
  const root = fs.realpathSync(workspaceDir);
  const real = realPathOf(path.normalize(requested), 0);
  if (!isInside(root, real)) {
    const how = real === path.normalize(requested) ? '' : ` (it resolves to ${real})`;
    throw new WorkspacePathError(
      `The path ${requested} is outside the workspace ${workspaceDir}${how}; only paths inside it can be used.`,
    );
  }
  return real;
}

/**
 * Creates the new file `target` (a path `resolveWorkspacePath` accepted) and returns its
 * descriptor, after checking where it really landed: between that check and now, a process of the
 * agent may have replaced a directory on the way by a symlink out of the workspace. Then the file
 * (new and empty) is removed again and this throws. Without `/proc` the earlier check stands.
 */
export function createFileInside(workspaceDir: string, target: string, mode = 0o644): number {
  const fd = fs.openSync(target, 'wx', mode); // a new name: never through a final link
  let landed: string;
  try {
    landed = fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return fd;
  }
  if (isInside(fs.realpathSync(workspaceDir), landed)) return fd;
  fs.closeSync(fd);
  fs.rmSync(landed, { force: true });
  throw new WorkspacePathError(
    `The path ${target} leads outside the workspace ${workspaceDir} (to ${landed}).`,
  );
}

/** True when `candidate` is `root` or below it; both must be normalised absolute paths. */
export function isInside(root: string, candidate: string): boolean {
  if (candidate === root) return true;
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  return candidate.startsWith(prefix);
}

function realPathOf(target: string, hops: number): string {
  try {
    return fs.realpathSync(target);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  const parent = path.dirname(target);
  if (parent === target) return target;
  const candidate = path.join(realPathOf(parent, hops), path.basename(target));
  const link = readLinkOrNull(candidate);
  if (link === null) return candidate;
  if (hops >= MAX_SYMLINK_HOPS) {
    throw new WorkspacePathError(`Too many levels of symbolic links at ${target}.`);
  }
  // A dangling link: follow it by hand, writing through it would land where it points.
  return realPathOf(path.resolve(path.dirname(candidate), link), hops + 1);
}

function readLinkOrNull(target: string): string | null {
  try {
    return fs.readlinkSync(target);
  } catch {
    return null;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
