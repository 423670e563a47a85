import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/index.js";
import type { Stores } from "../store/index.js";
import { createServer, type NetwardenServer } from "./server.js";
import { gbdt, phishingCsv, phishingRecords, phishingStore } from "./test-support/fixtures.js";

let stores: Stores;
let server: NetwardenServer;
let records: Record<string, number | string | null>[];
let csvText: string;

const BODY_LIMIT = 64 * 1024;

beforeAll(async () => {
  ({ stores } = await phishingStore([gbdt(20)]));
  server = await createServer({
    ...stores,
    logger: false,
    sink: false,
    config: { poll_ms: 0, limits: { body_bytes: BODY_LIMIT, csv_bytes: BODY_LIMIT, records: 100 } },
  });
  records = await phishingRecords(20);
  csvText = phishingCsv(20);
});

afterAll(async () => {
  await server.close();
});

interface Case {
  kind: string;
  method?: "GET" | "POST" | "PUT" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  payload?: string | Buffer;
}

const PREDICT = "/v1/models/phishing/predict";
const CSV = "/v1/models/phishing/predict/csv";
const JSON_URLS = [PREDICT, "/invocations", "/v2/models/phishing/infer"];

/** Values no feature accepts: text, lists, objects, non-finite or out-of-list numbers. */
function badValue(rng: Rng): unknown {
  const options: unknown[] = [
    "abc",
    "",
    " ",
    "NaN",
    "Infinity",
    "0x10",
    "1e999",
    [],
    [1],
    {},
    { v: 1 },
    1e308,
    -1e308,
    1.2345678901234568e29,
    2,
    -7,
    0.5,
    "9".repeat(400),
    "\u0000",
    "💥",
  ];
  return options[rng.int(options.length)];
}

function nested(depth: number, open: string, close: string, inner = "1"): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

