import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { type LockOwner, OWNER_FILE, withLock } from "./lock.js";
import { expectCode } from "./test-support/conformance.js";

const roots: string[] = [];
async function lockPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "nw-lock-"));
  roots.push(dir);
  return join(dir, "locks", "model-phish.lock");
}
afterAll(async () => {
  await Promise.all(roots.map((d) => rm(d, { recursive: true, force: true })));
});

const MY_START = Math.round(Date.now() - process.uptime() * 1000);

/** Puts a lock in place as another holder would have left it. */
async function plant(lockDir: string, owner: Partial<LockOwner>): Promise<void> {
  await mkdir(lockDir, { recursive: true });
  const full: LockOwner = {
    pid: process.pid,
    host: hostname(),
    time: new Date().toISOString(),
    token: "planted",
    started: MY_START,
    ...owner,
  };
  await writeFile(join(lockDir, OWNER_FILE), JSON.stringify(full));
}

async function gone(path: string): Promise<boolean> {
  return stat(path).then(
    () => false,
    () => true,
  );
}

/** A pid that existed a moment ago and has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  return r.pid as number;
}

describe("withLock in one process", () => {
  it("lets one caller at a time through", async () => {
    const lockDir = await lockPath();
    let inside = 0;
    let most = 0;
    let counter = 0;
    await Promise.all(
      Array.from({ length: 30 }, () =>
        withLock(lockDir, async () => {
          inside++;
          most = Math.max(most, inside);
          const read = counter;
          await sleep(1);
          counter = read + 1;
          inside--;
        }),
      ),
    );
    expect(counter).toBe(30);
    expect(most).toBe(1);
    expect(await gone(lockDir)).toBe(true);
  });

  it("returns the value, rethrows the error, and releases the lock either way", async () => {
    const lockDir = await lockPath();
    expect(await withLock(lockDir, async () => 42)).toBe(42);
    const boom = new Error("boom");
    await expect(
      withLock(lockDir, async () => {
        expect(await gone(lockDir)).toBe(false);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await gone(lockDir)).toBe(true);
    expect(await withLock(lockDir, async () => "again")).toBe("again");
  });

  it("holds the lock as a folder with this process's owner file", async () => {
    const lockDir = await lockPath();
    await withLock(lockDir, async () => {
      const owner = JSON.parse(await readFile(join(lockDir, OWNER_FILE), "utf8")) as LockOwner;
      expect(owner).toMatchObject({ pid: process.pid, host: hostname() });
      expect(owner.token).toMatch(/^[0-9a-f]{16}$/);
      expect(Math.abs(Date.parse(owner.time) - Date.now())).toBeLessThan(60_000);
    });
  });

  it("does not make different locks wait for each other", async () => {
    const a = await lockPath();
    const b = join(a, "..", "model-other.lock");
    let releaseA!: () => void;
    const holdingA = withLock(a, () => new Promise<void>((r) => (releaseA = r)), { timeoutMs: 100 });
    while (await gone(a)) await sleep(1);
    expect(await withLock(b, async () => "b done", { timeoutMs: 100 })).toBe("b done");
    releaseA();
    await holdingA;
  });
});

describe("withLock and locks left by others", () => {
  it("breaks a lock whose owner process has exited", async () => {
    const lockDir = await lockPath();
    await plant(lockDir, { pid: deadPid(), started: 0 });
    expect(await withLock(lockDir, async () => "ran", { timeoutMs: 1000 })).toBe("ran");
    expect(await gone(lockDir)).toBe(true);
  });

  it("waits for a live owner, then gives up with NW_STORE_LOCKED saying who holds it", async () => {
    const lockDir = await lockPath();
    await plant(lockDir, { pid: process.ppid, started: 0 });
    const err = await expectCode(
      withLock(lockDir, async () => "ran", { timeoutMs: 150, what: "model `phish`" }),
      "NW_STORE_LOCKED",
    );
    expect(err.message).toContain("model `phish`");
    expect(err.message).toContain(`pid ${process.ppid}`);
    expect(err.where).toBe(lockDir);
    expect(err.hint).toContain(lockDir);
    expect(err.details?.owner).toMatchObject({ pid: process.ppid, token: "planted" });
    expect(JSON.parse(await readFile(join(lockDir, OWNER_FILE), "utf8")).token).toBe("planted");
  });

  it("waits for this pid when the owner is this very process (another thread)", async () => {
    const lockDir = await lockPath();
    await plant(lockDir, { pid: process.pid, started: MY_START });
    await expectCode(
      withLock(lockDir, async () => "ran", { timeoutMs: 100 }),
      "NW_STORE_LOCKED",
    );
  });

  it("breaks a lock left by an earlier process that had this pid", async () => {
    const lockDir = await lockPath();
    await plant(lockDir, { pid: process.pid, started: MY_START - 3_600_000 });
    expect(await withLock(lockDir, async () => "ran", { timeoutMs: 1000 })).toBe("ran");
  });

  it("waits for an owner on another host until the lock is older than the staleness limit", async () => {
    const lockDir = await lockPath();
    await plant(lockDir, { host: "another-host", pid: 1 });
    await expectCode(
      withLock(lockDir, async () => "ran", { timeoutMs: 100 }),
      "NW_STORE_LOCKED",
    );
    await plant(lockDir, { host: "another-host", pid: 1, time: new Date(Date.now() - 5_000).toISOString() });
    await expectCode(
      withLock(lockDir, async () => "ran", { timeoutMs: 100 }),
      "NW_STORE_LOCKED",
    );
    expect(await withLock(lockDir, async () => "ran", { timeoutMs: 100, staleMs: 1_000 })).toBe("ran");
    await plant(lockDir, {
      host: "another-host",
      pid: 1,
      time: new Date(Date.now() - 3_600_000).toISOString(),
    });
    expect(await withLock(lockDir, async () => "ran", { timeoutMs: 100 })).toBe("ran");
  });

  it("never takes a pid of 0 or below for a live process", async () => {
    const lockDir = await lockPath();
    await plant(lockDir, { pid: 0, started: 0 });
    expect(await withLock(lockDir, async () => "ran", { timeoutMs: 100 })).toBe("ran");
    await plant(lockDir, { pid: -1, started: 0 });
    expect(await withLock(lockDir, async () => "ran", { timeoutMs: 100 })).toBe("ran");
  });

  it("judges a lock with an unreadable owner file by its age", async () => {
    const lockDir = await lockPath();
    await mkdir(lockDir, { recursive: true });
    await writeFile(join(lockDir, OWNER_FILE), "{not json");
    await expectCode(
      withLock(lockDir, async () => "ran", { timeoutMs: 100 }),
      "NW_STORE_LOCKED",
    );
    const old = new Date(Date.now() - 3_600_000);
    await utimes(lockDir, old, old);
    expect(await withLock(lockDir, async () => "ran", { timeoutMs: 100 })).toBe("ran");
  });

  it("does not break a lock while another process is breaking it", async () => {
    const lockDir = await lockPath();
    const guard = `${lockDir}.break`;
    await plant(lockDir, { pid: deadPid(), started: 0 });
    await mkdir(guard);
    await expectCode(
      withLock(lockDir, async () => "ran", { timeoutMs: 150 }),
      "NW_STORE_LOCKED",
    );
    expect(JSON.parse(await readFile(join(lockDir, OWNER_FILE), "utf8")).token).toBe("planted");
    // A guard that old was left by a process that crashed while breaking: it is cleared.
    const old = new Date(Date.now() - 60_000);
    await utimes(guard, old, old);
    expect(await withLock(lockDir, async () => "ran", { timeoutMs: 1000 })).toBe("ran");
    expect(await gone(guard)).toBe(true);
  });
});
