import { spawn } from "node:child_process";
import { request } from "node:http";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPredictionLog } from "../monitor/index.js";
import { openStores, type Stores } from "../store/index.js";
import { createApiKey } from "./auth.js";
import { createServer, type NetwardenServer } from "./server.js";
import { gbdt, phishingCsv, phishingRecords, phishingStore, REPO } from "./test-support/fixtures.js";

/** Tests against a real listening server: sockets, keep-alive, signals, streaming bodies. */

let home: string;
let stores: Stores;
let record: Record<string, number | string | null>;
const admin = createApiKey("admin");

beforeAll(async () => {
  ({ home, stores } = await phishingStore([gbdt(30), gbdt(10), gbdt(20)]));
  [record] = await phishingRecords(1);
});

const opened: NetwardenServer[] = [];
afterAll(async () => {
  for (const s of opened) await s.close();
});

async function listen(
  config: Parameters<typeof createServer>[0]["config"],
): Promise<{ server: NetwardenServer; url: string }> {
  const server = await createServer({ ...stores, logger: false, config });
  opened.push(server);
  const url = await server.app.listen({ host: "127.0.0.1", port: 0 });
  return { server, url };
}

interface Answer {
  sent: number;
  done: number;
  status: number;
  version?: number;
  p?: number;
  error?: string;
}

