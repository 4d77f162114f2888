/**
 * Throughput of the whole job lifecycle through the public functions, the way
 * a lab uses them, next to the raw filesystem floor measured in the same run.
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-env bench/throughput.ts [options]
 *   --json[=path]    also write the figures as JSON (to stdout, the table then goes to stderr)
 *   --big            also drain a 100,000-job LocalAdapter queue and report peak RSS
 *   --reps=N         repetitions per configuration, the best kept (default 3; depth 100 gets 3×N)
 *   --depths=a,b,…   queue depths (default 100,1000,10000); fsync runs use those ≤ 1000
 *   --sqooler[=python]  also run bench/sqooler_baseline.py (a stand-in for sqooler's local
 *                    provider) in turn with the others; needs --allow-run=python3,sync (with
 *                    sync, every run waits for the disk to be idle before the next one)
 *   --sqooler=path.json  or show figures that it wrote with --json=path.json
 *   --dir=path       where the storage folders go (default: the system's temp folder); a tmpfs
 *                    such as /dev/shm leaves out the disk and shows the CPU's share
 * ```
 *
 * One lifecycle, in three phases timed apart (N jobs each):
 * 1. submit: `uploadJob` + `uploadStatus`;
 * 2. drain: `getNextJobInQueue` → `getJobContent` → `updateInDatabase` (DONE,
 *    small result) until the queue is empty;
 * 3. read: `getStatus` + `getResult`, as the submitting user.
 *
 * The floor is the least filesystem work that sqooler's own layout needs for
 * the same lifecycle with every write atomic, made with the calls the library
 * makes (synchronous calls for small files; with fsync, an async
 * open/write/sync/close of the temp file and a sync of each folder that a
 * rename changed), on pre-serialized contents of the same sizes:
 * 1. write `jobs/queued/<d>/<id>.json`; write `status/<d>/<id>.json`;
 * 2. one listing of the queue for the whole drain (async `readDir`, sorted);
 *    per job: rename queued → `jobs/running`; read the job; write
 *    `results/<d>/<id>.json`; replace the status; rename running →
 *    `jobs/finished/<d>`;
 * 3. read the status; read the result;
 *
 * where "write" is a temp file in `<base>/.tmp` renamed into place. What the
 * library does on top is its own cost: the owner record (`meta/`) and the lease
 * record (`leases/`), create-only writes (link + unlink instead of one rename,
 * so that an existing record is never replaced), the config read that fills in
 * `backend_name`, the `last_queue_check` stamp (once per second), JSON and
 * schema validation, and the per-file times that keep the queue in order.
 *
 * Timing: one warm-up lifecycle per adapter, then the best time of each phase
 * over the repetitions (end to end = the sum of the best phases, for the
 * library and the floor alike). Each repetition starts from an empty folder.
 *
 * @module
 */

import { dirname } from "node:path";
import {
  countOperations,
  METADATA,
  type Operation,
  type OperationCounts,
} from "./fs_ops.ts";
import {
  getJobContent,
  getNextJobInQueue,
  getResult,
  getStatus,
  LocalAdapter,
  MemoryAdapter,
  type StorageAdapter,
  updateInDatabase,
  uploadConfig,
  uploadJob,
  uploadStatus,
} from "../mod.ts";

/** The benchmark's backend; `micro_bench.ts` uses the same records. */
export const DISPLAY = "bench";
const USER = "alice";
/** The backend's config. */
export const CONFIG = {
  description: "Benchmark simulator",
  version: "0.1.0",
  display_name: DISPLAY,
  cold_atom_type: "spin" as const,
  gates: [{ name: "rlx", parameters: ["omega"], description: "x rotation" }],
  max_experiments: 50,
  max_shots: 1000,
  simulator: true,
  supported_instructions: ["rlx", "measure", "barrier"],
  num_wires: 1,
  wire_order: "interleaved",
  num_species: 1,
};
/** A small job of one experiment. */
export const JOB = {
  experiment_0: {
    instructions: [["rlx", [0], [0.7]], ["measure", [0], []]],
    num_wires: 1,
    shots: 4,
    wire_order: "interleaved",
  },
};

