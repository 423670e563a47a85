import { resolve } from "node:path";
import { loadPipelineConfig, loadServeConfig } from "../../config/index.js";
import { type ErrorCode, NetwardenError } from "../../core/index.js";
import {
  type BatchScoreJobResult,
  type DriftCheckJobResult,
  type EvaluateJobResult,
  JOB_TYPES,
  type JobType,
  jobHandlers,
  RedisJobQueue,
  type TrainJobResult,
} from "../../jobs/index.js";
import { openStores } from "../../store/index.js";
import { actorOf, type Command, type CommandContext } from "../command.js";
import { fmt, formatTable, pct } from "../format.js";

export const jobsRun: Command = {
  name: "jobs run",
  summary: "Run one job (train, evaluate, batch-score, drift-check) and print its result",
  description:
    "Options of the job are given as --set key=value (see the README's job table). Without REDIS_URL the job\n" +
    "runs in this process; with it, the job is queued for `netwarden worker`s and this command waits for it\n" +
    "(--detach: print the job id and return). Configs are named: the serve config's jobs.train_configs, or\n" +
    "a pipeline file given with --pipeline (in-process only), which `config` then defaults to.",
  options: {
    set: {
      type: "string",
      value: "key=value",
      description: "A job option, e.g. --set model=phishing --set alias=production (repeatable)",
      multiple: true,
    },
    pipeline: {
      type: "string",
      short: "p",
      value: "file",
      description: "A pipeline YAML file to name as the job's config",
    },
    config: {
      type: "string",
      short: "c",
      value: "file",
      description: "Serve config (YAML) naming the stored training configs",
    },
    detach: { type: "boolean", description: "With REDIS_URL: queue the job and return at once" },
  },
  positionals: [{ name: "type", description: `Job type: ${JOB_TYPES.join(", ")}`, required: true }],
  examples: [
    "netwarden jobs run evaluate -p examples/phishing.yaml --set model=phishing",
    "netwarden jobs run batch-score -p examples/phishing.yaml --set model=phishing --set version=2",
    "netwarden jobs run drift-check --set model=phishing --set from=2026-11-01",
    "REDIS_URL=redis://localhost:6379 netwarden jobs run drift-check -c serve.yaml --set model=phishing",
  ],
  async run(ctx) {
    const type = ctx.args.positionals.type as string;
    if (!(JOB_TYPES as readonly string[]).includes(type)) {
      throw new NetwardenError("NW_CLI_INVALID_ARGUMENT", `there is no job type \`${type}\``, {
        where: "<type>",
        hint: `Job types: ${JOB_TYPES.join(", ")}`,
      });
    }
    const o = ctx.args.options;
    const payload = parseSets((o.set as string[] | undefined) ?? []);
    const serve = await loadServeConfig(o.config as string | undefined, ctx.io.env);
    const configs = { ...serve.jobs.train_configs };
    const url = ctx.io.env.REDIS_URL;
    if (o.pipeline !== undefined) {
      if (url) {
        throw new NetwardenError(
          "NW_CLI_INVALID_ARGUMENT",
          "--pipeline names a file on this machine, but with REDIS_URL the job runs on a worker",
          {
            where: "--pipeline",
            hint: "List the file under jobs.train_configs of the workers' serve config and pass --set config=<name>",
          },
        );
      }
      const file = resolve(ctx.io.cwd, o.pipeline as string);
      const name = (await loadPipelineConfig(file, ctx.io.env)).config.name;
      configs[name] = file;
      payload.config ??= name;
    }

    if (url) {
      const queue = await RedisJobQueue.open({ url, name: ctx.io.env.NETWARDEN_QUEUE || undefined });
      try {
        const job = await queue.submit(type, payload, { submittedBy: actorOf(ctx) });
        if (o.detach) {
          ctx.emit(job);
          ctx.print(`queued ${type} job ${job.id} on ${queue.location}`);
          return 0;
        }
        ctx.progress.log(`queued ${type} job ${job.id} on ${queue.location}; waiting for a worker`);
        const done = await queue.wait(job.id);
        if (done.status !== "succeeded") {
          throw new NetwardenError(
            (done.error?.code ?? "NW_INTERNAL") as ErrorCode,
            done.error?.message ?? `job ${job.id} ended ${done.status}`,
            {
              where: done.error?.where ?? `job ${job.id}`,
              ...(done.error?.hint ? { hint: done.error.hint } : {}),
            },
          );
        }
        printResult(ctx, type as JobType, done.result);
        return 0;
      } finally {
        await queue.close();
      }
    }

    const stores = await openStores({ root: ctx.home, env: ctx.io.env });
    try {
      const handler = jobHandlers({ ...stores, configs, actor: actorOf(ctx) })[type as JobType];
      const result = await handler(payload, {
        jobId: `cli-${process.pid}`,
        progress: ctx.progress,
        signal: new AbortController().signal,
      });
      printResult(ctx, type as JobType, result);
      return 0;
    } finally {
      await stores.metadata.close();
      await stores.artifacts.close();
    }
  },
};

