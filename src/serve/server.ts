import { randomUUID } from "node:crypto";
import cors from "@fastify/cors";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import { type Logger, pino } from "pino";
import { type ServeConfig, type ServeConfigInput, serveSchema } from "../config/index.js";
import { asNetwardenError, NetwardenError, netwardenVersion } from "../core/index.js";
import { type JobQueue, jobHandlers, openJobQueue } from "../jobs/index.js";
import { type PredictionLogSink, SegmentLogSink } from "../monitor/index.js";
import type { ArtifactStore, MetadataStore } from "../store/index.js";
import { authorize, KeyRing, presentedKey } from "./auth.js";
import { ModelHolder, type ServedModel } from "./holder.js";
import { ServerMetrics } from "./metrics.js";
import { adminRoutes } from "./routes-admin.js";
import { compatRoutes } from "./routes-compat.js";
import { csvRoutes } from "./routes-csv.js";
import { predictRoutes } from "./routes-predict.js";
import type { Scored } from "./scorer.js";
import { Scorer } from "./scorer.js";

export interface ServerOptions {
  metadata: MetadataStore;
  artifacts: ArtifactStore;
  /** The serve config (validated, defaults filled in); the options below override single keys. */
  config?: ServeConfigInput | ServeConfig;
  /** Alias to serve (default "production"). */
  alias?: string;
  /** Models to serve (default: every registered model that has the alias). */
  models?: readonly string[];
  /** How often aliases are re-read, in ms (default 2000; 0 = only on admin moves). */
  pollMs?: number;
  /** Largest accepted JSON body in bytes (default 10 MiB). */
  bodyLimit?: number;
  /** Messages for the operator (model loads, load failures), besides the structured log. */
  log?: (message: string, level?: "info" | "warn") => void;
  /** Structured JSON log (default: pino on stderr at `log.level`); false: none. */
  logger?: Logger | false;
  /** Job queue for `POST /v1/train` (default: in process, with the train handler). */
  jobs?: JobQueue;
  /** Environment that selects backends (REDIS_URL for the job queue); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Prediction log (default: segments in the artifact store, unless `prediction_log.enabled` is false). */
  sink?: PredictionLogSink | false;
}

export interface NetwardenServer {
  app: FastifyInstance;
  holder: ModelHolder;
  config: ServeConfig;
  metrics: ServerMetrics;
  jobs: JobQueue;
  sink: PredictionLogSink | undefined;
  /** Every route (method and URL pattern), the interactive docs' own routes aside. */
  routes: readonly { method: string; url: string }[];
  /** Graceful stop: refuse new requests, finish in-flight ones, flush the prediction log. */
  close(): Promise<void>;
}

