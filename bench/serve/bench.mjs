// `npm run bench:serve`: netwarden's server against the seeds' stack (FastAPI + uvicorn +
// scikit-learn) on the same machine, the same data and an equivalent model, driven by the same
// load generator (autocannon) over loopback. The servers run one at a time, so each has the whole
// machine, minus what the load generator itself uses. Results: bench/results/ and BENCHMARKS.md.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import autocannon from "autocannon";

const ROOT = resolve(import.meta.dirname, "..", "..");
const DATA = resolve(process.env.NETWARDEN_DATA_DIR || join(ROOT, "..", "shared", "data"));
const CSV_FILE = join(DATA, "phishing_websites.csv");
const VENV = join(ROOT, "bench", ".venv");
const PY = join(VENV, "bin", "python");
const DURATION = Number(process.env.BENCH_SECONDS || 10);
const CONNECTIONS = [1, 10, 50];
const CSV_COPIES = Number(process.env.BENCH_CSV_COPIES || 20);
const NW_PORT = 18080;
const PY_PORT = 18081;

function log(msg) {
  process.stderr.write(`[bench:serve] ${msg}\n`);
}

function setupPython() {
  if (!existsSync(PY)) {
    log("creating bench/.venv");
    execFileSync("python3", ["-m", "venv", VENV], { stdio: "inherit" });
  }
  log("installing the FastAPI stack from PyPI (bench/serve/requirements.txt)");
  execFileSync(PY, ["-m", "pip", "install", "-q", "-r", join(ROOT, "bench", "serve", "requirements.txt")], {
    stdio: "inherit",
  });
  const versions = execFileSync(PY, [
    "-c",
    "import fastapi, uvicorn, sklearn, pandas, sys; print(sys.version.split()[0], fastapi.__version__, uvicorn.__version__, sklearn.__version__, pandas.__version__)",
  ])
    .toString()
    .trim()
    .split(" ");
  return {
    python: versions[0],
    fastapi: versions[1],
    uvicorn: versions[2],
    sklearn: versions[3],
    pandas: versions[4],
  };
}

function netwarden(args, home) {
  return execFileSync(
    process.execPath,
    [join(ROOT, "bin", "netwarden.js"), ...args, "--home", home, "--json"],
    {
      cwd: ROOT,
      env: { ...process.env, NETWARDEN_ACTOR: "bench" },
    },
  ).toString();
}

/** The phishing example with one model: the same settings as the scikit-learn reference. */
function trainNetwarden(home) {
  const config = readFileSync(join(ROOT, "examples", "phishing.yaml"), "utf8")
    .replace(/^data:\n {2}path: .*\n/m, `data:\n  path: ${CSV_FILE}\n`)
    .replace(
      /^models:\n(?: {2}.*\n| {4}.*\n)+/m,
      "models:\n  - kind: gbdt\n    params: { n_estimators: 300, learning_rate: 0.1, max_depth: 8, seed: 7 }\n",
    )
    .replace(/^search:\n(?: {2}.*\n)+/m, "search:\n  cv_folds: 2\n  seed: 42\n");
  const file = join(home, "phishing.yaml");
  writeFileSync(file, config);
  const t0 = performance.now();
  const out = JSON.parse(netwarden(["train", "-c", file], home));
  const seconds = (performance.now() - t0) / 1000;
  netwarden(["models", "promote", "phishing", String(out.version)], home);
  const accuracy = out.metrics["test.accuracy"];
  log(`netwarden trained in ${seconds.toFixed(1)}s, test accuracy ${accuracy}`);
  return { accuracy, seconds };
}

function waitFor(url, child, name) {
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    const tick = async () => {
      if (child.exitCode !== null) return reject(new Error(`${name} exited early (${child.exitCode})`));
      try {
        const res = await fetch(url);
        if (res.ok) return resolvePromise();
      } catch {
        // not up yet
      }
      if (Date.now() - started > 120_000) return reject(new Error(`${name} did not start`));
      setTimeout(tick, 200);
    };
    tick();
  });
}

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rss_mb: kb("VmRSS") / 1024, peak_mb: kb("VmHWM") / 1024 };
}

