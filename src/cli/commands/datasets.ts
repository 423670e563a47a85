import { resolve } from "node:path";
import { DATASETS, fetchDataset } from "../../datasets/index.js";
import type { Command } from "../command.js";
import { formatTable } from "../format.js";

export const datasetsList: Command = {
  name: "datasets list",
  summary: "List the public datasets netwarden can download",
  options: {},
  positionals: [],
  async run(ctx) {
    ctx.emit({ datasets: DATASETS });
    ctx.print(
      formatTable(
        ["name", "file", "rows", "source"],
        DATASETS.map((d) => [d.name, d.file, d.rows, d.url ?? `${d.page} (needs --url)`]),
      ),
    );
  },
};

export const datasetsFetch: Command = {
  name: "datasets fetch",
  summary: "Download a public dataset from its canonical source and check its sha256",
  description:
    "What arrives (ZIP with ARFF or CSV, gzip, or plain CSV with a BOM or CRLF line endings) is turned into the CSV\n" +
    "the examples read, and kept only when its sha256 matches the published file. Nothing is written otherwise.",
  options: {
    url: {
      type: "string",
      value: "url",
      description: "Download from this address (mirror, or file:///path)",
    },
    out: {
      type: "string",
      value: "dir",
      description: "Folder to write into (default: <home>/datasets)",
    },
  },
  positionals: [
    { name: "name", description: "Dataset name (see `netwarden datasets list`)", required: true },
  ],
  examples: [
    "netwarden datasets fetch phishing",
    "netwarden datasets fetch unsw-nb15-testing --url file:///tmp/UNSW_NB15_testing-set.csv",
  ],
  async run(ctx) {
    const out = (ctx.args.options.out as string | undefined) ?? resolve(ctx.home, "datasets");
    const r = await fetchDataset(ctx.args.positionals.name as string, {
      url: ctx.args.options.url as string | undefined,
      outDir: resolve(ctx.io.cwd, out),
      progress: ctx.progress,
    });
    ctx.emit(r);
    ctx.print(`${r.dataset}: ${r.path} (sha256 ${r.sha256} verified)`);
  },
};
