/**
 * A cross-process lock on a local folder, for the read-modify-write of shared records (version
 * allocation, alias moves) while several netwarden processes use one store.
 *
 * Protocol. The lock is the directory `<name>.lock` holding `owner.json` {pid, host, time, token,
 * started}. To take it, a process creates a temporary directory (mkdir) with its owner file inside
 * and renames it to `<name>.lock`: rename of a directory onto an existing non-empty one fails, so at
 * most one process succeeds, and the lock never appears without its owner file. Release renames the
 * lock away and deletes it, only if the owner token is still ours. Other callers in the same
 * process queue in memory first, so they never poll against each other.
 *
 * Breaking. Waiters poll with exponential backoff up to a timeout (NW_STORE_LOCKED). A lock is
 * broken, and the waiter goes on, when its owner is known to be gone: a pid that no longer runs on
 * this host, this very pid from an earlier process (containers reuse small pids, so the owner's
 * start time is compared), or a lock older than the staleness limit (owners on other hosts, whose
 * pids cannot be checked). Two waiters that both see a dead owner must not break twice (the second
 * would delete the lock the first has just taken), so breaking happens under a short-lived guard
 * directory `<name>.lock.break` and re-reads the owner token under it.
 */
import { randomBytes, randomInt } from "node:crypto";
import { mkdir, readFile, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { NetwardenError, TMP_PREFIX } from "../core/index.js";
import { errno, ioError } from "./fs-util.js";

export interface LockOptions {
  /** How long to wait for another process before NW_STORE_LOCKED, in ms (default 10 s). */
  timeoutMs?: number;
  /** A lock older than this is taken to be left by a crashed process and broken, in ms (default 30 s). */
  staleMs?: number;
  /** What the lock protects, for messages: "model `phish`". */
  what?: string;
}

export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  time: string;
  /** Random per acquisition: tells one holding of the lock from the next. */
  token: string;
  /** Wall-clock ms when the owner process started: tells it from an earlier process with its pid. */
  started: number;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
export const DEFAULT_LOCK_STALE_MS = 30_000;
export const OWNER_FILE = "owner.json";
/** A break guard is held for a few file operations; one this old was left by a crash. */
const GUARD_STALE_MS = 5_000;
const MAX_BACKOFF_MS = 200;

const HOST = hostname();
const PROCESS_STARTED = Math.round(Date.now() - process.uptime() * 1000);

// Callers in this process queue here, keyed by absolute lock path, before touching the lock dir.
const queues = new Map<string, Promise<void>>();

/** Runs `fn` while holding the lock at `lockDir` (a path ending in `.lock`). */
export async function withLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const key = resolve(lockDir);
  const previous = queues.get(key) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => {
    done = r;
  });
  const tail = previous.then(() => mine);
  queues.set(key, tail);
  try {
    await previous;
    const token = await acquire(key, options);
    try {
      return await fn();
    } finally {
      await release(key, token);
    }
  } finally {
    done();
    if (queues.get(key) === tail) queues.delete(key);
  }
}

interface Seen {
  owner?: LockOwner;
  /** mtime of the lock dir; the age of a lock whose owner file is unreadable. */
  mtimeMs: number;
  ino: number;
}

async function acquire(lockDir: string, options: LockOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const staleMs = options.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const parent = dirname(lockDir);
  try {
    await mkdir(parent, { recursive: true });
  } catch (e) {
    throw ioError("create the lock folder", parent, e);
  }
  const token = randomBytes(8).toString("hex");
  const deadline = Date.now() + timeoutMs;
  let backoff = 2;
  for (;;) {
    const owner: LockOwner = {
      pid: process.pid,
      host: HOST,
      time: new Date().toISOString(),
      token,
      started: PROCESS_STARTED,
    };
    if (await tryCreate(lockDir, owner)) return token;
    const seen = await inspect(lockDir);
    if (!seen) continue; // released between our attempt and the look: try again at once
    if (abandoned(seen, staleMs) && (await breakLock(lockDir, seen))) continue;
    const left = deadline - Date.now();
    if (left <= 0) throw lockedError(lockDir, seen, options.what ?? "the store");
    // Jitter is scheduling, not a modelling choice: it must differ between processes so that
    // waiters do not retry in lockstep, hence the OS random source rather than a seeded Rng.
    await sleep(Math.min(left, backoff + randomInt(backoff + 1)));
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}

async function tryCreate(lockDir: string, owner: LockOwner): Promise<boolean> {
  const tmp = join(dirname(lockDir), `${TMP_PREFIX}lock-${randomBytes(6).toString("hex")}`);
  try {
    await mkdir(tmp);
    await writeFile(join(tmp, OWNER_FILE), JSON.stringify(owner));
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw ioError("create a lock in", dirname(lockDir), e);
  }
  try {
    await rename(tmp, lockDir);
    return true;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    // EEXIST/ENOTEMPTY: POSIX for "target is a non-empty directory"; EPERM: Windows' word for it.
    const code = errno(e);
    if (code === "EEXIST" || code === "ENOTEMPTY" || code === "EPERM") return false;
    throw ioError("take the lock", lockDir, e);
  }
}

/** The lock as it is now, or undefined when nobody holds it. */
async function inspect(lockDir: string): Promise<Seen | undefined> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(lockDir);
  } catch (e) {
    if (errno(e) === "ENOENT") return undefined;
    throw ioError("inspect the lock", lockDir, e);
  }
  const seen: Seen = { mtimeMs: st.mtimeMs, ino: st.ino };
  try {
    seen.owner = parseOwner(await readFile(join(lockDir, OWNER_FILE), "utf8"));
  } catch (e) {
    const code = errno(e);
    if (code === "ENOENT") {
      if (!(await stillThere(lockDir, st.ino))) return undefined;
    } else if (code !== "ENOTDIR") {
      throw ioError("read the lock owner", lockDir, e);
    }
  }
  return seen;
}

