import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { FOREST_MODULE } from "../forest/forest.js";
import { defaultThreads, resolveThreads, runtimeModuleUrl, WorkerPool } from "./pool.js";
import { TeamLeader, teamControl } from "./team.js";

describe("worker pool", () => {
  it("maps TypeScript sources to their compiled copies", () => {
    expect(runtimeModuleUrl("file:///repo/src/ml/gbdt/hist.ts")).toBe("file:///repo/dist/ml/gbdt/hist.js");
    expect(runtimeModuleUrl("file:///repo/dist/ml/gbdt/hist.js")).toBe("file:///repo/dist/ml/gbdt/hist.js");
    // The last src/ counts: a checkout may itself live under a folder named src.
    expect(runtimeModuleUrl("file:///src/app/src/ml/x.ts")).toBe("file:///src/app/dist/ml/x.js");
    expect(() => runtimeModuleUrl("file:///elsewhere/x.ts")).toThrow(/cannot map/);
  });

  it("defaults to every core and never to fewer than one thread", () => {
    expect(defaultThreads()).toBeGreaterThanOrEqual(1);
    expect(resolveThreads(null)).toBe(defaultThreads());
    expect(resolveThreads(3)).toBe(3);
    expect(resolveThreads(0)).toBe(1);
  });

  it("runs a module's function in a worker and passes coded errors back", async () => {
    const pool = new WorkerPool();
    try {
      const [c, msg] = await pool.call(FOREST_MODULE, "noSuchFunction", {}).then(
        () => ["no error", ""],
        (e) => [e.code, e.message],
      );
      expect(c).toBe("NW_INTERNAL");
      expect(msg).toMatch(/has no function noSuchFunction/);
    } finally {
      await pool.close();
    }
  });

  it("lets a leader notice a team member that failed before joining", async () => {
    const pool = new WorkerPool();
    const ctrl = teamControl();
    const leader = new TeamLeader(ctrl, 1);
    const call = pool.call(FOREST_MODULE, "noSuchLoop", { team: ctrl });
    await expect(leader.joined([call])).rejects.toMatchObject({ code: "NW_INTERNAL" });
    // The failed member also marked the team, so a leader already blocked would wake up.
    expect(() => leader.run(1, () => {})).toThrow(/worker thread failed/);
    await pool.close();
  });

  it("does not keep the process alive once the work is done", () => {
    // A script that trains a multi-threaded forest and then simply ends: it must exit by itself.
    const script = `
      const ml = await import(${JSON.stringify(new URL(runtimeModuleUrl(new URL("../index.ts", import.meta.url).href)).href)});
      const n = 20000, X = new Float64Array(n * 4), y = new Int32Array(n);
      for (let i = 0; i < n * 4; i++) X[i] = (i * 7919) % 101;
      for (let i = 0; i < n; i++) y[i] = X[i * 4] > 50 ? 1 : 0;
      const m = await ml.createLearner("random_forest", { n_estimators: 30, max_depth: 3, n_threads: 2 })
        .fit({ data: X, nRows: n, nCols: 4, layout: "row" }, y, { nClasses: 2 });
      console.log("trees", m.ensemble.nTrees);
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(out.trim()).toBe("trees 30");
  });
});
