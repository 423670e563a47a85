import { loadPipelineConfig } from "../config/index.js";
import { NetwardenError } from "../core/index.js";
import { runTraining } from "../pipeline/index.js";
import type { ArtifactStore, MetadataStore } from "../store/index.js";
import type { JobHandler } from "./types.js";

export interface TrainJobOptions {
  metadata: MetadataStore;
  artifacts: ArtifactStore;
  /** Pipeline files a job may name, by name: a request never passes a path of its own. */
  configs: Readonly<Record<string, string>>;
  /** Recorded in the alias history when the job did not say who submitted it. */
  actor?: string;
}

/** What a finished training job answers: enough to find the run and the version it registered. */
export interface TrainJobResult {
  runId: string;
  pipeline: string;
  model: string;
  accepted: boolean;
  version: number | null;
  aliases: string[];
  metric: string;
  metrics: Record<string, number>;
  best: { name: string; kind: string };
  gate: { passed: boolean; reasons: string[] };
}

/**
 * The `train` job: payload `{config: <name>}` runs the training pipeline of that stored config,
 * exactly as `netwarden train -c <file>` does, with progress reported to the job.
 */
export function trainJob(options: TrainJobOptions): JobHandler {
  return async (payload, ctx) => {
    const name = payload.config;
    const known = Object.keys(options.configs);
    if (typeof name !== "string" || !Object.hasOwn(options.configs, name)) {
      throw new NetwardenError(
        "NW_JOB_INVALID",
        typeof name === "string"
          ? `no stored training config \`${name}\``
          : "`config` must name a stored config",
        {
          where: "payload.config",
          hint: known.length
            ? `Stored configs: ${known.join(", ")}`
            : "The server has none: list them under jobs.train_configs in the serve config",
        },
      );
    }
    const loaded = await loadPipelineConfig(options.configs[name]);
    const actor = typeof payload.submittedBy === "string" ? payload.submittedBy : (options.actor ?? "job");
    const outcome = await runTraining(loaded, {
      metadata: options.metadata,
      artifacts: options.artifacts,
      progress: ctx.progress,
      actor,
    });
    const result: TrainJobResult = {
      runId: outcome.runId,
      pipeline: outcome.pipeline,
      model: outcome.model,
      accepted: outcome.accepted,
      version: outcome.version ?? null,
      aliases: outcome.aliases,
      metric: outcome.metric,
      metrics: outcome.metrics,
      best: { name: outcome.best.name, kind: outcome.best.kind },
      gate: { passed: outcome.gate.passed, reasons: outcome.gate.reasons },
    };
    return result;
  };
}
