import { NetwardenError } from "../../core/index.js";

// Layout of a team's control block (an Int32Array on a SharedArrayBuffer).
const SEQ = 0; // bumped by the leader for every command
const CMD = 1; // the command
const DONE = 2; // members that finished the current command
const FAILED = 3; // 1 once a member failed
const JOINED = 4; // members whose loop has started
/** First slot free for the caller's own command arguments. */
export const TEAM_ARGS = 5;
/** Slots in a control block: TEAM_ARGS plus 11 argument slots. */
export const TEAM_CTRL_SLOTS = 16;

/** Command that ends the members' loops. */
export const TEAM_EXIT = 0;

/** No member answering for this long means one died (a crash the leader cannot see while it waits). */
const STALL_MS = 300_000;

/** A fresh control block for a team. */
export function teamControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(TEAM_CTRL_SLOTS * 4));
}

/**
 * The leader of a team of worker threads that work in lock step on shared memory: it broadcasts a
 * command, does its own share, and blocks until every member has finished. Latency is a futex
 * wake-up (microseconds), not a message round trip, so a team can synchronise thousands of times
 * a second — e.g. once per tree level while growing boosted trees.
 */
export class TeamLeader {
  constructor(
    readonly ctrl: Int32Array,
    readonly members: number,
  ) {}

  /**
   * Resolves once every member's loop runs; rejects as soon as one of `calls` (the pool calls
   * running the members) fails, e.g. because its module could not be loaded. Await this before
   * the first `run`: a leader blocked in `run` cannot see a worker that never started.
   */
  async joined(calls: readonly Promise<unknown>[]): Promise<void> {
    let failure: unknown = null;
    let settled = false;
    for (const c of calls) {
      c.then(
        () => {
          settled = true;
        },
        (e) => {
          failure ??= e;
          settled = true;
        },
      );
    }
    while (Atomics.load(this.ctrl, JOINED) < this.members) {
      if (failure) throw failure;
      if (settled) {
        throw new NetwardenError("NW_INTERNAL", "a worker thread left its team before joining", {
          hint: "This is a bug in netwarden; please report it",
        });
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Runs `cmd` on every member and `own()` on this thread; returns when all are done. */
  run(cmd: number, own: () => void): void {
    const c = this.ctrl;
    if (this.members > 0) {
      Atomics.store(c, DONE, 0);
      Atomics.store(c, CMD, cmd);
      Atomics.add(c, SEQ, 1);
      Atomics.notify(c, SEQ);
    }
    own();
    this.wait();
  }

  /** Tells the members to leave their loops. */
  exit(): void {
    if (this.members === 0) return;
    const c = this.ctrl;
    Atomics.store(c, CMD, TEAM_EXIT);
    Atomics.add(c, SEQ, 1);
    Atomics.notify(c, SEQ);
  }

  private wait(): void {
    awaitTeam(this.ctrl, this.members);
  }
}

/**
 * Blocks until `members` members have counted themselves done on the control block (or one
 * failed, which throws). For one-shot tasks: the leader resets DONE with `teamControl()` (a fresh
 * block), hands it to each task, and each task ends with `finishTeamTask`.
 */
export function awaitTeam(c: Int32Array, members: number): void {
  let waited = 0;
  for (;;) {
    const done = Atomics.load(c, DONE);
    if (done >= members || Atomics.load(c, FAILED) !== 0) break;
    if (Atomics.wait(c, DONE, done, 1000) === "timed-out") {
      waited += 1000;
      if (waited >= STALL_MS) {
        throw new NetwardenError("NW_INTERNAL", "a worker thread stopped answering", {
          hint: "The process may be short of memory; try n_threads: 1, or report this bug",
        });
      }
    } else waited = 0;
  }
  if (Atomics.load(c, FAILED) !== 0) {
    throw new NetwardenError("NW_INTERNAL", "a worker thread failed", {
      hint: "This is a bug in netwarden; please report it",
    });
  }
}

/** A one-shot task's member counts itself done (see `awaitTeam`). */
export function finishTeamTask(ctrl: Int32Array): void {
  Atomics.add(ctrl, DONE, 1);
  Atomics.notify(ctrl, DONE);
}

/**
 * Marks the team failed and counts the caller as done, so a leader waiting on it wakes up; for a
 * member that fails before or while running a command.
 */
export function failTeam(ctrl: Int32Array): void {
  Atomics.store(ctrl, FAILED, 1);
  Atomics.add(ctrl, DONE, 1);
  Atomics.notify(ctrl, DONE);
}

/**
 * A member's loop: waits for each command, runs `handle(cmd)`, reports completion, and returns
 * on TEAM_EXIT. An exception marks the team failed (so the leader stops waiting) and is rethrown.
 * Pass the control block to the pool call as `args.team` too: the worker then also marks the team
 * failed when the call fails before the loop starts (e.g. the module cannot be loaded).
 * A member may start late: it counts from the block's first sequence number (0), so a command
 * issued before it started is still run.
 */
export function followTeam(ctrl: Int32Array, handle: (cmd: number) => void): void {
  let seen = 0;
  Atomics.add(ctrl, JOINED, 1);
  for (;;) {
    Atomics.wait(ctrl, SEQ, seen);
    const seq = Atomics.load(ctrl, SEQ);
    if (seq === seen) continue;
    seen = seq;
    const cmd = Atomics.load(ctrl, CMD);
    if (cmd === TEAM_EXIT) return;
    try {
      handle(cmd);
    } catch (e) {
      failTeam(ctrl);
      throw e;
    }
    Atomics.add(ctrl, DONE, 1);
    Atomics.notify(ctrl, DONE);
  }
}
