/**
 * Keeping queues healthy when workers die: leases that a worker extends while
 * it works, recovery of the jobs of workers that stopped, and counts of what
 * is queued, running, finished and failed.
 *
 * Delivery is at least once: a job whose worker died is run again, so a job
 * may run more than once, but it is never lost. Each recovery is counted in
 * the job's `attempts`.
 *
 * @module
 */

import type { StorageAdapter } from "./adapter.ts";
import { CorruptRecordError, NotFoundError } from "./errors.ts";
import { DEFAULT_LEASE_MS, leaseFor, writeLease } from "./jobs.ts";
import {
  DELETED,
  finishedPath,
  leasesPath,
  metaPath,
  queuedPath,
  recoveringPath,
  resultsPath,
  RUNNING,
  statusPath,
} from "./layout.ts";
import { assertDisplayName, assertJobId } from "./names.ts";
import {
  type Clock,
  clockOf,
  deleteIfExists,
  moveIfExists,
  numberOption,
  putRecord,
  readIfReadable,
  readRecord,
} from "./records.ts";
import { JobMeta, Lease, parseStoredTime, StatusMsg } from "./schemas.ts";

/** Options of {@linkcode recoverStaleJobs}. */
export interface RecoverOptions {
  /** The backend's display name. */
  displayName: string;
  /**
   * A running job is stale when its lease was taken or extended more than
   * this many milliseconds ago. Without it, a job is stale once its lease's
   * `expires_at` has passed.
   */
  olderThanMs?: number;
  /**
   * After this many workers took a job and stopped, it is marked ERROR
   * instead of being queued again.
   *
   * @default {3}
   */
  maxAttempts?: number;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/** What {@linkcode recoverStaleJobs} did. */
export interface RecoveryReport {
  /** Jobs put back at the head of their queue. */
  requeued: string[];
  /** Jobs marked ERROR because too many workers stopped on them. */
  failed: string[];
  /** Jobs that had a final status but were still in `jobs/running`; moved where they belong. */
  completed: string[];
  /**
   * Running jobs without a lease (taken by another tool, or by a worker that
   * died right after taking them): they got a lease now, and are recovered by
   * a later call if they are still running then.
   */
  adopted: string[];
  /** Jobs whose lease is still good. */
  alive: string[];
  /** For each requeued or failed job: how many workers took it and stopped. */
  attempts: Record<string, number>;
}

/**
 * Finds the running jobs of a backend whose worker stopped (their lease is
 * stale) and puts each back at the head of its queue, or marks it ERROR once
 * `maxAttempts` workers stopped on it. Call it when a worker starts and now
 * and then; any number of processes may call it at once.
 *
 * @param adapter The storage.
 * @param options The backend, when a lease is stale, how many attempts a job gets, and the clock.
 * @returns What was done, job by job.
 * @throws {InvalidNameError} When the display name is not acceptable.
 *
 * @example Recover the job of a worker that died
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   getNextJobInQueue, MemoryAdapter, recoverStaleJobs, uploadConfig, uploadJob,
 * } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * await uploadConfig(adapter, {
 *   description: "d", version: "1.0.0", display_name: "spins", cold_atom_type: "spin",
 *   gates: [], max_experiments: 10, max_shots: 100, simulator: true,
 *   supported_instructions: [], num_wires: 5, wire_order: "linear", num_species: 1,
 * });
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "linear" } };
 * const jobId = await uploadJob(adapter, { job, displayName: "spins", username: "alice" });
 * let time = Date.parse("2026-11-28T10:00:00Z");
 * const now = () => time;
 * await getNextJobInQueue(adapter, "spins", { now }); // this worker then dies
 * time += 60_000;
 * const report = await recoverStaleJobs(adapter, { displayName: "spins", olderThanMs: 30_000, now });
 * assert(report.requeued[0] === jobId && report.attempts[jobId] === 1);
 * ```
 */
export async function recoverStaleJobs(
  adapter: StorageAdapter,
  options: RecoverOptions,
): Promise<RecoveryReport> {
  const display = assertDisplayName(options?.displayName);
  const maxAttempts = numberOption(options.maxAttempts, {
    what: "number of attempts",
    fallback: 3,
    min: 1,
    integer: true,
  });
  const olderThanMs = options.olderThanMs === undefined
    ? undefined
    : numberOption(options.olderThanMs, { what: "age", fallback: 0 });
  const clock = clockOf(options);
  const report: RecoveryReport = {
    requeued: [],
    failed: [],
    completed: [],
    adopted: [],
    alive: [],
    attempts: {},
  };
  const leased = new Set(await adapter.list(leasesPath(display)));
  const running = await adapter.list(RUNNING);
  const runningSet = new Set(running);
  // A lease whose job left jobs/running: its worker stopped between moving the
  // job and writing down why.
  for (const jobId of leased) {
    if (!runningSet.has(jobId)) {
      await settle(adapter, { display, jobId, report });
    }
  }
  for (const jobId of running) {
    const { status, lease, ours } = await runningJob(adapter, {
      display,
      jobId,
      leased,
    });
    if (!ours) continue;
    if (status?.status === "DONE" || status?.status === "ERROR") {
      // Written by a tool that sets the status before it moves the job.
      const target = status.status === "DONE" ? finishedPath(display) : DELETED;
      if (
        await moveIfExists(adapter, { from: RUNNING, to: target, id: jobId })
      ) {
        report.completed.push(jobId);
      }
      await deleteIfExists(adapter, { path: leasesPath(display), id: jobId });
      continue;
    }
    if (lease === undefined) {
      await writeLease(adapter, {
        displayName: display,
        jobId,
        leaseMs: olderThanMs || DEFAULT_LEASE_MS,
        now: clock,
      });
      report.adopted.push(jobId);
      continue;
    }
    const now = clock();
    const stale = olderThanMs === undefined
      ? now > parseStoredTime(lease.expires_at)
      : now - parseStoredTime(lease.claimed_at) > olderThanMs;
    if (!stale) {
      report.alive.push(jobId);
      continue;
    }
    await recoverOne(adapter, {
      display,
      jobId,
      lease,
      status,
      maxAttempts,
      report,
    });
  }
  return report;
}

/** What the steps of {@linkcode recoverStaleJobs} work on. */
interface Recovery {
  display: string;
  jobId: string;
  report: RecoveryReport;
}

/**
 * Recovers one job with a stale lease. Moving the lease aside first makes this
 * process the only one to recover it; a lease that changed meanwhile (the job
 * was recovered and taken again) is put back untouched.
 */
async function recoverOne(
  adapter: StorageAdapter,
  job: Recovery & {
    lease: Lease;
    status: StatusMsg | undefined;
    maxAttempts: number;
  },
): Promise<void> {
  const { display, jobId, report } = job;
  const aside = {
    from: leasesPath(display),
    to: recoveringPath(display),
    id: jobId,
  };
  if (!await moveIfExists(adapter, aside)) return;
  try {
    const held = await readIfReadable(
      adapter,
      { path: recoveringPath(display), id: jobId },
      Lease,
    );
    if (held?.claimed_at !== job.lease.claimed_at) {
      await moveIfExists(adapter, {
        from: aside.to,
        to: aside.from,
        id: jobId,
      });
      return;
    }
    let meta: JobMeta | undefined;
    let unreadable: string | undefined;
    try {
      meta = await readRecord(
        adapter,
        { path: metaPath(display), id: jobId },
        JobMeta,
      );
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
      // Rewriting it would lose the owner and show the job to everyone.
      unreadable = error.message;
    }
    const attempts = (meta?.attempts ?? 0) + 1;
    if (unreadable !== undefined || attempts >= job.maxAttempts) {
      // The move decides: a worker that finishes the job at the same time
      // either moved it first (and its outcome stands) or finds it gone.
      if (
        !await moveIfExists(adapter, { from: RUNNING, to: DELETED, id: jobId })
      ) return;
      await putRecord(adapter, { path: statusPath(display), id: jobId }, {
        job_id: jobId,
        status: "ERROR",
        detail: job.status?.detail ?? "Got your json.",
        error_message: unreadable === undefined
          ? `Job ${jobId} was taken by ${attempts} workers that stopped without finishing it; it is not run again.`
          : `Job ${jobId} is not run again: its worker stopped, and ${unreadable}.`,
      });
      report.failed.push(jobId);
    } else {
      const requeue = { from: RUNNING, to: queuedPath(display), id: jobId };
      if (!await moveIfExists(adapter, requeue)) return;
      report.requeued.push(jobId);
    }
    if (unreadable === undefined) {
      await putRecord(adapter, { path: metaPath(display), id: jobId }, {
        ...(meta ?? { job_id: jobId, username: null, submitted_at: null }),
        attempts,
      });
    }
    report.attempts[jobId] = attempts;
  } finally {
    await deleteIfExists(adapter, { path: recoveringPath(display), id: jobId });
  }
}

/**
 * Completes the record of a job whose lease outlived its place in
 * `jobs/running`: a worker moved it (the decision) and stopped before it wrote
 * the status, or a release stopped before it dropped the lease.
 */
async function settle(adapter: StorageAdapter, job: Recovery): Promise<void> {
  const { display, jobId, report } = job;
  const status = await readIfReadable(
    adapter,
    { path: statusPath(display), id: jobId },
    StatusMsg,
  );
  const final = status?.status === "DONE" || status?.status === "ERROR";
  if (!final && await holds(adapter, finishedPath(display), jobId)) {
    if (await holds(adapter, resultsPath(display), jobId)) {
      await putRecord(adapter, { path: statusPath(display), id: jobId }, {
        job_id: jobId,
        status: "DONE",
        detail: `${status?.detail ?? "Got your json."}; All done`,
        error_message: "None",
      });
      report.completed.push(jobId);
    } else if (
      // The result was lost with the worker: the job runs again.
      await moveIfExists(adapter, {
        from: finishedPath(display),
        to: queuedPath(display),
        id: jobId,
      })
    ) report.requeued.push(jobId);
  } else if (!final && await holds(adapter, DELETED, jobId)) {
    await putRecord(adapter, { path: statusPath(display), id: jobId }, {
      job_id: jobId,
      status: "ERROR",
      detail: status?.detail ?? "Got your json.",
      error_message:
        `The worker of job ${jobId} stopped while it recorded why the job failed.`,
    });
    report.completed.push(jobId);
  }
  // A job that is queued again, or gone, needs no lease either.
  if (!await holds(adapter, RUNNING, jobId)) {
    await deleteIfExists(adapter, { path: leasesPath(display), id: jobId });
  }
}

/**
 * What this backend knows of a job in `jobs/running`, which all backends
 * share: its status, its lease, and whether it is this backend's at all (it
 * has a lease, a status or an owner record here).
 */
async function runningJob(
  adapter: StorageAdapter,
  job: { display: string; jobId: string; leased: ReadonlySet<string> },
): Promise<{ status?: StatusMsg; lease?: Lease; ours: boolean }> {
  const key = (path: string) => ({ path, id: job.jobId });
  const status = await readIfReadable(
    adapter,
    key(statusPath(job.display)),
    StatusMsg,
  );
  const lease = job.leased.has(job.jobId)
    ? await readIfReadable(adapter, key(leasesPath(job.display)), Lease)
    : undefined;
  const ours = job.leased.has(job.jobId) || status !== undefined ||
    await holds(adapter, metaPath(job.display), job.jobId);
  return { status, lease, ours };
}

/** Whether a folder holds a record. */
async function holds(
  adapter: StorageAdapter,
  path: string,
  id: string,
): Promise<boolean> {
  try {
    await adapter.get(path, id);
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    if (error instanceof CorruptRecordError) return true;
    throw error;
  }
}

/** Which job to release, for {@linkcode releaseJob}. */
export interface ReleaseOptions {
  /** The backend's display name. */
  displayName: string;
  /** The job's id. */
  jobId: string;
}

/**
 * Gives a running job back: moves it from `jobs/running` to the head of its
 * queue (a move keeps its place) and drops its lease, so that the next worker
 * takes it first. For a worker that stops before it could finish a job.
 *
 * @param adapter The storage.
 * @param options The backend and the job.
 * @returns Whether the job was released; false when it was no longer running.
 * @throws {InvalidNameError} When the display name or the id is not acceptable.
 *
 * @example A worker that must stop gives its job back
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   getFileQueue, getNextJobInQueue, MemoryAdapter, queuedPath, releaseJob, uploadConfig, uploadJob,
 * } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * await uploadConfig(adapter, {
 *   description: "d", version: "1.0.0", display_name: "spins", cold_atom_type: "spin",
 *   gates: [], max_experiments: 10, max_shots: 100, simulator: true,
 *   supported_instructions: [], num_wires: 5, wire_order: "linear", num_species: 1,
 * });
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "linear" } };
 * const jobId = await uploadJob(adapter, { job, displayName: "spins", username: "alice" });
 * await getNextJobInQueue(adapter, "spins");
 * assert(await releaseJob(adapter, { displayName: "spins", jobId }));
 * assert.deepEqual(await getFileQueue(adapter, queuedPath("spins")), [jobId]);
 * ```
 */
export async function releaseJob(
  adapter: StorageAdapter,
  options: ReleaseOptions,
): Promise<boolean> {
  const displayName = assertDisplayName(options?.displayName);
  const jobId = assertJobId(options.jobId);
  // jobs/running is shared by all backends: the lease says whose job it is.
  if (!await holds(adapter, leasesPath(displayName), jobId)) return false;
  const moved = await moveIfExists(adapter, {
    from: RUNNING,
    to: queuedPath(displayName),
    id: jobId,
  });
  if (moved) {
    await deleteIfExists(adapter, { path: leasesPath(displayName), id: jobId });
  }
  return moved;
}

/** Options of {@linkcode extendLease}. */
export interface ExtendLeaseOptions {
  /** The backend's display name. */
  displayName: string;
  /** The job's id. */
  jobId: string;
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
 * its lease. Call it now and then while the job runs.
 *
 * @param adapter The storage.
 * @param options The backend, the job, the lease's new length, and the clock.
 * @returns The new lease.
 * @throws {NotFoundError} When the job has no lease: it was recovered and may run elsewhere.
 *
 * @example Keep a long job's lease for another minute
 * ```ts
 * import assert from "node:assert/strict";
 * import { extendLease } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "linear" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [{ displayName: "spins", username: "alice", job, state: "running" }],
 * });
 * const lease = await extendLease(adapter, {
 *   displayName: "spins",
 *   jobId: jobIds[0],
 *   leaseMs: 60_000,
 *   now: () => Date.parse("2026-11-28T10:00:00Z"),
 * });
 * assert(lease.expires_at === "2026-11-28T10:01:00.000Z");
 * ```
 *
 * @example A job without a lease cannot be extended
 * ```ts
 * import assert from "node:assert/strict";
 * import { extendLease, MemoryAdapter, NotFoundError } from "@sqooler/storage";
 *
 * const error = await extendLease(new MemoryAdapter(), {
 *   displayName: "spins",
 *   jobId: "0123456789abcdef01234567",
 * }).catch((e) => e);
 * assert(error instanceof NotFoundError);
 * ```
 */
export async function extendLease(
  adapter: StorageAdapter,
  options: ExtendLeaseOptions,
): Promise<Lease> {
  const displayName = assertDisplayName(options?.displayName);
  const jobId = assertJobId(options.jobId);
  const leaseMs = numberOption(options.leaseMs, {
    what: "lease length",
    fallback: DEFAULT_LEASE_MS,
    min: 1,
  });
  const lease = leaseFor(jobId, { now: clockOf(options)(), leaseMs });
  try {
    await adapter.update(leasesPath(displayName), jobId, lease);
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw new NotFoundError(
        `Cannot extend the lease on job ${jobId} of ${displayName}: it has none; it was recovered or finished`,
      );
    }
    throw error;
  }
  return lease;
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
  /** The running jobs, with the age of their lease (`null`: no lease). */
  runningJobs: { jobId: string; leaseAgeMs: number | null }[];
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
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "linear" } };
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
  const leased = new Set(await adapter.list(leasesPath(display)));
  const runningJobs: QueueStats["runningJobs"] = [];
  for (const jobId of await adapter.list(RUNNING)) {
    const { lease, ours } = await runningJob(adapter, {
      display,
      jobId,
      leased,
    });
    if (!ours) continue;
    runningJobs.push({
      jobId,
      leaseAgeMs: lease === undefined
        ? null
        : Math.max(now - parseStoredTime(lease.claimed_at), 0),
    });
  }
  const ages = runningJobs.flatMap((job) => job.leaseAgeMs ?? []);
  const statuses = new Set(await adapter.list(statusPath(display)));
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
