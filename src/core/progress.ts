/**
 * Progress reporting for long steps. Stages receive a `Progress` and never know whether it draws a
 * bar on a terminal, writes log lines, feeds a job queue or does nothing.
 */
export interface ProgressTask {
  /** Advance by `n` units (default 1). */
  tick(n?: number, note?: string): void;
  /** Replace the note shown next to the task. */
  note(note: string): void;
  /** Mark the task finished. */
  done(note?: string): void;
}

export interface Progress {
  /** Start a task; `total` is the number of units when known. */
  task(label: string, total?: number): ProgressTask;
  /** A one-line message (a finding, a warning) that should stay visible. */
  log(message: string, level?: "info" | "warn"): void;
}

const silentTask: ProgressTask = { tick() {}, note() {}, done() {} };

export const silentProgress: Progress = {
  task: () => silentTask,
  log() {},
};

/** Collects what was reported; used by tests and by the JSON output of the CLI. */
export class RecordingProgress implements Progress {
  readonly events: { label: string; event: "start" | "tick" | "done"; value?: number; note?: string }[] = [];
  readonly messages: { message: string; level: "info" | "warn" }[] = [];
  task(label: string, total?: number): ProgressTask {
    this.events.push({ label, event: "start", value: total });
    let count = 0;
    return {
      tick: (n = 1, note) => {
        count += n;
        this.events.push({ label, event: "tick", value: count, note });
      },
      note: (note) => this.events.push({ label, event: "tick", value: count, note }),
      done: (note) => this.events.push({ label, event: "done", value: count, note }),
    };
  }
  log(message: string, level: "info" | "warn" = "info"): void {
    this.messages.push({ message, level });
  }
}
