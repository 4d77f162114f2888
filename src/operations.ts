/**
 * The operator's side: cancel a job, retry a failed one, list a backend's
 * jobs, and purge old finished and failed ones. Cancel and retry are
 * transitions of the job protocol (`protocol.ts`), decided by one atomic step
 * each; purge decides each job by removing its job file, so that it never
 * removes a job that is being retried or has not finished.
 *
 * @module
 */

import type { StorageAdapter } from "./adapter.ts";
import { InvalidRecordError, NotFoundError } from "./errors.ts";
import {
  DELETED,
  finishedPath,
  leasesPath,
  metaPath,
  queuedPath,
  resultsPath,
  RUNNING,
  statusPath,
} from "./layout.ts";
import {
  assertDisplayName,
  assertJobId,
  assertUsername,
  describeValue,
} from "./names.ts";
import { transitionsOf } from "./protocol.ts";
import {
  type Clock,
  clockOf,
  deleteIfExists,
  numberOption,
  readIfReadable,
} from "./records.ts";
import { JobMeta, parseStoredTime, StatusMsg } from "./schemas.ts";

/** Where a job is, as {@linkcode listJobs} and {@linkcode purgeJobs} name it. */
export type JobState = "queued" | "running" | "finished" | "failed";

const STATES: readonly JobState[] = ["queued", "running", "finished", "failed"];

