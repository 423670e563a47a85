import { execFileSync } from "node:child_process";

/**
 * Tests that spawn the `netwarden` binary or start worker threads run the compiled code in dist/,
 * so build it once before the suite: a test never runs against a stale build.
 */
export default function setup(): void {
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
    stdio: "inherit",
  });
}