/** The status a worker writes at the end. */
export function doneStatus(jobId: string) {
  return {
    job_id: jobId,
    status: "DONE" as const,
    detail:
      "Got your json.; Passed json sanity check; Compilation done. Shots sent to solver.; All done.",
    error_message: "None",
  };
}

/** A small result. */
export function result(jobId: string) {
  return {
    backend_name: null,
    display_name: DISPLAY,
    backend_version: "0.1.0",
    job_id: jobId,
    qobj_id: null,
    success: true,
    status: "DONE" as const,
    header: {},
    results: [{
      header: { name: "experiment_0" },
      shots: 4,
      success: true,
      data: { memory: ["1", "0", "0", "1"] },
    }],
  };
}

/** Time of one phase, over N jobs. */
interface Figure {
  ms: number;
  jobsPerSec: number;
  usPerJob: number;
}

const PHASES = ["submit", "drain", "read"] as const;
type PhaseName = typeof PHASES[number];
type Phases = Record<PhaseName, number>;

/** One configuration at one depth. */
interface Row {
  config: string;
  depth: number;
  reps: number;
  phases: Record<PhaseName, Figure>;
  total: Figure;
  /** End-to-end time per job over the floor's with the same fsync, same depth. */
  floorRatio: number | null;
}

interface Target {
  name: string;
  value: number;
  limit: string;
  met: boolean;
}

interface Options {
  json: string | true | undefined;
  big: boolean;
  reps: number;
  depths: number[];
  sqooler: { python: string } | { file: string } | undefined;
  dir: string | undefined;
}

function parseArgs(args: string[]): Options {
  const options: Options = {
    json: undefined,
    big: false,
    reps: 3,
    depths: [100, 1000, 10_000],
    sqooler: undefined,
    dir: undefined,
  };
  for (const arg of args) {
    const [key, value] = arg.split(/=(.*)/s, 2);
    if (key === "--json") options.json = value || true;
    else if (key === "--big") options.big = true;
    else if (key === "--reps" && Number(value) >= 1) {
      options.reps = Math.floor(Number(value));
    } else if (key === "--depths" && value) {
      options.depths = value.split(",").map(Number);
      if (!options.depths.every((d) => Number.isInteger(d) && d > 0)) {
        throw new Error(`Invalid --depths ${value}: expected e.g. 100,1000`);
      }
    } else if (key === "--sqooler") {
      options.sqooler = value?.endsWith(".json")
        ? { file: value }
        : { python: value || "python3" };
    } else if (key === "--dir" && value) options.dir = value;
    else {
      throw new Error(
        `Unknown option ${arg}: use --json[=path], --big, --reps=N, --depths=a,b, --sqooler[=python|=path.json], --dir=path`,
      );
    }
  }
  return options;
}

