import type { FastifyInstance } from "fastify";
import { NetwardenError } from "../core/index.js";
import { JOB_TYPES, type JobStatus, type JobType, storedConfigFile } from "../jobs/index.js";
import { adminSecurity, aliasParams, anyObject, errorBody, nameParam } from "./schemas.js";
import type { RouteContext } from "./server.js";

const admin = (summary: string, extra: Record<string, unknown> = {}) => ({
  tags: ["admin"],
  summary,
  security: adminSecurity,
  response: {
    200: anyObject,
    202: anyObject,
    400: errorBody,
    401: errorBody,
    403: errorBody,
    404: errorBody,
  },
  ...extra,
});

const idParam = { type: "object", properties: { id: { type: "string" } }, required: ["id"] } as const;

/** Registry and jobs, behind admin keys. Alias moves made here are served at once (no poll wait). */
export async function adminRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { metadata, holder, jobs } = ctx;
  const opts = (summary: string, extra: Record<string, unknown> = {}) => ({
    schema: admin(summary, extra),
    config: { auth: "admin" as const },
  });

  /** After an alias move: load the new version now if this server serves that alias and model. */
  const follow = async (name: string, alias: string) => {
    if (alias !== holder.alias) return holder.get(name)?.version ?? null;
    if (ctx.config.models && !ctx.config.models.includes(name)) return null;
    try {
      await holder.refresh(name);
    } catch (e) {
      // The alias moved, but a bundle that fails to load never replaces the served one.
      if (!(e instanceof NetwardenError)) throw e;
    }
    return holder.get(name)?.version ?? null;
  };

  app.get(
    "/v1/registry/models",
    opts("Registered models with their latest version and aliases"),
    async () => ({
      models: await metadata.listModels(),
    }),
  );

  app.get<{ Params: { name: string } }>(
    "/v1/registry/models/:name",
    opts("A registered model: versions, aliases and alias history", { params: nameParam }),
    async (req) => {
      const name = req.params.name;
      const versions = await metadata.listVersions(name);
      const summary = (await metadata.listModels()).find((m) => m.name === name);
      return {
        name,
        aliases: summary?.aliases ?? {},
        versions,
        alias_history: await metadata.aliasHistory(name),
        served: holder.get(name) ? { alias: holder.alias, version: holder.get(name)?.version } : null,
      };
    },
  );

  app.put<{ Params: { name: string; alias: string }; Body: { version: number; reason?: string } }>(
    "/v1/registry/models/:name/aliases/:alias",
    opts("Point an alias at a version (promote)", {
      params: aliasParams,
      body: {
        type: "object",
        properties: { version: { type: "integer", minimum: 1 }, reason: { type: "string", maxLength: 500 } },
        required: ["version"],
        additionalProperties: false,
      },
    }),
    async (req) => {
      const { name, alias } = req.params;
      await metadata.getVersion(name, req.body.version);
      const event = await metadata.setAlias(name, alias, req.body.version, {
        actor: ctx.actor(req),
        reason: req.body.reason ?? "moved through the API",
      });
      return { event, served_version: await follow(name, alias) };
    },
  );

  app.post<{ Params: { name: string; alias: string }; Body: { to?: number; reason?: string } | undefined }>(
    "/v1/registry/models/:name/aliases/:alias/rollback",
    opts("Move an alias back to the version it pointed to before", {
      params: aliasParams,
      body: {
        type: ["object", "null"],
        properties: { to: { type: "integer", minimum: 1 }, reason: { type: "string", maxLength: 500 } },
        additionalProperties: false,
      },
    }),
    async (req) => {
      const { name, alias } = req.params;
      const current = await metadata.resolveAlias(name, alias);
      if (!current) {
        throw new NetwardenError(
          "NW_STORE_NOT_FOUND",
          `model \`${name}\` has no alias \`${alias}\` to roll back`,
          {
            hint: `Set it first: PUT /v1/registry/models/${name}/aliases/${alias}`,
          },
        );
      }
      let target = req.body?.to;
      if (target === undefined) {
        // The version the alias held just before it moved to the current one.
        const history = await metadata.aliasHistory(name, alias);
        target = [...history].reverse().find((e) => e.to === current.version && e.from !== undefined)?.from;
        if (target === undefined) {
          throw new NetwardenError(
            "NW_STORE_NOT_FOUND",
            `\`${name}@${alias}\` has pointed only at v${current.version}; there is nothing to roll back to`,
            { hint: 'Name a version: {"to": 1}' },
          );
        }
      }
      await metadata.getVersion(name, target);
      const event = await metadata.setAlias(name, alias, target, {
        actor: ctx.actor(req),
        reason: req.body?.reason ?? "rolled back through the API",
      });
      return { event, served_version: await follow(name, alias) };
    },
  );

  app.post<{ Body: { config: string } }>(
    "/v1/train",
    opts("Start a training run from a stored config (answers a job id)", {
      body: {
        type: "object",
        properties: {
          config: { type: "string", description: "Name under jobs.train_configs in the serve config." },
        },
        required: ["config"],
        additionalProperties: false,
      },
    }),
    async (req, reply) => {
      storedConfigFile(ctx.config.jobs.train_configs, req.body.config, "config");
      const job = await jobs.submit("train", { config: req.body.config }, { submittedBy: ctx.actor(req) });
      reply.status(202).header("location", `/v1/jobs/${job.id}`);
      return job;
    },
  );

  app.post<{ Body: { type: JobType; payload?: Record<string, unknown> } }>(
    "/v1/jobs",
    opts("Queue a job of any type (answers the job; poll GET /v1/jobs/{id})", {
      body: {
        type: "object",
        properties: {
          type: { type: "string", enum: [...JOB_TYPES] },
          payload: {
            type: "object",
            description:
              "The job's options, e.g. {model, alias, config} for evaluate; a config is named (jobs.train_configs), never a path.",
          },
        },
        required: ["type"],
        additionalProperties: false,
      },
    }),
    async (req, reply) => {
      const job = await jobs.submit(req.body.type, req.body.payload ?? {}, { submittedBy: ctx.actor(req) });
      reply.status(202).header("location", `/v1/jobs/${job.id}`);
      return job;
    },
  );

  app.get<{ Querystring: { type?: JobType; status?: JobStatus; limit?: number } }>(
    "/v1/jobs",
    opts("Jobs, newest first", {
      querystring: {
        type: "object",
        properties: {
          type: { type: "string", enum: [...JOB_TYPES] },
          status: { type: "string", enum: ["queued", "running", "succeeded", "failed", "cancelled"] },
          limit: { type: "integer", minimum: 1, maximum: 1000 },
        },
      },
    }),
    async (req) => ({ jobs: await jobs.list(req.query) }),
  );

  app.get<{ Params: { id: string } }>(
    "/v1/jobs/:id",
    opts("A job: status, progress, result or error", { params: idParam }),
    async (req) => jobs.get(req.params.id),
  );
}