async function stillThere(lockDir: string, ino: number): Promise<boolean> {
  try {
    return (await stat(lockDir)).ino === ino;
  } catch {
    return false;
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (
      typeof o.pid === "number" &&
      typeof o.host === "string" &&
      typeof o.time === "string" &&
      typeof o.token === "string" &&
      typeof o.started === "number"
    ) {
      return o as LockOwner;
    }
  } catch {
    // An unreadable owner file is judged by the lock dir's age alone.
  }
  return undefined;
}

/** True when the holder is known to be gone; false while it may still be working. */
function abandoned(seen: Seen, staleMs: number): boolean {
  const { owner } = seen;
  const age = Date.now() - (owner ? Date.parse(owner.time) : seen.mtimeMs);
  if (!(age <= staleMs)) return true; // older than the staleness limit (or an unreadable time)
  if (!owner || owner.host !== HOST) return false; // another host's pids cannot be checked
  // This pid: an earlier process (different start time) is gone; this process (another thread or
  // module instance) is not.
  if (owner.pid === process.pid) return Math.abs(owner.started - PROCESS_STARTED) > 2_000;
  return !pidAlive(owner.pid);
}

function pidAlive(pid: number): boolean {
  // kill(0 or negative) would signal process groups; such an owner file is not ours.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === "EPERM"; // exists, owned by another user
  }
}

function sameHolding(a: Seen, b: Seen): boolean {
  if (a.owner || b.owner) return a.owner?.token === b.owner?.token;
  return a.ino === b.ino && a.mtimeMs === b.mtimeMs;
}

/** Breaks the lock if it is still the holding `seen`; false when another process is breaking it. */
async function breakLock(lockDir: string, seen: Seen): Promise<boolean> {
  const guard = `${lockDir}.break`;
  try {
    await mkdir(guard);
  } catch (e) {
    if (errno(e) !== "EEXIST") throw ioError("create the lock guard", guard, e);
    try {
      if (Date.now() - (await stat(guard)).mtimeMs <= GUARD_STALE_MS) return false;
      await rmdir(guard); // left by a process that crashed while breaking
      return true;
    } catch (e2) {
      if (errno(e2) === "ENOENT") return true;
      throw ioError("remove the stale lock guard", guard, e2);
    }
  }
  let failure: unknown;
  try {
    const now = await inspect(lockDir);
    if (now && sameHolding(now, seen)) await discard(lockDir);
  } catch (e) {
    failure = e;
  }
  try {
    await rmdir(guard);
  } catch (e) {
    if (errno(e) !== "ENOENT") failure ??= ioError("remove the lock guard", guard, e);
  }
  if (failure !== undefined) throw failure;
  return true;
}

/** Renames the lock away first, so the path is never a half-deleted (empty) directory. */
async function discard(lockDir: string): Promise<void> {
  const trash = join(dirname(lockDir), `${TMP_PREFIX}unlock-${randomBytes(6).toString("hex")}`);
  try {
    await rename(lockDir, trash);
  } catch (e) {
    if (errno(e) === "ENOENT") return;
    throw ioError("release the lock", lockDir, e);
  }
  await rm(trash, { recursive: true, force: true });
}

async function release(lockDir: string, token: string): Promise<void> {
  const seen = await inspect(lockDir);
  // If the token is not ours, a waiter judged the lock stale and took it over (we held it past the
  // staleness limit); the lock now belongs to that process and must be left alone.
  if (seen?.owner?.token === token) await discard(lockDir);
}

function lockedError(lockDir: string, seen: Seen, what: string): NetwardenError {
  const { owner } = seen;
  const by = owner ? `pid ${owner.pid} on ${owner.host}, since ${owner.time}` : "an unknown process";
  return new NetwardenError("NW_STORE_LOCKED", `${what} is locked by another process (${by})`, {
    where: lockDir,
    hint: `Wait for that process to finish and retry. If it is gone for good (killed on another machine), delete ${lockDir}`,
    details: { lock: lockDir, ...(owner ? { owner } : {}) },
  });
}
