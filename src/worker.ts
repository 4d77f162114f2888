/**
 * The lab's side of the job system: a worker loop that takes each backend's
 * jobs in turn, checks them against the backend's limits, runs them, and
 * writes status and result back, the way sqooler's `main()` does, except that
 * no failing job, unreadable file or storage hiccup ends the loop.
 *
 * @module
 */

import type { JsonObject, StorageAdapter } from "./adapter.ts";
import { uploadConfig } from "./backends.ts";
import { CorruptRecordError, InvalidRecordError } from "./errors.ts";
import {
  DEFAULT_LEASE_MS,
  getJobContent,
  getNextJobInQueue,
  updateInDatabase,
} from "./jobs.ts";
import { RUNNING, statusPath } from "./layout.ts";
import { assertDisplayName, describeValue } from "./names.ts";
import {
  extendLease,
  recoverStaleJobs,
  type RecoveryReport,
  releaseJob,
} from "./queue.ts";
import {
  type Clock,
  clockOf,
  numberOption,
  parseInput,
  readIfReadable,
} from "./records.ts";
import {
  BackendConfigIn,
  type BackendConfigInput,
  check,
  type Experiment,
  ExperimentData,
  type Job,
  type Result,
  StatusMsg,
} from "./schemas.ts";

/** What {@linkcode Backend.execute} gets besides the job. */
export interface ExecuteContext {
  /** The job's id. */
  jobId: string;
  /** The backend's display name. */
  displayName: string;
  /**
   * Aborted when the worker is asked to stop. An `execute` that gives up on
   * it should throw; the job then goes back to the head of its queue.
   */
  signal: AbortSignal;
}

/** A backend as the worker runs it: its config, and how to run a job on it. */
export interface Backend {
  /** The config, uploaded when the worker starts; its limits check every job. */
  config: BackendConfigInput;
  /**
   * Runs a job that passed the checks against {@linkcode Backend.config}.
   * Throwing marks the job ERROR with the error's message.
   *
   * @param job The job, with experiments under `experiment_0`, `experiment_1`, …
   * @param context The job's id, the backend, and the worker's stop signal.
   * @returns One result per experiment, in the order of their keys.
   */
  execute(
    job: Job,
    context: ExecuteContext,
  ): Promise<ExperimentData[]> | ExperimentData[];
}

/** Backends by display name; each name must equal its config's `display_name`. */
export type Backends = Record<string, Backend>;

/** What the worker did, counted. */
export interface WorkerSummary {
  /** Jobs written DONE. */
  done: number;
  /** Jobs written ERROR. */
  failed: number;
  /** Jobs put back in their queue because the worker stopped. */
  released: number;
  /** Storage errors that the worker reported and went on after. */
  errors: number;
}

/**
 * What {@linkcode runWorker} reports through `onEvent`, one object per event,
 * told apart by `type`.
 */
export type WorkerEvent =
  | {
    /** The backends' configs are uploaded and their stale jobs recovered. */
    type: "started";
    /** The display names of the backends, in polling order. */
    backends: string[];
  }
  | {
    /** {@linkcode recoverStaleJobs} found jobs of dead workers, or adopted unleased ones. */
    type: "recovered";
    /** The backend. */
    displayName: string;
    /** What it did. */
    report: RecoveryReport;
  }
  | {
    /** The worker took a job from the queue. */
    type: "claimed";
    /** The backend. */
    displayName: string;
    /** The job. */
    jobId: string;
  }
  | {
    /** The worker extended its lease on a job that runs long. */
    type: "lease";
    /** The backend. */
    displayName: string;
    /** The job. */
    jobId: string;
    /** When the lease now runs out, as ISO 8601. */
    expiresAt: string;
  }
  | {
    /** A job ran and its result and status DONE were written. */
    type: "done";
    /** The backend. */
    displayName: string;
    /** The job. */
    jobId: string;
    /** How long the job took, from claim to DONE, by the worker's clock. */
    durationMs: number;
  }
  | {
    /** A job was written ERROR: it did not pass the checks, or could not run. */
    type: "failed";
    /** The backend. */
    displayName: string;
    /** The job. */
    jobId: string;
    /** The job's `error_message`, as the user reads it. */
    message: string;
  }
  | {
    /** The worker stopped while holding a job and put it back at the head of its queue. */
    type: "released";
    /** The backend. */
    displayName: string;
    /** The job. */
    jobId: string;
  }
  | {
    /** Something failed that is not the job's fault, e.g. the storage; the worker goes on. */
    type: "error";
    /** The backend, when it concerns one. */
    displayName?: string;
    /** The job, when it concerns one. */
    jobId?: string;
    /** What failed, in one line. */
    message: string;
    /** The error itself. */
    error: unknown;
  }
  | {
    /** Every queue was empty; sent once per stretch of empty polls. */
    type: "idle";
  }
  | {
    /** The worker stopped; {@linkcode runWorker}'s promise resolves with the same summary. */
    type: "stopped";
    /** What it did. */
    summary: WorkerSummary;
  };

