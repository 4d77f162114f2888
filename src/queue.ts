/**
 * Keeping queues healthy when workers die: leases that a worker extends while
 * it works, a worker giving a job back, recovery of the jobs of workers that
 * stopped, and counts of what is queued, running, finished and failed. Each
 * transition is the job protocol's (`protocol.ts`).
 *
 * A job whose worker died runs again: a job runs once unless its worker
 * stopped (or its storage refused its outcome) before its outcome was
 * recorded; each such failed attempt is counted, and after `maxAttempts` of
 * them the job ends ERROR.
 *
 * @module
 */

import { records, type StorageAdapter } from "./adapter.ts";
import { DEFAULT_LEASE_MS } from "./jobs.ts";
import {
  DELETED,
  finishedPath,
  metaPath,
  queuedPath,
  RUNNING,
  statusPath,
} from "./layout.ts";
import { assertDisplayName, assertJobId, assertToken } from "./names.ts";
import { transitionsOf } from "./protocol.ts";
import {
  type Clock,
  clockOf,
  numberOption,
  readIfReadable,
} from "./records.ts";
import { JobMeta, type Lease, parseStoredTime } from "./schemas.ts";
import type { RecoveryReport } from "./transitions.ts";

export type { RecoveryReport };

/** Options of {@linkcode recoverStaleJobs}. */
export interface RecoverOptions {
  /** The backend's display name. */
  displayName: string;
  /**
   * A running job is stale once its lease's `expires_at` is more than this
   * many milliseconds in the past: a margin for clocks that disagree between
   * processes. A lease that its holder keeps renewing is never stale,
   * whatever this says.
   *
   * @default {0}
   */
  olderThanMs?: number;
  /**
   * After this many failed attempts (workers that stopped, results the
   * storage refused), a job ends ERROR instead of being queued again.
   *
   * @default {3}
   */
  maxAttempts?: number;
  /**
   * Also put back in their queue the running jobs that have no lease: jobs
   * that another tool's worker (such as sqooler's Python worker) took, which
   * may still be running. Off by default; they are only reported.
   *
   * @default {false}
   */
  requeueUnleased?: boolean;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/**
 * Finds the running jobs of a backend whose lease is stale (their worker
 * stopped) and puts each back at the head of its queue, or marks it ERROR
 * once it has `maxAttempts` failed attempts; finishes recording outcomes
 * that a stopped worker had decided; and reports running jobs without a
 * lease (another tool's), which it leaves alone unless `requeueUnleased`.
 * Each job is recovered by a compare-and-swap of its stale lease, so a fresh
 * lease is never touched and two recovering processes never both act on one
 * job. Call it when a worker starts and now and then; `runWorker` does.
 *
 * @param adapter The storage.
 * @param options The backend, when a lease is stale, how many attempts a job gets, and the clock.
 * @returns What was done, job by job.
 * @throws {InvalidNameError} When the display name is not acceptable.
 * @throws {InvalidRecordError} When an option is not acceptable.
 * @throws {StorageError} When the storage refuses.
 *
 * @example Recover the job of a worker that died
 * ```ts
 * import assert from "node:assert/strict";
 * import { getNextJobInQueue, recoverStaleJobs, uploadJob } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const { adapter } = await createTestAdapter({ backends: [testBackendConfig("spins")] });
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const jobId = await uploadJob(adapter, { job, displayName: "spins", username: "alice" });
 * let time = Date.parse("2026-11-28T10:00:00Z");
 * const now = () => time;
 * await getNextJobInQueue(adapter, "spins", { now, leaseMs: 30_000 }); // this worker then dies
 * time += 60_000; // its lease ran out half a minute ago
 * const report = await recoverStaleJobs(adapter, { displayName: "spins", now });
 * assert(report.requeued[0] === jobId && report.attempts[jobId] === 1);
 * ```
 */
export async function recoverStaleJobs(
  adapter: StorageAdapter,
  options: RecoverOptions,
): Promise<RecoveryReport> {
  const displayName = assertDisplayName(options?.displayName);
  const maxAttempts = attemptsOption(options.maxAttempts);
  const olderThanMs = options.olderThanMs === undefined
    ? undefined
    : numberOption(options.olderThanMs, { what: "age", fallback: 0 });
  const requeueUnleased = records.flag(
    options.requeueUnleased ?? false,
    "requeueUnleased",
  );
  return await transitionsOf(adapter).recover(displayName, {
    olderThanMs,
    maxAttempts,
    requeueUnleased,
    leaseMs: DEFAULT_LEASE_MS,
    now: clockOf(options),
  });
}

/**
 * Checks a number of attempts: a whole number from 1; 3 when not given.
 *
 * @internal
 */
export function attemptsOption(value: unknown): number {
  return numberOption(value, {
    what: "number of attempts",
    fallback: 3,
    min: 1,
    max: 1_000_000,
    integer: true,
  });
}

/** Which job to release, for {@linkcode releaseJob}. */
export interface ReleaseOptions {
  /** The backend's display name. */
  displayName: string;
  /** The job's id. */
  jobId: string;
  /**
   * The fencing token of the worker's claim. Without it the call is
   * unfenced: it releases the job under whatever lease it has.
   */
  token?: string;
  /**
   * Why the attempt failed, if it did: the release then counts as a failed
   * attempt, and after `maxAttempts` of them the job ends ERROR with this
   * reason. Without it the job goes back unharmed.
   */
  failure?: string;
  /**
   * With `failure`: how many failed attempts a job gets.
   *
   * @default {3}
   */
  maxAttempts?: number;
  /**
   * How long others wait, in milliseconds, before they finish recording the
   * release if this call's process stops in the middle: the worker's lease
   * length.
   *
   * @default {600000}
   */
  leaseMs?: number;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/**
 * Gives a running job back: moves it from `jobs/running` to the head of its
 * queue (a move keeps its place) and drops its lease, so that the next worker
 * takes it first. For a worker that stops before it could finish a job.
 *
 * @param adapter The storage.
 * @param options The backend, the job, the token, and why, if the attempt failed.
 * @returns Whether the job went back to its queue; false when it was not
 * running under a lease (it was finished, or another tool holds it), or when a
 * failed attempt was its last and it ended ERROR.
 * @throws {InvalidNameError} When the display name, the id or the token is not acceptable.
 * @throws {LeaseLostError} When the token is no longer the job's current one.
 * @throws {StorageError} When the storage refuses.
 *
 * @example A worker that must stop gives its job back
 * ```ts
 * import assert from "node:assert/strict";
 * import { getFileQueue, getNextJobInQueue, queuedPath, releaseJob, uploadJob } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const { adapter } = await createTestAdapter({ backends: [testBackendConfig("spins")] });
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const jobId = await uploadJob(adapter, { job, displayName: "spins", username: "alice" });
 * const next = await getNextJobInQueue(adapter, "spins");
 * assert(await releaseJob(adapter, { displayName: "spins", jobId, token: next.token }));
 * assert.deepEqual(await getFileQueue(adapter, queuedPath("spins")), [jobId]);
 * ```
 */
export async function releaseJob(
  adapter: StorageAdapter,
  options: ReleaseOptions,
): Promise<boolean> {
  const displayName = assertDisplayName(options?.displayName);
  const jobId = assertJobId(options.jobId);
  const token = options.token === undefined
    ? undefined
    : assertToken(options.token);
  const failure = options.failure === undefined
    ? undefined
    : String(options.failure);
  const maxAttempts = attemptsOption(options.maxAttempts);
  const transitions = transitionsOf(adapter);
  if (token === undefined) {
    // Unfenced: only a job under this backend's lease is this caller's to give back.
    const lease = await transitions.lease(displayName, jobId);
    if (lease?.state !== "running") return false;
  }
  const leaseMs = numberOption(options.leaseMs, {
    what: "lease length",
    fallback: DEFAULT_LEASE_MS,
    min: 1,
  });
  const outcome = await transitions.release({ displayName, jobId, token }, {
    failure,
    maxAttempts,
    leaseMs,
    now: clockOf(options),
  });
  return outcome === "requeued";
}

/** Options of {@linkcode extendLease}. */
export interface ExtendLeaseOptions {
  /** The backend's display name. */
  displayName: string;
  /** The job's id. */
  jobId: string;
  /**
   * The fencing token of the worker's claim. Without it the call is
   * unfenced: it extends whatever lease the job has.
   */
  token?: string;
  /**
   * How long the lease lasts from now, in milliseconds.
   *
   * @default {600000}
   */
  leaseMs?: number;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/**
 * Extends a worker's lease on a running job, for a job that takes longer than
 * its lease. Call it now and then while the job runs; `runWorker` does, every
 * third of the lease.
 *
 * @param adapter The storage.
 * @param options The backend, the job, the token, the lease's new length, and the clock.
 * @returns The new lease.
 * @throws {LeaseLostError} When the token is no longer the job's current one (the lease was recovered, or the job finished).
 * @throws {JobStateError} Without a token, when the job has no lease.
 * @throws {StorageError} When the storage refuses.
 *
 * @example Keep a long job's lease for another minute
 * ```ts
 * import assert from "node:assert/strict";
 * import { extendLease, getNextJobInQueue, uploadJob } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const { adapter } = await createTestAdapter({ backends: [testBackendConfig("spins")] });
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const jobId = await uploadJob(adapter, { job, displayName: "spins", username: "alice" });
 * const { token } = await getNextJobInQueue(adapter, "spins");
 * const lease = await extendLease(adapter, {
 *   displayName: "spins",
 *   jobId,
 *   token,
 *   leaseMs: 60_000,
 *   now: () => Date.parse("2026-11-28T10:00:00Z"),
 * });
 * assert(lease.expires_at === "2026-11-28T10:01:00.000Z");
 * ```
 *
 * @example A job without a lease cannot be extended
 * ```ts
 * import assert from "node:assert/strict";
 * import { extendLease, JobStateError, MemoryAdapter } from "@sqooler/storage";
 *
 * const error = await extendLease(new MemoryAdapter(), {
 *   displayName: "spins",
 *   jobId: "0123456789abcdef01234567",
 * }).catch((e) => e);
 * assert(error instanceof JobStateError);
 * ```
 */
export async function extendLease(
  adapter: StorageAdapter,
  options: ExtendLeaseOptions,
): Promise<Lease> {
  const displayName = assertDisplayName(options?.displayName);
  const jobId = assertJobId(options.jobId);
  const token = options.token === undefined
    ? undefined
    : assertToken(options.token);
  const leaseMs = numberOption(options.leaseMs, {
    what: "lease length",
    fallback: DEFAULT_LEASE_MS,
    min: 1,
  });
  return await transitionsOf(adapter).extend({ displayName, jobId, token }, {
    leaseMs,
    now: clockOf(options),
  });
}

/** What {@linkcode getQueueStats} counts. */
export interface QueueStats {
  /** Jobs waiting in the queue. */
  queued: number;
  /** Age of the oldest waiting job, in milliseconds, when known. */
  oldestQueuedAgeMs: number | null;
  /** Jobs a worker holds. */
  running: number;
  /** Age of the oldest lease on a running job, in milliseconds. */
  oldestLeaseAgeMs: number | null;
  /**
   * The running jobs, with the age of their lease and when it runs out
   * (`null`: no lease; another tool's worker holds the job).
   */
  runningJobs: {
    jobId: string;
    leaseAgeMs: number | null;
    expiresAt: string | null;
  }[];
  /** Jobs that finished (DONE). */
  finished: number;
  /** Jobs that failed (ERROR). */
  failed: number;
}

/**
 * Counts a backend's jobs: queued, running (with lease ages), finished and
 * failed. It lists folders, so its cost grows with their size; it is meant
 * for operators and dashboards, not for every poll.
 *
 * @param adapter The storage.
 * @param displayName The backend's display name.
 * @param options The clock.
 * @returns The counts.
 * @throws {InvalidNameError} When the display name is not acceptable.
 *
 * @example Count a backend's queued and running jobs
 * ```ts
 * import assert from "node:assert/strict";
 * import { getQueueStats, MemoryAdapter, uploadJob } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * await uploadJob(adapter, { job, displayName: "spins", username: "alice" });
 * const stats = await getQueueStats(adapter, "spins");
 * assert(stats.queued === 1 && stats.running === 0);
 * ```
 */
export async function getQueueStats(
  adapter: StorageAdapter,
  displayName: string,
  options: { now?: Clock } = {},
): Promise<QueueStats> {
  const display = assertDisplayName(displayName);
  const now = clockOf(options)();
  const queued = await adapter.list(queuedPath(display));
  let oldestQueuedAgeMs: number | null = null;
  if (queued.length > 0) {
    const meta = await readIfReadable(
      adapter,
      { path: metaPath(display), id: queued[0] },
      JobMeta,
    );
    const submitted = meta?.submitted_at
      ? parseStoredTime(meta.submitted_at)
      : NaN;
    if (!Number.isNaN(submitted)) {
      oldestQueuedAgeMs = Math.max(now - submitted, 0);
    }
  }
  const transitions = transitionsOf(adapter);
  const statuses = new Set(await adapter.list(statusPath(display)));
  const runningJobs: QueueStats["runningJobs"] = [];
  for (const jobId of await adapter.list(RUNNING)) {
    const lease = await transitions.lease(display, jobId).catch(() =>
      undefined
    );
    // jobs/running is shared by all backends: a lease, a status or an owner
    // record here says the job is this backend's.
    const ours = lease !== undefined || statuses.has(jobId) ||
      await readIfReadable(
          adapter,
          { path: metaPath(display), id: jobId },
          JobMeta,
        ) !== undefined;
    if (!ours) continue;
    runningJobs.push({
      jobId,
      leaseAgeMs: lease === undefined
        ? null
        : Math.max(now - parseStoredTime(lease.claimed_at), 0),
      expiresAt: lease?.expires_at ?? null,
    });
  }
  const ages = runningJobs.flatMap((job) => job.leaseAgeMs ?? []);
  const deleted = await adapter.list(DELETED);
  return {
    queued: queued.length,
    oldestQueuedAgeMs,
    running: runningJobs.length,
    oldestLeaseAgeMs: ages.length > 0 ? Math.max(...ages) : null,
    runningJobs,
    finished: (await adapter.list(finishedPath(display))).length,
    failed: deleted.filter((id) => statuses.has(id)).length,
  };
}