function stop(child) {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null) return resolvePromise(child.exitCode);
    child.once("exit", (code) => resolvePromise(code));
    child.kill("SIGTERM");
  });
}

async function load(url, body, connections, duration) {
  const r = await autocannon({
    url,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections,
    duration,
  });
  return {
    connections,
    requests: r.requests.total,
    rps: Math.round(r.requests.average),
    p50_ms: r.latency.p50,
    p90_ms: r.latency.p90,
    p99_ms: r.latency.p99,
    mean_ms: Math.round(r.latency.average * 100) / 100,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

async function scoreCsv(url, bytes, rows) {
  const form = new FormData();
  form.append("file", new Blob([bytes], { type: "text/csv" }), "sites.csv");
  const t0 = performance.now();
  const res = await fetch(url, { method: "POST", body: form });
  const text = await res.text();
  const seconds = (performance.now() - t0) / 1000;
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return { rows, seconds: Math.round(seconds * 1000) / 1000, rows_per_s: Math.round(rows / seconds) };
}

async function benchServer(name, child, base, predictUrl, csvUrl, body, csvBytes, csvRows) {
  await waitFor(`${base}/healthz`, child, name);
  log(`${name}: warming up`);
  await load(predictUrl, body, 10, 3);
  const single = [];
  for (const c of CONNECTIONS) {
    log(`${name}: ${c} connection(s), ${DURATION}s`);
    single.push(await load(predictUrl, body, c, DURATION));
  }
  const afterLoad = rssOf(child.pid);
  if (!csvUrl) return { single, rss_after_load_mb: Math.round(afterLoad.rss_mb) };
  // Let the prediction log catch up with the load first: the CSV run starts from a quiet server.
  await new Promise((r) => setTimeout(r, 3000));
  log(`${name}: CSV scoring, ${csvRows} rows`);
  const csv = await scoreCsv(csvUrl, csvBytes, csvRows);
  const afterCsv = rssOf(child.pid);
  return {
    single,
    csv,
    rss_after_load_mb: Math.round(afterLoad.rss_mb),
    rss_peak_mb: Math.round(afterCsv.peak_mb),
  };
}

function validateOpenApi(base) {
  return fetch(`${base}/openapi.json`)
    .then((r) => r.text())
    .then((text) => {
      const file = join(tmpdir(), `netwarden-openapi-${process.pid}.json`);
      writeFileSync(file, text);
      try {
        return execFileSync(join(VENV, "bin", "openapi-spec-validator"), [file])
          .toString()
          .trim()
          .endsWith("OK");
      } catch {
        return false;
      }
    });
}

function table(results) {
  const rows = [];
  rows.push("| server | connections | req/s | p50 ms | p99 ms | mean ms | errors |");
  rows.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const [name, r] of Object.entries(results)) {
    for (const s of r.single) {
      rows.push(
        `| ${name} | ${s.connections} | ${s.rps.toLocaleString("en")} | ${s.p50_ms} | ${s.p99_ms} | ${s.mean_ms} | ${s.errors + s.non2xx} |`,
      );
    }
  }
  return rows.join("\n");
}

async function main() {
  const py = setupPython();
  const home = mkdtempSync(join(tmpdir(), "nw-bench-"));
  log(`training netwarden in ${home}`);
  const nwTrain = trainNetwarden(home);

  const lines = readFileSync(CSV_FILE, "utf8").trimEnd().split("\n");
  const header = lines[0].split(",");
  const first = lines[1].split(",");
  const record = Object.fromEntries(
    header.map((h, i) => [h, Number(first[i])]).filter(([h]) => h !== "Result"),
  );
  const body = JSON.stringify(record);
  const dataLines = lines.slice(1);
  const csvRows = dataLines.length * CSV_COPIES;
  const csvBytes = Buffer.from(
    `${lines[0]}\n${Array.from({ length: CSV_COPIES }, () => dataLines.join("\n")).join("\n")}\n`,
  );

  const results = {};
  // netwarden: the CLI server as users run it, logging every request (JSON) as it does by default.
  const nwLog = join(home, "serve.log");
  // Logs go to a file: piping them into this process would take CPU from the load generator.
  const nw = spawn(
    process.execPath,
    [join(ROOT, "bin", "netwarden.js"), "serve", "--port", String(NW_PORT), "--home", home],
    { cwd: ROOT, stdio: ["ignore", "ignore", openSync(nwLog, "w")] },
  );
  const nwBase = `http://127.0.0.1:${NW_PORT}`;
  results.netwarden = await benchServer(
    "netwarden",
    nw,
    nwBase,
    `${nwBase}/v1/models/phishing/predict`,
    `${nwBase}/v1/models/phishing/predict/csv?format=json`,
    body,
    csvBytes,
    csvRows,
  );
  const openapiValid = await validateOpenApi(nwBase);
  await stop(nw);
  const logLines = readFileSync(nwLog, "utf8")
    .split("\n")
    .filter((l) => l.includes('"msg":"request"')).length;
  log(`netwarden wrote ${logLines.toLocaleString("en")} request log lines (${statSync(nwLog).size} bytes)`);

  // The ceiling of the measurement itself: Fastify parsing the body and answering a constant.
  const ECHO_PORT = PY_PORT + 1;
  const echo = spawn(process.execPath, [join(ROOT, "bench", "serve", "echo-server.mjs"), String(ECHO_PORT)], {
    cwd: ROOT,
    stdio: "ignore",
  });
  const echoBase = `http://127.0.0.1:${ECHO_PORT}`;
  results["fastify echo, no model"] = await benchServer(
    "fastify echo",
    echo,
    echoBase,
    `${echoBase}/predict`,
    null,
    body,
  );
  await stop(echo);

  // The seeds' stack: uvicorn, one worker, default access log.
  const faLog = join(home, "fastapi.log");
  const fa = spawn(PY, [join(ROOT, "bench", "serve", "fastapi_server.py"), CSV_FILE, String(PY_PORT)], {
    cwd: ROOT,
    stdio: ["ignore", openSync(faLog, "w"), openSync(join(home, "fastapi-access.log"), "w")],
  });
  const faBase = `http://127.0.0.1:${PY_PORT}`;
  results["fastapi+sklearn"] = await benchServer(
    "fastapi+sklearn",
    fa,
    faBase,
    `${faBase}/predict`,
    `${faBase}/predict/csv`,
    body,
    csvBytes,
    csvRows,
  );
  await stop(fa);
  const faAccuracy = Number(/test accuracy ([\d.]+)/.exec(readFileSync(faLog, "utf8"))?.[1]);

  const at50 = (name) => results[name].single.find((s) => s.connections === 50);
  const summary = {
    date: new Date().toISOString(),
    // Load from other processes skews every figure: record it with them.
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      node: process.version,
      load_average: loadavg(),
      ...py,
    },
    duration_s: DURATION,
    models: {
      netwarden: { test_accuracy: nwTrain.accuracy },
      "fastapi+sklearn": { test_accuracy: faAccuracy },
    },
    results,
    throughput_ratio_at_50: Math.round((at50("netwarden").rps / at50("fastapi+sklearn").rps) * 10) / 10,
    csv_ratio:
      Math.round((results.netwarden.csv.rows_per_s / results["fastapi+sklearn"].csv.rows_per_s) * 10) / 10,
    openapi_valid: openapiValid,
  };
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  const out = join(ROOT, "bench", "results", `serve-${summary.date.slice(0, 19).replace(/:/g, "")}.json`);
  writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(table(results));
  console.log(
    `\nCSV scoring (${csvRows.toLocaleString("en")} rows, multipart upload): netwarden ${results.netwarden.csv.rows_per_s.toLocaleString("en")} rows/s, ` +
      `fastapi+sklearn ${results["fastapi+sklearn"].csv.rows_per_s.toLocaleString("en")} rows/s`,
  );
  console.log(
    `RSS after load / peak: netwarden ${results.netwarden.rss_after_load_mb} / ${results.netwarden.rss_peak_mb} MB, ` +
      `fastapi+sklearn ${results["fastapi+sklearn"].rss_after_load_mb} / ${results["fastapi+sklearn"].rss_peak_mb} MB`,
  );
  console.log(
    `throughput at 50 connections: ${summary.throughput_ratio_at_50}× ; OpenAPI document valid: ${openapiValid}`,
  );
  console.log(`full results: ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