/** Options of {@linkcode runWorker}. */
export interface WorkerOptions {
  /** The backends to run, by display name. */
  backends: Backends;
  /** Stops the worker: it finishes or releases the job in hand, then resolves. */
  signal?: AbortSignal;
  /**
   * How long to wait after every queue was found empty, in milliseconds.
   *
   * @default {1000}
   */
  pollIntervalMs?: number;
  /**
   * Stop once every queue was found empty, instead of waiting for new jobs:
   * for draining queues in a batch run or a test.
   *
   * @default {false}
   */
  untilIdle?: boolean;
  /**
   * How long the worker's lease on a job lasts; it is extended every third
   * of that while the job runs.
   *
   * @default {600000}
   */
  leaseMs?: number;
  /**
   * How often to look for jobs of dead workers, in milliseconds (also once
   * at the start).
   *
   * @default {60000}
   */
  recoverIntervalMs?: number;
  /**
   * Passed to {@linkcode recoverStaleJobs}: a running job counts as stale
   * when its lease is older than this. Without it, when its lease ran out.
   */
  recoverOlderThanMs?: number;
  /**
   * Passed to {@linkcode recoverStaleJobs}: after this many workers stopped
   * on a job, it is marked ERROR.
   *
   * @default {3}
   */
  maxAttempts?: number;
  /**
   * The longest wait between polls after storage errors; the wait doubles
   * from `pollIntervalMs` with each failed round.
   *
   * @default {30000}
   */
  maxBackoffMs?: number;
  /**
   * Called with every event. It must not throw; what it throws is ignored,
   * so that a broken listener cannot stop the worker.
   */
  onEvent?: (event: WorkerEvent) => void;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/**
 * Runs backends' jobs until `signal` aborts (or, with `untilIdle`, until
 * every queue is empty).
 *
 * On start it checks every config (an invalid one rejects the promise before
 * anything is written), uploads them, and recovers each backend's stale jobs.
 * Then it takes one job of each backend in turn, checks it against the
 * backend's config with {@linkcode validateJob}, runs it, and writes DONE with
 * the result or ERROR with a message for the user. A job that does not pass
 * the checks, an unreadable job file or a throwing `execute` marks that job
 * ERROR; a storage error is reported as an `error` event and the worker goes
 * on, waiting longer after each failed round. The lease on a running job is
 * extended while `execute` runs.
 *
 * When `signal` aborts, `execute` gets the abort through its context: if it
 * returns anyway, its result is written; if it throws, the job goes back to
 * the head of its queue. Nothing is left in `jobs/running`.
 *
 * @param adapter The storage.
 * @param options The backends, the stop signal, timings and the event listener.
 * @returns What the worker did, when it has stopped.
 * @throws {InvalidRecordError} When a config is invalid or does not match its display name.
 *
 * @example Drain a queue in memory
 * ```ts
 * import assert from "node:assert/strict";
 * import { getStatus, MemoryAdapter, runWorker, uploadJob, uploadStatus } from "@sqooler/storage";
 *
 * const config = {
 *   description: "One spin", version: "0.1.0", display_name: "spin", cold_atom_type: "spin" as const,
 *   gates: [], max_experiments: 1, max_shots: 10, simulator: true,
 *   supported_instructions: ["measure"], num_wires: 1, wire_order: "linear", num_species: 1,
 * };
 * const adapter = new MemoryAdapter();
 * const job = { experiment_0: { instructions: [["measure", [0], []]], num_wires: 1, shots: 2, wire_order: "linear" } };
 * const ref = { displayName: "spin", username: "alice", jobId: "" };
 * ref.jobId = await uploadJob(adapter, { job, ...ref });
 * await uploadStatus(adapter, ref);
 *
 * const summary = await runWorker(adapter, {
 *   untilIdle: true,
 *   backends: {
 *     spin: {
 *       config,
 *       execute: () => [{ header: { name: "experiment_0" }, shots: 2, success: true, data: { memory: ["0", "0"] } }],
 *     },
 *   },
 * });
 * assert(summary.done === 1);
 * assert((await getStatus(adapter, ref)).status === "DONE");
 * ```
 *
 * @example Stop a worker that waits for jobs
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryAdapter, runWorker } from "@sqooler/storage";
 *
 * const controller = new AbortController();
 * const config = {
 *   description: "One spin", version: "0.1.0", display_name: "spin", cold_atom_type: "spin" as const,
 *   gates: [], max_experiments: 1, max_shots: 10, simulator: true,
 *   supported_instructions: ["measure"], num_wires: 1, wire_order: "linear", num_species: 1,
 * };
 * const events: string[] = [];
 * const summary = await runWorker(new MemoryAdapter(), {
 *   backends: { spin: { config, execute: () => [] } },
 *   signal: controller.signal,
 *   onEvent: (event) => {
 *     events.push(event.type);
 *     if (event.type === "idle") controller.abort();
 *   },
 * });
 * assert.deepEqual(events, ["started", "idle", "stopped"]);
 * assert(summary.done === 0 && summary.errors === 0);
 * ```
 */
export async function runWorker(
  adapter: StorageAdapter,
  options: WorkerOptions,
): Promise<WorkerSummary> {
  const worker = new Worker(adapter, options);
  return await worker.run();
}

/** A backend with its config checked. */
interface Entry {
  displayName: string;
  config: BackendConfigIn;
  execute: Backend["execute"];
  /** Whether its config is uploaded and its stale jobs recovered. */
  ready: boolean;
}

/** A storage failure while handling a job: the job is not at fault. */
class StorageTrouble {
  constructor(readonly step: string, readonly error: unknown) {}
}

const NEVER = new AbortController().signal;

class Worker {
  #adapter: StorageAdapter;
  #entries: Entry[];
  #signal: AbortSignal;
  #pollIntervalMs: number;
  #untilIdle: boolean;
  #leaseMs: number;
  #recoverIntervalMs: number;
  #recoverOlderThanMs: number | undefined;
  #maxAttempts: number | undefined;
  #maxBackoffMs: number;
  #onEvent: (event: WorkerEvent) => void;
  #now: Clock;
  #summary: WorkerSummary = { done: 0, failed: 0, released: 0, errors: 0 };

