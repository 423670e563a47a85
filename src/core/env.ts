import { resolve } from "node:path";

/**
 * Folder holding the shared datasets (phishing_websites.csv, unsw_nb15_testing.csv.gz).
 * `NETWARDEN_DATA_DIR` overrides the default `../shared/data` (relative to the working directory).
 */
export function dataDir(): string {
  return resolve(process.env.NETWARDEN_DATA_DIR || "../shared/data");
}
