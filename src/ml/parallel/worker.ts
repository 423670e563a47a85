// Entry point of every pool worker: runs `fn` of `module` for each message and posts the result.
// Results are copied, never transferred: transferring detaches the sender's ArrayBuffer, and the
// first detach in a thread makes V8 re-check every typed-array access in that thread from then on
// (its "array buffer detaching" protector), which slowed histogram building here by half.
import { parentPort } from "node:worker_threads";
import { failTeam } from "./team.js";

interface Call {
  id: number;
  module: string;
  fn: string;
  args: unknown;
}

const port = parentPort;
if (port) {
  port.on("message", async (msg: Call) => {
    try {
      const mod = (await import(msg.module)) as Record<string, unknown>;
      const fn = mod[msg.fn];
      if (typeof fn !== "function") throw new Error(`${msg.module} has no function ${msg.fn}`);
      const result = await (fn as (a: unknown) => unknown)(msg.args);
      port.postMessage({ id: msg.id, ok: true, result });
    } catch (e) {
      const team = (msg.args as { team?: unknown } | null)?.team;
      if (team instanceof Int32Array && team.buffer instanceof SharedArrayBuffer) failTeam(team);
      const err = e as Error & { code?: string; where?: string; hint?: string; details?: unknown };
      port.postMessage({
        id: msg.id,
        ok: false,
        error: {
          message: err?.message ?? String(e),
          code: err?.name === "NetwardenError" ? err.code : undefined,
          where: err?.where,
          hint: err?.hint,
          details: err?.details,
        },
      });
    }
  });
}