  constructor(adapter: StorageAdapter, options: WorkerOptions) {
    this.#adapter = adapter;
    this.#entries = checkBackends(options?.backends);
    this.#signal = options.signal ?? NEVER;
    this.#pollIntervalMs = numberOption(options.pollIntervalMs, {
      what: "poll interval",
      fallback: 1000,
      min: 0,
    });
    this.#untilIdle = options.untilIdle ?? false;
    this.#leaseMs = numberOption(options.leaseMs, {
      what: "lease length",
      fallback: DEFAULT_LEASE_MS,
      min: 1,
    });
    this.#recoverIntervalMs = numberOption(options.recoverIntervalMs, {
      what: "recovery interval",
      fallback: 60_000,
      min: 0,
    });
    this.#recoverOlderThanMs = options.recoverOlderThanMs;
    this.#maxAttempts = options.maxAttempts;
    this.#maxBackoffMs = numberOption(options.maxBackoffMs, {
      what: "longest backoff",
      fallback: 30_000,
      min: 0,
    });
    const listener = options.onEvent;
    this.#onEvent = (event) => {
      try {
        listener?.(event);
      } catch {
        // A listener's failure is not the worker's; see WorkerOptions.onEvent.
      }
    };
    this.#now = clockOf(options);
  }

  async run(): Promise<WorkerSummary> {
    let failedRounds = 0;
    let idle = false;
    let lastRecovery = -Infinity;
    let started = false;
    while (!this.#signal.aborted) {
      const errorsBefore = this.#summary.errors;
      const finishedBefore = this.#finished();
      const recoveryDue = this.#now() - lastRecovery >= this.#recoverIntervalMs;
      if (recoveryDue) lastRecovery = this.#now();
      for (const entry of this.#entries) {
        // A backend whose setup failed is retried every round, not every recovery interval.
        if (recoveryDue || !entry.ready) await this.#prepare(entry);
      }
      if (!started && this.#entries.every((entry) => entry.ready)) {
        started = true;
        this.#emit({
          type: "started",
          backends: this.#entries.map((entry) => entry.displayName),
        });
      }
      for (const entry of this.#entries) {
        if (this.#signal.aborted) break;
        if (entry.ready) await this.#takeOne(entry);
      }
      if (this.#signal.aborted) break;
      // Only finished jobs count as progress: a job released after a storage
      // error would otherwise be taken again at once, round after round.
      if (this.#finished() > finishedBefore) {
        idle = false;
        failedRounds = 0;
        continue;
      }
      if (this.#summary.errors > errorsBefore) {
        // Storage trouble: wait longer each round, so that a broken store is not hammered.
        failedRounds++;
        await sleep(this.#backoff(failedRounds), this.#signal);
        continue;
      }
      failedRounds = 0;
      if (!idle) {
        idle = true;
        this.#emit({ type: "idle" });
      }
      if (this.#untilIdle) break;
      await sleep(this.#pollIntervalMs, this.#signal);
    }
    const summary = { ...this.#summary };
    this.#emit({ type: "stopped", summary });
    return summary;
  }

  #finished(): number {
    return this.#summary.done + this.#summary.failed;
  }

  #backoff(failedRounds: number): number {
    const base = Math.max(this.#pollIntervalMs, 1);
    return Math.min(base * 2 ** (failedRounds - 1), this.#maxBackoffMs);
  }

  /** Uploads the config and recovers stale jobs; retried next round on failure. */
  async #prepare(entry: Entry): Promise<void> {
    const displayName = entry.displayName;
    try {
      if (!entry.ready) await uploadConfig(this.#adapter, entry.config);
      entry.ready = true;
      const report = await recoverStaleJobs(this.#adapter, {
        displayName,
        olderThanMs: this.#recoverOlderThanMs,
        maxAttempts: this.#maxAttempts,
        now: this.#now,
      });
      const { requeued, failed, completed, adopted } = report;
      if (
        requeued.length + failed.length + completed.length + adopted.length > 0
      ) {
        this.#emit({ type: "recovered", displayName, report });
      }
    } catch (error) {
      const step = entry.ready
        ? "recover stale jobs of"
        : "upload the config of";
      this.#error(`Could not ${step} ${displayName}`, error, { displayName });
    }
  }

  /** Takes and handles one job of a backend, if it has one. */
  async #takeOne(entry: Entry): Promise<void> {
    const displayName = entry.displayName;
    let jobId: string;
    try {
      const next = await getNextJobInQueue(this.#adapter, displayName, {
        leaseMs: this.#leaseMs,
        now: this.#now,
      });
      if (next.job_id === "None") return;
      jobId = next.job_id;
    } catch (error) {
      this.#error(`Could not poll the queue of ${displayName}`, error, {
        displayName,
      });
      return;
    }
    const claimedAt = this.#now();
    this.#emit({ type: "claimed", displayName, jobId });
    try {
      await this.#handle(entry, jobId, claimedAt);
    } catch (thrown) {
      const trouble = thrown instanceof StorageTrouble
        ? thrown
        : new StorageTrouble("handle", thrown);
      this.#error(
        `Could not ${trouble.step} job ${jobId} of ${displayName}`,
        trouble.error,
        { displayName, jobId },
      );
      // Best effort: a job that stays in jobs/running is recovered when its lease runs out.
      await this.#release(entry, jobId).catch(() => {});
    }
  }

  async #handle(entry: Entry, jobId: string, claimedAt: number) {
    const displayName = entry.displayName;
    if (this.#signal.aborted) {
      await this.#release(entry, jobId);
      return;
    }
    const current = await this.#storage(
      "read the status of",
      () =>
        readIfReadable(
          this.#adapter,
          { path: statusPath(displayName), id: jobId },
          StatusMsg,
        ),
    );
    const steps = [current?.detail ?? "Got your json."];
    const status: StatusMsg = {
      job_id: jobId,
      status: current?.status ?? "INITIALIZING",
      detail: "",
      error_message: "None",
    };
    let content: JsonObject;
    try {
      content = await getJobContent(this.#adapter, {
        storagePath: RUNNING,
        jobId,
      });
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) {
        throw new StorageTrouble("read", error);
      }
      steps.push("Could not read the job file. File will be deleted.");
      return await this.#fail(entry, jobId, steps, error.message);
    }
    const checked = validateJob(content, entry.config);
    if (!checked.ok) {
      steps.push("Failed json sanity check. File will be deleted.");
      return await this.#fail(entry, jobId, steps, checked.problems.join("; "));
    }
    steps.push(
      "Passed json sanity check",
      "Compilation done. Shots sent to solver.",
    );
    if (status.status !== "DONE" && status.status !== "ERROR") {
      await this.#write("update the status of", entry, {
        ...status,
        detail: steps.join("; "),
      });
    }
    const outcome = await this.#execute(entry, jobId, checked.job);
    if (outcome.kind === "released") return;
    if (outcome.kind === "failed") {
      steps.push("Failed while running the job.");
      return await this.#fail(entry, jobId, steps, outcome.message);
    }
    steps.push("All done");
    const result: Result = {
      backend_name: null,
      display_name: displayName,
      backend_version: entry.config.version,
      job_id: jobId,
      qobj_id: null,
      success: true,
      status: "DONE",
      header: {},
      results: outcome.results,
    };
    await this.#write("write the result of", entry, {
      job_id: jobId,
      status: "DONE",
      detail: steps.join("; "),
      error_message: "None",
    }, result);
    this.#summary.done++;
    this.#emit({
      type: "done",
      displayName,
      jobId,
      durationMs: Math.max(this.#now() - claimedAt, 0),
    });
  }

  /** Runs `execute` while extending the lease; says how it ended. */
  async #execute(
    entry: Entry,
    jobId: string,
    job: Job,
  ): Promise<
    | { kind: "done"; results: ExperimentData[] }
    | { kind: "failed"; message: string }
    | { kind: "released" }
  > {
    const displayName = entry.displayName;
    const renewal = this.#renewLease(displayName, jobId);
    let returned: unknown;
    try {
      returned = await entry.execute(job, {
        jobId,
        displayName,
        signal: this.#signal,
      });
    } catch (error) {
      await renewal.stop();
      if (this.#signal.aborted) {
        await this.#storage("release", () => this.#release(entry, jobId));
        return { kind: "released" };
      }
      return {
        kind: "failed",
        message: `The backend failed: ${oneLine(error)}`,
      };
    }
    await renewal.stop();
    const problem = checkResults(returned);
    if (problem !== undefined) {
      return {
        kind: "failed",
        message: `The backend returned an invalid result: ${problem}`,
      };
    }
    return { kind: "done", results: returned as ExperimentData[] };
  }

  /** Extends the lease every third of its length until stopped. */
  #renewLease(displayName: string, jobId: string): { stop(): Promise<void> } {
    let pending: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      pending = pending.then(async () => {
        try {
          const lease = await extendLease(this.#adapter, {
            displayName,
            jobId,
            leaseMs: this.#leaseMs,
            now: this.#now,
          });
          this.#emit({
            type: "lease",
            displayName,
            jobId,
            expiresAt: lease.expires_at,
          });
        } catch (error) {
          this.#error(
            `Could not extend the lease on job ${jobId} of ${displayName}`,
            error,
            { displayName, jobId },
          );
        }
      });
    }, Math.max(Math.floor(this.#leaseMs / 3), 1));
    return {
      stop: () => {
        clearInterval(timer);
        // A renewal in flight finishes before the job's final status is written.
        return pending;
      },
    };
  }

  async #fail(entry: Entry, jobId: string, steps: string[], message: string) {
    const displayName = entry.displayName;
    await this.#write("write the error of", entry, {
      job_id: jobId,
      status: "ERROR",
      detail: steps.join("; "),
      error_message: message,
    });
    this.#summary.failed++;
    this.#emit({ type: "failed", displayName, jobId, message });
  }

  /** Puts a running job back at the head of its queue and drops its lease. */
  async #release(entry: Entry, jobId: string): Promise<void> {
    const displayName = entry.displayName;
    // Gone from jobs/running: finished or recovered by someone else.
    if (!await releaseJob(this.#adapter, { displayName, jobId })) return;
    this.#summary.released++;
    this.#emit({ type: "released", displayName, jobId });
  }

  /** Writes a job's status, and with DONE its result; a failure is storage trouble. */
  #write(
    step: string,
    entry: Entry,
    status: StatusMsg,
    result?: Result,
  ): Promise<void> {
    return this.#storage(step, () =>
      updateInDatabase(this.#adapter, {
        jobId: status.job_id,
        displayName: entry.displayName,
        status,
        result,
      }));
  }

  async #storage<T>(step: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw new StorageTrouble(step, error);
    }
  }

  #error(
    what: string,
    error: unknown,
    about: { displayName?: string; jobId?: string },
  ) {
    this.#summary.errors++;
    this.#emit({
      type: "error",
      ...about,
      message: `${what}: ${oneLine(error)}`,
      error,
    });
  }

  #emit(event: WorkerEvent) {
    this.#onEvent(event);
  }
}

