/**
 * Jobs: how the API submits them and reads their status and result, and how a
 * worker takes the next one and writes back what happened.
 *
 * The guarantees, for any number of processes on one storage:
 * - {@linkcode getNextJobInQueue} gives each job to one worker at a time, in
 *   submission order, and records a lease so that a dead worker's job can be
 *   recovered ({@linkcode recoverStaleJobs}).
 * - The final status is the worker's: {@linkcode uploadStatus} never replaces
 *   an existing status, and {@linkcode updateInDatabase} creates a missing one.
 * - Moving a job out of `jobs/running` decides its outcome: of a worker and a
 *   recovery at the same time, the one that moves it first writes the final
 *   status. The result is written before its DONE status, so that a reader
 *   who sees DONE finds the result.
 * - A job's owner is recorded in `meta/`; another user asking for it gets the
 *   same answer as for a job id that does not exist.
 *
 * @module
 */

import { type JsonObject, records, type StorageAdapter } from "./adapter.ts";
import { recentBackendName, timestampQueue } from "./backends.ts";
import {
  AlreadyExistsError,
  InvalidRecordError,
  NotFoundError,
} from "./errors.ts";
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
  assertStoragePath,
  assertUsername,
  describeValue,
  newJobId,
} from "./names.ts";
import {
  type Clock,
  clockOf,
  deleteIfExists,
  moveIfExists,
  numberOption,
  parseInput,
  putRecord,
  readRecord,
} from "./records.ts";
import {
  JobMeta,
  type Lease,
  type NextJob,
  Result,
  StatusMsg,
} from "./schemas.ts";

/** Which job, on which backend, asked for by whom. */
export interface JobRef {
  /** The backend's display name. */
  displayName: string;
  /** The user who asks (for uploads: who submits). */
  username: string;
  /** The job's id. */
  jobId: string;
}

