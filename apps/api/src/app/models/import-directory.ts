import { lstat, readdir, realpath } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';

import { ApiError } from '../common/api-error';

const inside = (path: string, root: string) => path.startsWith(root.endsWith(sep) ? root : root + sep);

/**
 * The real folder that an admin's `path` names inside the import directory (TRACETUNE_MODEL_IMPORT_DIR): relative
 * to it or absolute within it, never the data directory or anything in it (other organizations' checkpoints), and
 * holding only plain files and folders (a symbolic link could reach anywhere). Every refusal reads the same, so the
 * answer says nothing about what exists on the server.
 */
export async function importDirectory(
  path: string,
  importRoot: string | undefined,
  dataDir: string,
): Promise<string> {
  if (!importRoot) {
    throw new ApiError(
      403,
      "Importing models from the server's disk is disabled: the operator sets TRACETUNE_MODEL_IMPORT_DIR to allow it.",
      { param: 'path', code: 'model_import_disabled' },
    );
  }
  const refused = ApiError.badRequest(
    `No importable model folder '${JSON.stringify(path).slice(1, -1)}' in the import directory.`,
    'path',
    'model_not_importable',
  );
  const root = await realpath(importRoot).catch(() => null);
  const data = await realpath(dataDir).catch(() => resolve(dataDir));
  const target = root ? await realpath(resolve(root, path)).catch(() => null) : null;
  if (!root || !target || !inside(target, root) || target === data || inside(target, data)) throw refused;
  if (!(await plainTree(target))) throw refused;
  return target;
}

/** True when `dir` is a folder whose every entry, recursively, is a plain file or folder. */
async function plainTree(dir: string): Promise<boolean> {
  const info = await lstat(dir).catch(() => null);
  if (!info?.isDirectory()) return false;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!(await plainTree(join(dir, entry.name)))) return false;
    } else if (!entry.isFile()) {
      return false;
    }
  }
  return true;
}
