import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { SinkStats } from "../monitor/index.js";

/** The server's Prometheus metrics, in a registry of their own (two servers in one process never mix). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"route" | "method" | "status" | "model" | "version">;
  readonly latency: Histogram<"route" | "model" | "version" | "status">;
  readonly predictions: Counter<"model" | "version" | "class">;
  readonly modelLoads: Counter<"model" | "result">;
  readonly servedVersion: Gauge<"model">;
  readonly batchSize: Histogram<"model">;

  constructor(sinkStats: () => SinkStats | undefined, jobsRunning: () => number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "netwarden_" });
    this.requests = new Counter({
      name: "netwarden_http_requests_total",
      help: "HTTP requests answered, by route, method, status and model version.",
      labelNames: ["route", "method", "status", "model", "version"],
      registers,
    });
    this.latency = new Histogram({
      name: "netwarden_http_request_duration_seconds",
      help: "Time from request received to answer sent.",
      labelNames: ["route", "model", "version", "status"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.predictions = new Counter({
      name: "netwarden_predictions_total",
      help: "Predictions made, by model version and predicted class.",
      labelNames: ["model", "version", "class"],
      registers,
    });
    this.modelLoads = new Counter({
      name: "netwarden_model_load_events_total",
      help: "Model loads: result is loaded (swapped in) or failed (the previous version kept serving).",
      labelNames: ["model", "result"],
      registers,
    });
    this.servedVersion = new Gauge({
      name: "netwarden_served_model_version",
      help: "Version of each model being served.",
      labelNames: ["model"],
      registers,
    });
    this.batchSize = new Histogram({
      name: "netwarden_scoring_batch_rows",
      help: "Rows scored per model call (concurrent requests are scored together).",
      labelNames: ["model"],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 512, 4096],
      registers,
    });
    const sinkGauge = (name: string, help: string, pick: (s: SinkStats) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = sinkStats();
          this.set(s ? pick(s) : 0);
        },
      });
    sinkGauge(
      "netwarden_prediction_log_queue_rows",
      "Predictions waiting to be written.",
      (s) => s.queuedRows,
    );
    sinkGauge(
      "netwarden_prediction_log_written_rows",
      "Predictions written to the log.",
      (s) => s.writtenRows,
    );
    sinkGauge(
      "netwarden_prediction_log_dropped_rows",
      "Predictions dropped because the log queue was full.",
      (s) => s.droppedRows,
    );
    sinkGauge(
      "netwarden_prediction_log_backpressure_waits",
      "Times a CSV upload waited for room in the log queue.",
      (s) => s.backpressureWaits,
    );
    sinkGauge(
      "netwarden_prediction_log_write_errors",
      "Segment writes that failed (their rows are retried).",
      (s) => s.writeErrors,
    );
    new Gauge({
      name: "netwarden_jobs_running",
      help: "Jobs running now.",
      registers,
      collect() {
        this.set(jobsRunning());
      },
    });
  }
}