/** Options of {@linkcode uploadJob}. */
export interface UploadJobOptions {
  /** The job: a JSON object with keys `experiment_0`, `experiment_1`, … */
  job: object;
  /** The backend's display name. */
  displayName: string;
  /** Who submits the job; only this user can read its status and result. */
  username: string;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/**
 * How long, in milliseconds, a worker holds a job before it may be recovered,
 * unless it extends its lease: ten minutes.
 *
 * @example A job taken without `leaseMs` is leased for ten minutes
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   DEFAULT_LEASE_MS, getNextJobInQueue, Lease, leasesPath, MemoryAdapter, uploadConfig, uploadJob,
 * } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const adapter = new MemoryAdapter();
 * await uploadConfig(adapter, testBackendConfig("spins"));
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "linear" } };
 * await uploadJob(adapter, { job, displayName: "spins", username: "alice" });
 * const next = await getNextJobInQueue(adapter, "spins");
 * const lease = Lease.parse(await adapter.get(leasesPath("spins"), next.job_id));
 * assert(Date.parse(lease.expires_at) - Date.parse(lease.claimed_at) === DEFAULT_LEASE_MS);
 * ```
 */
export const DEFAULT_LEASE_MS = 600_000;

const OWNER_CACHE_SIZE = 10_000;
/**
 * Owners by `<display>/<job id>`, in two generations: when the young one is
 * full it becomes the old one, and the old one is dropped. Evicting one key at
 * a time from a Map gets slower as deleted keys pile up in it.
 */
const owners = new WeakMap<
  StorageAdapter,
  { young: Map<string, string | null>; old: Map<string, string | null> }
>();

/** What a job's owner is: a name, `null` (unknown), or `undefined` (no record). */
async function ownerOf(
  adapter: StorageAdapter,
  displayName: string,
  jobId: string,
): Promise<string | null | undefined> {
  const key = `${displayName}/${jobId}`;
  const cache = owners.get(adapter);
  const cached = cache?.young.has(key)
    ? cache.young.get(key)
    : cache?.old.get(key);
  if (cached !== undefined) return cached;
  const meta = await readRecord(
    adapter,
    { path: metaPath(displayName), id: jobId },
    JobMeta,
  );
  // Absence is not cached: the record may be written a moment later.
  if (meta !== undefined) rememberOwner(adapter, key, meta.username);
  return meta?.username;
}

function rememberOwner(
  adapter: StorageAdapter,
  key: string,
  username: string | null,
) {
  let cache = owners.get(adapter);
  if (cache === undefined) {
    cache = { young: new Map(), old: new Map() };
    owners.set(adapter, cache);
  }
  if (cache.young.size >= OWNER_CACHE_SIZE) {
    cache.old = cache.young;
    cache.young = new Map();
  }
  cache.young.set(key, username);
}

/** Whether the user may see the job: theirs, or submitted by a tool that records no owner. */
async function visibleTo(
  adapter: StorageAdapter,
  ref: JobRef,
): Promise<boolean> {
  const owner = await ownerOf(adapter, ref.displayName, ref.jobId);
  return owner == null || owner === ref.username;
}

function checkRef(ref: JobRef): JobRef {
  if (typeof ref !== "object" || ref === null) {
    throw new InvalidRecordError(
      `Invalid job reference ${
        describeValue(ref)
      }: expected { displayName, username, jobId }`,
    );
  }
  return {
    displayName: assertDisplayName(ref.displayName),
    username: assertUsername(ref.username),
    jobId: assertJobId(ref.jobId),
  };
}

/**
 * Submits a job to a backend's queue and records who submitted it. The job
 * file is the job exactly as given, as sqooler's workers expect it.
 *
 * @param adapter The storage.
 * @param options The job, the backend and the user.
 * @returns The new job's id: 24 lowercase hex characters that sort by time.
 * @throws {InvalidNameError} When the display name or the user name is not acceptable.
 * @throws {InvalidRecordError} When the job is not a JSON object.
 *
 * @example Submit a job the way qlued does: the job, then its status
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryAdapter, uploadJob, uploadStatus } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * const job = {
 *   experiment_0: { instructions: [["load", [0], []]], num_wires: 1, shots: 3, wire_order: "linear" },
 * };
 * const jobId = await uploadJob(adapter, { job, displayName: "fermions", username: "alice" });
 * const status = await uploadStatus(adapter, { displayName: "fermions", username: "alice", jobId });
 * assert(status.job_id === jobId && status.status === "INITIALIZING");
 * ```
 */
export async function uploadJob(
  adapter: StorageAdapter,
  options: UploadJobOptions,
): Promise<string> {
  const displayName = assertDisplayName(options?.displayName);
  const username = assertUsername(options.username);
  const job: unknown = options.job;
  if (typeof job !== "object" || job === null || Array.isArray(job)) {
    throw new InvalidRecordError(
      `Invalid job: expected a JSON object with keys experiment_0, experiment_1, …, got ${
        Array.isArray(job) ? "an array" : describeValue(job)
      }`,
    );
  }
  // A job that cannot be stored is refused before its owner is recorded.
  records.serialize(job, `the job for ${displayName}`);
  const now = clockOf(options)();
  for (let attempt = 0;; attempt++) {
    const jobId = newJobId(now);
    const meta: JobMeta = {
      job_id: jobId,
      username,
      submitted_at: new Date(now).toISOString(),
      attempts: 0,
    };
    try {
      // The owner is on record before the job can be taken or asked for.
      await adapter.upload(metaPath(displayName), jobId, meta);
      await adapter.upload(queuedPath(displayName), jobId, job);
    } catch (error) {
      if (error instanceof AlreadyExistsError && attempt < 3) continue;
      throw error;
    }
    rememberOwner(adapter, `${displayName}/${jobId}`, username);
    return jobId;
  }
}

/**
 * Creates a job's first status, INITIALIZING, unless the job has a status
 * already: then that status is returned and left as it is, so that a fast
 * worker's DONE is never replaced. For a job that {@linkcode uploadJob} did
 * not submit for this user (another user's, or an unknown id), nothing is
 * written and the INITIALIZING draft is returned all the same, so that the
 * answer tells nothing about other users' jobs.
 *
 * @param adapter The storage.
 * @param ref The backend, the user and the job.
 * @returns The job's status.
 * @throws {InvalidNameError} When a name or the id is not acceptable.
 *
 * @example A worker's DONE is never replaced
 * ```ts
 * import assert from "node:assert/strict";
 * import { uploadStatus } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "linear" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [{ displayName: "spins", username: "alice", job, state: "done" }],
 * });
 * const status = await uploadStatus(adapter, { displayName: "spins", username: "alice", jobId: jobIds[0] });
 * assert(status.status === "DONE");
 * ```
 *
 * @example Answer for a job that was never submitted, writing nothing
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryAdapter, uploadStatus } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * const ref = { displayName: "fermions", username: "alice", jobId: "0123456789abcdef01234567" };
 * const status = await uploadStatus(adapter, ref);
 * assert(status.detail === "Got your json.");
 * ```
 */
export async function uploadStatus(
  adapter: StorageAdapter,
  ref: JobRef,
): Promise<StatusMsg> {
  const checked = checkRef(ref);
  const { displayName, jobId } = checked;
  const draft: StatusMsg = {
    job_id: jobId,
    status: "INITIALIZING",
    detail: "Got your json.",
    error_message: "None",
  };
  // Only the job's submitter writes its status. For an unknown job or another
  // user's, nothing is written, so that the answer tells nothing apart.
  // (The checked copy, not `ref` again: a getter could answer differently.)
  const owner = await ownerOf(adapter, displayName, jobId);
  if (owner === undefined || (owner !== null && owner !== checked.username)) {
    return draft;
  }
  try {
    await adapter.upload(statusPath(displayName), jobId, draft);
    return draft;
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error;
  }
  return await readRecord(
    adapter,
    { path: statusPath(displayName), id: jobId },
    StatusMsg,
  ) ?? draft;
}

/**
 * Reads a job's status. A job that does not exist, or that belongs to another
 * user, gets a status ERROR, as in sqooler.
 *
 * @param adapter The storage.
 * @param ref The backend, the user and the job.
 * @returns The job's status.
 * @throws {InvalidNameError} When a name or the id is not acceptable.
 * @throws {CorruptRecordError} When the stored status is not valid.
 *
 * @example Ask for the status of a job that does not exist
 * ```ts
 * import assert from "node:assert/strict";
 * import { getStatus, MemoryAdapter } from "@sqooler/storage";
 *
 * const status = await getStatus(new MemoryAdapter(), {
 *   displayName: "fermions",
 *   username: "alice",
 *   jobId: "0123456789abcdef01234567",
 * });
 * assert(status.status === "ERROR");
 * ```
 */
export async function getStatus(
  adapter: StorageAdapter,
  ref: JobRef,
): Promise<StatusMsg> {
  const checked = checkRef(ref);
  const { displayName, jobId } = checked;
  const status = await visibleTo(adapter, checked)
    ? await readRecord(
      adapter,
      { path: statusPath(displayName), id: jobId },
      StatusMsg,
    )
    : undefined;
  return status ?? {
    job_id: jobId,
    status: "ERROR",
    detail: "Cannot get status",
    error_message:
      `Could not find status for ${displayName} with job_id ${jobId}.`,
  };
}

/**
 * Reads a job's result, with `backend_name` filled in. A job that has no
 * result (yet), that does not exist, or that belongs to another user gets a
 * result with status ERROR, as in sqooler. The backend's config, which gives
 * `backend_name`, is read at most once a second per backend.
 *
 * @param adapter The storage.
 * @param ref The backend, the user and the job.
 * @returns The job's result.
 * @throws {InvalidNameError} When a name or the id is not acceptable.
 * @throws {CorruptRecordError} When the stored result or config is not valid.
 *
 * @example Ask for the result of a job that does not exist
 * ```ts
 * import assert from "node:assert/strict";
 * import { getResult, MemoryAdapter } from "@sqooler/storage";
 *
 * const result = await getResult(new MemoryAdapter(), {
 *   displayName: "fermions",
 *   username: "alice",
 *   jobId: "0123456789abcdef01234567",
 * });
 * assert(result.status === "ERROR" && result.results.length === 0);
 * ```
 */
export async function getResult(
  adapter: StorageAdapter,
  ref: JobRef,
): Promise<Result> {
  const checked = checkRef(ref);
  const { displayName, jobId } = checked;
  const missing = (display: string): Result => ({
    backend_name: null,
    display_name: display,
    backend_version: "",
    job_id: jobId,
    qobj_id: null,
    success: false,
    status: "ERROR",
    header: {},
    results: [],
  });
  const backendName = await recentBackendName(adapter, displayName);
  if (backendName === undefined) return missing("");
  if (!(await visibleTo(adapter, checked))) return missing(displayName);
  const result = await readRecord(
    adapter,
    { path: resultsPath(displayName), id: jobId },
    Result,
  );
  if (result === undefined) return missing(displayName);
  return { ...result, backend_name: backendName };
}

/** Where a job file is, for {@linkcode getJobContent}. */
export interface JobLocation {
  /** The folder, e.g. `jobs/running` (a {@linkcode NextJob}'s `job_json_path`). */
  storagePath: string;
  /** The job's id. */
  jobId: string;
}

/**
 * Reads a job file: the job as the user submitted it.
 *
 * @param adapter The storage.
 * @param location The folder and the job's id.
 * @returns The job.
 * @throws {NotFoundError} When there is no such job file.
 * @throws {CorruptRecordError} When the file is not a JSON object.
 *
 * @example Read the job that a worker took
 * ```ts
 * import assert from "node:assert/strict";
 * import { getJobContent, getNextJobInQueue, MemoryAdapter, uploadConfig, uploadJob } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * await uploadConfig(adapter, {
 *   description: "d", version: "1.0.0", display_name: "spins", cold_atom_type: "spin",
 *   gates: [], max_experiments: 10, max_shots: 100, simulator: true,
 *   supported_instructions: [], num_wires: 5, wire_order: "linear", num_species: 1,
 * });
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "linear" } };
 * await uploadJob(adapter, { job, displayName: "spins", username: "alice" });
 * const next = await getNextJobInQueue(adapter, "spins");
 * const content = await getJobContent(adapter, { storagePath: next.job_json_path, jobId: next.job_id });
 * assert("experiment_0" in content);
 * ```
 */
export async function getJobContent(
  adapter: StorageAdapter,
  location: JobLocation,
): Promise<JsonObject> {
  // async, so that a bad name rejects the promise instead of throwing.
  return await adapter.get(
    assertStoragePath(location?.storagePath),
    assertJobId(location.jobId),
  );
}

/** Options of {@linkcode getNextJobInQueue}. */
export interface NextJobOptions {
  /**
   * How long the worker may hold the job before {@linkcode recoverStaleJobs}
   * may give it to another worker, unless it extends its lease.
   *
   * @default {600000}
   */
  leaseMs?: number;
  /**
   * Stamp `last_queue_check` at most this often per backend and process, in
   * milliseconds, so that a busy worker does not rewrite the config on every
   * poll.
   *
   * @default {1000}
   */
  stampIntervalMs?: number;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/**
 * Takes the oldest job of a backend's queue: moves it to `jobs/running`,
 * records a lease on it, and stamps the backend's `last_queue_check` (at most
 * once per `stampIntervalMs`). Any number of workers, also in other processes,
 * may call it at once: each job goes to one of them.
 *
 * @param adapter The storage.
 * @param displayName The backend's display name.
 * @param options The lease's length, the stamp interval and the clock.
 * @returns `{ job_id, job_json_path: "jobs/running" }`, or `"None"` twice when the queue is empty.
 * @throws {NotFoundError} When the backend has no config (checked when stamping).
 *
 * @example Poll an empty queue
 * ```ts
 * import assert from "node:assert/strict";
 * import { getNextJobInQueue, MemoryAdapter, uploadConfig } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * await uploadConfig(adapter, {
 *   description: "d", version: "1.0.0", display_name: "spins", cold_atom_type: "spin",
 *   gates: [], max_experiments: 10, max_shots: 100, simulator: true,
 *   supported_instructions: [], num_wires: 5, wire_order: "linear", num_species: 1,
 * });
 * const next = await getNextJobInQueue(adapter, "spins");
 * assert(next.job_id === "None" && next.job_json_path === "None");
 * ```
 */
export async function getNextJobInQueue(
  adapter: StorageAdapter,
  displayName: string,
  options: NextJobOptions = {},
): Promise<NextJob> {
  const display = assertDisplayName(displayName);
  const clock = clockOf(options);
  const leaseMs = numberOption(options?.leaseMs, {
    what: "lease length",
    fallback: DEFAULT_LEASE_MS,
    min: 1,
  });
  await timestampQueue(adapter, display, {
    minIntervalMs: numberOption(options?.stampIntervalMs, {
      what: "stamp interval",
      fallback: 1000,
    }),
    now: clock,
  });
  const jobId = await adapter.moveOldest(queuedPath(display), RUNNING);
  if (jobId === undefined) return { job_id: "None", job_json_path: "None" };
  try {
    await writeLease(adapter, {
      displayName: display,
      jobId,
      leaseMs,
      now: clock,
      expectNew: true,
    });
  } catch (error) {
    // A job without a lease is not ours to run: back to the head of the queue.
    await adapter.move(RUNNING, queuedPath(display), jobId).catch(() => {});
    throw error;
  }
  return { job_id: jobId, job_json_path: RUNNING };
}

/** What {@linkcode writeLease} needs. */
interface LeaseTerms {
  displayName: string;
  jobId: string;
  leaseMs: number;
  now: Clock;
  /** Whether the job has no lease yet, as when it was just taken. */
  expectNew?: boolean;
}

/** Records (or renews) a worker's lease on a running job. */
export async function writeLease(
  adapter: StorageAdapter,
  terms: LeaseTerms,
): Promise<Lease> {
  const lease = leaseFor(terms.jobId, {
    now: terms.now(),
    leaseMs: terms.leaseMs,
  });
  await putRecord(
    adapter,
    {
      path: leasesPath(terms.displayName),
      id: terms.jobId,
    },
    lease,
    { expectNew: terms.expectNew },
  );
  return lease;
}

/** A lease on a job, taken now, for `leaseMs`. */
export function leaseFor(
  jobId: string,
  terms: { now: number; leaseMs: number },
): Lease {
  return {
    job_id: jobId,
    claimed_at: new Date(terms.now).toISOString(),
    expires_at: new Date(terms.now + terms.leaseMs).toISOString(),
  };
}

/** What {@linkcode updateInDatabase} writes. */
export interface JobOutcome {
  /** The result; required when the status is DONE. */
  result?: Result | null;
  /** The new status. */
  status: StatusMsg;
  /** The job's id. */
  jobId: string;
  /** The backend's display name. */
  displayName: string;
}

/**
 * Writes what a worker found out about a job. With status DONE, the job moves
 * to `jobs/finished/<display>`, then the result and the status are written;
 * with ERROR, the job moves to `jobs/deleted`, then the status is written;
 * with any other status, only the status is written. A missing status file is
 * created, and the lease is dropped last. If the job was put back in its queue
 * meanwhile (its lease ran out), it is taken out again, since it is finished
 * now. The move decides: when the job is neither running nor queued, another
 * worker or a recovery decided it, and nothing is written.
 *
 * @param adapter The storage.
 * @param outcome The status, the result, the job and the backend.
 * @returns Nothing.
 * @throws {InvalidRecordError} When the status or the result does not match its schema, or DONE comes without a result.
 * @throws {InvalidNameError} When the display name or the id is not acceptable.
 * @throws {NotFoundError} When a final outcome comes for a job that is neither running nor queued.
 *
 * @example A worker's loop, once
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   getNextJobInQueue, getStatus, MemoryAdapter, updateInDatabase, uploadConfig, uploadJob,
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
 * const next = await getNextJobInQueue(adapter, "spins");
 * await updateInDatabase(adapter, {
 *   jobId: next.job_id,
 *   displayName: "spins",
 *   status: { job_id: next.job_id, status: "DONE", detail: "All done", error_message: "None" },
 *   result: {
 *     backend_name: null, display_name: "spins", backend_version: "1.0.0", job_id: next.job_id,
 *     qobj_id: null, success: true, status: "DONE", header: {}, results: [],
 *   },
 * });
 * const status = await getStatus(adapter, { displayName: "spins", username: "alice", jobId });
 * assert(status.status === "DONE");
 * ```
 */
export async function updateInDatabase(
  adapter: StorageAdapter,
  outcome: JobOutcome,
): Promise<void> {
  const displayName = assertDisplayName(outcome?.displayName);
  const jobId = assertJobId(outcome.jobId);
  const status = parseInput(outcome.status, "status", StatusMsg);
  const statusKey = { path: statusPath(displayName), id: jobId };
  if (status.status !== "DONE" && status.status !== "ERROR") {
    // A report of progress: the job stays where it is.
    await putRecord(adapter, statusKey, status);
    return;
  }
  let result: Result | undefined;
  if (status.status === "DONE") {
    if (outcome.result == null) {
      throw new InvalidRecordError(
        `Invalid result for job ${jobId}: a job with status DONE needs a result`,
      );
    }
    result = parseInput(outcome.result, "result", Result);
  }
  const target = result === undefined ? DELETED : finishedPath(displayName);
  // Moving the job out of jobs/running decides its outcome: a recovery at the
  // same time either moved it first or finds it gone. A job whose lease ran
  // out may be back in its queue; it is finished now.
  const moved =
    await moveIfExists(adapter, { from: RUNNING, to: target, id: jobId }) ||
    await moveIfExists(adapter, {
      from: queuedPath(displayName),
      to: target,
      id: jobId,
    });
  if (!moved) {
    throw new NotFoundError(
      `Cannot record the outcome of job ${jobId} of ${displayName}: it is neither running nor queued, so another worker or a recovery decided it`,
    );
  }
  // The result before the status, so that whoever reads DONE finds it; the
  // lease last, so that recovery completes this if the process stops here.
  if (result !== undefined) {
    await putRecord(
      adapter,
      { path: resultsPath(displayName), id: jobId },
      result,
      {
        expectNew: true,
      },
    );
  }
  await putRecord(adapter, statusKey, status);
  await deleteIfExists(adapter, { path: leasesPath(displayName), id: jobId });
}

/**
 * Lists the ids in a folder, oldest first (sqooler lists file names; this
 * returns ids, without `.json`).
 *
 * @param adapter The storage.
 * @param storagePath The folder, e.g. `jobs/queued/fermions`.
 * @returns The ids; `[]` when the folder does not exist.
 * @throws {InvalidNameError} When the path is not acceptable.
 *
 * @example List a backend's queue, oldest first
 * ```ts
 * import assert from "node:assert/strict";
 * import { getFileQueue, queuedPath } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "linear" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [
 *     { displayName: "spins", username: "alice", job },
 *     { displayName: "spins", username: "bob", job },
 *   ],
 * });
 * assert.deepEqual(await getFileQueue(adapter, queuedPath("spins")), jobIds);
 * assert.deepEqual(await getFileQueue(adapter, "jobs/queued/nothere"), []);
 * ```
 */
export function getFileQueue(
  adapter: StorageAdapter,
  storagePath: string,
): Promise<string[]> {
  return adapter.list(storagePath);
}
