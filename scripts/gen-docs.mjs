// Regenerates the README's generated tables and schema/pipeline.schema.json from the built code.
// Run by `npm run docs` (after `npm run build`); a test fails when they are out of date.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fullJsonSchema } from "../dist/cli/commands/config.js";
import { generatedReadme } from "../dist/cli/docs.js";

const readme = readFileSync("README.md", "utf8");
writeFileSync("README.md", generatedReadme(readme));
mkdirSync("schema", { recursive: true });
writeFileSync("schema/pipeline.schema.json", `${JSON.stringify(fullJsonSchema(), null, 2)}\n`);
console.log("README.md and schema/pipeline.schema.json are up to date");
