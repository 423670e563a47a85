import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "./test-support/workspace.js";

/** Parses the printed curl line into what curl would send. */
function parseCurl(line: string): { url: string; body: string } {
  const m = /^curl -s -X POST (\S+) -H 'content-type: application\/json' -d '(.*)'$/.exec(line);
  if (!m) throw new Error(`not a curl line: ${line}`);
  return { url: m[1], body: m[2] };
}

describe("npx netwarden quickstart", () => {
  it("trains the phishing model, makes it production, serves it and prints a curl line that works", async () => {
    const home = mkdtempSync(join(tmpdir(), "nw-quick-"));
    const child = spawn(process.execPath, ["bin/netwarden.js", "quickstart", "--port", "0", "--home", home], {
      cwd: REPO,
      env: { ...process.env, NETWARDEN_ACTOR: "test" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const curlLine = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        out += d;
        const line = out.split("\n").find((l) => l.startsWith("curl "));
        if (line && out.includes("Press Ctrl-C")) resolve(line);
      });
      exited.then((code) => reject(new Error(`quickstart exited (${code}) early:\n${out}\n${err}`)));
    });
    try {
      expect(out).toContain("phishing@production → v1");
      expect(out).toMatch(/accuracy\s+0\.9[6-9]\d\d/);
      const { url, body } = parseCurl(curlLine);
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
      expect(res.status).toBe(200);
      const answer = (await res.json()) as {
        model: string;
        version: number;
        predictions: { label: string }[];
      };
      expect(answer).toMatchObject({ model: "phishing", version: 1 });
      expect(answer.predictions[0].label).toBe("-1");
      expect(Object.keys(JSON.parse(body))).toHaveLength(30);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});
