import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: the build scripts are plain JavaScript without types.
import { COMPACT_KERNEL_WAT, compactKernelWat } from "../../scripts/gen-compact-kernel.mjs";
// @ts-expect-error: as above.
import { compileWat } from "../../scripts/wat.mjs";

const SRC = join(import.meta.dirname, "..");

describe("WebAssembly kernels", () => {
  const sources = readdirSync(SRC, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".wat"));

  it("finds the kernels", () => {
    expect(sources.length).toBeGreaterThanOrEqual(3);
  });

  for (const wat of sources) {
    it(`${wat} is compiled (run \`npm run wasm\` after editing it)`, async () => {
      const text = readFileSync(join(SRC, wat), "utf8");
      expect(await compileWat(text, wat)).toBe(
        readFileSync(join(SRC, wat.replace(/\.wat$/, ".wasm.ts")), "utf8"),
      );
    });
  }

  it("compact-kernel.wat is what its generator writes (edit scripts/gen-compact-kernel.mjs, not the .wat)", () => {
    expect(readFileSync(COMPACT_KERNEL_WAT, "utf8")).toBe(compactKernelWat());
  });
});
