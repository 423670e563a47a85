import { NetwardenError } from "../../core/index.js";
import { createServer, type NetwardenServer } from "../../serve/index.js";
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
  opts: { host: string; port: number; alias: string; models?: string[]; pollMs: number; fallback?: boolean },
): Promise<Listening> {
  const server = await createServer({
    ...stores,
    alias: opts.alias,
    models: opts.models,
    pollMs: opts.pollMs,
    log: (m, level) => ctx.progress.log(m, level),
  });
  const listen = (port: number) => server.app.listen({ host: opts.host, port });
  let address: string;
  try {
    address = await listen(opts.port);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE") throw e;
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
    "Routes: POST /v1/models/<name>/predict, GET /v1/models, GET /v1/models/<name>, GET /healthz, GET /readyz.\n" +
    "Alias moves (`netwarden models promote`) are picked up without a restart.",
  options: {
    host: { type: "string", value: "host", description: "Address to listen on", default: "127.0.0.1" },
    port: { type: "number", value: "port", description: "Port to listen on", default: 8080 },
    model: {
      type: "string",
      value: "name",
      description: "Serve only this model (repeatable)",
      multiple: true,
    },
    alias: { type: "string", value: "alias", description: "Alias to serve", default: "production" },
    "poll-ms": { type: "number", value: "ms", description: "How often to re-read aliases", default: 2000 },
  },
  positionals: [],
  examples: ["netwarden serve --port 8080", "netwarden serve --model phishing --alias staging"],
  async run(ctx) {
    const o = ctx.args.options;
    const stores = await openStores({ root: ctx.home });
    const { server, url } = await startServer(ctx, stores, {
      host: o.host as string,
      port: o.port as number,
      alias: o.alias as string,
      models: o.model as string[] | undefined,
      pollMs: o["poll-ms"] as number,
    });
    const served = server.holder.list();
    ctx.emit({ url, models: served.map((m) => ({ name: m.name, version: m.version })) });
    ctx.print(`listening on ${url}`);
    if (!served.length) {
      ctx.progress.log(
        `no model has @${o.alias} yet; /readyz answers 503 until one does (\`netwarden models promote <name> <version>\`)`,
        "warn",
      );
    }
    await ctx.io.interrupted;
    await server.close();
    await stores.metadata.close();
    await stores.artifacts.close();
  },
};
