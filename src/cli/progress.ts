import type { Progress, ProgressTask } from "../core/index.js";
import type { Io } from "./io.js";

/** Progress on a terminal: one live line per running task (bar when the total is known), redrawn in place. */
export class TerminalProgress implements Progress {
  private lastDraw = 0;
  private live = false;
  constructor(private readonly io: Io) {}

  task(label: string, total?: number): ProgressTask {
    const started = Date.now();
    let count = 0;
    let note = "";
    const frames = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";
    const draw = (force = false) => {
      const now = Date.now();
      if (!force && now - this.lastDraw < 80) return;
      this.lastDraw = now;
      const width = Math.max(40, (this.io.stderr.columns ?? 100) - 1);
      let line: string;
      if (total && total > 0) {
        const frac = Math.min(1, count / total);
        const barW = 24;
        const filled = Math.round(frac * barW);
        line = `${label} [${"█".repeat(filled)}${"░".repeat(barW - filled)}] ${count}/${total} ${note}`;
      } else {
        line = `${frames[Math.floor(now / 80) % frames.length]} ${label} ${note}`;
      }
      this.io.stderr.write(`\r\x1b[K${line.slice(0, width)}`);
      this.live = true;
    };
    draw(true);
    return {
      tick: (n = 1, n2) => {
        count += n;
        if (n2 !== undefined) note = n2;
        draw();
      },
      note: (n) => {
        note = n;
        draw();
      },
      done: (final) => {
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        this.io.stderr.write(`\r\x1b[K✓ ${label}${final ? `: ${final}` : ""} (${secs}s)\n`);
        this.live = false;
      },
    };
  }

  log(message: string, level: "info" | "warn" = "info"): void {
    const prefix = level === "warn" ? "! " : "  ";
    this.io.stderr.write(`${this.live ? "\r\x1b[K" : ""}${prefix}${message}\n`);
    this.live = false;
  }
}

/** Progress for logs and pipes: one line when a task finishes, no control characters. */
export class LineProgress implements Progress {
  constructor(private readonly io: Io) {}
  task(label: string): ProgressTask {
    const started = Date.now();
    return {
      tick() {},
      note() {},
      done: (final) => {
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        this.io.stderr.write(`- ${label}${final ? `: ${final}` : ""} (${secs}s)\n`);
      },
    };
  }
  log(message: string, level: "info" | "warn" = "info"): void {
    this.io.stderr.write(`${level === "warn" ? "! " : "  "}${message}\n`);
  }
}
