import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Host hygiene: what the service keeps on disk (data directory, embedded database files, the
 * generated key file) is readable by its own user only. main.ts sets the process umask to 077 so
 * that every file created later is owner-only too; these helpers fix what already exists, e.g.
 * files written by an earlier version with looser modes (PGlite creates its files 0666).
 */

/** Creates `dir` if missing, and makes it (not its parents) 0700. */
export function ownerOnlyDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/**
 * Takes group and other permissions off everything under `root`, `root` included (directories
 * 0700 at most, files 0600 at most, the owner's bits kept). Symbolic links are not followed,
 * and what belongs to another user is left alone.
 */
export function ownerOnlyTree(root: string): void {
  const visit = (path: string): void => {
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat || stat.isSymbolicLink()) return;
    // Only what is ours: chmod on another user's file fails (a volume mounted from elsewhere).
    if (stat.mode & 0o077 && stat.uid === process.getuid?.()) chmodSync(path, stat.mode & 0o700);
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(root);
}
