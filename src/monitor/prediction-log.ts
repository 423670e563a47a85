import { randomBytes } from "node:crypto";
import { asNetwardenError, type NetwardenError } from "../core/index.js";
import { MISSING_CODE, type Table } from "../data/index.js";
import type { ArtifactStore } from "../store/index.js";

/** Default key prefix of prediction-log segments in the artifact store. */
export const PREDICTION_LOG_PREFIX = "predictions";

/**
 * Predictions answered together: rows `start .. start + count - 1` of `features` (the request's
 * input columns as received) and of `proba` (row-major, one value per class).
 */
export interface PredictionBatch {
  model: string;
  version: number;
  requestId: string;
  /** ISO 8601 time the answer was made. */
  time: string;
  /** Request start to answer, in ms. */
  latencyMs: number;
  classes: readonly string[];
  features: Table;
  proba: Float64Array;
  start: number;
  count: number;
  /** Index of the first row within its request (requests split into several batches, e.g. CSV). */
  firstRow?: number;
}

/** One line of a segment file. */
export interface PredictionRecord {
  time: string;
  request_id: string;
  /** Row index within the request. */
  row: number;
  model: string;
  version: number;
  latency_ms: number;
  features: Record<string, number | string | null>;
  label: string;
  probabilities: Record<string, number>;
}

export interface SinkStats {
  /** Rows waiting to be written. */
  queuedRows: number;
  writtenRows: number;
  droppedRows: number;
  segments: number;
  /** Times a producer had to wait for room (`put`). */
  backpressureWaits: number;
  writeErrors: number;
}

/**
 * Where served predictions go. `offer` never blocks the request path: when the queue is full the
 * rows are dropped and counted. Streaming producers (CSV scoring) `put` instead and wait for room.
 */
export interface PredictionLogSink {
  offer(batch: PredictionBatch): boolean;
  put(batch: PredictionBatch): Promise<void>;
  /** Writes everything queued so far. */
  flush(): Promise<void>;
  /** Stops the timer and writes everything queued; later offers are dropped. */
  close(): Promise<void>;
  stats(): SinkStats;
}

export interface SegmentSinkOptions {
  /** Key prefix (default `predictions`): segments are `<prefix>/<model>/<yyyy-mm-dd>/<name>.jsonl`. */
  prefix?: string;
  /** Most rows waiting to be written (default 200,000). */
  queueRows?: number;
  /** Longest wait before queued rows are written, in ms (default 1000). */
  flushMs?: number;
  /** Most rows per segment file (default 20,000). */
  segmentRows?: number;
  /** Distinguishes the segment names of servers sharing a store (default: random). */
  instance?: string;
  onError?(error: NetwardenError): void;
}

/**
 * Append-only prediction log in the artifact store: every flush writes new, immutable segment
 * objects (JSON lines), named so that they sort in time order and never collide across servers.
 * Rows are serialised at flush time, off the request path.
 */
export class SegmentLogSink implements PredictionLogSink {
  private queue: PredictionBatch[] = [];
  private queued = 0;
  private written = 0;
  private dropped = 0;
  private segments = 0;
  private waits = 0;
  private errors = 0;
  private seq = 0;
  private closed = false;
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];
  private readonly prefix: string;
  private readonly capacity: number;
  private readonly flushMs: number;
  private readonly segmentRows: number;
  private readonly instance: string;

  constructor(
    private readonly artifacts: ArtifactStore,
    private readonly options: SegmentSinkOptions = {},
  ) {
    this.prefix = options.prefix ?? PREDICTION_LOG_PREFIX;
    this.capacity = options.queueRows ?? 200_000;
    this.flushMs = options.flushMs ?? 1000;
    this.segmentRows = options.segmentRows ?? 20_000;
    this.instance = options.instance ?? randomBytes(4).toString("hex");
  }

  offer(batch: PredictionBatch): boolean {
    if (this.closed || this.queued + batch.count > this.capacity) {
      this.dropped += batch.count;
      return false;
    }
    this.enqueue(batch);
    return true;
  }

  async put(batch: PredictionBatch): Promise<void> {
    // A batch larger than the whole queue still goes in once the queue is empty.
    while (!this.closed && this.queued > 0 && this.queued + batch.count > this.capacity) {
      this.waits++;
      this.scheduleFlush(0);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.closed) {
      this.dropped += batch.count;
      return;
    }
    this.enqueue(batch);
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // One writer at a time; a flush asked for during a write runs right after it.
    const run = (this.flushing ?? Promise.resolve()).then(() => this.writeQueued());
    const tracked = run.finally(() => {
      if (this.flushing === tracked) this.flushing = undefined;
    });
    this.flushing = tracked;
    return tracked;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    // A failed write leaves its rows queued: one more try, then they count as dropped.
    if (this.queued > 0) await this.flush();
    this.dropped += this.queued;
    this.queue = [];
    this.queued = 0;
    this.wake();
  }

  stats(): SinkStats {
    return {
      queuedRows: this.queued,
      writtenRows: this.written,
      droppedRows: this.dropped,
      segments: this.segments,
      backpressureWaits: this.waits,
      writeErrors: this.errors,
    };
  }

  private enqueue(batch: PredictionBatch): void {
    this.queue.push(batch);
    this.queued += batch.count;
    if (this.queued >= this.segmentRows) this.scheduleFlush(0);
    else this.scheduleFlush(this.flushMs);
  }

  private scheduleFlush(ms: number): void {
    if (this.timer && ms > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => {});
    }, ms);
    this.timer.unref();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const batches = this.queue;
      this.queue = [];
      const failed: PredictionBatch[] = [];
      // Group by model and day: each group becomes one or more segments.
      const groups = new Map<string, PredictionBatch[]>();
      for (const b of batches) {
        const key = `${b.model}/${b.time.slice(0, 10)}`;
        const g = groups.get(key);
        if (g) g.push(b);
        else groups.set(key, [b]);
      }
      for (const [folder, group] of groups) {
        let i = 0;
        while (i < group.length) {
          const parts: string[] = [];
          let rows = 0;
          const first = i;
          while (i < group.length && (rows === 0 || rows + group[i].count <= this.segmentRows)) {
            const b = group[i];
            // Serialise in slices, letting requests run in between: a flush never stalls them for long.
            for (let r = 0; r < b.count; r += SLICE_ROWS) {
              parts.push(serializeBatch(b, r, Math.min(SLICE_ROWS, b.count - r)));
              if (b.count > SLICE_ROWS || parts.length % 64 === 0) await yieldToRequests();
            }
            rows += b.count;
            i++;
          }
          const key = `${this.prefix}/${folder}/${this.segmentName()}.jsonl`;
          try {
            await this.artifacts.putObject(key, Buffer.from(parts.join("")));
            this.written += rows;
            this.segments++;
            this.queued -= rows;
          } catch (e) {
            this.errors++;
            this.options.onError?.(asNetwardenError(e));
            for (let j = first; j < i; j++) failed.push(group[j]);
          }
        }
      }
      this.wake();
      if (failed.length) {
        // Keep them for the next flush (they still count against the queue bound).
        this.queue = failed.concat(this.queue);
        return;
      }
    }
  }

  private segmentName(): string {
    const t = new Date().toISOString().replace(/[-:]/g, "").replace(".", "");
    return `${t}-${this.instance}-${String(this.seq++).padStart(6, "0")}`;
  }
}