function figure(ms: number, jobs: number): Figure {
  return {
    ms: round(ms, 3),
    jobsPerSec: Math.round(jobs / (ms / 1000)),
    usPerJob: round(ms * 1000 / jobs, 2),
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function log(message: string) {
  console.error(message);
}

// --- The library's lifecycle ----------------------------------------------

/** Submits one job as the API does: the job, then its status. */
async function submit(adapter: StorageAdapter): Promise<string> {
  const jobId = await uploadJob(adapter, {
    job: JOB,
    displayName: DISPLAY,
    username: USER,
  });
  await uploadStatus(adapter, { displayName: DISPLAY, username: USER, jobId });
  return jobId;
}

/** Takes the next job and finishes it as a worker does; `undefined` when the queue is empty. */
async function work(adapter: StorageAdapter): Promise<string | undefined> {
  const next = await getNextJobInQueue(adapter, DISPLAY);
  if (next.job_json_path === "None") return undefined;
  const jobId = next.job_id;
  const job = await getJobContent(adapter, {
    storagePath: next.job_json_path,
    jobId,
  });
  if (!("experiment_0" in job)) throw new Error(`Job ${jobId} is empty`);
  await updateInDatabase(adapter, {
    jobId,
    displayName: DISPLAY,
    status: doneStatus(jobId),
    result: result(jobId),
  });
  return jobId;
}

async function lifecycle(adapter: StorageAdapter, n: number): Promise<Phases> {
  await uploadConfig(adapter, CONFIG);
  const ids: string[] = new Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) ids[i] = await submit(adapter);
  const t1 = performance.now();
  let taken = 0;
  for (let jobId; (jobId = await work(adapter)) !== undefined; taken++) {
    // The benchmark also proves what it measures: first in, first out, none lost.
    if (jobId !== ids[taken]) {
      throw new Error(`Job ${taken} out of order: got ${jobId}`);
    }
  }
  if (taken !== n) throw new Error(`Drained ${taken} of ${n} jobs`);
  const t2 = performance.now();
  for (const jobId of ids) {
    const ref = { displayName: DISPLAY, username: USER, jobId };
    const status = await getStatus(adapter, ref);
    const found = await getResult(adapter, ref);
    if (status.status !== "DONE" || found.backend_name === null) {
      throw new Error(`Job ${jobId} reads as ${status.status}`);
    }
  }
  const t3 = performance.now();
  return { submit: t1 - t0, drain: t2 - t1, read: t3 - t2 };
}

// --- The floor ------------------------------------------------------------

const encoder = new TextEncoder();
const SAMPLE_ID = "0123456789abcdef01234567";
const BYTES = {
  job: encoder.encode(JSON.stringify(JOB)),
  status: encoder.encode(JSON.stringify({
    job_id: SAMPLE_ID,
    status: "INITIALIZING",
    detail: "Got your json.",
    error_message: "None",
  })),
  done: encoder.encode(JSON.stringify(doneStatus(SAMPLE_ID))),
  result: encoder.encode(JSON.stringify(result(SAMPLE_ID))),
};

class Floor {
  #base: string;
  #fsync: boolean;
  #temps = 0;

  constructor(base: string, fsync: boolean) {
    this.#base = base;
    this.#fsync = fsync;
  }

  async write(folder: string, id: string, data: Uint8Array): Promise<void> {
    const temp = `${this.#base}/.tmp/${id}.${this.#temps++}.tmp`;
    if (this.#fsync) {
      const file = await Deno.open(temp, { write: true, createNew: true });
      try {
        await file.write(data);
        await file.sync();
      } finally {
        file.close();
      }
    } else {
      Deno.writeFileSync(temp, data, { createNew: true });
    }
    Deno.renameSync(temp, `${this.#base}/${folder}/${id}.json`);
    if (this.#fsync) await this.#syncFolder(folder);
  }

  async move(from: string, to: string, id: string): Promise<void> {
    Deno.renameSync(
      `${this.#base}/${from}/${id}.json`,
      `${this.#base}/${to}/${id}.json`,
    );
    if (this.#fsync) {
      await this.#syncFolder(to);
      await this.#syncFolder(from);
    }
  }

  read(folder: string, id: string): string {
    return Deno.readTextFileSync(`${this.#base}/${folder}/${id}.json`);
  }

  async list(folder: string): Promise<string[]> {
    const names: string[] = [];
    for await (const entry of Deno.readDir(`${this.#base}/${folder}`)) {
      names.push(entry.name);
    }
    return names.sort().map((name) => name.slice(0, -5));
  }

  #syncFolder(folder: string): Promise<void> {
    return syncFolder(`${this.#base}/${folder}`);
  }
}

async function floorLifecycle(
  base: string,
  n: number,
  fsync: boolean,
): Promise<Phases> {
  const queued = `jobs/queued/${DISPLAY}`;
  const finished = `jobs/finished/${DISPLAY}`;
  const status = `status/${DISPLAY}`;
  const results = `results/${DISPLAY}`;
  for (
    const folder of [".tmp", queued, "jobs/running", finished, status, results]
  ) {
    await Deno.mkdir(`${base}/${folder}`, { recursive: true });
  }
  const ids = Array.from(
    { length: n },
    (_, i) => i.toString(16).padStart(SAMPLE_ID.length, "0"),
  );
  const fs = new Floor(base, fsync);
  const t0 = performance.now();
  for (const id of ids) {
    await fs.write(queued, id, BYTES.job);
    await fs.write(status, id, BYTES.status);
  }
  const t1 = performance.now();
  for (const id of await fs.list(queued)) {
    await fs.move(queued, "jobs/running", id);
    fs.read("jobs/running", id);
    await fs.write(results, id, BYTES.result);
    await fs.write(status, id, BYTES.done);
    await fs.move("jobs/running", finished, id);
  }
  const t2 = performance.now();
  for (const id of ids) {
    fs.read(status, id);
    fs.read(results, id);
  }
  const t3 = performance.now();
  return { submit: t1 - t0, drain: t2 - t1, read: t3 - t2 };
}

// --- Running the configurations -------------------------------------------

type Kind =
  | "memory"
  | "local"
  | "local+fsync"
  | "floor"
  | "floor+fsync"
  | "sqooler-py";

const settings = {
  /** Where storage folders are made (`--dir`); the system's temp folder when undefined. */
  storageDir: undefined as string | undefined,
  /** The Python that runs the sqooler stand-in (`--sqooler`). */
  python: "python3",
};

/** One run of bench/sqooler_baseline.py at one depth, in its own process. */
async function runPython(depth: number): Promise<Phases> {
  const script = new URL("./sqooler_baseline.py", import.meta.url).pathname;
  const args = [
    script,
    `--depths=${depth}`,
    "--reps=1",
    "--no-warmup",
    "--json",
  ];
  if (settings.storageDir !== undefined) {
    args.push(`--dir=${settings.storageDir}`);
  }
  const output = await new Deno.Command(settings.python, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `${settings.python} ${script} failed: ${
        new TextDecoder().decode(output.stderr)
      }`,
    );
  }
  const [row] = (JSON.parse(new TextDecoder().decode(output.stdout)) as {
    rows: Row[];
  }).rows;
  return {
    submit: row.phases.submit.ms,
    drain: row.phases.drain.ms,
    read: row.phases.read.ms,
  };
}

