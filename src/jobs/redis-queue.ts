/**
 * The distributed job queue: BullMQ on Redis (`REDIS_URL`). The same `JobQueue` interface and the
 * same handlers as the in-process queue; jobs are submitted by any process (`netwarden serve`) and
 * run by `netwarden worker` processes on any machine.
 *
 * - Retries: a job failing with a network, internal or store-lock error is retried with
 *   exponential backoff (3 attempts by default); bad input (usage, data, gate...) fails at once.
 * - Dead workers: a running job's lock is renewed while its worker lives; when a worker dies
 *   (SIGKILL, machine lost) the lock expires and the job goes back to the queue for another worker.
 * - Progress: the handler's Progress is recorded into the job (throttled) for `get`.
 * - Schedules: `schedule()` adds a repeatable (cron) job, run by whichever worker is free.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type ConnectionOptions, type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import { asNetwardenError, CODES, NetwardenError, type Progress, type ProgressTask } from "../core/index.js";
import {
  JOB_TYPES,
  type JobFilter,
  type JobHandlers,
  type JobQueue,
  type JobRecord,
  type JobStatus,
  type JobTaskProgress,
  type JobType,
} from "./types.js";

export interface RedisJobQueueOptions {
  /** redis://[user:password@]host:6379[/db] (or rediss:// for TLS). */
  url: string;
  /** Queue name (default "netwarden"); processes sharing one name share the jobs. */
  name?: string;
  /**
   * Handlers: given, this process also works jobs (a worker); without, it only submits and reads.
   */
  handlers?: JobHandlers;
  /** Jobs this process runs at the same time (default 1). */
  concurrency?: number;
  /** Attempts per job, the first included (default 3). */
  attempts?: number;
  /** First retry delay in ms, doubled each retry (default 1000). */
  backoffMs?: number;
  /** How long a job's lock lasts unless its worker renews it: a dead worker's jobs move on after it (default 30 s). */
  lockMs?: number;
  /** Finished jobs kept for `get` and `list` (default 1000 of each outcome). */
  keepFinished?: number;
  /** How long to wait for Redis to answer when opening (default 10 s). */
  connectTimeoutMs?: number;
  /** Told when this process starts or ends a job (for a worker's log). */
  onJob?: (event: {
    id: string;
    type: string;
    status: "running" | "succeeded" | "failed";
    error?: string;
  }) => void;
}

/** What a job carries in Redis. */
interface JobData {
  type: JobType;
  payload: Record<string, unknown>;
  submittedBy?: string;
}

interface JobProgressData {
  tasks: JobTaskProgress[];
  messages: JobRecord["progress"]["messages"];
}

const MAX_MESSAGES = 100;
const PROGRESS_EVERY_MS = 250;
const CANCELLED_TTL_S = 7 * 24 * 3600;
/** Errors worth another attempt: the cause may be gone next time. */
const RETRIED_CATEGORIES = new Set(["network", "internal"]);
const RETRIED_CODES = new Set(["NW_STORE_LOCKED", "NW_STORE_IO"]);

/** Checks a REDIS_URL; NW_BACKEND_CONFIG when it has the wrong form. */
export function checkRedisUrl(url: string, where = "REDIS_URL"): string {
  let ok = false;
  try {
    ok = ["redis:", "rediss:"].includes(new URL(url).protocol);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new NetwardenError("NW_BACKEND_CONFIG", `${where} is not a Redis URL`, {
      where,
      hint: "Use the form redis://[user:password@]host:6379[/db] (rediss:// for TLS)",
    });
  }
  return url;
}

