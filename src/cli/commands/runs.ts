import { NetwardenError } from "../../core/index.js";
import { openStores, type RunRecord, type RunStatus } from "../../store/index.js";
import type { Command } from "../command.js";
import { fmt, formatTable, when } from "../format.js";

const STATUSES: RunStatus[] = ["running", "finished", "failed", "rejected"];

export const runsList: Command = {
  name: "runs list",
  summary: "List training runs, newest first",
  options: {
    pipeline: { type: "string", value: "name", description: "Only runs of this pipeline" },
    status: {
      type: "string",
      value: "status",
      description: `Only runs with this status (${STATUSES.join(", ")})`,
    },
    limit: { type: "number", value: "n", description: "Show at most n runs", default: 20 },
  },
  positionals: [],
  examples: ["netwarden runs list --pipeline phishing --status finished"],
  async run(ctx) {
    const status = ctx.args.options.status as string | undefined;
    if (status !== undefined && !STATUSES.includes(status as RunStatus)) {
      throw new NetwardenError(
        "NW_CLI_INVALID_ARGUMENT",
        `--status must be one of ${STATUSES.join(", ")}, got "${status}"`,
      );
    }
    const { metadata } = await openStores({ root: ctx.home, env: ctx.io.env });
    try {
      const runs = await metadata.listRuns({
        pipeline: ctx.args.options.pipeline as string | undefined,
        status: status as RunStatus | undefined,
        limit: ctx.args.options.limit as number,
      });
      ctx.emit({ runs });
      if (!runs.length) {
        ctx.print(`No runs in ${metadata.location}. Start one with \`netwarden train -c <pipeline.yaml>\`.`);
        return;
      }
      ctx.print(
        formatTable(
          ["run", "pipeline", "status", "started", "seconds", "model", "test metric"],
          runs.map((r) => [
            r.id,
            r.pipeline,
            r.status,
            when(r.startedAt),
            r.endedAt ? Math.round((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 100) / 10 : "",
            r.params.best_candidate === undefined ? "" : String(r.params.best_candidate),
            headline(r),
          ]),
        ),
      );
    } finally {
      await metadata.close();
    }
  },
};

/** The gate metric on the test split, e.g. "accuracy 0.9711", or the error code of a failed run. */
function headline(r: RunRecord): string {
  if (r.error) return r.error.code;
  const metric = r.params.gate_metric;
  if (typeof metric === "string" && r.metrics[`test.${metric}`] !== undefined) {
    return `${metric} ${fmt(r.metrics[`test.${metric}`])}`;
  }
  return "";
}

export const runsShow: Command = {
  name: "runs show",
  summary: "Show one run: parameters, metrics, tags, artifacts and error",
  options: {},
  positionals: [{ name: "run-id", description: "Run id as printed by `runs list`", required: true }],
  async run(ctx) {
    const { metadata } = await openStores({ root: ctx.home, env: ctx.io.env });
    try {
      const run = await metadata.getRun(ctx.args.positionals["run-id"] as string);
      ctx.emit({ run });
      ctx.print(`run       ${run.id}`);
      ctx.print(`pipeline  ${run.pipeline}`);
      ctx.print(`status    ${run.status}`);
      ctx.print(`started   ${when(run.startedAt)}`);
      if (run.endedAt) ctx.print(`ended     ${when(run.endedAt)}`);
      if (run.error) ctx.print(`error     ${run.error.code}: ${run.error.message}`);
      const params = Object.entries(run.params);
      if (params.length)
        ctx.print(
          `\nparameters\n${formatTable(
            ["name", "value"],
            params.map(([k, v]) => [k, String(v)]),
          )}`,
        );
      const metrics = Object.entries(run.metrics).sort(([a], [b]) => a.localeCompare(b));
      if (metrics.length) ctx.print(`\nmetrics\n${formatTable(["name", "value"], metrics)}`);
      const tags = Object.entries(run.tags);
      if (tags.length) ctx.print(`\ntags\n${formatTable(["name", "value"], tags)}`);
      if (run.artifacts.length) {
        ctx.print(
          `\nartifacts\n${formatTable(
            ["name", "bytes", "sha256"],
            run.artifacts.map((a) => [a.name, a.size, a.hash.slice(0, 16)]),
          )}`,
        );
      }
    } finally {
      await metadata.close();
    }
  },
};
