import { randomUUID } from "node:crypto";
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import { asNetwardenError, NetwardenError } from "../core/index.js";
import type { ArtifactStore, MetadataStore } from "../store/index.js";
import { ModelHolder } from "./holder.js";

export interface ServerOptions {
  metadata: MetadataStore;
  artifacts: ArtifactStore;
  /** Alias to serve (default "production"). */
  alias?: string;
  /** Models to serve (default: every registered model that has the alias). */
  models?: readonly string[];
  /** How often aliases are re-read, in ms (default 2000; 0 = never). */
  pollMs?: number;
  /** Largest accepted request body in bytes (default 10 MiB). */
  bodyLimit?: number;
  /** Messages for the operator (model loads, load failures). */
  log?: (message: string, level?: "info" | "warn") => void;
}

export interface NetwardenServer {
  app: FastifyInstance;
  holder: ModelHolder;
  close(): Promise<void>;
}

export async function createServer(opts: ServerOptions): Promise<NetwardenServer> {
  const log = opts.log ?? (() => {});
  const holder = new ModelHolder(opts.metadata, opts.artifacts, opts.alias ?? "production", {
    onLoad: (m, prev) =>
      log(
        `serving ${m.name} v${m.version}${prev === undefined ? "" : ` (was v${prev})`} at @${opts.alias ?? "production"}`,
      ),
    onError: (name, e) => log(`cannot load ${name}: ${e.toParagraph()}`, "warn"),
  });
  await holder.loadAll(opts.models);
  if ((opts.pollMs ?? 2000) > 0) holder.startPolling(opts.pollMs ?? 2000, opts.models);

  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimit ?? 10 * 1024 * 1024,
    genReqId: (req) => (req.headers["x-request-id"] as string | undefined) ?? randomUUID(),
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const e = toNetwardenError(error);
    if (e.code === "NW_INTERNAL") {
      // The cause may name files or internals: log it, answer without it.
      log(`request ${request.id}: ${e.message}`, "warn");
      reply.status(500).send({
        error: {
          code: e.code,
          message: "internal error",
          hint: "Report it with the request id",
          request_id: request.id,
        },
      });
      return;
    }
    reply.status(e.httpStatus).send({ error: { ...e.toJSON(), request_id: request.id } });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({
      error: {
        code: "NW_SERVE_NOT_FOUND",
        message: `no route ${request.method} ${request.url.split("?")[0]}`,
        hint: "Predictions are at POST /v1/models/<name>/predict; GET /v1/models lists the models",
        request_id: request.id,
      },
    });
  });
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const models = holder.list().map((m) => ({ name: m.name, version: m.version }));
    return reply.status(models.length ? 200 : 503).send({ ready: models.length > 0, models });
  });

  app.get("/v1/models", async () => ({
    alias: holder.alias,
    models: holder.list().map((m) => ({ name: m.name, version: m.version, loaded_at: m.loadedAt })),
  }));

  app.get<{ Params: { name: string } }>("/v1/models/:name", async (req) => {
    const m = served(holder, req.params.name);
    const man = m.bundle.manifest;
    return {
      name: m.name,
      version: m.version,
      alias: holder.alias,
      task: man.task,
      target: man.target,
      inputs: man.inputs,
      metrics: man.metrics,
      candidate: man.candidate,
      lineage: man.lineage,
    };
  });

  app.post<{ Params: { name: string }; Body: unknown }>("/v1/models/:name/predict", async (req) => {
    const m = served(holder, req.params.name);
    const body = req.body;
    let records: unknown[];
    if (body !== null && typeof body === "object" && !Array.isArray(body) && "records" in body) {
      const r = (body as { records: unknown }).records;
      if (!Array.isArray(r) || r.length === 0) {
        throw new NetwardenError("NW_SERVE_BAD_REQUEST", "`records` must be a non-empty list of objects", {
          hint: 'Send {"records": [{...}, {...}]} or a single record object',
        });
      }
      records = r;
    } else if (body !== null && typeof body === "object" && !Array.isArray(body)) {
      records = [body];
    } else {
      throw new NetwardenError(
        "NW_SERVE_BAD_REQUEST",
        'the body must be a JSON object (one record) or {"records": [...]}',
        {
          hint: "Send Content-Type: application/json with one record's features as an object",
        },
      );
    }
    const predictions = m.bundle.predictTable(m.bundle.recordsToTable(records));
    const names = m.bundle.manifest.target.classNames;
    return {
      model: m.name,
      version: m.version,
      request_id: req.id,
      predictions: predictions.map((p) => ({
        label: p.label,
        ...(names?.[p.label] ? { class_name: names[p.label] } : {}),
        probabilities: p.probabilities,
      })),
    };
  });

  return {
    app,
    holder,
    async close() {
      await holder.stopPolling();
      await app.close();
    },
  };
}

function served(holder: ModelHolder, name: string) {
  const m = holder.get(name);
  if (!m) {
    const names = holder.list().map((x) => x.name);
    throw new NetwardenError(
      "NW_SERVE_MODEL_NOT_FOUND",
      `no model \`${name}\` is served at @${holder.alias}`,
      {
        hint: names.length
          ? `Served models: ${names.join(", ")}`
          : `Register one and point @${holder.alias} at it: \`netwarden models promote <name> <version>\``,
      },
    );
  }
  return m;
}

/** Fastify's own errors (bad JSON, body too large, wrong content type) become coded 4xx errors. */
function toNetwardenError(error: FastifyError): NetwardenError {
  if (error instanceof NetwardenError) return error;
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new NetwardenError(
        "NW_SERVE_PAYLOAD_TOO_LARGE",
        "the request body is larger than the server accepts",
        {
          hint: "Send fewer records per request",
        },
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new NetwardenError("NW_SERVE_BAD_REQUEST", "unsupported Content-Type", {
        hint: "Send application/json",
      });
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new NetwardenError("NW_SERVE_BAD_REQUEST", "the JSON body is empty", {
        hint: "Send a JSON object",
      });
    default:
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        return new NetwardenError("NW_SERVE_BAD_REQUEST", `the request is malformed: ${error.message}`, {
          hint: "Send a JSON object with Content-Type: application/json",
        });
      }
      return asNetwardenError(error);
  }
}