function checkBackends(backends: unknown): Entry[] {
  if (
    typeof backends !== "object" || backends === null ||
    Array.isArray(backends) || Object.keys(backends).length === 0
  ) {
    throw new InvalidRecordError(
      `Invalid backends ${
        describeValue(backends)
      }: expected an object mapping display names to { config, execute }`,
    );
  }
  return Object.entries(backends).map(([name, backend]) => {
    const displayName = assertDisplayName(name);
    if (
      typeof backend !== "object" || backend === null ||
      typeof backend.execute !== "function"
    ) {
      throw new InvalidRecordError(
        `Invalid backend ${displayName}: expected { config, execute } with execute a function`,
      );
    }
    const config = parseInput(
      backend.config,
      `config of backend ${displayName}`,
      BackendConfigIn,
    );
    if (config.display_name !== displayName) {
      throw new InvalidRecordError(
        `Invalid backend ${displayName}: its config's display_name is ${
          describeValue(config.display_name)
        }; they must be the same`,
      );
    }
    return { displayName, config, execute: backend.execute, ready: false };
  });
}

/** How a value looks in a problem: numbers as they are, strings quoted. */
function show(value: unknown): string {
  return typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : describeValue(value);
}

/** A problem with a field of an experiment: missing, or of the wrong kind. */
function wrongField(
  key: string,
  field: string,
  value: unknown,
  expected: string,
): string {
  return value === undefined
    ? `${key}: ${field} is missing`
    : `${key}: ${field} must be ${expected}, got ${
      Array.isArray(value) ? "a list" : show(value)
    }`;
}

