import type { FastifyInstance } from "fastify";
import { NetwardenError, netwardenVersion } from "../core/index.js";
import { v2Records } from "./inputs.js";
import { nameParam, opsSchema, v2InferSchema } from "./schemas.js";
import type { RouteContext } from "./server.js";

const V2_TYPES: Record<string, string> = { numeric: "FP64", binary: "FP64", categorical: "BYTES" };

/** Open Inference Protocol v2 (KServe, Triton, Seldon MLServer): health, metadata and infer. */
export async function compatRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { holder } = ctx;
  app.get(
    "/v2",
    { schema: opsSchema("Open Inference Protocol v2: server metadata", "compatibility") },
    async () => ({
      name: "netwarden",
      version: netwardenVersion(),
      extensions: [],
    }),
  );
  app.get(
    "/v2/health/live",
    { schema: opsSchema("Open Inference Protocol v2: live", "compatibility") },
    async () => ({
      live: true,
    }),
  );
  app.get(
    "/v2/health/ready",
    { schema: opsSchema("Open Inference Protocol v2: ready (a model is loaded)", "compatibility") },
    async (_req, reply) => {
      const ready = holder.list().length > 0;
      return reply.status(ready ? 200 : 503).send({ ready });
    },
  );
  app.get<{ Params: { name: string } }>(
    "/v2/models/:name",
    {
      schema: {
        ...opsSchema("Open Inference Protocol v2: model metadata", "compatibility"),
        params: nameParam,
      },
      config: { auth: "predict" },
    },
    async (req) => {
      const m = ctx.served(req.params.name);
      req.nwModel = m;
      const inputs = m.bundle.manifest.inputs;
      return {
        name: m.name,
        versions: [String(m.version)],
        platform: "netwarden",
        inputs: inputs.map((i) => ({ name: i.name, datatype: V2_TYPES[i.type], shape: [-1] })),
        outputs: [
          { name: "label", datatype: "BYTES", shape: [-1] },
          { name: "probabilities", datatype: "FP64", shape: [-1, m.bundle.classes.length] },
        ],
        parameters: { classes: m.bundle.classes },
      };
    },
  );
  app.get<{ Params: { name: string } }>(
    "/v2/models/:name/ready",
    {
      schema: { ...opsSchema("Open Inference Protocol v2: model ready", "compatibility"), params: nameParam },
    },
    async (req) => {
      const m = ctx.served(req.params.name);
      return { name: m.name, ready: true };
    },
  );
  app.post<{ Params: { name: string }; Body: Record<string, unknown> }>(
    "/v2/models/:name/infer",
    { schema: v2InferSchema, config: { auth: "predict" } },
    async (req, reply) => {
      const m = ctx.served(req.params.name);
      req.nwModel = m;
      const records = v2Records(req.body, m.bundle, ctx.config.limits.records);
      const s = await ctx.scorer.score(m, records);
      ctx.record(req, m, s, reply.elapsedTime);
      const classes = m.bundle.classes;
      const K = classes.length;
      const labels: string[] = new Array(s.count);
      const probs: number[] = new Array(s.count * K);
      for (let r = 0; r < s.count; r++) {
        const i = s.start + r;
        let best = 0;
        for (let k = 0; k < K; k++) {
          probs[r * K + k] = s.proba[i * K + k];
          if (s.proba[i * K + k] > s.proba[i * K + best]) best = k;
        }
        labels[r] = classes[best];
      }
      const outputs = [
        { name: "label", datatype: "BYTES", shape: [s.count], data: labels },
        {
          name: "probabilities",
          datatype: "FP64",
          shape: [s.count, K],
          data: probs,
          parameters: { classes },
        },
      ];
      const asked = req.body.outputs;
      let chosen = outputs;
      if (Array.isArray(asked) && asked.length > 0) {
        const names = asked.map((o) =>
          o && typeof o === "object" ? (o as { name?: unknown }).name : undefined,
        );
        const unknown = names.find((n) => n !== "label" && n !== "probabilities");
        if (unknown !== undefined) {
          throw new NetwardenError("NW_SERVE_BAD_REQUEST", `there is no output ${JSON.stringify(unknown)}`, {
            where: "outputs",
            hint: "Outputs are `label` and `probabilities`",
          });
        }
        chosen = outputs.filter((o) => names.includes(o.name));
      }
      return {
        model_name: m.name,
        model_version: String(m.version),
        id: typeof req.body.id === "string" ? req.body.id : req.id,
        outputs: chosen,
      };
    },
  );
}
