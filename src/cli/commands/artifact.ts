import { resolve } from "node:path";
import { NetwardenError, writeFileAtomic } from "../../core/index.js";
import { openStores } from "../../store/index.js";
import type { Command } from "../command.js";

export const runsArtifact: Command = {
  name: "runs artifact",
  summary: "Print or save one artifact of a run (bundle.json, validation.txt, quarantine.jsonl, ...)",
  options: {
    out: { type: "string", short: "o", value: "file", description: "Write to this file instead of stdout" },
  },
  positionals: [
    { name: "run-id", description: "Run id", required: true },
    { name: "name", description: "Artifact name as listed by `runs show`", required: true },
  ],
  examples: ["netwarden runs artifact 20261121-101500-ab12cd validation.txt"],
  async run(ctx) {
    const { metadata, artifacts } = await openStores({ root: ctx.home, env: ctx.io.env });
    try {
      const run = await metadata.getRun(ctx.args.positionals["run-id"] as string);
      const name = ctx.args.positionals.name as string;
      const ref = run.artifacts.find((a) => a.name === name);
      if (!ref) {
        throw new NetwardenError("NW_STORE_NOT_FOUND", `run ${run.id} has no artifact \`${name}\``, {
          hint: `Its artifacts: ${run.artifacts.map((a) => a.name).join(", ") || "none"}`,
        });
      }
      const bytes = await artifacts.get(ref.hash);
      if (ctx.args.options.out) {
        await writeFileAtomic(resolve(ctx.io.cwd, ctx.args.options.out as string), bytes);
        ctx.print(`wrote ${ctx.args.options.out} (${bytes.length} bytes, sha256 ${ref.hash})`);
      } else {
        ctx.io.stdout.write(Buffer.from(bytes).toString("utf8"));
      }
    } finally {
      await metadata.close();
      await artifacts.close();
    }
  },
};