/** ioredis options from a URL; BullMQ's blocking commands need maxRetriesPerRequest: null. */
function redisOptions(url: string): ConnectionOptions {
  const u = new URL(url);
  const db = Number(u.pathname.replace(/^\//, "") || "0");
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(Number.isInteger(db) ? { db } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

export function redactRedisUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/)([^:@/]*):[^@/]*@/, "$1$2@");
}

export class RedisJobQueue implements JobQueue {
  readonly name: string;
  readonly location: string;
  private readonly queue: Queue;
  private worker?: Worker;
  private readonly options: RedisJobQueueOptions;

  private constructor(options: RedisJobQueueOptions) {
    this.options = options;
    this.name = options.name ?? "netwarden";
    this.location = `${redactRedisUrl(options.url)} (queue ${this.name})`;
    this.queue = new Queue(this.name, { connection: this.connection() });
  }

  /** Connects; with handlers, starts working jobs. NW_BACKEND_UNAVAILABLE when Redis does not answer. */
  static async open(options: RedisJobQueueOptions): Promise<RedisJobQueue> {
    checkRedisUrl(options.url);
    const q = new RedisJobQueue(options);
    // ioredis keeps reconnecting to a server that is down; give it a while to answer.
    const waitMs = options.connectTimeoutMs ?? 10_000;
    const timeout = sleep(waitMs, "timeout" as const, { ref: false });
    try {
      const ready = await Promise.race([q.queue.waitUntilReady().then(() => "ready" as const), timeout]);
      if (ready === "timeout") throw new Error(`no answer within ${waitMs / 1000} s`);
    } catch (e) {
      await q.close().catch(() => undefined);
      throw unavailable(options.url, e);
    }
    if (options.handlers) q.startWorker(options.handlers);
    return q;
  }

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
    const data: JobData = {
      type: type as JobType,
      payload: structuredClone(payload),
      ...(options.submittedBy ? { submittedBy: options.submittedBy } : {}),
    };
    const job = await this.call("submit a job", () =>
      this.queue.add(type, data, { jobId: `job-${randomUUID()}`, ...this.jobOptions() }),
    );
    return this.record(job);
  }

  async get(id: string): Promise<JobRecord> {
    const job = await this.call("read a job", () => this.queue.getJob(id));
    if (job) return this.record(job);
    const cancelled = await this.call("read a job", async () =>
      (await this.queue.client).get(this.cancelledKey(id)),
    );
    if (cancelled) return JSON.parse(cancelled) as JobRecord;
    throw notFound(id);
  }

  async list(filter: JobFilter = {}): Promise<JobRecord[]> {
    const states = filter.status ? STATES_OF[filter.status] : ALL_STATES;
    if (states.length === 0) return [];
    const jobs = await this.call("list jobs", () => this.queue.getJobs(states, 0, -1));
    const records = await Promise.all(jobs.filter((j): j is Job => !!j).map((j) => this.record(j)));
    return records
      .filter(
        (r) =>
          (filter.type ? r.type === filter.type : true) &&
          (filter.status ? r.status === filter.status : true),
      )
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
      .slice(0, filter.limit ?? 50);
  }

  async cancel(id: string): Promise<JobRecord> {
    const job = await this.call("read a job", () => this.queue.getJob(id));
    if (!job) return this.get(id);
    const record = await this.record(job);
    if (record.status !== "queued") return record;
    const removed = await this.call("cancel a job", () => this.queue.remove(id));
    if (!removed) return this.get(id); // a worker took it meanwhile
    const cancelled: JobRecord = { ...record, status: "cancelled", endedAt: new Date().toISOString() };
    await this.call("cancel a job", async () =>
      (await this.queue.client).set(this.cancelledKey(id), JSON.stringify(cancelled), {
        EX: CANCELLED_TTL_S,
      }),
    );
    return cancelled;
  }

  async wait(id: string): Promise<JobRecord> {
    for (;;) {
      const r = await this.get(id);
      if (r.status === "succeeded" || r.status === "failed" || r.status === "cancelled") return r;
      await sleep(200);
    }
  }

  /** Adds (or replaces) a repeatable job: `cron` in the usual 5-field form, UTC. */
  async schedule(
    id: string,
    cron: string,
    type: JobType,
    payload: Record<string, unknown>,
  ): Promise<{ id: string; next?: string }> {
    if (!(JOB_TYPES as readonly string[]).includes(type)) {
      throw new NetwardenError("NW_JOB_INVALID", `there is no job type \`${type}\``, {
        where: "schedule",
        hint: `Job types: ${JOB_TYPES.join(", ")}`,
      });
    }
    const data: JobData = { type, payload, submittedBy: `schedule ${id}` };
    try {
      await this.queue.upsertJobScheduler(
        id,
        { pattern: cron, tz: "UTC" },
        { name: type, data, opts: this.jobOptions() },
      );
    } catch (e) {
      if (e instanceof Error && /cron|pattern|invalid/i.test(e.message)) {
        throw new NetwardenError(
          "NW_JOB_INVALID",
          `schedule \`${id}\`: \`${cron}\` is not a cron pattern (${e.message})`,
          {
            where: "schedule",
            hint: "Use five fields: minute hour day-of-month month day-of-week, e.g. `*/15 * * * *`",
          },
        );
      }
      throw unavailable(this.options.url, e);
    }
    const s = await this.queue.getJobScheduler(id);
    return { id, ...(s?.next ? { next: new Date(s.next).toISOString() } : {}) };
  }

  async schedules(): Promise<{ id: string; cron: string; type: string; next?: string }[]> {
    const list = await this.call("list schedules", () => this.queue.getJobSchedulers(0, -1, true));
    return list.map((s) => ({
      id: s.key,
      cron: s.pattern ?? "",
      type: s.name,
      ...(s.next ? { next: new Date(s.next).toISOString() } : {}),
    }));
  }

  async unschedule(id: string): Promise<boolean> {
    return this.call("remove a schedule", () => this.queue.removeJobScheduler(id));
  }

  /** Jobs running in this process (0 for a submit-only queue). */
  get running(): number {
    return this.active;
  }

  async close(options: { abort?: boolean } = {}): Promise<void> {
    if (this.worker) await this.worker.close(options.abort === true);
    await this.queue.close();
  }

  // ---- worker ----

  private active = 0;

  private startWorker(handlers: JobHandlers): void {
    const lockMs = this.options.lockMs ?? 30_000;
    this.worker = new Worker(
      this.name,
      async (job: Job<JobData>) => {
        this.active++;
        try {
          return await this.runJob(job, handlers);
        } finally {
          this.active--;
        }
      },
      {
        connection: this.connection(),
        concurrency: this.options.concurrency ?? 1,
        lockDuration: lockMs,
        // Look for the jobs of dead workers as often as a lock can expire.
        stalledInterval: Math.max(500, Math.floor(lockMs / 2)),
        maxStalledCount: 2,
      },
    );
    // Errors of the worker's own connection are retried by ioredis; without a listener Node
    // would treat them as unhandled.
    this.worker.on("error", () => undefined);
    const onJob = this.options.onJob;
    if (onJob) {
      this.worker.on("active", (job) => onJob({ id: job.id as string, type: job.name, status: "running" }));
      this.worker.on("completed", (job) =>
        onJob({ id: job.id as string, type: job.name, status: "succeeded" }),
      );
      this.worker.on("failed", (job, err) => {
        if (job)
          onJob({
            id: job.id as string,
            type: job.name,
            status: "failed",
            error: decodeError(err.message).message,
          });
      });
    }
  }

  private async runJob(job: Job<JobData>, handlers: JobHandlers): Promise<unknown> {
    const handler = handlers[job.data.type];
    if (!handler) {
      throw new UnrecoverableError(
        encodeError(
          new NetwardenError("NW_JOB_UNSUPPORTED", `this worker does not run \`${job.data.type}\` jobs`, {
            hint: `It runs: ${Object.keys(handlers).join(", ") || "none"}`,
          }),
        ),
      );
    }
    const progress = new JobProgress(job);
    const abort = new AbortController();
    try {
      const result = await handler(structuredClone(job.data.payload), {
        jobId: job.id as string,
        progress,
        signal: abort.signal,
      });
      await progress.flush();
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (e) {
      await progress.flush().catch(() => undefined);
      const err = asNetwardenError(e);
      const retry = RETRIED_CATEGORIES.has(CODES[err.code].category) || RETRIED_CODES.has(err.code);
      throw retry ? new Error(encodeError(err)) : new UnrecoverableError(encodeError(err));
    }
  }

  // ---- records ----

  private async record(read: Job): Promise<JobRecord> {
    const state = await read.getState();
    // The job may have finished between reading it and its state: read it again for the outcome.
    const job =
      state === "completed" || state === "failed"
        ? ((await this.queue.getJob(read.id as string)) ?? read)
        : read;
    const data = job.data as JobData;
    const status = statusOf(state);
    const p = (
      typeof job.progress === "object" && job.progress ? job.progress : {}
    ) as Partial<JobProgressData>;
    const record: JobRecord = {
      id: job.id as string,
      type: data.type,
      status,
      payload: data.payload,
      ...(data.submittedBy ? { submittedBy: data.submittedBy } : {}),
      createdAt: new Date(job.timestamp).toISOString(),
      ...(job.processedOn ? { startedAt: new Date(job.processedOn).toISOString() } : {}),
      ...((status === "succeeded" || status === "failed") && job.finishedOn
        ? { endedAt: new Date(job.finishedOn).toISOString() }
        : {}),
      progress: { tasks: p.tasks ?? [], messages: p.messages ?? [] },
      ...(status === "succeeded" ? { result: job.returnvalue ?? null } : {}),
      ...(status === "failed" ? { error: decodeError(job.failedReason) } : {}),
    };
    return record;
  }

  private jobOptions() {
    const keep = this.options.keepFinished ?? 1000;
    return {
      attempts: this.options.attempts ?? 3,
      backoff: { type: "exponential" as const, delay: this.options.backoffMs ?? 1000 },
      removeOnComplete: { count: keep },
      removeOnFail: { count: keep },
    };
  }

  private cancelledKey(id: string): string {
    return `bull:${this.name}:nw-cancelled:${id}`;
  }

  private connection(): ConnectionOptions {
    return redisOptions(this.options.url);
  }

  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof NetwardenError) throw e;
      throw unavailable(this.options.url, e, action);
    }
  }
}