/** One malformed request of a kind picked by the seed. */
function makeCase(rng: Rng, i: number): Case {
  const url = JSON_URLS[rng.int(JSON_URLS.length)];
  const json = { "content-type": "application/json" };
  const record = { ...records[rng.int(records.length)] };
  const valid = JSON.stringify(
    url === PREDICT
      ? record
      : url === "/invocations"
        ? { dataframe_records: [record] }
        : { inputs: [{ name: "x", shape: [1, 30], datatype: "FP64", data: Object.values(record) }] },
  );
  switch (i % 16) {
    case 0: {
      // Broken JSON: cut anywhere before the end.
      return {
        kind: "truncated-json",
        method: "POST",
        url,
        headers: json,
        payload: valid.slice(0, rng.int(valid.length - 1)),
      };
    }
    case 1: {
      // A wrong type or impossible value in one feature.
      const keys = Object.keys(record);
      const k = keys[rng.int(keys.length)];
      (record as Record<string, unknown>)[k] = badValue(rng);
      const body = rng.int(2) ? record : { records: [records[0], record] };
      return {
        kind: "wrong-type",
        method: "POST",
        url: PREDICT,
        headers: json,
        payload: JSON.stringify(body),
      };
    }
    case 2: {
      // A feature missing.
      const keys = Object.keys(record);
      delete (record as Record<string, unknown>)[keys[rng.int(keys.length)]];
      return {
        kind: "missing-feature",
        method: "POST",
        url: rng.int(2) ? PREDICT : "/invocations",
        headers: json,
        payload: JSON.stringify(rng.int(2) ? { dataframe_records: [record] } : record),
      };
    }
    case 3: {
      const depth = [50, 1000, 20_000][rng.int(3)];
      const shapes = [
        () => nested(depth, "[", "]"),
        () => `{"records":${nested(depth, "[", "]")}}`,
        () => nested(depth, '{"a":', "}"),
        () => `{"__proto__":{"x":1},"a":${nested(depth, "[", "]")}}`,
      ];
      return {
        kind: "deep-nesting",
        method: "POST",
        url,
        headers: json,
        payload: shapes[rng.int(shapes.length)](),
      };
    }
    case 4:
      return {
        kind: "binary-json",
        method: "POST",
        url,
        headers: json,
        payload: randomBytes(rng, 1 + rng.int(2000)),
      };
    case 5: {
      const types = ["text/csv", "application/octet-stream", "application/gzip", "text/plain"];
      return {
        kind: "binary-csv",
        method: "POST",
        url: CSV,
        headers: { "content-type": types[rng.int(types.length)] },
        payload: Buffer.concat([Buffer.from([0x00, 0xff]), randomBytes(rng, 1 + rng.int(2000))]),
      };
    }
    case 6: {
      // A CSV cut inside a row, before its last field separator.
      const lines = csvText.split("\n");
      const n = 2 + rng.int(lines.length - 3);
      const line = lines[n];
      const cut = line.lastIndexOf(",") - 1 - rng.int(Math.max(1, line.lastIndexOf(",") - 1));
      const text = `${lines.slice(0, n).join("\n")}\n${line.slice(0, Math.max(0, cut))}`;
      const body = rng.int(3) === 0 ? gzipSync(text) : Buffer.from(text);
      return {
        kind: "truncated-csv",
        method: "POST",
        url: rng.int(4) ? CSV : "/invocations",
        headers: { "content-type": "text/csv" },
        payload: body,
      };
    }
    case 7: {
      const gz = gzipSync(csvText);
      return {
        kind: "truncated-gzip",
        method: "POST",
        url: CSV,
        headers: { "content-type": "text/csv" },
        payload: gz.subarray(0, 10 + rng.int(gz.length - 20)),
      };
    }
    case 8: {
      const big = rng.int(2)
        ? JSON.stringify({ records: Array.from({ length: 200 }, () => record) })
        : `{"pad":"${"x".repeat(BODY_LIMIT + rng.int(10_000))}"}`;
      return {
        kind: "oversized",
        method: "POST",
        url: rng.int(2) ? url : CSV,
        headers: url === CSV ? { "content-type": "text/csv" } : json,
        payload: big,
      };
    }
    case 9: {
      const bodies = [
        "null",
        "42",
        '"text"',
        "[]",
        "true",
        "{}",
        '{"records":{}}',
        '{"records":[]}',
        '{"columns":["a"],"data":[[1,2]]}',
        '{"columns":"a","data":[]}',
        '{"records":[{"URL_Length":123456789012345678901234567890123456789}]}',
        `{"records":[{"URL_Length":1${"0".repeat(400)}}]}`,
      ];
      return {
        kind: "wrong-shape",
        method: "POST",
        url: PREDICT,
        headers: json,
        payload: bodies[rng.int(bodies.length)],
      };
    }
    case 10: {
      const bodies = [
        '{"dataframe_split":{"columns":["x"],"data":[[1]]}}',
        '{"instances":[[1,2,3]]}',
        '{"inputs":{"a":[1],"b":[1,2]}}',
        '{"dataframe_records":{}}',
        '{"instances":"x"}',
        "{}",
      ];
      return {
        kind: "mlflow-shape",
        method: "POST",
        url: "/invocations",
        headers: json,
        payload: bodies[rng.int(bodies.length)],
      };
    }
    case 11: {
      const tensors = [
        { inputs: [] },
        { inputs: [{ name: "x", shape: [1, 29], datatype: "FP64", data: Array(29).fill(1) }] },
        { inputs: [{ name: "x", shape: [2, 30], datatype: "FP64", data: [1] }] },
        { inputs: [{ name: "x", shape: [1, 30], datatype: "COMPLEX", data: Array(30).fill(1) }] },
        { inputs: [{ name: "x", shape: [-1], datatype: "FP64", data: [1] }] },
        { inputs: [{ name: "having_IP_Address", shape: [1], datatype: "FP64", data: [1] }] },
        { inputs: "nope" },
      ];
      return {
        kind: "v2-shape",
        method: "POST",
        url: "/v2/models/phishing/infer",
        headers: json,
        payload: JSON.stringify(tensors[rng.int(tensors.length)]),
      };
    }
    case 12: {
      const types = [
        "text/xml",
        "application/x-www-form-urlencoded",
        "image/png",
        "multipart/form-data; boundary=zz",
      ];
      return {
        kind: "content-type",
        method: "POST",
        url: rng.int(2) ? PREDICT : CSV,
        headers: { "content-type": types[rng.int(types.length)] },
        payload: rng.int(2) ? "<a/>" : "--zz\r\nbroken",
      };
    }
    case 13: {
      const paths = [
        "/v1/models/phishing/predict/../../etc/passwd",
        "/v1/models/%00/predict",
        "/v3/x",
        `/v1/models/${"a".repeat(3000)}/predict`,
        "/v1/models/phishing/predict/csv?format=%FF",
        "/v2/models/nope/infer",
      ];
      return {
        kind: "bad-route",
        method: "POST",
        url: paths[rng.int(paths.length)],
        headers: json,
        payload: valid,
      };
    }
    case 14: {
      const urls = [
        "/v1/registry/models",
        "/v1/jobs",
        "/v1/train",
        "/v1/registry/models/phishing/aliases/production",
      ];
      const methods = ["GET", "POST", "PUT"] as const;
      return {
        kind: "admin-no-key",
        method: methods[rng.int(3)],
        url: urls[rng.int(urls.length)],
        headers: {
          ...json,
          authorization: rng.int(2)
            ? "Bearer nwk_deadbeef_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            : "Basic Zm9vOmJhcg==",
        },
        payload: "{}",
      };
    }
    default: {
      // Bytes flipped somewhere in a valid body.
      const b = Buffer.from(valid);
      for (let k = 0; k < 1 + rng.int(4); k++)
        b[rng.int(b.length)] = [0x22, 0x7b, 0x5d, 0x00, 0xff, 0x2c][rng.int(6)];
      return { kind: "flipped-bytes", method: "POST", url, headers: json, payload: b };
    }
  }
}

