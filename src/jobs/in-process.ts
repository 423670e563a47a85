import { randomUUID } from "node:crypto";
import { asNetwardenError, NetwardenError, type Progress, type ProgressTask } from "../core/index.js";
import {
  JOB_TYPES,
  type JobFilter,
  type JobHandlers,
  type JobQueue,
  type JobRecord,
  type JobType,
} from "./types.js";

export interface InProcessQueueOptions {
  /** Jobs running at the same time (default 1). */
  concurrency?: number;
  /** Finished jobs kept for `get` and `list` (default 1000; the oldest go first). */
  keepFinished?: number;
}

const MAX_MESSAGES = 100;

/** Runs jobs in this process, in submission order, `concurrency` at a time. */
export class InProcessJobQueue implements JobQueue {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly pending: string[] = [];
  private readonly done = new Map<string, Promise<JobRecord>>();
  private readonly finishers = new Map<string, (r: JobRecord) => void>();
  private readonly abort = new AbortController();
  private running = 0;
  private closed = false;
  private idle: (() => void) | undefined;

  constructor(
    private readonly handlers: JobHandlers,
    private readonly options: InProcessQueueOptions = {},
  ) {}

  async submit(
    type: string,
    payload: Record<string, unknown>,
    options: { submittedBy?: string } = {},
  ): Promise<JobRecord> {
    if (!(JOB_TYPES as readonly string[]).includes(type)) {
      throw new NetwardenError("NW_JOB_INVALID", `there is no job type \`${type}\``, {
        where: "type",
        hint: `Job types: ${JOB_TYPES.join(", ")}`,
      });
    }
    if (!this.handlers[type as JobType]) {
      throw new NetwardenError("NW_JOB_UNSUPPORTED", `this server does not run \`${type}\` jobs`, {
        where: "type",
        hint: `It runs: ${Object.keys(this.handlers).join(", ") || "none"}`,
      });
    }
    if (this.closed) {
      throw new NetwardenError("NW_SERVE_SHUTTING_DOWN", "the job queue is closing", {
        hint: "Submit the job again once the server is back",
      });
    }
    const job: JobRecord = {
      id: `job-${randomUUID()}`,
      type: type as JobType,
      status: "queued",
      payload: structuredClone(payload),
      ...(options.submittedBy ? { submittedBy: options.submittedBy } : {}),
      createdAt: new Date().toISOString(),
      progress: { tasks: [], messages: [] },
    };
    this.jobs.set(job.id, job);
    this.done.set(job.id, new Promise((resolve) => this.finishers.set(job.id, resolve)));
    this.pending.push(job.id);
    this.prune();
    queueMicrotask(() => this.pump());
    return snapshot(job);
  }

  async get(id: string): Promise<JobRecord> {
    return snapshot(this.find(id));
  }

  async list(filter: JobFilter = {}): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    for (const j of this.jobs.values()) {
      if (filter.type && j.type !== filter.type) continue;
      if (filter.status && j.status !== filter.status) continue;
      out.push(j);
    }
    return out
      .reverse()
      .slice(0, filter.limit ?? 50)
      .map(snapshot);
  }

  async cancel(id: string): Promise<JobRecord> {
    const job = this.find(id);
    if (job.status === "queued") {
      this.pending.splice(this.pending.indexOf(id), 1);
      this.finish(job, "cancelled");
    }
    return snapshot(job);
  }

  async wait(id: string): Promise<JobRecord> {
    this.find(id);
    return snapshot(await (this.done.get(id) as Promise<JobRecord>));
  }

  async close(options: { abort?: boolean } = {}): Promise<void> {
    this.closed = true;
    for (const id of this.pending.splice(0)) this.finish(this.find(id), "cancelled");
    if (options.abort) this.abort.abort();
    if (this.running > 0) await new Promise<void>((resolve) => (this.idle = resolve));
  }

  private find(id: string): JobRecord {
    const job = this.jobs.get(id);
    if (!job) {
      throw new NetwardenError("NW_JOB_NOT_FOUND", `no job \`${id}\``, {
        where: "id",
        hint: "Job ids are returned by the submit call; finished jobs are kept for a while only",
      });
    }
    return job;
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 1;
    while (this.running < limit && this.pending.length > 0) {
      const job = this.find(this.pending.shift() as string);
      this.running++;
      this.run(job).finally(() => {
        this.running--;
        if (this.running === 0 && this.idle) this.idle();
        this.pump();
      });
    }
  }

  private async run(job: JobRecord): Promise<void> {
    job.status = "running";
    job.startedAt = new Date().toISOString();
    const handler = this.handlers[job.type] as NonNullable<JobHandlers[JobType]>;
    try {
      const result = await handler(structuredClone(job.payload), {
        jobId: job.id,
        progress: jobProgress(job),
        signal: this.abort.signal,
      });
      job.result = result === undefined ? null : JSON.parse(JSON.stringify(result));
      this.finish(job, "succeeded");
    } catch (e) {
      const err = asNetwardenError(e);
      job.error = {
        code: err.code,
        message: err.message,
        ...(err.where ? { where: err.where } : {}),
        ...(err.hint ? { hint: err.hint } : {}),
      };
      this.finish(job, "failed");
    }
  }

  private finish(job: JobRecord, status: "succeeded" | "failed" | "cancelled"): void {
    job.status = status;
    job.endedAt = new Date().toISOString();
    this.finishers.get(job.id)?.(job);
    this.finishers.delete(job.id);
  }

  /** Forgets the oldest finished jobs beyond `keepFinished`. */
  private prune(): void {
    const keep = this.options.keepFinished ?? 1000;
    let finished = 0;
    for (const j of this.jobs.values()) if (j.endedAt) finished++;
    for (const [id, j] of this.jobs) {
      if (finished <= keep) break;
      if (!j.endedAt) continue;
      this.jobs.delete(id);
      this.done.delete(id);
      finished--;
    }
  }
}

function snapshot(job: JobRecord): JobRecord {
  return structuredClone(job);
}

/** A Progress that records tasks and messages into the job record. */
function jobProgress(job: JobRecord): Progress {
  return {
    task(label: string, total?: number): ProgressTask {
      const t = { label, ...(total !== undefined ? { total } : {}), done: 0, finished: false } as {
        label: string;
        total?: number;
        done: number;
        note?: string;
        finished: boolean;
      };
      job.progress.tasks.push(t);
      return {
        tick(n = 1, note) {
          t.done += n;
          if (note !== undefined) t.note = note;
        },
        note(note) {
          t.note = note;
        },
        done(note) {
          t.finished = true;
          if (note !== undefined) t.note = note;
        },
      };
    },
    log(message: string, level: "info" | "warn" = "info") {
      const m = job.progress.messages;
      m.push({ message, level, at: new Date().toISOString() });
      if (m.length > MAX_MESSAGES) m.splice(0, m.length - MAX_MESSAGES);
    },
  };
}
