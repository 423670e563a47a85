import { loadServeConfig } from "../../config/index.js";
import { NetwardenError } from "../../core/index.js";
import { JOB_TYPES, type JobType, jobHandlers, RedisJobQueue } from "../../jobs/index.js";
import { openStores } from "../../store/index.js";
import type { Command } from "../command.js";

/**
 * `train:phishing@0 3 * * *` → a train job with {config: "phishing"} at 03:00 UTC daily;
 * `drift-check:model=phishing,from=2026-11-01@0 * * * *` → payload {model, from}, hourly.
 */
export function parseSchedule(text: string): {
  id: string;
  type: JobType;
  payload: Record<string, unknown>;
  cron: string;
} {
  const m = /^([a-z-]+)(?::([^@]+))?@(.+)$/.exec(text.trim());
  const bad = () =>
    new NetwardenError(
      "NW_CLI_INVALID_ARGUMENT",
      `--schedule \`${text}\` is not <type>[:<config>|:<key>=<value>,...]@<cron>`,
      {
        where: "--schedule",
        hint: `e.g. --schedule 'train:phishing@0 3 * * *' or 'drift-check:model=phishing@0 * * * *'; job types: ${JOB_TYPES.join(", ")}`,
      },
    );
  if (!m || !(JOB_TYPES as readonly string[]).includes(m[1])) throw bad();
  const [, type, spec, cron] = m;
  const payload: Record<string, unknown> = {};
  if (spec?.includes("=")) {
    for (const pair of spec.split(",")) {
      const eq = pair.indexOf("=");
      if (eq < 1) throw bad();
      payload[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
  } else if (spec) {
    payload.config = spec.trim();
  }
  return { id: spec ? `${type}:${spec.trim()}` : type, type: type as JobType, payload, cron: cron.trim() };
}

export const worker: Command = {
  name: "worker",
  summary: "Run queued jobs (train, evaluate, batch-score, drift-check) from the Redis queue (REDIS_URL)",
  description:
    "Any number of workers, on any machines, share the queue. A job whose worker dies is picked up by another\n" +
    "once its lock expires (--lock-ms). Stores are chosen as for every command (DATABASE_URL, ARTIFACT_STORE);\n" +
    "training configs are the serve config's jobs.train_configs (or NETWARDEN_SERVE_TRAIN_CONFIGS).",
  options: {
    config: {
      type: "string",
      short: "c",
      value: "file",
      description: "Serve config (YAML) naming the training configs",
    },
    concurrency: {
      type: "number",
      value: "n",
      description: "Jobs run at the same time (default: jobs.concurrency, 1)",
    },
    "lock-ms": {
      type: "number",
      value: "ms",
      description: "Job lock time: a dead worker's jobs move to another after this",
      default: 30000,
    },
    schedule: {
      type: "string",
      value: "spec",
      description:
        "Recurring job <type>[:<config>|:<key>=<value>,...]@<cron> (UTC), e.g. 'train:phishing@0 3 * * *', 'drift-check:model=phishing@0 * * * *' (repeatable)",
      multiple: true,
    },
  },
  positionals: [],
  examples: [
    "REDIS_URL=redis://localhost:6379 netwarden worker -c serve.yaml --concurrency 2",
    "netwarden worker -c serve.yaml --schedule 'train:phishing@0 3 * * *'",
    "netwarden worker -c serve.yaml --schedule 'drift-check:model=phishing@0 * * * *'",
  ],
  async run(ctx) {
    const o = ctx.args.options;
    const url = ctx.io.env.REDIS_URL;
    if (!url) {
      throw new NetwardenError(
        "NW_BACKEND_CONFIG",
        "a worker needs a Redis queue, and REDIS_URL is not set",
        {
          where: "REDIS_URL",
          hint: "Set REDIS_URL=redis://host:6379 (without Redis, `netwarden serve` runs jobs itself)",
        },
      );
    }
    const schedules = ((o.schedule as string[] | undefined) ?? []).map(parseSchedule);
    const config = await loadServeConfig(o.config as string | undefined, ctx.io.env);
    const lockMs = o["lock-ms"] as number;
    if (!(Number.isInteger(lockMs) && lockMs >= 1000)) {
      throw new NetwardenError(
        "NW_CLI_INVALID_ARGUMENT",
        `--lock-ms must be a whole number ≥ 1000, got ${lockMs}`,
        {
          where: "--lock-ms",
        },
      );
    }
    const stores = await openStores({ root: ctx.home, env: ctx.io.env });
    const concurrency = (o.concurrency as number | undefined) ?? config.jobs.concurrency;
    let queue: RedisJobQueue;
    try {
      queue = await RedisJobQueue.open({
        url,
        name: ctx.io.env.NETWARDEN_QUEUE || undefined,
        concurrency,
        lockMs,
        handlers: jobHandlers({ ...stores, configs: config.jobs.train_configs }),
        onJob: (e) =>
          ctx.progress.log(
            `job ${e.id} (${e.type}) ${e.status}${e.error ? `: ${e.error}` : ""}`,
            e.status === "failed" ? "warn" : "info",
          ),
      });
    } catch (e) {
      await stores.metadata.close();
      await stores.artifacts.close();
      throw e;
    }
    for (const s of schedules) {
      const r = await queue.schedule(s.id, s.cron, s.type, s.payload);
      ctx.progress.log(`schedule ${r.id}: ${s.cron}${r.next ? ` (next ${r.next})` : ""}`);
    }
    ctx.emit({
      queue: queue.location,
      concurrency,
      jobs: [...JOB_TYPES],
      schedules: schedules.map((s) => s.id),
    });
    ctx.print(
      `worker on ${queue.location}, ${concurrency} at a time; stores: ${stores.metadata.location}, ${stores.artifacts.location}`,
    );
    await ctx.io.interrupted;
    // Running jobs finish first; their results are kept.
    await queue.close();
    await stores.metadata.close();
    await stores.artifacts.close();
  },
};
