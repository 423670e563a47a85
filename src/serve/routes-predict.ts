import type { FastifyInstance } from "fastify";
import type { ServedModel } from "./holder.js";
import { v1Records } from "./inputs.js";
import { modelSchema, modelsSchema, predictSchema } from "./schemas.js";
import { explainRows, type Scored } from "./scorer.js";
import type { RouteContext } from "./server.js";

export interface PredictionJson {
  label: string;
  class_name?: string;
  probabilities: Record<string, number>;
}

/** Label, readable class name and probabilities of each scored row. */
export function predictionsJson(m: ServedModel, s: Scored): PredictionJson[] {
  const classes = m.bundle.classes;
  const names = m.bundle.manifest.target.classNames;
  const K = classes.length;
  const out: PredictionJson[] = new Array(s.count);
  for (let r = 0; r < s.count; r++) {
    const i = s.start + r;
    let best = 0;
    const probabilities: Record<string, number> = {};
    for (let k = 0; k < K; k++) {
      const p = s.proba[i * K + k];
      probabilities[classes[k]] = p;
      if (p > s.proba[i * K + best]) best = k;
    }
    const label = classes[best];
    const name = names?.[label];
    out[r] = name === undefined ? { label, probabilities } : { label, class_name: name, probabilities };
  }
  return out;
}

export async function predictRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { holder } = ctx;
  app.get("/v1/models", { schema: modelsSchema, config: { auth: "predict" } }, async () => ({
    alias: holder.alias,
    models: holder.list().map((m) => ({ name: m.name, version: m.version, loaded_at: m.loadedAt })),
  }));

  app.get<{ Params: { name: string } }>(
    "/v1/models/:name",
    { schema: modelSchema, config: { auth: "predict" } },
    async (req) => {
      const m = ctx.served(req.params.name);
      req.nwModel = m;
      const man = m.bundle.manifest;
      return {
        name: m.name,
        version: m.version,
        alias: holder.alias,
        loaded_at: m.loadedAt,
        task: man.task,
        target: man.target,
        inputs: man.inputs,
        metrics: man.metrics,
        candidate: man.candidate,
        lineage: man.lineage,
        explanations: typeof m.bundle.model.explain === "function",
      };
    },
  );

  app.post<{
    Params: { name: string };
    Querystring: { explain?: boolean; top_k?: number };
    Body: unknown;
  }>(
    "/v1/models/:name/predict",
    { schema: predictSchema, config: { auth: "predict" } },
    async (req, reply) => {
      const m = ctx.served(req.params.name);
      req.nwModel = m;
      const records = v1Records(req.body, ctx.config.limits.records);
      const s = await ctx.scorer.score(m, records);
      const predictions: (PredictionJson & { explanation?: unknown })[] = predictionsJson(m, s);
      if (req.query.explain) {
        const ex = explainRows(m, s, req.query.top_k ?? ctx.config.explain_top_k);
        for (let i = 0; i < predictions.length; i++) predictions[i].explanation = ex[i];
      }
      ctx.record(req, m, s, reply.elapsedTime);
      return { model: m.name, version: m.version, request_id: req.id, predictions };
    },
  );
}
