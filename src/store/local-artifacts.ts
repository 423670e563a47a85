/**
 * The embedded artifact store: content-addressed blobs at `<root>/artifacts/sha256/<ab>/<hash>`.
 * A blob's name is the sha256 of its bytes, so a write is idempotent and every read can prove the
 * bytes are the ones that were stored.
 */
import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { NetwardenError, sha256, TMP_PREFIX, writeFileAtomic } from "../core/index.js";
import { DEFAULT_STORE_ROOT, displayPath, errno, ioError, readIfExists } from "./fs-util.js";
import { checkBytes, checkHash, checkObjectKey, checkObjectPrefix } from "./rules.js";
import type { ArtifactStore } from "./types.js";

export class LocalArtifactStore implements ArtifactStore {
  readonly location: string;
  /** Absolute path of the store folder. */
  readonly root: string;

  constructor(root: string = DEFAULT_STORE_ROOT) {
    this.root = resolve(root);
    this.location = displayPath(this.root);
  }

  /** Where the blob with this hash lives (whether or not it exists). */
  blobPath(hash: string): string {
    const h = checkHash(hash, "artifact hash");
    return join(this.root, "artifacts", "sha256", h.slice(0, 2), h);
  }

  async put(bytes: Uint8Array): Promise<{ hash: string; size: number }> {
    const data = checkBytes(bytes);
    const hash = sha256(data);
    const path = this.blobPath(hash);
    // An intact copy makes the write a no-op; a damaged one is replaced, so re-running the step that
    // produced an artifact repairs it.
    const existing = await readIfExists(path);
    if (!existing || sha256(existing) !== hash) await writeFileAtomic(path, data);
    return { hash, size: data.byteLength };
  }

  async get(hash: string): Promise<Uint8Array> {
    const path = this.blobPath(hash);
    const bytes = await readIfExists(path);
    if (!bytes) {
      throw new NetwardenError("NW_STORE_NOT_FOUND", `no artifact with sha256 ${hash} in ${this.location}`, {
        where: displayPath(path),
        hint: "Check that the command uses the same store folder as the run that produced it; if the file was deleted, re-run training",
        details: { hash },
      });
    }
    const actual = sha256(bytes);
    if (actual !== hash) {
      throw new NetwardenError(
        "NW_STORE_CORRUPT",
        `artifact ${hash} was changed on disk: its bytes now hash to ${actual}`,
        {
          where: displayPath(path),
          hint: "Re-run training to recreate it, or restore the file from a backup",
          details: { hash, actual, file: path },
        },
      );
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async has(hash: string): Promise<boolean> {
    const path = this.blobPath(hash);
    try {
      return (await stat(path)).isFile();
    } catch (e) {
      if (errno(e) === "ENOENT") return false;
      throw ioError("read", path, e);
    }
  }

  /** Where a named object lives: `<root>/objects/<key>`. */
  objectPath(key: string): string {
    return join(this.root, "objects", ...checkObjectKey(key).split("/"));
  }

  async putObject(key: string, bytes: Uint8Array): Promise<void> {
    await writeFileAtomic(this.objectPath(key), checkBytes(bytes));
  }

  async getObject(key: string): Promise<Uint8Array> {
    const path = this.objectPath(key);
    const bytes = await readIfExists(path);
    if (!bytes) {
      throw new NetwardenError("NW_STORE_NOT_FOUND", `no object \`${key}\` in ${this.location}`, {
        where: displayPath(path),
        hint: "List the keys that exist under its prefix",
        details: { key },
      });
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async listObjects(prefix: string): Promise<string[]> {
    const p = checkObjectPrefix(prefix);
    const out: string[] = [];
    // Walk only the folder the prefix names (its last part may be a partial name).
    const parts = p ? p.split("/") : [];
    const dirParts = prefix.endsWith("/") || p === "" ? parts : parts.slice(0, -1);
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (errno(e) === "ENOENT" || errno(e) === "ENOTDIR") return;
        throw ioError("read", dir, e);
      }
      for (const e of entries) {
        if (e.name.startsWith(TMP_PREFIX)) continue;
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(join(dir, e.name), key);
        else if (key.startsWith(p)) out.push(key);
      }
    };
    await walk(join(this.root, "objects", ...dirParts), dirParts.join("/"));
    return out.sort();
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }
}
