import { resolve } from "node:path";
import { loadPipelineConfig } from "../../config/index.js";
import { NetwardenError } from "../../core/index.js";
import { runTraining, type TrainOutcome } from "../../pipeline/index.js";
import { openStores } from "../../store/index.js";
import { actorOf, type Command, type CommandContext } from "../command.js";
import { dec, formatTable } from "../format.js";

export const train: Command = {
  name: "train",
  summary: "Run a training pipeline: validate, cross-validate, evaluate, gate and register",
  description:
    "Exit code 0 when the model was accepted and registered, 4 when the gate rejected it (the run and\n" +
    "its bundle are kept), 3 when the data failed validation, 2 for a config mistake.",
  options: {
    config: { type: "string", short: "c", value: "file", description: "Pipeline YAML file" },
  },
  positionals: [],
  examples: [
    "netwarden train -c examples/phishing.yaml",
    "netwarden train -c examples/unsw-nb15-multiclass.yaml --json",
  ],
  async run(ctx) {
    const file = ctx.args.options.config as string | undefined;
    if (!file) {
      throw new NetwardenError(
        "NW_CLI_MISSING_ARGUMENT",
        "`netwarden train` needs a pipeline file: -c <file>",
        {
          hint: "Try `netwarden train -c examples/phishing.yaml`",
        },
      );
    }
    const loaded = await loadPipelineConfig(resolve(ctx.io.cwd, file), ctx.io.env);
    const stores = await openStores({ root: ctx.home, env: ctx.io.env });
    try {
      const outcome = await runTraining(loaded, { ...stores, progress: ctx.progress, actor: actorOf(ctx) });
      ctx.emit(outcome);
      printOutcome(ctx, outcome);
      if (!outcome.accepted) {
        const err = new NetwardenError(
          "NW_GATE_REJECTED",
          `the gate rejected the model: ${outcome.gate.reasons.join("; ")}`,
          {
            where: `run ${outcome.runId}`,
            hint: "Nothing was registered. Improve the model or data, or adjust `gate:` if the bar is wrong",
          },
        );
        ctx.io.stderr.write(`error: ${err.toParagraph()}\n`);
        return err.exitCode;
      }
      return 0;
    } finally {
      await stores.metadata.close();
      await stores.artifacts.close();
    }
  },
};

export function printOutcome(ctx: CommandContext, o: TrainOutcome): void {
  const r = o.evaluation;
  const names = o.data.classNames ?? {};
  const label = (c: string) => (names[c] ? `${c} (${names[c]})` : c);
  ctx.print(`run ${o.runId} · pipeline ${o.pipeline}`);
  ctx.print(
    `data: ${o.data.trainRows.toLocaleString("en-US")} train / ${o.data.testRows.toLocaleString("en-US")} test rows ` +
      `(${o.data.split.method} split) · ${o.data.classes.length} classes · fingerprint ${o.data.fingerprint.slice(0, 12)}`,
  );
  if (o.findings.length) {
    ctx.print("\nfindings:");
    for (const f of o.findings) ctx.print(`  ! ${f}`);
  }
  ctx.print(`\ncandidates (${o.cv[0]?.scores.length ?? 0}-fold CV, ${o.metric}):`);
  ctx.print(
    indent(
      formatTable(
        ["candidate", "mean", "std", ""],
        o.cv.map((c) => [c.name, dec(c.mean), dec(c.std), c.name === o.best.name ? "← best" : ""]),
      ),
    ),
  );
  ctx.print(`\ntest split (${r.n.toLocaleString("en-US")} rows):`);
  const headline: [string, number][] = [
    ["accuracy", r.accuracy],
    ["balanced accuracy", r.balancedAccuracy],
    ["macro F1", r.macro.f1],
    ["weighted F1", r.weighted.f1],
    ["ROC-AUC", r.rocAuc],
    ["PR-AUC", r.prAuc],
    ["log loss", r.logLoss],
  ];
  if (r.binary) {
    headline.push(
      [`precision (${r.binary.positiveClass})`, r.binary.precision],
      [`recall (${r.binary.positiveClass})`, r.binary.recall],
    );
  }
  ctx.print(
    indent(
      formatTable(
        ["metric", "value"],
        headline.filter(([, v]) => Number.isFinite(v)),
      ),
    ),
  );
  ctx.print("\nper class:");
  ctx.print(
    indent(
      formatTable(
        ["class", "precision", "recall", "f1", "support"],
        r.perClass.map((c) => [label(c.class), dec(c.precision), dec(c.recall), dec(c.f1), c.support]),
      ),
    ),
  );
  ctx.print("\nconfusion matrix (rows: true class, columns: predicted):");
  ctx.print(
    indent(
      formatTable(
        ["", ...r.classes],
        r.confusion.map((row, i) => [r.classes[i], ...row]),
      ),
    ),
  );
  ctx.print(`\ngate: ${o.accepted ? "ACCEPTED" : "REJECTED"}`);
  for (const reason of o.gate.reasons) ctx.print(`  - ${reason}`);
  if (o.version !== undefined) {
    ctx.print(
      `\nregistered ${o.model} v${o.version}${o.aliases.length ? ` → ${o.aliases.map((a) => `@${a}`).join(", ")}` : ""}` +
        ` (bundle sha256:${o.bundleHash.slice(0, 16)})`,
    );
  }
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}
