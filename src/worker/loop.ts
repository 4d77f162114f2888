/**
 * The lab's side of the job system: a worker loop that takes each backend's
 * jobs in turn, checks them against the backend's limits, runs them, and
 * writes status and result back, the way sqooler's `main()` does, except that
 * no failing job, unreadable file or storage hiccup ends the loop, and every
 * step proves the worker's lease.
 *
 * @module
 */

import type { StorageAdapter } from "../adapter.ts";
import { getConfig, uploadConfig } from "../backends.ts";
import {
  CorruptRecordError,
  JobCancelledError,
  JobStateError,
  LeaseLostError,
} from "../errors.ts";
import { getJobContent, getNextJobInQueue, updateInDatabase } from "../jobs.ts";
import { RUNNING, statusPath } from "../layout.ts";
import { publicFromPrivate } from "../signing.ts";
import { transitionsOf } from "../protocol.ts";
import { recoverStaleJobs, releaseJob } from "../queue.ts";
import { readIfReadable } from "../records.ts";
import {
  type ExperimentData,
  type Job,
  type Result,
  StatusMsg,
} from "../schemas.ts";
import { LeaseKeeper } from "./lease_keeper.ts";
import { checkOptions, type Entry, type Settings } from "./options.ts";
import { sleep, Yielder } from "./timers.ts";
import type { WorkerOptions, WorkerSummary } from "./types.ts";
import { resultsProblem, validateJob } from "./validate.ts";

/**
 * Runs backends' jobs until `signal` aborts (or, with `untilIdle`, until
 * every queue is empty).
 *
 * It checks every option and config first (a bad one rejects the promise
 * before anything is touched), removes temp files that killed processes left
 * (older than an hour), uploads the configs, and recovers each backend's
 * stale jobs (again every `recoverIntervalMs`). Then it takes one job of each
 * backend in turn, checks it against the backend's config with
 * {@linkcode validateJob}, runs it while its lease is extended, and writes
 * DONE with the result or ERROR with a message for the user. A job that does
 * not pass the checks, an unreadable job file, a throwing `execute` or
 * results that are not one per experiment end the job ERROR. A storage error
 * is reported as an `error` event; the job's attempt then counts as failed
 * (after `maxAttempts` of them the job ends ERROR) and the worker waits
 * longer after each failed round. If the worker loses its lease (it was
 * recovered), `execute`'s signal aborts and nothing is recorded.
 *
 * When `signal` aborts, `execute` gets the abort through its context: if it
 * returns anyway, its result is written; if it throws, the job goes back to
 * the head of its queue.
 *
 * @param adapter The storage.
 * @param options The backends, the stop signal, timings and the event listener.
 * @returns What the worker did, when it has stopped.
 * @throws {InvalidRecordError} When an option or a config is invalid, or a config does not match its display name.
 * @throws {InvalidNameError} When a backend's display name is not acceptable.
 * @throws {SigningError} When a backend's config says `sign: true` and `privateJwk` is not given, or names another key.
 *
 * @example Drain a queue in memory
 * ```ts
 * import assert from "node:assert/strict";
 * import { getStatus, MemoryAdapter, runWorker, uploadJob, uploadStatus } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const adapter = new MemoryAdapter();
 * const job = { experiment_0: { instructions: [["measure", [0], []]], num_wires: 1, shots: 2, wire_order: "sequential" } };
 * const ref = { displayName: "spin", username: "alice", jobId: "" };
 * ref.jobId = await uploadJob(adapter, { job, ...ref });
 * await uploadStatus(adapter, ref);
 *
 * const summary = await runWorker(adapter, {
 *   untilIdle: true,
 *   backends: {
 *     spin: {
 *       config: testBackendConfig("spin"),
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
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const controller = new AbortController();
 * const events: string[] = [];
 * const summary = await runWorker(new MemoryAdapter(), {
 *   backends: { spin: { config: testBackendConfig("spin"), execute: () => [] } },
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
  const settings = checkOptions(options);
  // The key's x against its d, before anything is touched.
  if (settings.privateJwk !== undefined) {
    await publicFromPrivate(settings.privateJwk);
  }
  return await new Worker(adapter, settings).run();
}

/**
 * How long an idle worker waits at most on a storage that wakes it when jobs
 * arrive ({@linkcode StorageAdapter.waitForJobs}), before it looks anyway.
 */
