// Fails when a Vitest JSON report has skipped, todo or failed tests, or no tests at all.
import { readFileSync } from "node:fs";

const file = process.argv[2];
const report = JSON.parse(readFileSync(file, "utf8"));
const bad = [];
let total = 0;
for (const suite of report.testResults ?? []) {
  for (const t of suite.assertionResults ?? []) {
    total++;
    if (t.status !== "passed")
      bad.push(`${t.status}: ${suite.name.replace(`${process.cwd()}/`, "")} > ${t.fullName}`);
  }
}
if (total === 0) {
  console.error(`${file}: no tests ran`);
  process.exit(1);
}
if (bad.length) {
  console.error(`${bad.length} of ${total} tests did not pass (skipped tests count as failures in CI):`);
  for (const b of bad) console.error(`  ${b}`);
  process.exit(1);
}
console.log(`${total} tests passed, none skipped`);