/** `--set a=1 --set b=x` → {a: "1", b: "x"}; handlers read numbers from text. */
function parseSets(sets: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq < 1) {
      throw new NetwardenError("NW_CLI_INVALID_ARGUMENT", `--set \`${s}\` is not key=value`, {
        where: "--set",
        hint: "e.g. --set model=phishing",
      });
    }
    out[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return out;
}

function printResult(ctx: CommandContext, type: JobType, result: unknown): void {
  ctx.emit(result);
  switch (type) {
    case "train": {
      const r = result as TrainJobResult;
      ctx.print(
        `run ${r.runId}: ${r.accepted ? `registered ${r.model} v${r.version}${r.aliases.length ? ` (${r.aliases.join(", ")})` : ""}` : `rejected: ${r.gate.reasons.join("; ")}`}`,
      );
      return;
    }
    case "evaluate": {
      const r = result as EvaluateJobResult;
      ctx.print(
        `${r.model} v${r.version} on ${r.config} (${r.split}, ${r.rows.toLocaleString("en-US")} rows), run ${r.runId}`,
      );
      const keys = Object.keys(r.metrics).filter((k) => !k.startsWith("eval.f1.") && k !== "eval.rows");
      ctx.print(
        formatTable(
          ["metric", "value", "change vs. training test"],
          keys.map((k) => [
            k.slice(5),
            fmt(r.metrics[k]),
            r.change[k] === undefined ? "" : signed(r.change[k]),
          ]),
        ),
      );
      return;
    }
    case "batch-score": {
      const r = result as BatchScoreJobResult;
      ctx.print(
        `${r.model} v${r.version} scored ${r.scored.toLocaleString("en-US")} of ${r.rows.toLocaleString("en-US")} rows of ${r.config}${r.invalid ? ` (${r.invalid} invalid: runs artifact ${r.runId} quarantine.jsonl)` : ""}`,
      );
      ctx.print(
        `labels: ${Object.entries(r.labels)
          .map(([l, n]) => `${l} ${n}`)
          .join(", ")}`,
      );
      ctx.print(
        `written to ${r.key} (sha256 ${r.hash.slice(0, 12)}); also \`netwarden runs artifact ${r.runId} scores.csv\``,
      );
      return;
    }
    case "drift-check": {
      const r = result as DriftCheckJobResult;
      ctx.print(
        `${r.model} v${r.version}: ${r.nDrifted} of ${r.features.length} features drifted (${r.current.source}, ${r.current.rows.toLocaleString("en-US")} rows vs. ${r.reference.rows.toLocaleString("en-US")} reference rows), run ${r.runId}`,
      );
      ctx.print(
        formatTable(
          ["feature", "test", "psi", "p-value", "drifted"],
          r.features
            .slice(0, 15)
            .map((f) => [
              f.column,
              f.test,
              f.psi === null ? "" : fmt(f.psi),
              f.pValue === null ? "" : fmt(f.pValue),
              f.drifted ? "yes" : "",
            ]),
        ),
      );
      if (r.features.length > 15) ctx.print(`... ${r.features.length - 15} more in the run's drift.json`);
      const shares = Object.entries(r.prediction.shares)
        .map(([l, x]) => `${l} ${pct(x.reference)} → ${pct(x.current)}`)
        .join(", ");
      ctx.print(
        `predicted labels ${r.prediction.drifted ? "shifted" : "steady"}${r.prediction.psi === null ? "" : ` (PSI ${fmt(r.prediction.psi)})`}: ${shares}`,
      );
      return;
    }
  }
}

function signed(x: number): string {
  return `${x >= 0 ? "+" : ""}${fmt(x)}`;
}
