import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { dataDir } from "../core/index.js";
import { categoricalColumn, numericColumn, readCsv, Table } from "../data/index.js";
import { LocalArtifactStore } from "../store/index.js";
import {
  listPredictionSegments,
  type PredictionBatch,
  type PredictionRecord,
  readPredictionLog,
  SegmentLogSink,
} from "./prediction-log.js";

let features: Table;

beforeAll(async () => {
  // The first 10 rows of the UNSW-NB15 file: numeric and text features side by side.
  const { table } = await readCsv(join(dataDir(), "unsw_nb15_testing.csv.gz"), { limit: 10 });
  features = table.select(["dur", "proto", "service", "sbytes"]);
});

function store(): LocalArtifactStore {
  return new LocalArtifactStore(mkdtempSync(join(tmpdir(), "nw-log-")));
}

function batch(over: Partial<PredictionBatch> = {}): PredictionBatch {
  const n = over.count ?? 3;
  const start = over.start ?? 0;
  const proba = new Float64Array(20);
  for (let i = 0; i < 10; i++) {
    proba[2 * i] = i / 10;
    proba[2 * i + 1] = 1 - i / 10;
  }
  return {
    model: "unsw",
    version: 2,
    requestId: "req-1",
    time: "2026-11-21T10:00:00.000Z",
    latencyMs: 1.23456,
    classes: ["0", "1"],
    features,
    proba,
    start,
    count: n,
    ...over,
  };
}

async function all(s: LocalArtifactStore, model = "unsw"): Promise<PredictionRecord[]> {
  const out: PredictionRecord[] = [];
  for await (const r of readPredictionLog(s, model)) out.push(r);
  return out;
}

describe("prediction log", () => {
  it("writes one JSON line per prediction with features, label, probabilities and version", async () => {
    const s = store();
    const sink = new SegmentLogSink(s, { flushMs: 60_000 });
    expect(sink.offer(batch({ start: 1, count: 2, firstRow: 5 }))).toBe(true);
    expect(sink.stats().queuedRows).toBe(2);
    await sink.flush();
    const rows = await all(s);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({
      time: "2026-11-21T10:00:00.000Z",
      request_id: "req-1",
      row: 5,
      model: "unsw",
      version: 2,
      latency_ms: 1.235,
      features: {
        dur: 0.000008,
        proto: "udp",
        service: "-",
        sbytes: 1762,
      },
      label: "1",
      probabilities: { "0": 0.1, "1": 0.9 },
    });
    expect(rows[1].row).toBe(6);
    expect(rows[1].probabilities).toEqual({ "0": 0.2, "1": 0.8 });
    expect(sink.stats()).toMatchObject({ queuedRows: 0, writtenRows: 2, segments: 1, droppedRows: 0 });
    const keys = await listPredictionSegments(s, "unsw");
    expect(keys[0]).toMatch(/^predictions\/unsw\/2026-11-21\/\d{8}T\d{9}Z-[0-9a-f]{8}-000000\.jsonl$/);
  });

  it("writes a missing value as null and splits segments by size, model and day", async () => {
    const s = store();
    const sink = new SegmentLogSink(s, { flushMs: 60_000, segmentRows: 4 });
    const t = new Table([numericColumn("x", [Number.NaN, 2]), categoricalColumn("c", [null, "a"])]);
    sink.offer(batch({ features: t, count: 2 }));
    sink.offer(batch({ count: 3 }));
    sink.offer(batch({ model: "phish", count: 1 }));
    sink.offer(batch({ time: "2026-11-22T00:00:01.000Z", count: 1 }));
    await sink.flush();
    expect(sink.stats().segments).toBe(4);
    const unsw = await all(s);
    expect(unsw).toHaveLength(6);
    expect(unsw[0].features).toEqual({ x: null, c: null });
    expect(unsw[1].features).toEqual({ x: 2, c: "a" });
    expect((await all(s, "phish")).map((r) => r.model)).toEqual(["phish"]);
    const days = await listPredictionSegments(s, "unsw", { from: "2026-11-22" });
    expect(days).toHaveLength(1);
  });

  it("drops and counts rows when the queue is full, never blocking the producer", async () => {
    const s = store();
    const sink = new SegmentLogSink(s, { flushMs: 60_000, queueRows: 5, segmentRows: 100 });
    expect(sink.offer(batch({ count: 3 }))).toBe(true);
    expect(sink.offer(batch({ count: 3 }))).toBe(false);
    expect(sink.offer(batch({ count: 2 }))).toBe(true);
    expect(sink.stats()).toMatchObject({ queuedRows: 5, droppedRows: 3 });
    await sink.close();
    expect((await all(s)).length).toBe(5);
    expect(sink.offer(batch())).toBe(false);
  });

  it("makes a streaming producer wait for room instead of dropping (back-pressure)", async () => {
    const s = store();
    const sink = new SegmentLogSink(s, { flushMs: 60_000, queueRows: 4, segmentRows: 100 });
    for (let i = 0; i < 10; i++) await sink.put(batch({ count: 3, requestId: `r${i}` }));
    await sink.close();
    const rows = await all(s);
    expect(rows).toHaveLength(30);
    expect(new Set(rows.map((r) => r.request_id)).size).toBe(10);
    expect(sink.stats().droppedRows).toBe(0);
    expect(sink.stats().backpressureWaits).toBeGreaterThan(0);
  });

  it("flushes on its own after flushMs and keeps rows whose write failed for the next try", async () => {
    const s = store();
    const sink = new SegmentLogSink(s, { flushMs: 20 });
    sink.offer(batch({ count: 1 }));
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.stats().writtenRows).toBe(1);

    let fail = true;
    const errors: string[] = [];
    const flaky = Object.create(s) as LocalArtifactStore;
    flaky.putObject = async (key, bytes) => {
      if (fail) throw new Error("disk full");
      return s.putObject(key, bytes);
    };
    const sink2 = new SegmentLogSink(flaky, { flushMs: 60_000, onError: (e) => errors.push(e.code) });
    sink2.offer(batch({ count: 2 }));
    await sink2.flush();
    expect(sink2.stats()).toMatchObject({ writtenRows: 0, queuedRows: 2, writeErrors: 1 });
    fail = false;
    await sink2.close();
    expect(sink2.stats()).toMatchObject({ writtenRows: 2, queuedRows: 0, droppedRows: 0 });
    expect(errors).toEqual(["NW_INTERNAL"]);
    expect(await all(s)).toHaveLength(3);
  });
});