const IDLE_SAFETY_POLL_MS = 30_000;

/** How long an unreadable job file that may still be being written is left alone. */
const UNREADABLE_RETRY_MS = 1000;

/** A job in hand. */
interface Held {
  entry: Entry;
  ref: { displayName: string; jobId: string; token: string };
  claimedAt: number;
}

class Worker {
  #adapter: StorageAdapter;
  #s: Settings;
  #summary: WorkerSummary = { done: 0, failed: 0, released: 0, errors: 0 };
  #ready = new Set<string>();
  #unleased = new Map<string, string>();
  /** Problems with stored configs, by backend, as last reported. */
  #configProblems = new Map<string, string>();
  /** Job files that could not be read yet, and when to try them again. */
  #unreadable = new Map<string, number>();

  constructor(adapter: StorageAdapter, settings: Settings) {
    this.#adapter = adapter;
    this.#s = settings;
  }

  async run(): Promise<WorkerSummary> {
    const yielder = new Yielder();
    try {
      return await this.#loop(yielder);
    } finally {
      yielder.close();
    }
  }

  async #loop(yielder: Yielder): Promise<WorkerSummary> {
    const { signal, entries, now } = this.#s;
    await this.#sweep();
    let failedRounds = 0;
    let idle = false;
    let lastRecovery = -Infinity;
    let started = false;
    while (!signal.aborted) {
      const errorsBefore = this.#summary.errors;
      const finishedBefore = this.#summary.done + this.#summary.failed;
      // Either way: a clock set back must not stop recovery.
      const recoveryDue =
        Math.abs(now() - lastRecovery) >= this.#s.recoverIntervalMs;
      if (recoveryDue) lastRecovery = now();
      for (const entry of entries) {
        // A backend whose setup failed is retried every round.
        if (recoveryDue || !this.#ready.has(entry.displayName)) {
          await this.#prepare(entry);
        }
      }
      if (!started && this.#ready.size === entries.length) {
        started = true;
        this.#s.emit({
          type: "started",
          backends: entries.map((entry) => entry.displayName),
        });
      }
      for (const entry of entries) {
        if (signal.aborted) break;
        if (this.#ready.has(entry.displayName)) await this.#takeOne(entry);
        // Timers (lease extensions, a listener's) and I/O get their turn.
        await yielder.next();
      }
      if (signal.aborted) break;
      // Only finished jobs count as progress: a job released after a storage
      // error would otherwise be taken again at once, round after round.
      if (this.#summary.done + this.#summary.failed > finishedBefore) {
        idle = false;
        failedRounds = 0;
        continue;
      }
      if (this.#summary.errors > errorsBefore) {
        // Storage trouble: wait longer each round, so that a broken store is not hammered.
        failedRounds++;
        await sleep(this.#backoff(failedRounds), signal);
        continue;
      }
      failedRounds = 0;
      if (!idle) {
        idle = true;
        this.#s.emit({ type: "idle" });
      }
      if (this.#s.untilIdle) break;
      await this.#idle();
    }
    const summary = { ...this.#summary };
    this.#s.emit({ type: "stopped", summary });
    return summary;
  }

  /** Waits for new jobs: woken by the storage where it can, else a poll interval. */
  async #idle(): Promise<void> {
    const { signal, pollIntervalMs, entries } = this.#s;
    if (this.#adapter.waitForJobs === undefined) {
      return await sleep(pollIntervalMs, signal);
    }
    try {
      await this.#adapter.waitForJobs(
        entries.map((entry) => entry.displayName),
        { timeoutMs: Math.max(pollIntervalMs, IDLE_SAFETY_POLL_MS), signal },
      );
    } catch (error) {
      this.#error("Could not wait for new jobs", error, {});
      await sleep(pollIntervalMs, signal);
    }
  }

  #backoff(failedRounds: number): number {
    const base = Math.max(this.#s.pollIntervalMs, 1);
    return Math.min(base * 2 ** (failedRounds - 1), this.#s.maxBackoffMs);
  }

  /** Removes what killed processes left behind, where the storage has such leftovers. */
  async #sweep(): Promise<void> {
    try {
      await this.#adapter.sweepTempFiles?.({ now: this.#s.now });
    } catch (error) {
      this.#error("Could not remove old temp files", error, {});
    }
  }

  /** Uploads the config (once) and recovers stale jobs; retried next round on failure. */
  async #prepare(entry: Entry): Promise<void> {
    const { displayName } = entry;
    const ready = this.#ready.has(displayName);
    try {
      if (!ready) {
        await uploadConfig(this.#adapter, entry.config, {
          privateJwk: this.#s.privateJwk,
        });
      }
      this.#ready.add(displayName);
      await this.#checkConfig(entry);
      const report = await recoverStaleJobs(this.#adapter, {
        displayName,
        olderThanMs: this.#s.recoverOlderThanMs,
        maxAttempts: this.#s.maxAttempts,
        now: this.#s.now,
      });
      const unleased = report.unleased.join(",");
      const changed = (this.#unleased.get(displayName) ?? "") !== unleased;
      this.#unleased.set(displayName, unleased);
      const { requeued, failed, completed } = report;
      if (requeued.length + failed.length + completed.length > 0 || changed) {
        this.#s.emit({ type: "recovered", displayName, report });
      }
    } catch (error) {
      const step = this.#ready.has(displayName)
        ? "recover stale jobs of"
        : "upload the config of";
      this.#error(`Could not ${step} ${displayName}`, error, { displayName });
    }
  }

  /**
   * Reports a stored config that cannot be read (once per problem): the
   * worker goes on with the config it was started with.
   */
  async #checkConfig(entry: Entry): Promise<void> {
    const { displayName } = entry;
    let problem: CorruptRecordError | undefined;
    try {
      await getConfig(this.#adapter, displayName);
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
      problem = error;
    }
    const message = problem?.message ?? "";
    if ((this.#configProblems.get(displayName) ?? "") === message) return;
    this.#configProblems.set(displayName, message);
    if (problem !== undefined) {
      this.#error(
        `The stored config of ${displayName} cannot be read, so the worker goes on with the config it was started with`,
        problem,
        { displayName },
      );
    }
  }

  /** The job files to leave in their queue for now: still being written, it seems. */
  #skipped(): string[] {
    const now = this.#s.now();
    for (const [jobId, until] of this.#unreadable) {
      if (until <= now) this.#unreadable.delete(jobId);
    }
    return [...this.#unreadable.keys()];
  }

  /** Takes and handles one job of a backend, if it has one. */
  async #takeOne(entry: Entry): Promise<void> {
    const { displayName } = entry;
    let held: Held;
    try {
      const next = await getNextJobInQueue(this.#adapter, displayName, {
        leaseMs: this.#s.leaseMs,
        now: this.#s.now,
        skip: this.#skipped(),
        privateJwk: this.#s.privateJwk,
      });
      if (next.job_id === "None" || next.token === undefined) return;
      held = {
        entry,
        ref: { displayName, jobId: next.job_id, token: next.token },
        claimedAt: this.#s.now(),
      };
    } catch (error) {
      this.#error(`Could not poll the queue of ${displayName}`, error, {
        displayName,
      });
      return;
    }
    this.#s.emit({ type: "claimed", displayName, jobId: held.ref.jobId });
    try {
      await this.#handle(held);
    } catch (error) {
      const { jobId } = held.ref;
      if (error instanceof LeaseLostError) {
        this.#error(`Lost the lease on job ${jobId} of ${displayName}`, error, {
          displayName,
          jobId,
        });
        return;
      }
      this.#error(`Could not handle job ${jobId} of ${displayName}`, error, {
        displayName,
        jobId,
      });
      // The storage failed this attempt: it counts, so no job reruns forever.
      await this.#release(held, oneLine(error)).catch(() => {});
    }
  }

  async #handle(held: Held): Promise<void> {
    const { entry, ref } = held;
    if (this.#s.signal.aborted) return await this.#release(held);
    const current = await readIfReadable(
      this.#adapter,
      { path: statusPath(ref.displayName), id: ref.jobId },
      StatusMsg,
    );
    const steps = [current?.detail ?? "Got your json."];
    let content: unknown;
    try {
      content = await getJobContent(this.#adapter, {
        storagePath: RUNNING,
        jobId: ref.jobId,
      });
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
      if (await this.#stillBeingWritten(held)) return;
      steps.push("Could not read the job file. File will be deleted.");
      return await this.#fail(held, steps, error.message);
    }
    const checked = validateJob(content, entry.config);
    if (!checked.ok) {
      steps.push("Failed json sanity check. File will be deleted.");
      return await this.#fail(held, steps, checked.problems.join("; "));
    }
    steps.push(
      "Passed json sanity check",
      "Compilation done. Shots sent to solver.",
    );
    try {
      await updateInDatabase(this.#adapter, {
        ...ref,
        status: {
          job_id: ref.jobId,
          status: current?.status === "QUEUED" ? "QUEUED" : "INITIALIZING",
          detail: steps.join("; "),
          error_message: "None",
        },
      });
    } catch (error) {
      // A final status that another tool wrote stays; the job still runs.
      if (!(error instanceof JobStateError)) throw error;
    }
    const outcome = await this.#execute(held, checked.job);
    if (outcome.kind === "released" || outcome.kind === "lost") return;
    if (outcome.kind === "failed") {
      steps.push("Failed while running the job.");
      return await this.#fail(held, steps, outcome.message);
    }
    steps.push("All done");
    const result: Result = {
      backend_name: null,
      display_name: ref.displayName,
      backend_version: entry.config.version,
      job_id: ref.jobId,
      qobj_id: null,
      success: true,
      status: "DONE",
      header: {},
      results: outcome.results,
    };
    await this.#record(held, {
      job_id: ref.jobId,
      status: "DONE",
      detail: steps.join("; "),
      error_message: "None",
    }, result);
    if (outcome.cancelled !== undefined) {
      // The protocol recorded ERROR: the job was cancelled while it ran.
      this.#summary.failed++;
      this.#s.emit({
        type: "failed",
        displayName: ref.displayName,
        jobId: ref.jobId,
        message: outcome.cancelled,
      });
      return;
    }
    this.#summary.done++;
    this.#s.emit({
      type: "done",
      displayName: ref.displayName,
      jobId: ref.jobId,
      durationMs: Math.max(this.#s.now() - held.claimedAt, 0),
    });
  }

  /**
   * Whether an unreadable job file may still be being written by another
   * tool (its file time is younger than the grace): then it goes back to its
   * queue, unharmed, and is left there for a second.
   */
  async #stillBeingWritten(held: Held): Promise<boolean> {
    const { jobId } = held.ref;
    const now = this.#s.now();
    const written = await this.#adapter.writtenAt?.(RUNNING, jobId) ?? now;
    if (now - written >= this.#s.unreadableGraceMs) return false;
    await releaseJob(this.#adapter, {
      ...held.ref,
      maxAttempts: this.#s.maxAttempts,
      now: this.#s.now,
    });
    this.#unreadable.set(jobId, now + UNREADABLE_RETRY_MS);
    this.#summary.released++;
    this.#s.emit({
      type: "released",
      displayName: held.ref.displayName,
      jobId,
    });
    return true;
  }

  /** Runs `execute` while the lease is kept; says how it ended. */
  async #execute(held: Held, job: Job): Promise<
    | { kind: "done"; results: ExperimentData[]; cancelled?: string }
    | { kind: "failed"; message: string }
    | { kind: "released" }
    | { kind: "lost" }
  > {
    const { entry, ref } = held;
    const { displayName, jobId } = ref;
    const lease = await transitionsOf(this.#adapter).lease(displayName, jobId);
    if (lease === undefined || lease.token !== ref.token) {
      throw new LeaseLostError(
        `Job ${jobId} of ${displayName} is no longer this worker's`,
      );
    }
    const keeper = new LeaseKeeper(this.#adapter, {
      ref,
      lease,
      leaseMs: this.#s.leaseMs,
      now: this.#s.now,
      onExtended: (lease) =>
        this.#s.emit({
          type: "lease",
          displayName,
          jobId,
          expiresAt: lease.expires_at,
        }),
      onError: (error) =>
        this.#error(
          `Could not extend the lease on job ${jobId} of ${displayName}`,
          error,
          { displayName, jobId },
        ),
    });
    const signal = AbortSignal.any([this.#s.signal, keeper.signal]);
    // A cancelled job is recorded as usual: the protocol makes it ERROR.
    const lost = () =>
      keeper.signal.aborted && keeper.signal.reason instanceof LeaseLostError;
    let returned: unknown;
    try {
      returned = await entry.execute(job, { jobId, displayName, signal });
    } catch (error) {
      await keeper.stop();
      if (lost()) return this.#lost(held, keeper.signal.reason);
      if (this.#s.signal.aborted) {
        await this.#release(held);
        return { kind: "released" };
      }
      return {
        kind: "failed",
        message: `The backend failed: ${oneLine(error)}`,
      };
    }
    await keeper.stop();
    if (lost()) return this.#lost(held, keeper.signal.reason);
    const problem = resultsProblem(returned, Object.keys(job).length);
    if (problem !== undefined) {
      return {
        kind: "failed",
        message: `The backend returned an invalid result: ${problem}`,
      };
    }
    const reason = keeper.signal.reason;
    return {
      kind: "done",
      results: returned as ExperimentData[],
      cancelled: reason instanceof JobCancelledError
        ? reason.message
        : undefined,
    };
  }

  #lost(held: Held, reason: unknown): { kind: "lost" } {
    const { displayName, jobId } = held.ref;
    this.#error(
      `Lost the lease on job ${jobId} of ${displayName}; its result is not recorded`,
      reason,
      { displayName, jobId },
    );
    return { kind: "lost" };
  }

  async #fail(held: Held, steps: string[], message: string): Promise<void> {
    await this.#record(held, {
      job_id: held.ref.jobId,
      status: "ERROR",
      detail: steps.join("; "),
      error_message: message,
    });
    this.#summary.failed++;
    this.#s.emit({
      type: "failed",
      displayName: held.ref.displayName,
      jobId: held.ref.jobId,
      message,
    });
  }

  /** Gives the job back: unharmed, or as a failed attempt when `failure` says why. */
  async #release(held: Held, failure?: string): Promise<void> {
    const { displayName, jobId } = held.ref;
    const requeued = await releaseJob(this.#adapter, {
      ...held.ref,
      failure,
      maxAttempts: this.#s.maxAttempts,
      now: this.#s.now,
    });
    if (!requeued) {
      this.#summary.failed++;
      return;
    }
    this.#summary.released++;
    this.#s.emit({ type: "released", displayName, jobId });
  }

  /** Records the outcome under the lease. */
  async #record(held: Held, status: StatusMsg, result?: Result) {
    await updateInDatabase(this.#adapter, {
      ...held.ref,
      status,
      result,
      // Only a backend that signs signs its results.
      privateJwk: held.entry.config.sign ? this.#s.privateJwk : undefined,
      maxAttempts: this.#s.maxAttempts,
      now: this.#s.now,
    });
  }

  #error(
    what: string,
    error: unknown,
    about: { displayName?: string; jobId?: string },
  ) {
    this.#summary.errors++;
    this.#s.emit({
      type: "error",
      ...about,
      message: `${what}: ${oneLine(error)}`,
      error,
    });
  }
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
