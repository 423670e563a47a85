// Compiles the WebAssembly kernels (src/**/*.wat) into TypeScript modules holding their bytes as
// base64 (<name>.wasm.ts next to the .wat), so the product needs no compiler and no file lookups at
// run time. Run by `npm run wasm`; a test fails when a compiled module is out of date.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileWat } from "./wat.mjs";

const root = join(import.meta.dirname, "..", "src");
for (const entry of readdirSync(root, { recursive: true })) {
  if (!entry.endsWith(".wat")) continue;
  const wat = join(root, entry);
  const out = wat.replace(/\.wat$/, ".wasm.ts");
  writeFileSync(out, await compileWat(readFileSync(wat, "utf8"), entry));
  console.log(`${entry} → ${out.slice(root.length + 1)}`);
}