/** Rows serialised between two yields to the event loop (about a millisecond of work). */
const SLICE_ROWS = 256;

function yieldToRequests(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const keyCache = new WeakMap<Table, string[]>();

/** JSON lines for rows `from .. from + n - 1` of a batch (default: all), written by hand. */
export function serializeBatch(b: PredictionBatch, from = 0, n = b.count - from): string {
  const cols = b.features.columns;
  let keys = keyCache.get(b.features);
  if (!keys) {
    keys = cols.map((c, j) => `${j ? "," : ""}${JSON.stringify(c.name)}:`);
    keyCache.set(b.features, keys);
  }
  const K = b.classes.length;
  const classKeys = b.classes.map((c, k) => `${k ? "," : ""}${JSON.stringify(c)}:`);
  const classJson = b.classes.map((c) => JSON.stringify(c));
  const head = `{"time":${JSON.stringify(b.time)},"request_id":${JSON.stringify(b.requestId)},"model":${JSON.stringify(b.model)},"version":${b.version},"latency_ms":${round3(b.latencyMs)},"row":`;
  const firstRow = b.firstRow ?? 0;
  let out = "";
  for (let r = from; r < from + n; r++) {
    const i = b.start + r;
    let features = "";
    for (let j = 0; j < cols.length; j++) {
      const c = cols[j];
      let v: string;
      if (c.type === "numeric") {
        const x = c.values[i];
        v = Number.isFinite(x) ? String(x) : "null";
      } else {
        const code = c.codes[i];
        v = code === MISSING_CODE ? "null" : JSON.stringify(c.categories[code]);
      }
      features += keys[j] + v;
    }
    let best = 0;
    let probs = "";
    for (let k = 0; k < K; k++) {
      const p = b.proba[i * K + k];
      if (p > b.proba[i * K + best]) best = k;
      probs += classKeys[k] + (Number.isFinite(p) ? String(p) : "null");
    }
    out += `${head}${firstRow + r},"features":{${features}},"label":${classJson[best]},"probabilities":{${probs}}}\n`;
  }
  return out;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export interface ReadLogOptions {
  prefix?: string;
  /** First day to read, `yyyy-mm-dd` (inclusive). */
  from?: string;
  /** Last day to read, `yyyy-mm-dd` (inclusive). */
  to?: string;
}

/** Segment keys of a model's prediction log, oldest first. */
export async function listPredictionSegments(
  artifacts: ArtifactStore,
  model: string,
  options: ReadLogOptions = {},
): Promise<string[]> {
  const base = `${options.prefix ?? PREDICTION_LOG_PREFIX}/${model}/`;
  const keys = await artifacts.listObjects(base);
  return keys
    .filter((k) => {
      const day = k.slice(base.length, base.length + 10);
      return (
        k.endsWith(".jsonl") &&
        (options.from === undefined || day >= options.from) &&
        (options.to === undefined || day <= options.to)
      );
    })
    .sort((a, b) => segmentOrder(a).localeCompare(segmentOrder(b)));
}

/** Sorts by the segment's file name (its write time), not by the day folder alone. */
function segmentOrder(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}

/** Every logged prediction of `model`, oldest segment first. */
export async function* readPredictionLog(
  artifacts: ArtifactStore,
  model: string,
  options: ReadLogOptions = {},
): AsyncGenerator<PredictionRecord> {
  for (const key of await listPredictionSegments(artifacts, model, options)) {
    const text = Buffer.from(await artifacts.getObject(key)).toString("utf8");
    let s = 0;
    while (s < text.length) {
      let e = text.indexOf("\n", s);
      if (e < 0) e = text.length;
      if (e > s) yield JSON.parse(text.slice(s, e)) as PredictionRecord;
      s = e + 1;
    }
  }
}