/** Why `execute`'s return value is not a list of results, or `undefined`. */
function checkResults(value: unknown): string | undefined {
  if (!Array.isArray(value)) {
    return `expected an array of experiment results, got ${
      describeValue(value)
    }`;
  }
  for (const [index, item] of value.entries()) {
    const result = check(ExperimentData, item);
    if (!result.ok) return `results[${index}]: ${result.reason}`;
  }
  return undefined;
}

/**
 * An error's message on one line.
 *
 * @internal
 */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0].trim() || "(no message)";
}

/** Waits, or less when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** The limits of a backend that {@linkcode validateJob} checks a job against. */
export type JobLimits = Pick<
  BackendConfigIn,
  "max_experiments" | "max_shots" | "num_wires" | "supported_instructions"
>;

/** What {@linkcode validateJob} found. */
export type JobCheck =
  | {
    /** The job fits the backend. */
    ok: true;
    /** The job, typed. */
    job: Job;
  }
  | {
    /** The job does not fit the backend. */
    ok: false;
    /** What is wrong, one sentence each, for the user. */
    problems: string[];
  };

const MAX_PROBLEMS = 5;
const EXPERIMENT_KEY = /^experiment_(0|[1-9]\d{0,8})$/;

/**
 * Checks a job against a backend's limits before it runs, the way sqooler's
 * worker does: keys `experiment_<n>`, at most `max_experiments` experiments,
 * `shots` at most `max_shots`, `num_wires` at most the backend's, every wire
 * within range and every instruction one the backend supports. Each problem
 * is a sentence that says where and what, e.g. `experiment_0: instruction 2
 * ("rlx") acts on wire 7, but the backend has wires 0 to 2`; at most five are
 * listed.
 *
 * @param job The job, as read from the storage.
 * @param limits The backend's config, or the part of it that holds the limits.
 * @returns `{ ok: true, job }`, or `{ ok: false, problems }`.
 * @throws {InvalidRecordError} When `limits` lacks one of the limits.
 *
 * @example Find a wire out of range
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateJob } from "@sqooler/storage";
 *
 * const limits = { max_experiments: 10, max_shots: 100, num_wires: 3, supported_instructions: ["rx", "measure"] };
 * const job = {
 *   experiment_0: {
 *     instructions: [["rx", [0], [1.5]], ["rx", [7], [1.5]], ["measure", [0], []]],
 *     num_wires: 3, shots: 10, wire_order: "linear",
 *   },
 * };
 * const check = validateJob(job, limits);
 * assert(!check.ok);
 * assert.deepEqual(check.problems, [
 *   'experiment_0: instruction 1 ("rx") acts on wire 7, but the backend has wires 0 to 2',
 * ]);
 * ```
 */
