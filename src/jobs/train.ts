import { runTraining } from "../pipeline/index.js";
import { type JobStores, storedConfig } from "./common.js";
import type { JobHandler } from "./types.js";

export type TrainJobOptions = JobStores;

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
    const loaded = await storedConfig(options, payload);
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