async function runOnce(kind: Kind, depth: number): Promise<Phases> {
  if (kind === "memory") return await lifecycle(new MemoryAdapter(), depth);
  try {
    if (kind === "sqooler-py") return await runPython(depth);
    const base = await Deno.makeTempDir({
      dir: settings.storageDir,
      prefix: "sqooler_bench_",
    });
    try {
      const fsync = kind.endsWith("+fsync");
      if (kind.startsWith("floor")) {
        return await floorLifecycle(base, depth, fsync);
      }
      return await lifecycle(
        new LocalAdapter({ basePath: base, name: "bench", fsync }),
        depth,
      );
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  } finally {
    await settle();
  }
}

/**
 * Lets the next run start on a settled disk: the deletion of this run's tens
 * of thousands of files (and the discards that it sets off on a disk mounted
 * with `discard`) is committed now, not during the next run. When the process
 * may run `sync` (`--allow-run=sync`), it also waits for all written data,
 * such as the Python stand-in's thousands of rewrites in place.
 */
async function settle(): Promise<void> {
  await syncFolder(await tempRoot());
  const sync = { name: "run", command: "sync" } as const;
  if ((await Deno.permissions.query(sync)).state === "granted") {
    await new Deno.Command("sync").output();
  }
}

/** The folder in which the runs make theirs. */
async function tempRoot(): Promise<string> {
  if (settings.storageDir !== undefined) return settings.storageDir;
  const probe = await Deno.makeTempDir();
  await Deno.remove(probe);
  return dirname(probe);
}

async function syncFolder(path: string): Promise<void> {
  const folder = await Deno.open(path, { read: true });
  try {
    await folder.sync();
  } finally {
    folder.close();
  }
}

/** Filesystem calls per job of one lifecycle, by kind (see `fs_ops.ts`). */
interface OperationsRow {
  config: "floor" | "local";
  depth: number;
  perJob: OperationCounts & { metadata: number };
}

/**
 * Counts the filesystem calls of one untimed lifecycle of `depth` jobs, for
 * the floor and the `LocalAdapter`, per job (folder creation included, spread
 * over the jobs).
 */
async function operationsPerLifecycle(depth: number): Promise<OperationsRow[]> {
  const rows: OperationsRow[] = [];
  for (const config of ["floor", "local"] as const) {
    const base = await Deno.makeTempDir({
      dir: settings.storageDir,
      prefix: "sqooler_bench_",
    });
    try {
      const { counts } = await countOperations(() =>
        config === "floor" ? floorLifecycle(base, depth, false) : lifecycle(
          new LocalAdapter({ basePath: base, name: "bench" }),
          depth,
        )
      );
      const perJob = { metadata: 0 } as OperationsRow["perJob"];
      for (const [kind, count] of Object.entries(counts)) {
        perJob[kind as Operation] = round(count / depth, 2);
      }
      perJob.metadata = round(
        METADATA.reduce((sum, kind) => sum + counts[kind], 0) / depth,
        2,
      );
      rows.push({ config, depth, perJob });
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  }
  await settle();
  return rows;
}

function operationsTable(rows: OperationsRow[]): string {
  const kinds = [
    "metadata",
    ...METADATA,
    "read",
    "stat",
    "lock",
  ] as const;
  const header = ["per job", ...kinds];
  const lines = rows.map((row) => [
    row.config,
    ...kinds.map((kind) => row.perJob[kind].toFixed(2)),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...lines.map((line) => line[i].length))
  );
  return [header, ...lines].map((cells) =>
    cells.map((cell, i) =>
      i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])
    ).join("  ")
  ).join("\n");
}