export function validateJob(job: unknown, limits: JobLimits): JobCheck {
  const counts = [
    limits?.max_experiments,
    limits?.max_shots,
    limits?.num_wires,
  ];
  if (
    !counts.every((n) => typeof n === "number") ||
    !Array.isArray(limits.supported_instructions)
  ) {
    throw new InvalidRecordError(
      `Invalid limits ${
        describeValue(limits)
      }: expected max_experiments, max_shots, num_wires and supported_instructions`,
    );
  }
  const problems: string[] = [];
  if (typeof job !== "object" || job === null || Array.isArray(job)) {
    return {
      ok: false,
      problems: [
        `the job must be a JSON object with keys experiment_0, experiment_1, …; got ${
          Array.isArray(job) ? "an array" : describeValue(job)
        }`,
      ],
    };
  }
  const keys = Object.keys(job);
  if (keys.length === 0) {
    problems.push(
      "the job has no experiments; expected keys experiment_0, experiment_1, …",
    );
  }
  if (keys.length > limits.max_experiments) {
    problems.push(
      `the job has ${keys.length} experiments, but the backend allows at most ${limits.max_experiments}`,
    );
  }
  for (const key of keys) {
    if (!EXPERIMENT_KEY.test(key)) {
      problems.push(
        `unexpected key ${
          describeValue(key)
        }: expected experiment_0, experiment_1, …`,
      );
      continue;
    }
    checkExperiment(
      key,
      (job as Record<string, unknown>)[key],
      limits,
      problems,
    );
  }
  if (problems.length > 0) {
    const more = problems.length - MAX_PROBLEMS;
    return {
      ok: false,
      problems: more > 0
        ? [
          ...problems.slice(0, MAX_PROBLEMS),
          `and ${more} more problem${more === 1 ? "" : "s"}`,
        ]
        : problems,
    };
  }
  return { ok: true, job: job as Job };
}

