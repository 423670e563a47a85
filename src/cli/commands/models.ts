import { NetwardenError } from "../../core/index.js";
import { openStores } from "../../store/index.js";
import { actorOf, type Command } from "../command.js";
import { fmt, formatTable, when } from "../format.js";

function versionArg(raw: string | undefined, what: string): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) {
    throw new NetwardenError(
      "NW_CLI_INVALID_ARGUMENT",
      `${what} must be a version number (1, 2, ...), got "${raw}"`,
      {
        hint: "See the versions with `netwarden models show <name>`",
      },
    );
  }
  return v;
}

export const modelsList: Command = {
  name: "models list",
  summary: "List registered models with their latest version and aliases",
  options: {},
  positionals: [],
  async run(ctx) {
    const { metadata } = await openStores({ root: ctx.home, env: ctx.io.env });
    try {
      const models = await metadata.listModels();
      ctx.emit({ models });
      if (!models.length) {
        ctx.print(
          `No registered models in ${metadata.location}. Train one with \`netwarden train -c <pipeline.yaml>\`.`,
        );
        return;
      }
      ctx.print(
        formatTable(
          ["model", "latest", "aliases", "updated"],
          models.map((m) => [
            m.name,
            m.latestVersion,
            Object.entries(m.aliases)
              .map(([a, v]) => `${a}=v${v}`)
              .join(" "),
            when(m.updatedAt),
          ]),
        ),
      );
    } finally {
      await metadata.close();
    }
  },
};

export const modelsShow: Command = {
  name: "models show",
  summary: "Show a model's versions, or one version's metrics and lineage",
  options: {
    version: { type: "number", value: "n", description: "Show this version in detail" },
  },
  positionals: [{ name: "name", description: "Registered model name", required: true }],
  async run(ctx) {
    const name = ctx.args.positionals.name as string;
    const { metadata } = await openStores({ root: ctx.home, env: ctx.io.env });
    try {
      const summary = (await metadata.listModels()).find((m) => m.name === name);
      const versions = await metadata.listVersions(name);
      const aliasesOf = (v: number) =>
        Object.entries(summary?.aliases ?? {})
          .filter(([, x]) => x === v)
          .map(([a]) => a);
      if (ctx.args.options.version !== undefined) {
        const v = await metadata.getVersion(name, versionArg(String(ctx.args.options.version), "--version"));
        ctx.emit({ version: { ...v, aliases: aliasesOf(v.version) } });
        ctx.print(
          `model     ${v.model} v${v.version}${aliasesOf(v.version).length ? ` (${aliasesOf(v.version).join(", ")})` : ""}`,
        );
        ctx.print(`run       ${v.runId}`);
        ctx.print(`created   ${when(v.createdAt)}`);
        ctx.print(`bundle    sha256:${v.bundleHash}`);
        ctx.print(`data      ${v.lineage.dataFingerprint}`);
        ctx.print(`config    ${v.lineage.configHash}`);
        ctx.print(
          `code      netwarden ${v.lineage.codeVersion}${v.lineage.gitCommit ? ` (git ${v.lineage.gitCommit})` : ""}`,
        );
        const metrics = Object.entries(v.metrics).sort(([a], [b]) => a.localeCompare(b));
        ctx.print(`\n${formatTable(["metric", "value"], metrics)}`);
        return;
      }
      ctx.emit({ model: name, aliases: summary?.aliases ?? {}, versions });
      const keys = [...new Set(versions.flatMap((v) => Object.keys(v.metrics)))].filter((k) =>
        ["test.accuracy", "test.f1_macro", "test.roc_auc"].includes(k),
      );
      ctx.print(
        formatTable(
          ["version", "aliases", "created", "run", ...keys],
          versions.map((v) => [
            v.version,
            aliasesOf(v.version).join(" "),
            when(v.createdAt),
            v.runId,
            ...keys.map((k) => (v.metrics[k] === undefined ? "" : fmt(v.metrics[k]))),
          ]),
        ),
      );
    } finally {
      await metadata.close();
    }
  },
};

export const modelsPromote: Command = {
  name: "models promote",
  summary: "Point an alias (default: production) at a version",
  description: "Servers following the alias swap to the new version without dropping requests.",
  options: {
    alias: { type: "string", value: "alias", description: "Alias to move", default: "production" },
    reason: {
      type: "string",
      value: "text",
      description: "Why, for the audit trail",
      default: "promoted from the CLI",
    },
  },
  positionals: [
    { name: "name", description: "Registered model name", required: true },
    { name: "version", description: "Version number to promote", required: true },
  ],
  examples: ["netwarden models promote phishing 3", "netwarden models promote phishing 4 --alias staging"],
  async run(ctx) {
    const name = ctx.args.positionals.name as string;
    const version = versionArg(ctx.args.positionals.version, "<version>");
    const alias = ctx.args.options.alias as string;
    const { metadata } = await openStores({ root: ctx.home, env: ctx.io.env });
    try {
      const event = await metadata.setAlias(name, alias, version, {
        actor: actorOf(ctx),
        reason: ctx.args.options.reason as string,
      });
      ctx.emit({ event });
      ctx.print(
        `${name}@${alias}: ${event.from === undefined ? "(none)" : `v${event.from}`} -> v${event.to}`,
      );
    } finally {
      await metadata.close();
    }
  },
};

export const modelsRollback: Command = {
  name: "models rollback",
  summary: "Move an alias (default: production) back to the version it pointed to before",
  options: {
    alias: { type: "string", value: "alias", description: "Alias to move back", default: "production" },
    to: { type: "number", value: "n", description: "Roll back to this version instead of the previous one" },
    reason: {
      type: "string",
      value: "text",
      description: "Why, for the audit trail",
      default: "rolled back from the CLI",
    },
  },
  positionals: [{ name: "name", description: "Registered model name", required: true }],
  examples: ["netwarden models rollback phishing", "netwarden models rollback phishing --to 2"],
  async run(ctx) {
    const name = ctx.args.positionals.name as string;
    const alias = ctx.args.options.alias as string;
    const { metadata } = await openStores({ root: ctx.home, env: ctx.io.env });
    try {
      const current = await metadata.resolveAlias(name, alias);
      if (!current) {
        throw new NetwardenError(
          "NW_STORE_NOT_FOUND",
          `model \`${name}\` has no alias \`${alias}\` to roll back`,
          {
            hint: `Set it first with \`netwarden models promote ${name} <version> --alias ${alias}\``,
          },
        );
      }
      let target: number | undefined;
      if (ctx.args.options.to !== undefined) {
        target = versionArg(String(ctx.args.options.to), "--to");
      } else {
        // The version the alias held just before it moved to the current one.
        const history = await metadata.aliasHistory(name, alias);
        const arrival = [...history].reverse().find((e) => e.to === current.version && e.from !== undefined);
        target = arrival?.from;
        if (target === undefined) {
          throw new NetwardenError(
            "NW_STORE_NOT_FOUND",
            `\`${name}@${alias}\` has pointed only at v${current.version}; there is nothing to roll back to`,
            { hint: `Name a version with --to, e.g. \`netwarden models rollback ${name} --to 1\`` },
          );
        }
      }
      const event = await metadata.setAlias(name, alias, target, {
        actor: actorOf(ctx),
        reason: ctx.args.options.reason as string,
      });
      ctx.emit({ event });
      ctx.print(`${name}@${alias}: v${event.from} -> v${event.to}`);
    } finally {
      await metadata.close();
    }
  },
};
