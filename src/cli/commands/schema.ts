import { resolve } from "node:path";
import { writeFileAtomic } from "../../core/index.js";
import { inferSchema, schemaToYaml } from "../../data/index.js";
import type { Command } from "../command.js";

export const schemaInfer: Command = {
  name: "schema infer",
  summary: "Draft the schema section of a pipeline file from a CSV file",
  description:
    "Every guess (role, type, allowed values) is commented with what was seen in the data; review each one.",
  options: {
    target: {
      type: "string",
      value: "column",
      description: "The label column (default: label, target, class or Result)",
    },
    rows: { type: "number", value: "n", description: "Rows to read", default: 100000 },
    ranges: { type: "boolean", description: "Add observed min/max of continuous columns" },
    delimiter: { type: "string", value: "char", description: "Field separator (default: detected)" },
    out: { type: "string", short: "o", value: "file", description: "Write the YAML here instead of stdout" },
  },
  positionals: [{ name: "file", description: "CSV file (plain or .gz)", required: true }],
  examples: ["netwarden schema infer ../shared/data/phishing_websites.csv --target Result"],
  async run(ctx) {
    const o = ctx.args.options;
    const inferred = await inferSchema(resolve(ctx.io.cwd, ctx.args.positionals.file as string), {
      target: o.target as string | undefined,
      sampleRows: o.rows as number,
      ranges: Boolean(o.ranges),
      delimiter: o.delimiter as string | undefined,
    });
    const yaml = schemaToYaml(inferred);
    ctx.emit({
      target: inferred.target,
      rowsRead: inferred.rowsRead,
      notes: inferred.notes,
      schema: inferred.schema,
      yaml,
    });
    if (o.out) {
      await writeFileAtomic(resolve(ctx.io.cwd, o.out as string), yaml);
      ctx.print(`wrote ${o.out} (${inferred.schema.columns.length} columns)`);
    } else if (!ctx.json) {
      ctx.io.stdout.write(yaml);
    }
  },
};