function checkExperiment(
  key: string,
  value: unknown,
  limits: JobLimits,
  problems: string[],
) {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.push(
      `${key}: expected an object with instructions, num_wires, shots and wire_order`,
    );
    return;
  }
  const experiment = value as Partial<Record<keyof Experiment, unknown>>;
  const { shots, num_wires: numWires, instructions } = experiment;
  if (!isCount(shots)) {
    problems.push(wrongField(key, "shots", shots, "a whole number ≥ 0"));
  } else if (shots > limits.max_shots) {
    problems.push(
      `${key}: ${shots} shots, but the backend allows at most ${limits.max_shots}`,
    );
  }
  let wires = limits.num_wires;
  if (!isCount(numWires)) {
    problems.push(wrongField(key, "num_wires", numWires, "a whole number ≥ 0"));
  } else if (numWires > limits.num_wires) {
    problems.push(
      `${key}: num_wires is ${numWires}, but the backend has ${limits.num_wires} wires`,
    );
  } else {
    wires = numWires;
  }
  if (typeof experiment.wire_order !== "string") {
    problems.push(
      wrongField(key, "wire_order", experiment.wire_order, "a string"),
    );
  }
  if (
    experiment.seed != null && !Number.isSafeInteger(experiment.seed)
  ) {
    problems.push(
      wrongField(key, "seed", experiment.seed, "a whole number or null"),
    );
  }
  if (!Array.isArray(instructions)) {
    problems.push(
      wrongField(
        key,
        "instructions",
        instructions,
        "a list of [name, wires, params]",
      ),
    );
    return;
  }
  const supported = new Set(limits.supported_instructions);
  instructions.forEach((instruction: unknown, index) => {
    const where = `${key}: instruction ${index}`;
    if (
      !Array.isArray(instruction) || instruction.length !== 3 ||
      typeof instruction[0] !== "string" || !Array.isArray(instruction[1]) ||
      !Array.isArray(instruction[2])
    ) {
      problems.push(`${where} must be [name, wires, params]`);
      return;
    }
    const [name, onWires, params] = instruction as [
      string,
      unknown[],
      unknown[],
    ];
    const named = `${where} (${JSON.stringify(name)})`;
    if (!supported.has(name)) {
      problems.push(
        `${named} is not supported; the backend supports ${
          limits.supported_instructions.join(", ") || "no instructions"
        }`,
      );
    }
    for (const wire of onWires) {
      if (!Number.isSafeInteger(wire)) {
        problems.push(
          `${named} has wire ${show(wire)}; wires are whole numbers`,
        );
      } else if (
        (wire as number) < 0 || (wire as number) >= limits.num_wires
      ) {
        problems.push(
          `${named} acts on wire ${wire}, but the backend has ${
            wireRange(limits.num_wires)
          }`,
        );
      } else if ((wire as number) >= wires) {
        problems.push(
          `${named} acts on wire ${wire}, but the experiment has num_wires ${wires} (${
            wireRange(wires)
          })`,
        );
      }
    }
    if (
      !params.every((param) => typeof param === "number" && isFinite(param))
    ) {
      problems.push(`${named} has parameters that are not all numbers`);
    }
  });
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function wireRange(count: number): string {
  if (count === 0) return "no wires";
  if (count === 1) return "only wire 0";
  return `wires 0 to ${count - 1}`;
}