/** What routes share. */
export interface RouteContext {
  config: ServeConfig;
  holder: ModelHolder;
  scorer: Scorer;
  metrics: ServerMetrics;
  metadata: MetadataStore;
  jobs: JobQueue;
  sink: PredictionLogSink | undefined;
  /** The model served under `name`, or a coded 404. */
  served(name: string): ServedModel;
  /** Model answering `/invocations`. */
  defaultModel(name?: string): ServedModel;
  /** Counts the predictions and queues them for the prediction log (never blocks). */
  record(req: FastifyRequest, m: ServedModel, s: Scored, latencyMs: number): void;
  /** Same, waiting for room in the log queue (streaming uploads). */
  recordWait(
    req: FastifyRequest,
    m: ServedModel,
    s: Scored,
    latencyMs: number,
    firstRow: number,
  ): Promise<void>;
  /** Who is calling, for the audit trail of admin actions. */
  actor(req: FastifyRequest): string;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Model version that answered, for metrics and logs. */
    nwModel: ServedModel | null;
  }
  interface FastifyContextConfig {
    /** admin: admin key; predict: a key when `auth.predict` is on; none: open. */
    auth?: "admin" | "predict" | "none";
  }
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function createServer(opts: ServerOptions): Promise<NetwardenServer> {
  const config = serveSchema.parse(opts.config ?? {});
  if (opts.alias !== undefined) config.alias = opts.alias;
  if (opts.models !== undefined) config.models = [...opts.models];
  if (opts.pollMs !== undefined) config.poll_ms = opts.pollMs;
  if (opts.bodyLimit !== undefined) config.limits.body_bytes = opts.bodyLimit;

  const logger: Logger | undefined =
    opts.logger === false
      ? undefined
      : (opts.logger ??
        pino(
          {
            level: config.log.level,
            base: { service: "netwarden" },
            timestamp: pino.stdTimeFunctions.isoTime,
          },
          pino.destination({ dest: 2, sync: false }),
        ));
  const say = (message: string, level: "info" | "warn" = "info") => {
    opts.log?.(message, level);
    logger?.[level]({ event: "model" }, message);
  };

  let metrics: ServerMetrics | undefined;
  const holder = new ModelHolder(opts.metadata, opts.artifacts, config.alias, {
    onLoad: (m, prev) => {
      metrics?.modelLoads.inc({ model: m.name, result: "loaded" });
      metrics?.servedVersion.set({ model: m.name }, m.version);
      say(
        `serving ${m.name} v${m.version}${prev === undefined ? "" : ` (was v${prev})`} at @${config.alias}`,
      );
    },
    onError: (name, e) => {
      metrics?.modelLoads.inc({ model: name, result: "failed" });
      say(`cannot load ${name}: ${e.toParagraph()}`, "warn");
    },
  });

  const sink =
    opts.sink === false || (opts.sink === undefined && !config.prediction_log.enabled)
      ? undefined
      : (opts.sink ??
        new SegmentLogSink(opts.artifacts, {
          queueRows: config.prediction_log.queue_rows,
          flushMs: config.prediction_log.flush_ms,
          segmentRows: config.prediction_log.segment_rows,
          onError: (e) => logger?.warn({ event: "prediction_log", code: e.code }, e.message),
        }));
  // With REDIS_URL the server only enqueues and `netwarden worker`s run jobs; otherwise in-process.
  const jobs =
    opts.jobs ??
    (await openJobQueue(
      jobHandlers({ metadata: opts.metadata, artifacts: opts.artifacts, configs: config.jobs.train_configs }),
      { concurrency: config.jobs.concurrency, work: false, env: opts.env },
    ));
  let running = 0;
  metrics = new ServerMetrics(
    () => sink?.stats(),
    () => running,
  );
  const refreshRunning = async () => {
    running = (await jobs.list({ status: "running", limit: 1000 })).length;
  };

  await holder.loadAll(config.models);
  if (config.poll_ms > 0) holder.startPolling(config.poll_ms, config.models);

  const scorer = new Scorer(config.unknown_values, (m, rows) =>
    metrics.batchSize.observe({ model: m.name }, rows),
  );
  const keys = new KeyRing(config.auth.keys);

  const app = Fastify({
    logger: false,
    bodyLimit: config.limits.body_bytes,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: "idle",
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    // The router's own refusals (bad URL encoding, over-long path segments) get coded errors too.
    frameworkErrors: (error, request, res) => {
      (res as unknown as FastifyReply).status(400).send({
        error: {
          code: "NW_SERVE_BAD_REQUEST",
          message:
            error.code === "FST_ERR_MAX_PARAM_LENGTH" ? "a path segment is too long" : "the URL is malformed",
          hint: "Check the URL; the API is described at /openapi.json",
          request_id: request.id,
        },
      });
    },
  });
  app.decorateRequest("nwModel", null);
  const routes: { method: string; url: string }[] = [];
  app.addHook("onRoute", (r) => {
    if ((r.schema as { hide?: boolean } | undefined)?.hide || r.url.startsWith("/docs")) return;
    for (const method of [r.method].flat()) if (method !== "HEAD") routes.push({ method, url: r.url });
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const e = toNetwardenError(error);
    if (e.code === "NW_INTERNAL") {
      // The cause may name files or internals: log it, answer without it.
      logger?.error({ req_id: request.id, err: error }, "internal error");
      opts.log?.(`request ${request.id}: ${e.message}`, "warn");
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
        message: `no route ${request.method} ${request.url.split("?")[0].slice(0, 200)}`,
        hint: "Predictions are at POST /v1/models/<name>/predict; the API is described at /openapi.json and /docs",
        request_id: request.id,
      },
    });
  });

  app.addHook("onRequest", async (request) => {
    const need = request.routeOptions.config?.auth ?? "none";
    if (need === "admin" || (need === "predict" && config.auth.predict)) {
      if (keys.size === 0) {
        throw new NetwardenError(
          "NW_SERVE_UNAUTHORIZED",
          "this route needs an API key, and the server has none",
          {
            hint: "Create one with `netwarden serve keys create --role admin` and list its hash under auth.keys",
          },
        );
      }
      authorize(keys, request.headers, need);
    }
  });
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "(unmatched)";
    const m = request.nwModel;
    const status = String(reply.statusCode);
    const model = m?.name ?? "";
    const version = m ? String(m.version) : "";
    metrics.requests.inc({ route, method: request.method, status, model, version });
    metrics.latency.observe({ route, model, version, status }, reply.elapsedTime / 1000);
    if (config.log.requests && logger) {
      logger.info(
        {
          req_id: request.id,
          method: request.method,
          route,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 1000) / 1000,
          ...(m ? { model, version: m.version } : {}),
        },
        "request",
      );
    }
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "netwarden",
        version: netwardenVersion(),
        description:
          "Threat-detection models served from the netwarden registry: predictions (JSON, CSV, MLflow and " +
          "Open Inference Protocol v2), model management, jobs and operations.",
      },
      components: {
        securitySchemes: {
          apiKey: {
            type: "http",
            scheme: "bearer",
            description: "An API key from `netwarden serve keys create`.",
          },
        },
      },
      tags: [
        { name: "predict", description: "Predictions" },
        { name: "models", description: "Served models" },
        { name: "compatibility", description: "MLflow and Open Inference Protocol v2" },
        { name: "admin", description: "Registry and jobs (admin key)" },
        { name: "operations", description: "Health, readiness, metrics, API description" },
      ],
    },
  });
  if (config.docs) await app.register(swaggerUi, { routePrefix: "/docs" });
  if (config.cors.origins.length > 0) {
    await app.register(cors, {
      origin: config.cors.origins.includes("*") ? true : config.cors.origins,
      methods: ["GET", "POST", "PUT", "DELETE"],
      allowedHeaders: ["content-type", "authorization", "x-api-key", "x-request-id"],
      exposedHeaders: ["x-request-id"],
    });
  }
  if (config.rate_limit.enabled) {
    await app.register(rateLimit, {
      max: config.rate_limit.max,
      timeWindow: config.rate_limit.window_ms,
      keyGenerator: (req) => presentedKey(req.headers) ?? req.ip,
      allowList: (req) => {
        const url = req.routeOptions.url ?? "";
        return url === "/healthz" || url === "/readyz" || url === "/metrics" || url.startsWith("/v2/health");
      },
      errorResponseBuilder: (_req, c) =>
        new NetwardenError("NW_SERVE_RATE_LIMITED", `more than ${c.max} requests in ${c.after}`, {
          hint: `Slow down; retry after ${c.after}`,
        }),
    });
  }

  const served = (name: string): ServedModel => {
    const m = holder.get(name);
    if (!m) {
      const names = holder.list().map((x) => x.name);
      throw new NetwardenError(
        "NW_SERVE_MODEL_NOT_FOUND",
        `no model \`${name.slice(0, 100)}\` is served at @${holder.alias}`,
        {
          hint: names.length
            ? `Served models: ${names.join(", ")}`
            : `Register one and point @${holder.alias} at it: \`netwarden models promote <name> <version>\``,
        },
      );
    }
    return m;
  };
  const countClasses = (m: ServedModel, s: Scored) => {
    const K = m.bundle.classes.length;
    const counts = new Float64Array(K);
    for (let i = s.start; i < s.start + s.count; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (s.proba[i * K + k] > s.proba[i * K + best]) best = k;
      counts[best]++;
    }
    const version = String(m.version);
    for (let k = 0; k < K; k++) {
      if (counts[k] > 0)
        metrics.predictions.inc({ model: m.name, version, class: m.bundle.classes[k] }, counts[k]);
    }
  };
  const batch = (req: FastifyRequest, m: ServedModel, s: Scored, latencyMs: number, firstRow: number) => ({
    model: m.name,
    version: m.version,
    requestId: req.id,
    time: new Date().toISOString(),
    latencyMs,
    classes: m.bundle.classes,
    features: s.table,
    proba: s.proba,
    start: s.start,
    count: s.count,
    firstRow,
  });
  const ctx: RouteContext = {
    config,
    holder,
    scorer,
    metrics,
    metadata: opts.metadata,
    jobs,
    sink,
    served,
    defaultModel(name) {
      if (name) return served(name);
      if (config.default_model) return served(config.default_model);
      const all = holder.list();
      if (all.length === 1) return all[0];
      throw new NetwardenError(
        "NW_SERVE_MODEL_NOT_FOUND",
        all.length ? `${all.length} models are served; say which one` : "no model is served yet",
        {
          hint: all.length
            ? `Add ?model=<name> (${all.map((m) => m.name).join(", ")}), or set default_model in the serve config`
            : `Point @${holder.alias} at a version: \`netwarden models promote <name> <version>\``,
        },
      );
    },
    record(req, m, s, latencyMs) {
      countClasses(m, s);
      sink?.offer(batch(req, m, s, latencyMs, 0));
    },
    async recordWait(req, m, s, latencyMs, firstRow) {
      countClasses(m, s);
      await sink?.put(batch(req, m, s, latencyMs, firstRow));
    },
    actor(req) {
      const key = presentedKey(req.headers);
      const id = key ? /^nwk_([0-9a-f]{8})_/.exec(key)?.[1] : undefined;
      return id ? `api-key:${id}` : `http:${req.ip}`;
    },
  };

  app.get("/healthz", { schema: opsSchemaFor("Liveness: the process answers") }, async () => ({
    status: "ok",
  }));
  app.get("/readyz", { schema: opsSchemaFor("Readiness: a model is loaded") }, async (_req, reply) => {
    const models = holder.list().map((m) => ({ name: m.name, version: m.version }));
    return reply.status(models.length ? 200 : 503).send({ ready: models.length > 0, models });
  });
  app.get(
    "/metrics",
    {
      schema: {
        tags: ["operations"],
        summary: "Prometheus metrics",
        produces: ["text/plain"],
        response: {
          200: {
            description: "Prometheus text format",
            content: { "text/plain": { schema: { type: "string" } } },
          },
        },
      },
    },
    async (_req, reply) => {
      await refreshRunning();
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
  app.get("/openapi.json", { schema: opsSchemaFor("This API as an OpenAPI 3.1 document") }, async () =>
    app.swagger(),
  );

  await app.register(async (scope) => predictRoutes(scope, ctx));
  await app.register(async (scope) => csvRoutes(scope, ctx));
  await app.register(async (scope) => compatRoutes(scope, ctx));
  await app.register(async (scope) => adminRoutes(scope, ctx));
  await app.ready();

  let closing: Promise<void> | undefined;
  return {
    app,
    holder,
    config,
    metrics,
    jobs,
    sink,
    routes,
    close() {
      closing ??= (async () => {
        await holder.stopPolling();
        const grace = setTimeout(() => app.server.closeAllConnections?.(), config.shutdown.grace_ms);
        grace.unref();
        try {
          await app.close();
        } finally {
          clearTimeout(grace);
        }
        await Promise.race([
          jobs.close(),
          new Promise((r) => setTimeout(r, config.shutdown.grace_ms).unref()),
        ]);
        await sink?.close();
        logger?.info({ event: "shutdown", prediction_log: sink?.stats() }, "stopped");
        logger?.flush();
      })();
      return closing;
    },
  };
}

function opsSchemaFor(summary: string) {
  return {
    tags: ["operations"],
    summary,
    response: {
      200: { type: "object", additionalProperties: true },
      503: { type: "object", additionalProperties: true },
    },
  };
}

/** Fastify's and plugins' own errors (bad JSON, body too large, wrong content type) become coded 4xx errors. */
export function toNetwardenError(error: FastifyError): NetwardenError {
  if (error instanceof NetwardenError) return error;
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
    case "FST_REQ_FILE_TOO_LARGE":
    case "FST_FILES_LIMIT":
    case "FST_PARTS_LIMIT":
      return new NetwardenError(
        "NW_SERVE_PAYLOAD_TOO_LARGE",
        "the request body is larger than the server accepts",
        {
          hint: "Send fewer records per request, or stream a CSV file to /v1/models/<name>/predict/csv",
        },
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
    case "FST_INVALID_MULTIPART_CONTENT_TYPE":
      return new NetwardenError("NW_SERVE_UNSUPPORTED_MEDIA_TYPE", "unsupported Content-Type", {
        hint: "Send application/json (CSV routes also take text/csv and multipart/form-data)",
      });
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new NetwardenError("NW_SERVE_BAD_REQUEST", "the JSON body is empty", {
        hint: "Send a JSON object",
      });
    case "FST_ERR_VALIDATION":
      return new NetwardenError("NW_SERVE_BAD_REQUEST", `the request is malformed: ${error.message}`, {
        hint: "Check the route's request schema at /openapi.json",
      });
    default:
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        return new NetwardenError(
          error.statusCode === 413
            ? "NW_SERVE_PAYLOAD_TOO_LARGE"
            : error.statusCode === 415
              ? "NW_SERVE_UNSUPPORTED_MEDIA_TYPE"
              : "NW_SERVE_BAD_REQUEST",
          `the request is malformed: ${error.message.slice(0, 300)}`,
          { hint: "Send a JSON object with Content-Type: application/json" },
        );
      }
      if (error.statusCode === 503) {
        return new NetwardenError("NW_SERVE_SHUTTING_DOWN", "the server is shutting down", {
          hint: "Retry against another replica or once it is back",
        });
      }
      return asNetwardenError(error);
  }
}

export type { ServeConfig };
