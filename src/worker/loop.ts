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
import { CorruptRecordError, LeaseLostError } from "../errors.ts";
import { getNextJobInQueue } from "../jobs.ts";
import { recoverStaleJobs, releaseJob } from "../queue.ts";
import { publicFromPrivate } from "../signing.ts";
import {
  type Held,
  oneLine,
  type RunContext,
  runJob,
  Watchlist,
} from "./job_run.ts";
import { checkOptions, type Entry, type Settings } from "./options.ts";
import { sleep, Yielder } from "./timers.ts";
import type { WorkerOptions, WorkerSummary } from "./types.ts";

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

/** How long a job that another tool may still be writing is left alone, in milliseconds. */
const WRITER_RETRY_MS = 1000;

class Worker {
  #adapter: StorageAdapter;
  #s: Settings;
  #summary: WorkerSummary = { done: 0, failed: 0, released: 0, errors: 0 };
  #ready = new Set<string>();
  #unleased = new Map<string, string>();
  /** Problems that recovery met, as reported (each once). */
  #recoveryProblems = new Set<string>();
  /** Problems with stored configs, by backend, as last reported. */
  #configProblems = new Map<string, string>();
  #run: RunContext;

  constructor(adapter: StorageAdapter, settings: Settings) {
    this.#adapter = adapter;
    this.#s = settings;
    this.#run = {
      adapter,
      settings,
      watch: new Watchlist(WRITER_RETRY_MS),
      error: (what, error, about) => this.#error(what, error, about),
    };
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
      if (this.#s.untilIdle) {
        // Jobs left to their writers for now are looked at again first.
        if (!this.#run.watch.waiting()) break;
        await sleep(WRITER_RETRY_MS, signal);
        continue;
      }
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
      // Jobs that recovery could not handle, each told once.
      for (const [jobId, message] of Object.entries(report.errors)) {
        const key = `${displayName}/${jobId}: ${message}`;
        if (this.#recoveryProblems.has(key)) continue;
        this.#recoveryProblems.add(key);
        this.#error(
          `Could not recover job ${jobId} of ${displayName}`,
          new Error(message),
          { displayName, jobId },
        );
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

  /** Takes and handles one job of a backend, if it has one. */
  async #takeOne(entry: Entry): Promise<void> {
    const { displayName } = entry;
    let held: Held;
    try {
      const next = await getNextJobInQueue(this.#adapter, displayName, {
        leaseMs: this.#s.leaseMs,
        now: this.#s.now,
        skip: this.#run.watch.skipped(),
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
    const { jobId } = held.ref;
    this.#s.emit({ type: "claimed", displayName, jobId });
    try {
      const outcome = await runJob(this.#run, held);
      switch (outcome.kind) {
        case "done":
          this.#summary.done++;
          this.#s.emit({
            type: "done",
            displayName,
            jobId,
            durationMs: Math.max(this.#s.now() - held.claimedAt, 0),
          });
          break;
        case "failed":
          this.#summary.failed++;
          this.#s.emit({
            type: "failed",
            displayName,
            jobId,
            message: outcome.message,
          });
          break;
        case "released":
        case "waiting":
          this.#summary.released++;
          this.#s.emit({ type: "released", displayName, jobId });
          break;
        case "lost":
          this.#error(
            `Lost the lease on job ${jobId} of ${displayName}; its result is not recorded`,
            outcome.reason,
            { displayName, jobId },
          );
      }
    } catch (error) {
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
      await releaseJob(this.#adapter, {
        ...held.ref,
        failure: oneLine(error),
        maxAttempts: this.#s.maxAttempts,
        leaseMs: this.#s.leaseMs,
        now: this.#s.now,
      }).catch(() => {});
    }
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

export { oneLine };