/**
 * Runs the kinds in turn, `reps` times, so that the floor and the library see
 * the same machine load; keeps each kind's best time per phase.
 */
async function measure(
  kinds: Kind[],
  depth: number,
  reps: number,
): Promise<Row[]> {
  const best = new Map<Kind, Phases>(
    kinds.map((
      kind,
    ) => [kind, { submit: Infinity, drain: Infinity, read: Infinity }]),
  );
  for (let rep = 0; rep < reps; rep++) {
    for (const kind of kinds) {
      const phases = await runOnce(kind, depth);
      const kept = best.get(kind)!;
      for (const phase of PHASES) {
        kept[phase] = Math.min(kept[phase], phases[phase]);
      }
    }
  }
  return kinds.map((kind) => {
    const kept = best.get(kind)!;
    return {
      config: kind,
      depth,
      reps,
      phases: {
        submit: figure(kept.submit, depth),
        drain: figure(kept.drain, depth),
        read: figure(kept.read, depth),
      },
      total: figure(kept.submit + kept.drain + kept.read, depth),
      floorRatio: null,
    };
  });
}

/**
 * Peak RSS while a worker drains a 100,000-job LocalAdapter queue, sampled
 * every 256 jobs; the queue is filled first, in this process, through another
 * adapter (the API's).
 */