type BullState = Awaited<ReturnType<Job["getState"]>>;

const STATES_OF: Record<
  JobStatus,
  ("waiting" | "delayed" | "prioritized" | "active" | "completed" | "failed" | "paused")[]
> = {
  queued: ["waiting", "delayed", "prioritized", "paused"],
  running: ["active"],
  succeeded: ["completed"],
  failed: ["failed"],
  cancelled: [],
};
const ALL_STATES = [...STATES_OF.queued, ...STATES_OF.running, ...STATES_OF.succeeded, ...STATES_OF.failed];

function statusOf(state: BullState): JobStatus {
  switch (state) {
    case "active":
      return "running";
    case "completed":
      return "succeeded";
    case "failed":
      return "failed";
    default:
      return "queued";
  }
}

/** A failure travels through Redis as JSON in the job's failedReason. */
function encodeError(err: NetwardenError): string {
  return JSON.stringify({
    code: err.code,
    message: err.message,
    ...(err.where ? { where: err.where } : {}),
    ...(err.hint ? { hint: err.hint } : {}),
  });
}

function decodeError(reason: string | undefined): NonNullable<JobRecord["error"]> {
  try {
    const e = JSON.parse(reason ?? "") as { code?: string; message?: string; hint?: string };
    if (typeof e.code === "string" && typeof e.message === "string")
      return e as NonNullable<JobRecord["error"]>;
  } catch {
    // not ours: a worker lost its job too often (BullMQ's own reason)
  }
  return {
    code: "NW_INTERNAL",
    message: reason ?? "the job failed",
    hint: "The job's workers kept dying or losing their lock: check their logs and the lock time (--lock-ms)",
  };
}

