import { loadServeConfig, type ServeConfig } from "../../config/index.js";
import { NetwardenError } from "../../core/index.js";
import { createApiKey, createServer, type KeyRole, type NetwardenServer } from "../../serve/index.js";
import { openStores, type Stores } from "../../store/index.js";
import type { Command, CommandContext } from "../command.js";

export interface Listening {
  server: NetwardenServer;
  url: string;
}

/** Starts the HTTP server on host:port; with `fallback`, a taken port falls back to a free one. */
export async function startServer(
  ctx: CommandContext,
  stores: Stores,
  opts: {
    host: string;
    port: number;
    alias: string;
    models?: string[];
    pollMs: number;
    fallback?: boolean;
    /** The rest of the serve config (limits, auth, logs, ...); host, port, alias, models and pollMs win. */
    config?: ServeConfig;
  },
): Promise<Listening> {
  const server = await createServer({
    ...stores,
    config: opts.config,
    alias: opts.alias,
    models: opts.models,
    pollMs: opts.pollMs,
    env: ctx.io.env,
    log: (m, level) => ctx.progress.log(m, level),
  });
  const listen = (port: number) => server.app.listen({ host: opts.host, port });
  let address: string;
  try {
    address = await listen(opts.port);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE") {
      await server.close();
      throw e;
    }
    if (!opts.fallback) {
      await server.close();
      throw new NetwardenError(
        "NW_SERVE_PORT_IN_USE",
        `port ${opts.port} on ${opts.host} is already in use`,
        {
          hint: "Stop the other server, or pick another port with --port",
        },
      );
    }
    ctx.progress.log(`port ${opts.port} is taken; using a free one`, "warn");
    address = await listen(0);
  }
  return { server, url: address.replace("[::1]", "localhost") };
}

export const serve: Command = {
  name: "serve",
  summary: "Serve the models behind an alias (default: production) over HTTP",
  description:
    "Routes: POST /v1/models/<name>/predict and /predict/csv, POST /invocations (MLflow), /v2/... (Open Inference\n" +
    "Protocol), admin routes under /v1/registry and /v1/jobs, /healthz, /readyz, /metrics, /openapi.json, /docs.\n" +
    "Settings come from -c <serve.yaml>, then NETWARDEN_SERVE_* variables, then these options.\n" +
    "Alias moves (`netwarden models promote`) are picked up without a restart; SIGTERM drains and flushes.",
  options: {
    config: { type: "string", short: "c", value: "file", description: "Serve config (YAML)" },
    host: { type: "string", value: "host", description: "Address to listen on (default 127.0.0.1)" },
    port: { type: "number", value: "port", description: "Port to listen on (default 8080)" },
    model: {
      type: "string",
      value: "name",
      description: "Serve only this model (repeatable)",
      multiple: true,
    },
    alias: { type: "string", value: "alias", description: "Alias to serve (default production)" },
    "poll-ms": { type: "number", value: "ms", description: "How often to re-read aliases (default 2000)" },
  },
  positionals: [],
  examples: [
    "netwarden serve --port 8080",
    "netwarden serve -c serve.yaml",
    "netwarden serve --model phishing --alias staging",
  ],
  async run(ctx) {
    const o = ctx.args.options;
    const config = await loadServeConfig(o.config as string | undefined, ctx.io.env);
    const stores = await openStores({ root: ctx.home, env: ctx.io.env });
    const { server, url } = await startServer(ctx, stores, {
      config,
      host: (o.host as string | undefined) ?? config.host,
      port: (o.port as number | undefined) ?? config.port,
      alias: (o.alias as string | undefined) ?? config.alias,
      models: (o.model as string[] | undefined) ?? config.models,
      pollMs: (o["poll-ms"] as number | undefined) ?? config.poll_ms,
    });
    const served = server.holder.list();
    ctx.emit({ url, models: served.map((m) => ({ name: m.name, version: m.version })) });
    ctx.print(`listening on ${url}`);
    if (!served.length) {
      ctx.progress.log(
        `no model has @${server.config.alias} yet; /readyz answers 503 until one does (\`netwarden models promote <name> <version>\`)`,
        "warn",
      );
    }
    await ctx.io.interrupted;
    // Stop accepting, finish in-flight requests, flush the prediction log.
    await server.close();
    await stores.metadata.close();
    await stores.artifacts.close();
  },
};

export const serveKeysCreate: Command = {
  name: "serve keys create",
  summary: "Make an API key for the server: prints the key once and the hash line to configure",
  description:
    "The server stores only the hash: put the printed hash under auth.keys in the serve config, or in\n" +
    "NETWARDEN_SERVE_API_KEYS (comma-separated). Clients send the key as `Authorization: Bearer <key>`.",
  options: {
    role: {
      type: "string",
      value: "role",
      description: "admin (registry, jobs and predictions) or predict (predictions only)",
      default: "admin",
    },
  },
  positionals: [],
  examples: ["netwarden serve keys create --role admin", "netwarden serve keys create --role predict --json"],
  async run(ctx) {
    const role = ctx.args.options.role as string;
    if (role !== "admin" && role !== "predict") {
      throw new NetwardenError("NW_CLI_INVALID_ARGUMENT", `--role must be admin or predict, got "${role}"`, {
        where: "--role",
        hint: "admin keys may also predict",
      });
    }
    const k = createApiKey(role as KeyRole);
    ctx.emit({ key: k.key, hash: k.hash, role: k.role, id: k.id });
    ctx.print(`key (shown once, give it to the client): ${k.key}`);
    ctx.print(`hash (for auth.keys or NETWARDEN_SERVE_API_KEYS): ${k.hash}`);
  },
};
