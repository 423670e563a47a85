import { NetwardenError } from "../../core/index.js";
import { LATEST_MIGRATION, PgMetadataStore, pgTarget } from "../../store/index.js";
import type { Command } from "../command.js";

export const dbMigrate: Command = {
  name: "db migrate",
  summary: "Create or upgrade the PostgreSQL metadata tables (DATABASE_URL)",
  description:
    "Applies the pending schema migrations in one transaction. Servers and workers also do this when they\n" +
    "start, unless NETWARDEN_DB_AUTO_MIGRATE=false; then run this once per upgrade.",
  options: {
    url: {
      type: "string",
      value: "url",
      description: "PostgreSQL URL (default: the DATABASE_URL environment variable)",
    },
    schema: {
      type: "string",
      value: "name",
      description: "Schema for the tables (default: NETWARDEN_DB_SCHEMA, else public)",
    },
  },
  positionals: [],
  examples: ["DATABASE_URL=postgres://app@db:5432/netwarden netwarden db migrate"],
  async run(ctx) {
    const url = (ctx.args.options.url as string | undefined) || ctx.io.env.DATABASE_URL;
    if (!url) {
      throw new NetwardenError("NW_CLI_MISSING_ARGUMENT", "no database to migrate: DATABASE_URL is not set", {
        where: "--url",
        hint: "Set DATABASE_URL=postgres://user:password@host:5432/database or pass --url",
      });
    }
    const schema =
      (ctx.args.options.schema as string | undefined) || ctx.io.env.NETWARDEN_DB_SCHEMA || undefined;
    const target = pgTarget(url, schema);
    const task = ctx.progress.task(`migrating ${target.display}`);
    const status = await PgMetadataStore.migrateDatabase(url, { schema });
    task.done();
    ctx.emit({ database: target.display, schema: target.schema, ...status, latest: LATEST_MIGRATION });
    ctx.print(
      status.applied.length
        ? `${target.display} (schema ${target.schema}): applied migration${status.applied.length > 1 ? "s" : ""} ${status.applied.join(", ")}; now at version ${status.current}`
        : `${target.display} (schema ${target.schema}): already at version ${status.current}; nothing to do`,
    );
  },
};