function notFound(id: string): NetwardenError {
  return new NetwardenError("NW_JOB_NOT_FOUND", `no job \`${id}\``, {
    where: "id",
    hint: "Job ids are returned by the submit call; finished jobs are kept for a while only",
  });
}

function unavailable(url: string, e: unknown, action = "connect"): NetwardenError {
  return new NetwardenError(
    "NW_BACKEND_UNAVAILABLE",
    `Redis at ${redactRedisUrl(url)} failed to ${action}: ${(e as Error)?.message ?? String(e)}`,
    {
      where: "REDIS_URL",
      hint: "Check that Redis is running and that REDIS_URL (host, port, password) is right",
      cause: e,
    },
  );
}

/** Records the handler's progress into the BullMQ job, at most every 250 ms. */
class JobProgress implements Progress {
  private readonly data: JobProgressData = { tasks: [], messages: [] };
  private last = 0;
  private pending: Promise<void> = Promise.resolve();
  private failure: unknown;
  private timer?: NodeJS.Timeout;

  constructor(private readonly job: Job) {}

  task(label: string, total?: number): ProgressTask {
    const t: JobTaskProgress = { label, ...(total !== undefined ? { total } : {}), done: 0, finished: false };
    this.data.tasks.push(t);
    this.changed();
    return {
      tick: (n = 1, note) => {
        t.done += n;
        if (note !== undefined) t.note = note;
        this.changed();
      },
      note: (note) => {
        t.note = note;
        this.changed();
      },
      done: (note) => {
        t.finished = true;
        if (note !== undefined) t.note = note;
        this.changed(true);
      },
    };
  }

  log(message: string, level: "info" | "warn" = "info"): void {
    const m = this.data.messages;
    m.push({ message, level, at: new Date().toISOString() });
    if (m.length > MAX_MESSAGES) m.splice(0, m.length - MAX_MESSAGES);
    this.changed(true);
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.send();
    await this.pending;
    if (this.failure !== undefined) throw this.failure;
  }

  private changed(now = false): void {
    const wait = this.last + PROGRESS_EVERY_MS - Date.now();
    if (now || wait <= 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.send();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.send();
      }, wait);
    }
  }

  private send(): void {
    this.last = Date.now();
    const snapshot = structuredClone(this.data);
    // In order, one at a time; a failed update surfaces in flush().
    this.pending = this.pending
      .then(() => this.job.updateProgress(snapshot))
      .catch((e: unknown) => {
        this.failure ??= e;
      });
  }
}
