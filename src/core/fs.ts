import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { NetwardenError } from "./errors.js";

/** Prefix of temporary files; readers and listings skip anything that starts with it. */
export const TMP_PREFIX = ".tmp-";

/**
 * Writes a file so that readers see either the old content or the new, never a part: write a
 * temporary file in the same folder, fsync it, rename it over the target.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `${TMP_PREFIX}${randomBytes(6).toString("hex")}`);
  try {
    const fh = await open(tmp, "w");
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await syncDir(dir);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new NetwardenError("NW_STORE_IO", `cannot write ${path}: ${(e as Error).message}`, {
      hint: "Check that the folder exists, is writable and the disk is not full",
      cause: e,
    });
  }
}

/** Makes a rename durable; some file systems refuse to fsync a folder, which is harmless here. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // best effort only
  }
}

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, "utf8")) as T;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes the file only if it is not there yet (for content-addressed blobs). */
export async function writeFileOnce(path: string, data: string | Uint8Array): Promise<boolean> {
  if (await exists(path)) return false;
  await writeFileAtomic(path, data);
  return true;
}
