/**
 * The PostgreSQL adapter end to end, the way a deployment uses it: the web
 * API (this process) submits jobs (`uploadJob` + `uploadStatus`) while
 * `runWorker` processes, each with its own connections, take and run them.
 *
 * ```sh
 * DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
 *   deno run -A bench/postgres_throughput.ts [--jobs=N] [--latency=N] [--json]
 * ```
 *
 * - Throughput: with 1 and with 4 worker processes, all idle first, `--jobs`
 *   jobs (default 2,000) are submitted by 4 concurrent submitters; jobs/s is
 *   the number of jobs over the time from the first submission to the last
 *   job DONE. Then the same for a queue that holds every job before the
 *   workers start (the drain alone, from the start of the processes).
 * - Latency: one idle `runWorker` process (waiting on `LISTEN/NOTIFY`); one
 *   job at a time, the time from just before `uploadJob` to the start of its
 *   `execute` (clocks of two processes on one machine: `timeOrigin + now()`),
 *   `--latency` times (default 200); p50 and p99.
 *
 * Without `DATABASE_URL` it prints one line and does nothing. Each run works
 * in a schema of its own, dropped at the end.
 *
 * @module
 */

import postgres from "postgres";
import { uploadJob, uploadStatus } from "../mod.ts";
import { PostgresAdapter } from "../postgres.ts";

const url = Deno.env.get("DATABASE_URL");
const option = (name: string, fallback: number) => {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.split("=")[1]);
};
const JOBS = option("jobs", 2_000);
const LATENCY_RUNS = option("latency", 200);
const JSON_OUT = Deno.args.includes("--json");
const DISPLAY = "benchspins";
const JOB = {
  experiment_0: {
    instructions: [["measure", [0], []]],
    num_wires: 1,
    shots: 1,
    wire_order: "linear",
  },
};

/** A worker process, and its stdout as lines (read all the time, so that it never blocks). */
class WorkerProcess {
  readonly child: Deno.ChildProcess;
  #buffered: string[] = [];
  #waiting: (() => void) | undefined;
  #ended = false;
  #stderr: Promise<string>;
  #reading: Promise<void>;

  constructor(schema: string) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./postgres_worker.ts", import.meta.url).pathname,
        JSON.stringify({ schema, displayName: DISPLAY }),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.child = child;
    this.#stderr = new Response(child.stderr).text();
    this.#reading = (async () => {
      for await (const line of lines(child.stdout)) {
        this.#buffered.push(line);
        this.#waiting?.();
      }
      this.#ended = true;
      this.#waiting?.();
    })();
  }

  /** The next line that starts with `prefix`; lines before it are dropped. */
  async next(prefix: string): Promise<string> {
    for (;;) {
      const line = this.#buffered.shift();
      if (line !== undefined) {
        if (line.startsWith(prefix)) return line;
        continue;
      }
      if (this.#ended) {
        throw new Error(
          `the worker ended: ${(await this.#stderr).slice(0, 2000)}`,
        );
      }
      await new Promise<void>((resolve) => this.#waiting = resolve);
      this.#waiting = undefined;
    }
  }

  /** Drops what the worker printed so far. */
  skip(): void {
    this.#buffered.length = 0;
  }

  async stop(): Promise<{ done: number; errors: number }> {
    await this.child.stdin.close();
    const summary = JSON.parse(await this.next("{"));
    await this.child.status;
    await this.#reading;
    await this.#stderr;
    return summary;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>) {
  let buffer = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    let end = buffer.indexOf("\n");
    while (end >= 0) {
      yield buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      end = buffer.indexOf("\n");
    }
  }
}

