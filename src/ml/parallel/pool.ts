import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { NetwardenError } from "../../core/index.js";

/** An idle worker is stopped after this long, so pools never pin memory or threads for long. */
const IDLE_MS = 2_000;

/** Threads a learner uses when `n_threads` is null: every core the process may use. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

/** `n_threads` as given (null: all cores), never below 1. */
export function resolveThreads(nThreads: number | null | undefined): number {
  return nThreads === null || nThreads === undefined ? defaultThreads() : Math.max(1, Math.floor(nThreads));
}

/**
 * The JavaScript file to load in a worker for a module URL. Workers cannot run TypeScript: under
 * Vitest the sources are `.ts`, so `…/src/x/y.ts` maps to the compiled `…/dist/x/y.js` (the test
 * setup builds dist/ before every run); compiled modules map to themselves.
 */
export function runtimeModuleUrl(url: string): string {
  if (!url.endsWith(".ts")) return url;
  const at = url.lastIndexOf("/src/");
  if (at < 0) {
    throw new NetwardenError("NW_INTERNAL", `cannot map ${url} to its compiled module`, {
      hint: "Worker modules must live under src/; this is a bug in netwarden, please report it",
    });
  }
  return `${url.slice(0, at)}/dist/${url.slice(at + 5, -3)}.js`;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  timer: NodeJS.Timeout | null;
}

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: {
    message: string;
    code?: string;
    where?: string;
    hint?: string;
    details?: Record<string, unknown>;
  };
}

/**
 * A set of worker threads that run exported functions of modules (`call(module, fn, args)`).
 * Each call takes an idle worker or starts one; a worker is referenced (keeps the process alive)
 * only while it has calls in flight and stops after a short idle time. Shared memory
 * (SharedArrayBuffer) in `args` is shared, not copied.
 */
export class WorkerPool {
  private readonly idle: Slot[] = [];
  private nextId = 1;
  private readonly entry = fileURLToPath(new URL("./worker.js", runtimeModuleUrl(import.meta.url)));

  /**
   * Runs `module`'s export `fn` with `args` in a worker and resolves to its return value.
   * `module` is a module URL (`new URL("./x.js", import.meta.url).href`); TypeScript sources are
   * mapped to their compiled copies. Errors thrown in the worker reject with the same code.
   */
  call<T>(module: string, fn: string, args: unknown): Promise<T> {
    const slot = this.idle.pop() ?? this.start();
    if (slot.timer) {
      clearTimeout(slot.timer);
      slot.timer = null;
    }
    const id = this.nextId++;
    slot.worker.ref();
    return new Promise<T>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      slot.worker.postMessage({ id, module: runtimeModuleUrl(module), fn, args });
    });
  }

  /** Stops every idle worker now (busy ones stop when they next become idle). */
  async close(): Promise<void> {
    const slots = this.idle.splice(0);
    await Promise.all(
      slots.map((s) => {
        if (s.timer) clearTimeout(s.timer);
        return s.worker.terminate();
      }),
    );
  }

  private start(): Slot {
    // Workers inherit the process's flags; --input-type only applies to a main script given with -e.
    const execArgv = process.execArgv.filter((a) => !a.startsWith("--input-type"));
    const worker = new Worker(this.entry, { execArgv });
    const slot: Slot = { worker, pending: new Map(), timer: null };
    worker.on("message", (reply: Reply) => {
      const p = slot.pending.get(reply.id);
      if (!p) return;
      slot.pending.delete(reply.id);
      if (slot.pending.size === 0) this.release(slot);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(toError(reply.error));
    });
    const fail = (e: unknown) => {
      const err = new NetwardenError("NW_INTERNAL", `a worker thread failed: ${describe(e)}`, {
        hint: "This is a bug in netwarden (or the process ran out of memory); please report it",
        cause: e,
      });
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
      const i = this.idle.indexOf(slot);
      if (i >= 0) this.idle.splice(i, 1);
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (slot.pending.size > 0) fail(`exited with code ${code}`);
    });
    return slot;
  }

  private release(slot: Slot): void {
    slot.worker.unref();
    this.idle.push(slot);
    slot.timer = setTimeout(() => {
      const i = this.idle.indexOf(slot);
      if (i >= 0) {
        this.idle.splice(i, 1);
        void slot.worker.terminate();
      }
    }, IDLE_MS);
    slot.timer.unref();
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function toError(e: Reply["error"]): Error {
  if (e?.code) {
    return new NetwardenError(e.code as never, e.message, {
      where: e.where,
      hint: e.hint,
      details: e.details,
    });
  }
  return new NetwardenError("NW_INTERNAL", `a worker task failed: ${e?.message ?? "unknown error"}`, {
    hint: "This is a bug in netwarden; please report it",
  });
}

let shared: WorkerPool | undefined;

/** The process-wide pool learners share. */
export function sharedPool(): WorkerPool {
  shared ??= new WorkerPool();
  return shared;
}
