import { mkdir, readFile } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { NetwardenError } from "../core/index.js";

/** The folder the embedded stores use when none is given. */
export const DEFAULT_STORE_ROOT = ".netwarden";

export function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** "./.netwarden" for folders under the working directory, the absolute path otherwise. */
export function displayPath(path: string): string {
  const abs = resolve(path);
  const rel = relative(process.cwd(), abs);
  if (rel === "") return ".";
  if (rel.startsWith("..") || isAbsolute(rel)) return abs;
  return `./${rel}`;
}

export function ioError(action: string, path: string, e: unknown): NetwardenError {
  if (e instanceof NetwardenError) return e;
  return new NetwardenError("NW_STORE_IO", `cannot ${action} ${path}: ${(e as Error).message}`, {
    where: path,
    hint: "Check that the store folder exists, is readable and writable by this user, and the disk is not full",
    cause: e,
  });
}

/** The file's bytes, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (e) {
    if (errno(e) === "ENOENT") return undefined;
    throw ioError("read", path, e);
  }
}

export async function ensureDir(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (e) {
    throw ioError("create the folder", path, e);
  }
}
