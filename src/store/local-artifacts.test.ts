import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dataDir, TMP_PREFIX } from "../core/index.js";
import { LocalArtifactStore } from "./local-artifacts.js";
import { artifactStoreConformance, expectCode } from "./test-support/conformance.js";

const roots: string[] = [];
async function tempRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "nw-artifacts-"));
  roots.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(roots.map((d) => rm(d, { recursive: true, force: true })));
});

artifactStoreConformance("LocalArtifactStore", async () => new LocalArtifactStore(await tempRoot()), {
  async corrupt(store, hash) {
    const path = (store as LocalArtifactStore).blobPath(hash);
    const bytes = await readFile(path);
    bytes[bytes.length >> 1] ^= 0x01;
    await writeFile(path, bytes);
  },
});

describe("LocalArtifactStore files", () => {
  it("lays blobs out as artifacts/sha256/<first 2 hex>/<hash> and leaves no temp files", async () => {
    const root = await tempRoot();
    const store = new LocalArtifactStore(root);
    const { hash } = await store.put(new TextEncoder().encode("abc"));
    const shard = join(root, "artifacts", "sha256", "ba");
    expect(await readdir(shard)).toEqual([hash]);
    expect(store.blobPath(hash)).toBe(join(shard, hash));
    expect(await readFile(join(shard, hash), "utf8")).toBe("abc");
    await store.put(new TextEncoder().encode("abc"));
    expect((await readdir(shard)).filter((n) => n.startsWith(TMP_PREFIX))).toEqual([]);
  });

  it("reports a truncated blob as corrupt, naming its file", async () => {
    const root = await tempRoot();
    const store = new LocalArtifactStore(root);
    const bytes = await readFile(join(dataDir(), "phishing_websites.csv"));
    const { hash } = await store.put(bytes);
    await truncate(store.blobPath(hash), 1000);
    const err = await expectCode(store.get(hash), "NW_STORE_CORRUPT");
    expect(err.where).toContain(join("sha256", "68", hash));
    expect(await store.has(hash)).toBe(true);
  });

  it("ignores a temp file a crashed writer left in a shard", async () => {
    const root = await tempRoot();
    const store = new LocalArtifactStore(root);
    const bytes = new TextEncoder().encode("abc");
    const shard = join(root, "artifacts", "sha256", "ba");
    await store.put(bytes);
    await writeFile(join(shard, `${TMP_PREFIX}deadbeef0000`), bytes.subarray(0, 1));
    const { hash } = await store.put(bytes);
    expect(new TextDecoder().decode(await store.get(hash))).toBe("abc");
  });

  it("names its location relative to the working directory when it can", () => {
    expect(new LocalArtifactStore(".netwarden-never-created").location).toBe("./.netwarden-never-created");
    expect(new LocalArtifactStore(join(tmpdir(), "x")).location).toBe(join(tmpdir(), "x"));
  });
});
