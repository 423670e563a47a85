import type { Progress } from "../core/index.js";

/** Every kind of job netwarden knows; a queue may have handlers for only some of them. */
export const JOB_TYPES = ["train", "evaluate", "batch-score", "drift-check"] as const;
export type JobType = (typeof JOB_TYPES)[number];

export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export interface JobTaskProgress {
  label: string;
  total?: number;
  done: number;
  note?: string;
  finished: boolean;
}

export interface JobRecord {
  id: string;
  type: JobType;
  status: JobStatus;
  /** What the job was asked to do (JSON). */
  payload: Record<string, unknown>;
  submittedBy?: string;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  progress: {
    tasks: JobTaskProgress[];
    /** The latest messages (findings, warnings), oldest first. */
    messages: { message: string; level: "info" | "warn"; at: string }[];
  };
  /** The handler's answer (JSON) once succeeded. */
  result?: unknown;
  /** `where` says which payload field (or input) was wrong, as in every NetwardenError. */
  error?: { code: string; message: string; where?: string; hint?: string };
}

export interface JobContext {
  jobId: string;
  /** Where the handler reports progress; the queue records it in the job. */
  progress: Progress;
  /** Aborted when the queue closes without waiting; handlers that can stop early should. */
  signal: AbortSignal;
}

/** Runs one job; resolves to a JSON-serialisable result, throws a NetwardenError on failure. */
export type JobHandler = (payload: Record<string, unknown>, ctx: JobContext) => Promise<unknown>;

export type JobHandlers = Partial<Record<JobType, JobHandler>>;

export interface JobFilter {
  type?: JobType;
  status?: JobStatus;
  /** Newest first; default 50. */
  limit?: number;
}

/**
 * A queue of jobs, independent of where they run. The in-process queue runs handlers in this
 * process; a Redis-backed one runs the same handlers on workers elsewhere. Records are plain JSON
 * so any implementation can store them.
 */
export interface JobQueue {
  /** Queues a job; NW_JOB_INVALID for an unknown type, NW_JOB_UNSUPPORTED when no handler runs it. */
  submit(
    type: string,
    payload: Record<string, unknown>,
    options?: { submittedBy?: string },
  ): Promise<JobRecord>;
  /** NW_JOB_NOT_FOUND when no job has the id. */
  get(id: string): Promise<JobRecord>;
  list(filter?: JobFilter): Promise<JobRecord[]>;
  /** Cancels a queued job; a running or finished job is returned unchanged. */
  cancel(id: string): Promise<JobRecord>;
  /** Resolves when the job has finished (succeeded, failed or cancelled). */
  wait(id: string): Promise<JobRecord>;
  /** Stops taking jobs; waits for running ones (or aborts them with `abort: true`). */
  close(options?: { abort?: boolean }): Promise<void>;
}