/** `workers` loops each sending one prediction at a time until `stop()` says so. */
function load(url: string, workers: number, stop: () => boolean): Promise<Answer[]> {
  const body = JSON.stringify(record);
  const one = async (): Promise<Answer[]> => {
    const out: Answer[] = [];
    while (!stop()) {
      const sent = performance.now();
      try {
        const res = await fetch(`${url}/v1/models/phishing/predict`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        const json = (await res.json()) as {
          version?: number;
          predictions?: { probabilities: Record<string, number> }[];
        };
        out.push({
          sent,
          done: performance.now(),
          status: res.status,
          version: json.version,
          p: json.predictions?.[0].probabilities["-1"],
        });
      } catch (e) {
        out.push({ sent, done: performance.now(), status: 0, error: String((e as Error).cause ?? e) });
      }
    }
    return out;
  };
  return Promise.all(Array.from({ length: workers }, one)).then((r) => r.flat());
}

describe("a live server", () => {
  it("answers every request under load across promote, promote, roll back, each from the version it names", async () => {
    const { server, url } = await listen({ poll_ms: 0, auth: { keys: [admin.hash] } });
    // The probability each version gives the record: a response from vN must carry exactly this.
    const expected = new Map<number, number>();
    const { decodeBundle } = await import("../pipeline/index.js");
    for (const v of [1, 2, 3]) {
      const b = decodeBundle(
        await stores.artifacts.get((await stores.metadata.getVersion("phishing", v)).bundleHash),
      );
      expected.set(v, b.predictTable(b.recordsToTable([record]))[0].probabilities["-1"]);
    }
    expect(new Set(expected.values()).size).toBe(3);

    let stopped = false;
    const answers = load(url, 16, () => stopped);
    const moves: { sent: number; done: number; from: number; to: number }[] = [];
    const move = async (method: string, path: string, payload: unknown) => {
      await new Promise((r) => setTimeout(r, 400));
      const sent = performance.now();
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${admin.key}`, "content-type": "application/json" },
        body: JSON.stringify(payload),
      });
      const json = (await res.json()) as { event: { from: number; to: number }; served_version: number };
      expect(res.status).toBe(200);
      expect(json.served_version).toBe(json.event.to);
      moves.push({ sent, done: performance.now(), from: json.event.from, to: json.event.to });
    };
    await move("PUT", "/v1/registry/models/phishing/aliases/production", { version: 2, reason: "promote" });
    await move("PUT", "/v1/registry/models/phishing/aliases/production", { version: 3, reason: "promote" });
    await move("POST", "/v1/registry/models/phishing/aliases/production/rollback", { reason: "roll back" });
    await new Promise((r) => setTimeout(r, 400));
    stopped = true;
    const all = await answers;

    expect(moves.map((m) => [m.from, m.to])).toEqual([
      [1, 2],
      [2, 3],
      [3, 2],
    ]);
    // Versions that may answer a request in flight from `sent` to `done`: the stable version of
    // every period it overlaps, and both ends of every move it overlaps.
    const allowed = (a: Answer) => {
      const ok = new Set<number>();
      let stable = 1;
      let from = Number.NEGATIVE_INFINITY;
      for (const m of moves) {
        if (a.sent <= m.sent && a.done >= from) ok.add(stable);
        if (a.sent <= m.done && a.done >= m.sent) ok.add(m.from).add(m.to);
        stable = m.to;
        from = m.done;
      }
      if (a.done >= from) ok.add(stable);
      return ok;
    };
    const bad = all.filter(
      (a) => a.status !== 200 || !allowed(a).has(a.version!) || a.p !== expected.get(a.version!),
    );
    expect(bad.slice(0, 5)).toEqual([]);
    expect(all.length).toBeGreaterThan(500);
    const seen = new Set(all.map((a) => a.version));
    expect([...seen].sort()).toEqual([1, 2, 3]);
    expect(server.holder.get("phishing")?.version).toBe(2);
  });

  it("scores a 1,000,000-row CSV upload as a stream, in bounded memory", async () => {
    const { url } = await listen({
      poll_ms: 0,
      prediction_log: { enabled: false },
      limits: { csv_rows: 1_000_000 },
    });
    await fetch(`${url}/v1/models/phishing/predict`, { method: "POST" }).catch(() => {});
    const lines = phishingCsv(11_055).split("\n");
    const header = lines[0];
    const rows = lines.slice(1).filter(Boolean);
    const total = 1_000_000;
    let sent = 0;
    async function* body() {
      yield Buffer.from(`${header}\n`);
      while (sent < total) {
        const n = Math.min(5000, total - sent);
        const part: string[] = new Array(n);
        for (let i = 0; i < n; i++) part[i] = rows[(sent + i) % rows.length];
        sent += n;
        yield Buffer.from(`${part.join("\n")}\n`);
      }
    }
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    const { port } = new URL(url);
    const answer = await new Promise<{ status: number; lines: number; last: string; bytes: number }>(
      (resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port,
            method: "POST",
            path: "/v1/models/phishing/predict/csv?format=csv",
            headers: { "content-type": "text/csv" },
          },
          (res) => {
            let count = 0;
            let tail = "";
            let bytes = 0;
            res.on("data", (d: Buffer) => {
              bytes += d.length;
              for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) count++;
              tail = (tail + d.toString()).slice(-200);
            });
            res.on("end", () =>
              resolve({
                status: res.statusCode ?? 0,
                lines: count,
                last: tail.trim().split("\n").pop() ?? "",
                bytes,
              }),
            );
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        Readable.from(body()).pipe(req);
      },
    );
    clearInterval(sampler);
    expect(answer.status).toBe(200);
    expect(answer.lines).toBe(total + 1);
    expect(answer.last.startsWith(`${total - 1},`)).toBe(true);
    // The upload is ~90 MB and the answer ~60 MB; neither is ever held whole.
    expect(answer.bytes).toBeGreaterThan(40_000_000);
    expect(peak - base).toBeLessThan(250 * 1024 * 1024);
  });

  it("logs exactly the predictions it answered when stopped by SIGTERM under load", async () => {
    const child = spawn(
      process.execPath,
      ["bin/netwarden.js", "serve", "--port", "0", "--home", home, "--json", "--poll-ms", "0"],
      {
        cwd: REPO,
        env: { ...process.env, NETWARDEN_SERVE_LOG_LEVEL: "warn" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
        try {
          resolve((JSON.parse(out) as { url: string }).url);
        } catch {
          // not a whole JSON document yet
        }
      });
      exited.then((code) => reject(new Error(`serve exited (${code}) early: ${err}`)));
    });
    const before = await countLog(home);
    let stopAt = Number.POSITIVE_INFINITY;
    const answers = load(url, 12, () => performance.now() > stopAt);
    await new Promise((r) => setTimeout(r, 1500));
    child.kill("SIGTERM");
    // Keep sending while it drains: late requests are refused, never half-answered.
    stopAt = performance.now() + 1000;
    const all = await answers;
    expect(await exited).toBe(0);
    const answered = all.filter((a) => a.status === 200).length;
    expect(answered).toBeGreaterThan(200);
    expect(all.filter((a) => a.status !== 200 && a.status !== 0 && a.status !== 503)).toEqual([]);
    expect((await countLog(home)) - before).toBe(answered);
  });
});

async function countLog(root: string): Promise<number> {
  const s = await openStores({ root });
  let n = 0;
  for await (const _ of readPredictionLog(s.artifacts, "phishing")) n++;
  return n;
}
