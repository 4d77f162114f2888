/**
 * Reads as a lab's web API sees them: `getStatus` and `getResult` latency
 * (p50, p99, max) in this process while a worker process drains a queue on
 * the same folder, and the longest event-loop stall of each process during
 * the drain, with small results (about 1 KB) and with big ones (about 5 MB,
 * a result of many shots).
 *
 * ```sh
 * deno run -A bench/read_latency.ts [--dir=/dev/shm] [--jobs=N] [--big-jobs=N] [--json]
 * ```
 *
 * The stall is measured with a 1 ms interval timer: the longest gap between
 * two of its ticks, minus 1 ms. The worker process measures its own the same
 * way and reports it when it is done.
 *
 * @module
 */

import { join } from "node:path";
import {
  getResult,
  getStatus,
  LocalAdapter,
  uploadConfig,
  uploadJob,
  uploadStatus,
} from "../mod.ts";
import { CONFIG, DISPLAY, JOB } from "./throughput.ts";

const USER = "alice";

interface Options {
  dir: string | undefined;
  jobs: number;
  bigJobs: number;
  json: boolean;
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    dir: undefined,
    jobs: 2000,
    bigJobs: 20,
    json: false,
  };
  for (const arg of args) {
    const [key, value] = arg.split(/=(.*)/s, 2);
    if (key === "--dir" && value) options.dir = value;
    else if (key === "--jobs" && Number(value) >= 1) {
      options.jobs = Number(value);
    } else if (key === "--big-jobs" && Number(value) >= 1) {
      options.bigJobs = Number(value);
    } else if (key === "--json") options.json = true;
    else if (key === "--worker") continue;
    else {throw new Error(
        `Unknown option ${arg}: use --dir=, --jobs=, --big-jobs=, --json`,
      );}
  }
  return options;
}

/** Measures the event loop's longest stall until stopped. */
export function stallMeter(): { stop(): number } {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 1);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(worst, 0);
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** The shots of a result of about `bytes` bytes: 5-wire bit strings of 10 characters with quotes and comma. */
export function shotsFor(bytes: number): number {
  return Math.max(1, Math.floor(bytes / 12));
}

interface Figures {
  size: string;
  jobs: number;
  reads: number;
  statusP50: number;
  statusP99: number;
  resultP50: number;
  resultP99: number;
  readerStallMs: number;
  workerStallMs: number;
  drainMs: number;
}

async function runOne(
  basePath: string,
  jobs: number,
  resultBytes: number,
  size: string,
): Promise<Figures> {
  const adapter = new LocalAdapter({ basePath, name: "bench" });
  await uploadConfig(adapter, { ...CONFIG, max_shots: 10_000_000 });
  const ids: string[] = [];
  for (let i = 0; i < jobs; i++) {
    const jobId = await uploadJob(adapter, {
      job: JOB,
      displayName: DISPLAY,
      username: USER,
    });
    await uploadStatus(adapter, {
      displayName: DISPLAY,
      username: USER,
      jobId,
    });
    ids.push(jobId);
  }
  const worker = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./read_latency_worker.ts", import.meta.url).pathname,
      JSON.stringify({ basePath, shots: shotsFor(resultBytes) }),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const status: number[] = [];
  const result: number[] = [];
  const meter = stallMeter();
  const started = performance.now();
  let done = false;
  const output = worker.output().then((out) => {
    done = true;
    return out;
  });
  let i = 0;
  while (!done) {
    const ref = {
      displayName: DISPLAY,
      username: USER,
      jobId: ids[i++ % ids.length],
    };
    let t = performance.now();
    const s = await getStatus(adapter, ref);
    status.push(performance.now() - t);
    if (s.status === "DONE") {
      t = performance.now();
      await getResult(adapter, ref);
      result.push(performance.now() - t);
    }
    // Let the meter's timer run between reads, as a server's event loop would.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const readerStall = meter.stop();
  const drainMs = performance.now() - started;
  const out = await output;
  const report = JSON.parse(new TextDecoder().decode(out.stdout));
  status.sort((a, b) => a - b);
  result.sort((a, b) => a - b);
  return {
    size,
    jobs,
    reads: status.length + result.length,
    statusP50: percentile(status, 0.5),
    statusP99: percentile(status, 0.99),
    resultP50: percentile(result, 0.5),
    resultP99: percentile(result, 0.99),
    readerStallMs: readerStall,
    workerStallMs: report.stallMs,
    drainMs,
  };
}

if (import.meta.main) {
  const options = parseOptions(Deno.args);
  const root = await Deno.makeTempDir({
    dir: options.dir,
    prefix: "sqooler_read_",
  });
  try {
    const rows = [
      await runOne(join(root, "small"), options.jobs, 1_000, "1 KB"),
      await runOne(join(root, "big"), options.bigJobs, 5_000_000, "5 MB"),
    ];
    if (options.json) console.log(JSON.stringify(rows, null, 2));
    const ms = (value: number) => value.toFixed(3).padStart(8);
    console.error(
      "size   jobs   reads  status p50/p99 ms   result p50/p99 ms   stall reader/worker ms",
    );
    for (const row of rows) {
      console.error(
        `${row.size.padEnd(5)} ${String(row.jobs).padStart(5)} ${
          String(row.reads).padStart(7)
        } ${ms(row.statusP50)}/${ms(row.statusP99)} ${ms(row.resultP50)}/${
          ms(row.resultP99)
        } ${ms(row.readerStallMs)}/${ms(row.workerStallMs)}`,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}