/** Options of {@linkcode cancelJob}. */
export interface CancelOptions {
  /** The backend's display name. */
  displayName: string;
  /** The job's id. */
  jobId: string;
  /**
   * The user who asks: only their own jobs (and jobs without a recorded
   * owner) can be cancelled; another user's job is answered as if it did not
   * exist. Without it (an operator), any job.
   */
  username?: string;
  /**
   * Who cancels, for the message the job's status gets.
   *
   * @default {username, else "an operator"}
   */
  by?: string;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/**
 * Cancels a job. A queued job ends ERROR at once, in `jobs/deleted`, with the
 * message `Cancelled by <by>.`; its move out of the queue decides, so a worker
 * that takes it at the same moment either got it first (then the job runs and
 * is asked to stop) or does not get it. A running job is marked: its worker
 * (`runWorker`) aborts its `execute` signal and the job ends ERROR with the
 * message, whatever `execute` returns.
 *
 * @param adapter The storage.
 * @param options The backend, the job, who asks and who cancels.
 * @returns `"cancelled"` when the job is ERROR now, `"requested"` when its worker stops it.
 * @throws {NotFoundError} When the backend has no such job (or it is another user's).
 * @throws {JobStateError} When the job ended already, or another tool's worker runs it.
 * @throws {InvalidNameError} When a name or the id is not acceptable.
 *
 * @example Cancel a queued job
 * ```ts
 * import assert from "node:assert/strict";
 * import { cancelJob, getStatus, uploadJob } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const { adapter } = await createTestAdapter({ backends: [testBackendConfig("spins")] });
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const ref = { displayName: "spins", username: "alice", jobId: "" };
 * ref.jobId = await uploadJob(adapter, { job, ...ref });
 * assert.equal(await cancelJob(adapter, ref), "cancelled");
 * const status = await getStatus(adapter, ref);
 * assert.equal(status.error_message, "Cancelled by alice.");
 * ```
 */
export async function cancelJob(
  adapter: StorageAdapter,
  options: CancelOptions,
): Promise<"cancelled" | "requested"> {
  const displayName = assertDisplayName(options?.displayName);
  const jobId = assertJobId(options.jobId);
  const username = options.username === undefined
    ? undefined
    : assertUsername(options.username);
  const by = options.by === undefined
    ? username ?? "an operator"
    : assertUsername(options.by);
  const now = clockOf(options);
  if (username !== undefined) {
    const meta = await readIfReadable(
      adapter,
      { path: metaPath(displayName), id: jobId },
      JobMeta,
    );
    if (meta?.username != null && meta.username !== username) {
      throw new NotFoundError(
        `Cannot cancel job ${jobId} of ${displayName}: there is no such job`,
      );
    }
  }
  return await transitionsOf(adapter).cancel({ displayName, jobId }, {
    message: `Cancelled by ${by}.`,
    now,
  });
}

/** Options of {@linkcode retryJob}. */
export interface RetryOptions {
  /** The backend's display name. */
  displayName: string;
  /** The job's id. */
  jobId: string;
  /**
   * Who retries, for the detail the job's status gets.
   *
   * @default {"an operator"}
   */
  by?: string;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/**
 * Puts a job that ended ERROR back at the head of its queue, for a failure
 * that has passed (a full disk, a machine that was down): its attempts are
 * reset and its status is INITIALIZING again. The move out of
 * `jobs/deleted` decides, so two retries of one job queue it once.
 *
 * @param adapter The storage.
 * @param options The backend, the job and who retries.
 * @returns Nothing.
 * @throws {NotFoundError} When the backend has no such failed job.
 * @throws {InvalidNameError} When a name or the id is not acceptable.
 *
 * @example Retry a failed job
 * ```ts
 * import assert from "node:assert/strict";
 * import { getStatus, retryJob } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds: [jobId] } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [{ displayName: "spins", username: "alice", job, state: "error" }],
 * });
 * await retryJob(adapter, { displayName: "spins", jobId });
 * const status = await getStatus(adapter, { displayName: "spins", username: "alice", jobId });
 * assert.equal(status.status, "INITIALIZING");
 * ```
 */
export async function retryJob(
  adapter: StorageAdapter,
  options: RetryOptions,
): Promise<void> {
  const displayName = assertDisplayName(options?.displayName);
  const jobId = assertJobId(options.jobId);
  const by = options.by === undefined
    ? "an operator"
    : assertUsername(options.by);
  await transitionsOf(adapter).retry({ displayName, jobId }, {
    detail: `Got your json.; Retried by ${by}`,
    now: clockOf(options),
  });
}

/** A job as {@linkcode listJobs} lists it. */
export interface JobSummary {
  /** The job's id. */
  jobId: string;
  /** Where it is. */
  state: JobState;
  /** Who submitted it; `null` when another tool submitted it. */
  username: string | null;
  /**
   * When it was submitted, as ISO 8601: from its owner record, else from its
   * job file's time (where the storage has file times); `null` when unknown.
   */
  submittedAt: string | null;
  /** Its failed attempts so far. */
  attempts: number;
  /** How long ago it was submitted, in milliseconds; `null` when unknown. */
  ageMs: number | null;
}

/** Options of {@linkcode listJobs}. */
export interface ListJobsOptions {
  /** The backend's display name. */
  displayName: string;
  /** Only jobs in this state; all states when not given. */
  state?: JobState;
  /**
   * At most this many jobs, oldest first within each state, in the order
   * queued, running, finished, failed.
   *
   * @default {100}
   */
  limit?: number;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/**
 * Lists a backend's jobs with their owner, submission time, attempts and
 * age. It lists folders, so its cost grows with their size; it is meant for
 * operators, not for every request.
 *
 * @param adapter The storage.
 * @param options The backend, which state, how many, and the clock.
 * @returns The jobs.
 * @throws {InvalidNameError} When the display name is not acceptable.
 * @throws {InvalidRecordError} When the state or the limit is not acceptable.
 *
 * @example List a backend's queued jobs
 * ```ts
 * import assert from "node:assert/strict";
 * import { listJobs } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [
 *     { displayName: "spins", username: "alice", job },
 *     { displayName: "spins", username: "bob", job, state: "done" },
 *   ],
 * });
 * const queued = await listJobs(adapter, { displayName: "spins", state: "queued" });
 * assert.deepEqual(queued.map((j) => [j.jobId, j.username]), [[jobIds[0], "alice"]]);
 * ```
 */
export async function listJobs(
  adapter: StorageAdapter,
  options: ListJobsOptions,
): Promise<JobSummary[]> {
  const displayName = assertDisplayName(options?.displayName);
  const states = options.state === undefined
    ? STATES
    : [checkState(options.state)];
  const limit = numberOption(options.limit, {
    what: "limit",
    fallback: 100,
    min: 1,
    integer: true,
  });
  const now = clockOf(options)();
  const jobs: JobSummary[] = [];
  for (const state of states) {
    for (const jobId of await idsIn(adapter, displayName, state)) {
      if (jobs.length >= limit) return jobs;
      const meta = await readIfReadable(
        adapter,
        { path: metaPath(displayName), id: jobId },
        JobMeta,
      );
      const submitted = meta?.submitted_at != null
        ? parseStoredTime(meta.submitted_at)
        : await adapter.writtenAt?.(folderOf(displayName, state), jobId);
      const known = submitted !== undefined && !Number.isNaN(submitted);
      jobs.push({
        jobId,
        state,
        username: meta?.username ?? null,
        submittedAt: known ? new Date(submitted).toISOString() : null,
        attempts: meta?.attempts ?? 0,
        ageMs: known ? Math.max(now - submitted, 0) : null,
      });
    }
  }
  return jobs;
}

/** Options of {@linkcode purgeJobs}. */
export interface PurgeOptions {
  /** The backend's display name. */
  displayName: string;
  /**
   * Only jobs that ended longer ago than this, in milliseconds (by the time
   * their final status was written, where the storage has file times; else
   * by their submission).
   */
  olderThanMs: number;
  /**
   * Which ended jobs to remove.
   *
   * @default {["finished", "failed"]}
   */
  states?: ("finished" | "failed")[];
  /**
   * Only say what would be removed.
   *
   * @default {false}
   */
  dryRun?: boolean;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/**
 * Removes a backend's finished and failed jobs that ended longer ago than
 * `olderThanMs`, with their status, result, owner record and lease, so that
 * `jobs/finished`, `results/` and `status/` do not grow forever. Each job is
 * decided by removing its job file: a job that a retry takes back to its
 * queue at the same moment is left alone, and a job that has not ended is
 * never looked at.
 *
 * @param adapter The storage.
 * @param options The backend, the age, which states, and whether to only say what would go.
 * @returns The jobs removed (or, with `dryRun`, that would be).
 * @throws {InvalidNameError} When the display name is not acceptable.
 * @throws {InvalidRecordError} When the age or a state is not acceptable.
 *
 * @example Remove what finished more than a day ago
 * ```ts
 * import assert from "node:assert/strict";
 * import { purgeJobs } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [{ displayName: "spins", username: "alice", job, state: "done" }],
 * });
 * const twoDaysLater = () => Date.now() + 2 * 24 * 3_600_000;
 * const removed = await purgeJobs(adapter, {
 *   displayName: "spins",
 *   olderThanMs: 24 * 3_600_000,
 *   now: twoDaysLater,
 * });
 * assert.deepEqual(removed.map((j) => j.jobId), jobIds);
 * ```
 */
export async function purgeJobs(
  adapter: StorageAdapter,
  options: PurgeOptions,
): Promise<JobSummary[]> {
  const displayName = assertDisplayName(options?.displayName);
  if (options.olderThanMs === undefined) {
    throw new InvalidRecordError(
      "Invalid olderThanMs undefined: purgeJobs needs an age, in milliseconds",
    );
  }
  const olderThanMs = numberOption(options.olderThanMs, {
    what: "age",
    fallback: 0,
  });
  const given: unknown = options.states ?? ["finished", "failed"];
  if (!Array.isArray(given)) {
    throw new InvalidRecordError(
      `Invalid states ${
        describeValue(given)
      } to purge: expected a list of "finished" and "failed"`,
    );
  }
  const states = given.map((state) => {
    if (state !== "finished" && state !== "failed") {
      throw new InvalidRecordError(
        `Invalid state ${
          describeValue(state)
        } to purge: expected "finished" or "failed"`,
      );
    }
    return state;
  });
  const dryRun = options.dryRun ?? false;
  const now = clockOf(options)();
  const removed: JobSummary[] = [];
  for (const state of states) {
    const folder = folderOf(displayName, state);
    for (const jobId of await idsIn(adapter, displayName, state)) {
      const meta = await readIfReadable(
        adapter,
        { path: metaPath(displayName), id: jobId },
        JobMeta,
      );
      // Only a job whose final status is recorded has ended: a job being
      // cancelled or finished right now is left for a later purge.
      const status = await readIfReadable(
        adapter,
        { path: statusPath(displayName), id: jobId },
        StatusMsg,
      );
      if (status?.status !== (state === "finished" ? "DONE" : "ERROR")) {
        continue;
      }
      const ended = await adapter.writtenAt?.(statusPath(displayName), jobId) ??
        (meta?.submitted_at != null
          ? parseStoredTime(meta.submitted_at)
          : undefined);
      if (ended === undefined || Number.isNaN(ended)) continue;
      if (now - ended <= olderThanMs) continue;
      const summary: JobSummary = {
        jobId,
        state,
        username: meta?.username ?? null,
        submittedAt: meta?.submitted_at != null
          ? new Date(parseStoredTime(meta.submitted_at)).toISOString()
          : null,
        attempts: meta?.attempts ?? 0,
        ageMs: Math.max(now - ended, 0),
      };
      if (!dryRun) {
        // The job file decides: gone (retried, or purged by another) means
        // it is not this call's to remove.
        if (!await deleteIfExists(adapter, { path: folder, id: jobId })) {
          continue;
        }
        for (
          const path of [
            resultsPath(displayName),
            statusPath(displayName),
            metaPath(displayName),
            leasesPath(displayName),
          ]
        ) {
          await deleteIfExists(adapter, { path, id: jobId });
        }
      }
      removed.push(summary);
    }
  }
  return removed;
}

function checkState(state: unknown): JobState {
  if (!STATES.includes(state as JobState)) {
    throw new InvalidRecordError(
      `Invalid state ${describeValue(state)}: expected one of ${
        STATES.join(", ")
      }`,
    );
  }
  return state as JobState;
}

function folderOf(displayName: string, state: JobState): string {
  switch (state) {
    case "queued":
      return queuedPath(displayName);
    case "running":
      return RUNNING;
    case "finished":
      return finishedPath(displayName);
    case "failed":
      return DELETED;
  }
}

/** The ids of a backend's jobs in a state; shared folders are filtered by the backend's records. */
async function idsIn(
  adapter: StorageAdapter,
  displayName: string,
  state: JobState,
): Promise<string[]> {
  const ids = await adapter.list(folderOf(displayName, state));
  if (state === "queued" || state === "finished") return ids;
  // jobs/running and jobs/deleted hold every backend's jobs.
  const mine = new Set([
    ...await adapter.list(statusPath(displayName)),
    ...await adapter.list(metaPath(displayName)),
    ...(state === "running" ? await adapter.list(leasesPath(displayName)) : []),
  ]);
  return ids.filter((id) => mine.has(id));
}
