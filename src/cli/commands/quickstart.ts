import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPipelineConfig } from "../../config/index.js";
import { NetwardenError } from "../../core/index.js";
import { readCsv } from "../../data/index.js";
import { fetchDataset, locateDataset } from "../../datasets/index.js";
import { runTraining } from "../../pipeline/index.js";
import { openStores } from "../../store/index.js";
import { actorOf, type Command } from "../command.js";
import { startServer } from "./serve.js";
import { printOutcome } from "./train.js";

/** The package root: the same three levels up from src/cli/commands and dist/cli/commands. */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export const quickstart: Command = {
  name: "quickstart",
  summary: "Train the phishing model, make it production, serve it, and print a curl line to try",
  description:
    "Uses examples/phishing.yaml on the UCI Phishing Websites data: from $NETWARDEN_DATA_DIR or\n" +
    "../shared/data when there, else downloaded (sha256-checked) into <home>/datasets.",
  options: {
    host: { type: "string", value: "host", description: "Address to listen on", default: "127.0.0.1" },
    port: {
      type: "number",
      value: "port",
      description: "Port to listen on (a free one if taken)",
      default: 8080,
    },
    serve: {
      type: "boolean",
      description: "Serve the model after training (--no-serve: stop after registering)",
      default: true,
    },
  },
  positionals: [],
  async run(ctx) {
    let data = await locateDataset("phishing", ctx.home);
    if (!data) {
      ctx.progress.log("phishing_websites.csv not found locally; downloading it from UCI");
      data = (await fetchDataset("phishing", { outDir: join(ctx.home, "datasets"), progress: ctx.progress }))
        .path;
    }
    const loaded = await loadPipelineConfig(join(PACKAGE_ROOT, "examples", "phishing.yaml"), {
      ...ctx.io.env,
      NETWARDEN_DATA_DIR: dirname(data),
    });
    const stores = await openStores({ root: ctx.home, env: ctx.io.env });
    try {
      const outcome = await runTraining(loaded, { ...stores, progress: ctx.progress, actor: actorOf(ctx) });
      printOutcome(ctx, outcome);
      if (!outcome.accepted || outcome.version === undefined) {
        throw new NetwardenError(
          "NW_GATE_REJECTED",
          `the gate rejected the model: ${outcome.gate.reasons.join("; ")}`,
          {
            where: `run ${outcome.runId}`,
            hint: "The production model was left as it was",
          },
        );
      }
      const event = await stores.metadata.setAlias(outcome.model, "production", outcome.version, {
        actor: actorOf(ctx),
        reason: "quickstart",
      });
      ctx.print(`${outcome.model}@production → v${event.to}`);
      if (!ctx.args.options.serve) {
        ctx.emit({ outcome, production: event.to });
        return;
      }

      const { server, url } = await startServer(ctx, stores, {
        host: ctx.args.options.host as string,
        port: ctx.args.options.port as number,
        alias: "production",
        models: [outcome.model],
        pollMs: 2000,
        fallback: true,
      });
      // A real phishing row (Result = -1) from the data, without its label.
      const sample = await readCsv(data, { limit: 1 });
      const record = sample.table.row(0);
      delete record[loaded.config.schema.target];
      const body = JSON.stringify(record);
      const endpoint = `${url}/v1/models/${outcome.model}/predict`;
      // Ask the server ourselves first, so the line we print is known to work.
      const res = await fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const answer = await res.text();
      if (!res.ok) {
        throw new NetwardenError(
          "NW_INTERNAL",
          `the server answered ${res.status} to its own example: ${answer}`,
        );
      }
      const curl = `curl -s -X POST ${endpoint} -H 'content-type: application/json' -d '${body}'`;
      ctx.emit({ outcome, production: event.to, url, curl, example: JSON.parse(answer) });
      ctx.print(`\nserving ${outcome.model} v${outcome.version} on ${url} — try:\n\n${curl}\n`);
      ctx.print(`answer: ${answer}\n`);
      ctx.print("Press Ctrl-C to stop.");
      await ctx.io.interrupted;
      await server.close();
    } finally {
      await stores.metadata.close();
      await stores.artifacts.close();
    }
  },
};