function schemaName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `sqbench_${
    Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

/**
 * Jobs/s with `workers` worker processes: end to end (submitted while the
 * workers wait), or, with `prefilled`, the drain of a queue that holds every
 * job before the workers start.
 */
async function throughput(
  workers: number,
  prefilled = false,
): Promise<number> {
  const schema = schemaName();
  const api = new PostgresAdapter({ url, schema, name: "bench" });
  const admin = postgres(url!, { max: 1, onnotice: () => {} });
  const submit = async () => {
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next++ < JOBS) {
        const ref = { displayName: DISPLAY, username: "alice", jobId: "" };
        ref.jobId = await uploadJob(api, { job: JOB, ...ref });
        await uploadStatus(api, ref);
      }
    }));
  };
  try {
    await api.list("jobs/running"); // creates the tables
    if (prefilled) await submit();
    const processes = Array.from(
      { length: workers },
      () => new WorkerProcess(schema),
    );
    let started = performance.now();
    if (!prefilled) {
      await Promise.all(processes.map((p) => p.next("idle")));
      processes.forEach((p) => p.skip());
      started = performance.now();
      await submit();
    }
    const submitted = performance.now();
    for (;;) {
      const [{ count }] = await admin.unsafe(
        `SELECT count(*)::int AS count FROM "${schema}".records WHERE path = $1`,
        [`jobs/finished/${DISPLAY}`],
      );
      if (count >= JOBS) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const ms = performance.now() - started;
    const summaries = await Promise.all(processes.map((p) => p.stop()));
    const done = summaries.reduce((sum, s) => sum + s.done, 0);
    if (done !== JOBS) throw new Error(`${done} of ${JOBS} jobs DONE`);
    if (!JSON_OUT) {
      console.log(
        `  ${workers} worker process${workers === 1 ? "" : "es"}, ${
          prefilled ? "queue drained" : "end to end"
        }: ${JOBS} jobs in ${Math.round(ms)} ms${
          prefilled
            ? " (from the start of the processes)"
            : ` (submitted in ${Math.round(submitted - started)} ms)`
        }, jobs per worker ${summaries.map((s) => s.done).join("/")}`,
      );
    }
    return JOBS / ms * 1000;
  } finally {
    await api.close();
    await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}

/** Milliseconds from `uploadJob` to the start of `execute`, one job at a time. */
async function latency(): Promise<number[]> {
  const schema = schemaName();
  const api = new PostgresAdapter({ url, schema, name: "bench" });
  const admin = postgres(url!, { max: 1, onnotice: () => {} });
  try {
    await api.list("jobs/running");
    const worker = new WorkerProcess(schema);
    await worker.next("idle");
    const samples: number[] = [];
    for (let i = 0; i < LATENCY_RUNS + 10; i++) {
      // Let the worker settle into its wait.
      await new Promise((resolve) => setTimeout(resolve, 5));
      worker.skip();
      const sent = performance.timeOrigin + performance.now();
      await uploadJob(api, {
        job: JOB,
        displayName: DISPLAY,
        username: "alice",
      });
      const line = await worker.next("start ");
      const ms = Number(line.split(" ")[1]) - sent;
      if (i >= 10) samples.push(ms); // the first ones warm up
      await worker.next("idle");
      worker.skip();
    }
    await worker.stop();
    return samples.sort((a, b) => a - b);
  } finally {
    await api.close();
    await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

if (url === undefined) {
  console.log(
    "PostgreSQL benchmark skipped: set DATABASE_URL, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test deno task bench",
  );
} else {
  if (!JSON_OUT) console.log("PostgresAdapter, end to end:");
  const one = await throughput(1);
  const four = await throughput(4);
  const drainOne = await throughput(1, true);
  const drainFour = await throughput(4, true);
  const samples = await latency();
  const figures = {
    jobsPerSecond: { workers1: Math.round(one), workers4: Math.round(four) },
    drainJobsPerSecond: {
      workers1: Math.round(drainOne),
      workers4: Math.round(drainFour),
    },
    latencyMs: {
      p50: Number(quantile(samples, 0.5).toFixed(2)),
      p99: Number(quantile(samples, 0.99).toFixed(2)),
      runs: samples.length,
    },
  };
  if (JSON_OUT) {
    console.log(JSON.stringify(figures));
  } else {
    console.log(
      `| PostgresAdapter              | jobs/s or ms |\n` +
        `| ---------------------------- | ------------ |\n` +
        `| 1 worker process             | ${figures.jobsPerSecond.workers1} jobs/s |\n` +
        `| 4 worker processes           | ${figures.jobsPerSecond.workers4} jobs/s |\n` +
        `| drain, 1 worker process      | ${figures.drainJobsPerSecond.workers1} jobs/s |\n` +
        `| drain, 4 worker processes    | ${figures.drainJobsPerSecond.workers4} jobs/s |\n` +
        `| uploadJob → execute, p50     | ${figures.latencyMs.p50} ms |\n` +
        `| uploadJob → execute, p99     | ${figures.latencyMs.p99} ms |`,
    );
  }
}
