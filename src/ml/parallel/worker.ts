// Entry point of every pool worker: runs `fn` of `module` for each message and posts the result,
// moving (not copying) the buffers of typed arrays it returns.
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
      port.postMessage({ id: msg.id, ok: true, result }, transferables(result));
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

/** Non-shared buffers of the typed arrays in a result (objects and arrays, two levels deep). */
function transferables(v: unknown, depth = 0, out: ArrayBuffer[] = []): ArrayBuffer[] {
  if (ArrayBuffer.isView(v)) {
    if (v.buffer instanceof ArrayBuffer && !out.includes(v.buffer)) out.push(v.buffer);
  } else if (v && typeof v === "object" && depth < 3) {
    for (const x of Object.values(v)) transferables(x, depth + 1, out);
  }
  return out;
}