describe("fuzzing the server with malformed requests", () => {
  it("answers 10,000+ malformed requests with coded 4xx errors, then still predicts correctly", async () => {
    const rng = new Rng(20261121);
    const N = 10_240;
    const kinds = new Map<string, number>();
    const failures: string[] = [];
    let accepted = 0;
    for (let i = 0; i < N; i++) {
      const c = makeCase(rng, i);
      const res = await server.app.inject({
        method: c.method ?? "POST",
        url: c.url,
        headers: c.headers,
        payload: c.payload,
      });
      kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
      if (res.statusCode === 200 && (c.kind === "flipped-bytes" || c.kind === "truncated-json")) {
        // A flip or cut can land where the body stays a valid request (e.g. inside a value that
        // stays an allowed number): that is not malformed, and the answer must be a prediction.
        accepted++;
        continue;
      }
      let code: unknown;
      try {
        code = res.json().error?.code;
      } catch {
        code = undefined;
      }
      const ok =
        res.statusCode >= 400 && res.statusCode < 500 && typeof code === "string" && code.startsWith("NW_");
      const leaks = /\/work\/|node_modules|at [\w.]+ \(|\.ts:\d+/.test(res.body);
      if (!ok || leaks) failures.push(`${c.kind} #${i} → ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    expect(failures.slice(0, 10)).toEqual([]);
    expect(N - accepted).toBeGreaterThanOrEqual(10_000);
    expect(kinds.size).toBe(16);

    const res = await server.app.inject({ method: "POST", url: PREDICT, payload: { records } });
    expect(res.statusCode).toBe(200);
    const bundle = server.holder.get("phishing")!.bundle;
    const direct = bundle.predictTable(bundle.recordsToTable(records));
    expect(res.json().predictions.map((p: { probabilities: unknown }) => p.probabilities)).toEqual(
      direct.map((p) => p.probabilities),
    );
  });
});
