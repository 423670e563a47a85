import { isMainThread } from "node:worker_threads";
import { NetwardenError } from "../../core/index.js";
import {
  NeighborIndex,
  type NeighborIndexState,
  type NeighborResult,
} from "../../features/resample/index.js";
import { runtimeModuleUrl, sharedCopy, sharedPool } from "../parallel/index.js";

// Queries per claim: large enough that claiming costs nothing, small enough to balance the
// threads (a UNSW-NB15-sized search spends ~0.5 ms per query).
const CHUNK = 64;
/** Fewer queries than this are searched on the calling thread: starting workers costs more. */
export const PARALLEL_MIN_QUERIES = 4 * CHUNK;

// Slots of the control block.
const NEXT = 0; // next chunk to claim
const DONE = 1; // chunks searched
const FAILED = 2; // 1 once a thread failed
const ON_WORKERS = 3; // chunks searched by worker threads
/** No chunk finishing for this long means a worker died (a crash this thread cannot see). */
const STALL_MS = 300_000;
/** Without its own share, the calling thread joins in when no worker has started by then. */
const START_MS = 10_000;

const MODULE = runtimeModuleUrl(import.meta.url);

interface SearchTask {
  state: NeighborIndexState;
  queries: Float64Array;
  nQueries: number;
  k: number;
  indices: Int32Array;
  distances: Float64Array;
  ctrl: Int32Array;
}

/**
 * Searches chunks of queries until none is left. Runs on the calling thread and on each worker;
 * every query's answer depends on that query alone, so who searches which chunk does not matter
 * and the results are identical for any thread count.
 */
export function searchChunks(t: SearchTask): void {
  const ctrl = t.ctrl;
  try {
    const index = NeighborIndex.fromState(t.state);
    const k = t.k;
    for (;;) {
      const from = Atomics.add(ctrl, NEXT, 1) * CHUNK;
      if (from >= t.nQueries || Atomics.load(ctrl, FAILED) !== 0) break;
      const to = Math.min(t.nQueries, from + CHUNK);
      index.search(t.queries, from, to, k, {
        indices: t.indices.subarray(from * k, to * k),
        distances: t.distances.subarray(from * k, to * k),
      });
      if (!isMainThread) Atomics.add(ctrl, ON_WORKERS, 1);
      Atomics.add(ctrl, DONE, 1);
      Atomics.notify(ctrl, DONE);
    }
  } catch (e) {
    Atomics.store(ctrl, FAILED, 1);
    Atomics.notify(ctrl, DONE);
    throw e;
  }
}

/**
 * `index.kneighbors(queries, k)` on `threads` threads (this one included); blocks until done.
 * The index should be built with shared memory, or each worker gets a copy of it. With
 * `callerShare: false` this thread only waits and the workers search every chunk (for tests);
 * `chunksOnWorkers` counts the chunks worker threads searched.
 */
export function searchParallel(
  index: NeighborIndex,
  queries: Float64Array,
  k: number,
  threads: number,
  { callerShare = true } = {},
): NeighborResult & { chunksOnWorkers: number } {
  const nQueries = queries.length / index.nCols;
  const q = sharedCopy(queries);
  const task: SearchTask = {
    state: index.state,
    queries: q,
    nQueries,
    k,
    indices: new Int32Array(new SharedArrayBuffer(4 * nQueries * k)),
    distances: new Float64Array(new SharedArrayBuffer(8 * nQueries * k)),
    ctrl: new Int32Array(new SharedArrayBuffer(16)),
  };
  // A worker that fails sets FAILED, reported below. One that cannot start at all only costs
  // speed: this thread searches whatever chunks are left and never waits for an unclaimed one.
  for (let t = 1; t < threads; t++)
    sharedPool()
      .call(MODULE, "searchChunks", task)
      .catch(() => {});
  if (callerShare) searchChunks(task);
  const ctrl = task.ctrl;
  const chunks = Math.ceil(nQueries / CHUNK);
  let waited = 0;
  for (let done = Atomics.load(ctrl, DONE); done < chunks; done = Atomics.load(ctrl, DONE)) {
    if (Atomics.load(ctrl, FAILED) !== 0) break;
    if (Atomics.wait(ctrl, DONE, done, 1000) !== "timed-out") waited = 0;
    else if ((waited += 1000) >= START_MS && Atomics.load(ctrl, NEXT) === 0) searchChunks(task);
    else if (waited >= STALL_MS) {
      throw new NetwardenError("NW_INTERNAL", "worker threads stopped searching neighbours", {
        hint: "The process may be short of memory; retry with n_threads: 1, or report this bug",
      });
    }
  }
  if (Atomics.load(ctrl, FAILED) !== 0) {
    throw new NetwardenError("NW_INTERNAL", "a worker thread failed while searching neighbours", {
      hint: "Retry with n_threads: 1; if that works, this is a bug in netwarden: please report it",
    });
  }
  return {
    indices: task.indices,
    distances: task.distances,
    chunksOnWorkers: Atomics.load(ctrl, ON_WORKERS),
  };
}
