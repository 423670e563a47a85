import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/**
 * Folder holding the shared datasets (phishing_websites.csv, unsw_nb15_testing.csv.gz).
 * `NETWARDEN_DATA_DIR` overrides the default `../shared/data` (relative to the working directory).
 */
export function dataDir(): string {
  return resolve(process.env.NETWARDEN_DATA_DIR || "../shared/data");
}

let version: string | undefined;

/** netwarden's own version, from its package.json (the same file from src/ and from dist/). */
export function netwardenVersion(): string {
  if (!version) {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    version = pkg.version;
  }
  return version;
}