async function bigDrain(n: number) {
  const base = await Deno.makeTempDir({
    dir: settings.storageDir,
    prefix: "sqooler_bench_big_",
  });
  const mb = (bytes: number) => round(bytes / 2 ** 20, 1);
  try {
    // The API and the worker are two adapters, as they would be two processes.
    const api = new LocalAdapter({ basePath: base, name: "bench" });
    await uploadConfig(api, CONFIG);
    const before = Deno.memoryUsage().rss;
    let submitPeak = before;
    for (let i = 0; i < n; i++) {
      await submit(api);
      if (i % 256 === 0) {
        submitPeak = Math.max(submitPeak, Deno.memoryUsage().rss);
      }
    }
    const adapter = new LocalAdapter({ basePath: base, name: "bench" });
    const drainBefore = Deno.memoryUsage().rss;
    let drainPeak = drainBefore;
    let heapPeak = 0;
    let taken = 0;
    const t0 = performance.now();
    while (await work(adapter) !== undefined) {
      if (taken++ % 256 === 0) {
        const usage = Deno.memoryUsage();
        drainPeak = Math.max(drainPeak, usage.rss);
        heapPeak = Math.max(heapPeak, usage.heapUsed);
      }
    }
    const drainMs = performance.now() - t0;
    if (taken !== n) throw new Error(`Drained ${taken} of ${n} jobs`);
    return {
      jobs: n,
      rssBeforeMB: mb(before),
      submitPeakRssMB: mb(submitPeak),
      drainBeforeRssMB: mb(drainBefore),
      drainPeakRssMB: mb(drainPeak),
      drainPeakHeapUsedMB: mb(heapPeak),
      drain: figure(drainMs, n),
    };
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

/** The load average, when the process may read it (`--allow-sys=loadavg`). */
function loadAverage(): number[] | null {
  try {
    return Deno.loadavg();
  } catch {
    return null;
  }
}

interface ExternalRows {
  rows: Row[];
}

async function readSqooler(path: string): Promise<Row[]> {
  const data = JSON.parse(await Deno.readTextFile(path)) as ExternalRows;
  return data.rows.map((row) => ({ ...row, floorRatio: null }));
}

function table(rows: Row[]): string {
  const header = [
    "config",
    "depth",
    "submit/s",
    "drain/s",
    "read/s",
    "e2e/s",
    "µs/job",
    "×floor",
  ];
  const lines = rows.map((row) => [
    row.config,
    row.depth.toLocaleString("en-US"),
    ...[row.phases.submit, row.phases.drain, row.phases.read, row.total].map(
      (f) => f.jobsPerSec.toLocaleString("en-US"),
    ),
    row.total.usPerJob.toFixed(1),
    row.floorRatio === null ? "" : row.floorRatio.toFixed(2),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...lines.map((line) => line[i].length))
  );
  const format = (cells: string[]) =>
    cells.map((cell, i) =>
      i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])
    )
      .join("  ");
  return [format(header), ...lines.map(format)].join("\n");
}

/** The targets of the performance work, checked on the figures of this run. */
function targets(
  rows: Row[],
  big: Awaited<ReturnType<typeof bigDrain>> | undefined,
) {
  const found: Target[] = [];
  const row = (config: string, depth: number) =>
    rows.find((r) => r.config === config && r.depth === depth);
  for (const r of rows.filter((r) => r.config === "local")) {
    if (r.floorRatio === null || r.depth < 1000) continue;
    found.push({
      name: `local end to end vs floor, depth ${r.depth}`,
      value: r.floorRatio,
      limit: "≤ 1.5",
      met: r.floorRatio <= 1.5,
    });
  }
  const depths = [...new Set(rows.map((r) => r.depth))].sort((a, b) => a - b);
  const [low, high] = [depths[0], depths[depths.length - 1]];
  for (const config of ["local", "memory"]) {
    const a = row(config, low), b = row(config, high);
    if (a === undefined || b === undefined || a === b) continue;
    const ratio = round(b.phases.drain.usPerJob / a.phases.drain.usPerJob, 2);
    found.push({
      name: `${config} drain µs/job, depth ${high} vs ${low}`,
      value: ratio,
      limit: "≤ 1.5",
      met: ratio <= 1.5,
    });
  }
  for (const r of rows.filter((r) => r.config === "memory")) {
    found.push({
      name: `memory lifecycles/s, depth ${r.depth}`,
      value: r.total.jobsPerSec,
      limit: "≥ 100,000",
      met: r.total.jobsPerSec >= 100_000,
    });
  }
  for (const [depth, factor] of [[1000, 3], [10_000, 10]]) {
    const python = row("sqooler-py", depth), local = row("local", depth);
    if (python === undefined || local === undefined) continue;
    const ratio = round(local.total.jobsPerSec / python.total.jobsPerSec, 1);
    found.push({
      name: `local vs sqooler-py end to end, depth ${depth}`,
      value: ratio,
      limit: `≥ ${factor}`,
      met: ratio >= factor,
    });
  }
  if (big !== undefined) {
    found.push({
      name: `peak RSS draining ${big.jobs.toLocaleString("en-US")} jobs (MB)`,
      value: big.drainPeakRssMB,
      limit: "≤ 150",
      met: big.drainPeakRssMB <= 150,
    });
  }
  return found;
}

async function main() {
  const options = parseArgs(Deno.args);
  settings.storageDir = options.dir;
  const sqooler = options.sqooler;
  if (sqooler !== undefined && "python" in sqooler) {
    settings.python = sqooler.python;
  }
  const started = new Date().toISOString();
  const loadBefore = loadAverage();
  let big: Awaited<ReturnType<typeof bigDrain>> | undefined;
  if (options.big) {
    // First, so that the process's memory is that of this drain alone.
    log("draining 100,000 jobs for peak RSS …");
    big = await bigDrain(100_000);
  }
  log("warming up …");
  await runOnce("memory", 1000);
  await runOnce("local", 1000);
  await runOnce("floor", 1000);
  log("counting filesystem calls per lifecycle …");
  const operations = await operationsPerLifecycle(1000);

  const rows: Row[] = [];
  const kinds: Kind[] = ["floor", "memory", "local"];
  if (sqooler !== undefined && "python" in sqooler) kinds.push("sqooler-py");
  for (const depth of options.depths) {
    const reps = depth <= 100 ? options.reps * 3 : options.reps;
    log(`${kinds.join(", ")} at depth ${depth} (${reps}×) …`);
    rows.push(...await measure(kinds, depth, reps));
  }
  for (const depth of options.depths.filter((d) => d <= 1000)) {
    const reps = depth <= 100 ? options.reps * 3 : options.reps;
    log(`floor+fsync, local+fsync at depth ${depth} (${reps}×) …`);
    rows.push(...await measure(["floor+fsync", "local+fsync"], depth, reps));
  }
  const order: string[] = [
    "floor",
    "memory",
    "local",
    "floor+fsync",
    "local+fsync",
    "sqooler-py",
  ];
  rows.sort((a, b) =>
    order.indexOf(a.config) - order.indexOf(b.config) || a.depth - b.depth
  );
  for (const row of rows) {
    if (!row.config.startsWith("local")) continue;
    const floor = rows.find((r) =>
      r.config === row.config.replace("local", "floor") && r.depth === row.depth
    );
    if (floor !== undefined) {
      row.floorRatio = round(row.total.usPerJob / floor.total.usPerJob, 2);
    }
  }
  if (sqooler !== undefined && "file" in sqooler) {
    rows.push(...await readSqooler(sqooler.file));
  }

  const met = targets(rows, big);
  const report = {
    started,
    machine: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      os: Deno.build.os,
      arch: Deno.build.arch,
      cpus: navigator.hardwareConcurrency,
      loadBefore,
      loadAfter: loadAverage(),
    },
    options: {
      reps: options.reps,
      depths: options.depths,
      dir: options.dir ?? null,
    },
    rows,
    memory: big ?? null,
    operations,
    targets: met,
  };

  const out = options.json === true ? console.error : console.log;
  out(`\n${table(rows)}\n`);
  out(
    `Filesystem calls per lifecycle (depth ${
      operations[0].depth
    }; metadata = ` +
      `${METADATA.join(" + ")}):\n${operationsTable(operations)}\n`,
  );
  if (big !== undefined) {
    out(
      `100,000-job drain: peak RSS ${big.drainPeakRssMB} MB (${big.rssBeforeMB} MB at the start, ` +
        `${big.submitPeakRssMB} MB at most while submitting, ${big.drainBeforeRssMB} MB when the drain began), ` +
        `peak heap used ${big.drainPeakHeapUsedMB} MB, ` +
        `${big.drain.jobsPerSec.toLocaleString("en-US")} jobs/s\n`,
    );
  }
  for (const target of met) {
    out(
      `${
        target.met ? "met   " : "MISSED"
      } ${target.name}: ${target.value} (${target.limit})`,
    );
  }
  if (loadBefore !== null) {
    out(
      `load average: ${loadBefore.join(" ")} before, ${
        report.machine.loadAfter?.join(" ")
      } after`,
    );
  }
  if (options.json === true) console.log(JSON.stringify(report, null, 2));
  else if (options.json !== undefined) {
    await Deno.writeTextFile(
      options.json,
      JSON.stringify(report, null, 2) + "\n",
    );
  }
}

if (import.meta.main) await main();
