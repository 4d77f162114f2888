/**
 * Jobs: how the API submits them and reads their status and result, and how a
 * worker takes the next one and writes back what happened. These are the
 * sqooler-named free functions; each transition they make is the job
 * protocol's (`protocol.ts`), so its guarantees hold for any number of
 * processes on one storage:
 * - {@linkcode getNextJobInQueue} gives each job to one worker at a time, in
 *   submission order, with a lease and a fencing token.
 * - {@linkcode updateInDatabase} with the token records the outcome only if
 *   the lease is still the worker's; a final status is never replaced by one
 *   that is not final.
 * - A job's owner is recorded in `meta/`; another user asking for it gets the
 *   same answer as for a job id that does not exist.
 *
 * @module
 */

import { type JsonObject, records, type StorageAdapter } from "./adapter.ts";
import { backendName, timestampQueue } from "./backends.ts";
import {
  AlreadyExistsError,
  CorruptRecordError,
  InvalidRecordError,
} from "./errors.ts";
import {
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
  assertToken,
  assertUsername,
  describeValue,
  newJobId,
} from "./names.ts";
import { isFinal, transitionsOf } from "./protocol.ts";
import {
  type Clock,
  clockOf,
  numberOption,
  parseInput,
  readRecord,
} from "./records.ts";
import {
  checkJob,
  checkResultFor,
  type JobOnBackend,
  signedResultRecord,
} from "./results.ts";
import {
  JobMeta,
  type JobStatus,
  type NextJob,
  Result,
  StatusMsg,
} from "./schemas.ts";
import type { JwkPrivate, JwsDict } from "./signing.ts";

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
 * unless it extends its lease: ten minutes. `runWorker` extends its leases
 * every third of their length.
 *
 * @example Ten minutes
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_LEASE_MS } from "@sqooler/storage";
 *
 * assert(DEFAULT_LEASE_MS === 10 * 60 * 1000);
 * ```
 */
export const DEFAULT_LEASE_MS = 600_000;

/** What a job's owner is: a name, `null` (unknown), or `undefined` (no record). */
async function ownerOf(
  adapter: StorageAdapter,
  displayName: string,
  jobId: string,
): Promise<string | null | undefined> {
  const meta = await readRecord(
    adapter,
    { path: metaPath(displayName), id: jobId },
    JobMeta,
  );
  return meta?.username;
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
 * @throws {StorageError} When the storage refuses; the call then changed
 *   nothing (a job file that got in place is taken out again), unless a
 *   worker took the job meanwhile: then the job is submitted and its id is
 *   returned.
 *
 * @example Submit a job the way qlued does: the job, then its status
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryAdapter, uploadJob, uploadStatus } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * const job = {
 *   experiment_0: { instructions: [["load", [0], []]], num_wires: 1, shots: 3, wire_order: "sequential" },
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
  return await transitionsOf(adapter).submit({
    displayName,
    username,
    job,
    now: clockOf(options),
  });
}

/**
 * Creates a job's first status, INITIALIZING, unless the job has a status
 * already: then that status is returned and left as it is, so that a fast
 * worker's DONE is never replaced. For another user's job nothing is written
 * and the INITIALIZING draft is returned all the same, so that the answer
 * tells nothing about other users' jobs. A job without an owner record (one
 * that another tool submitted) gets its status written, as sqooler writes it.
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
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [{ displayName: "spins", username: "alice", job, state: "done" }],
 * });
 * const status = await uploadStatus(adapter, { displayName: "spins", username: "alice", jobId: jobIds[0] });
 * assert(status.status === "DONE");
 * ```
 *
 * @example Another user's job gets the draft, and nothing is written
 * ```ts
 * import assert from "node:assert/strict";
 * import { getStatus, MemoryAdapter, uploadJob, uploadStatus } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const jobId = await uploadJob(adapter, { job, displayName: "fermions", username: "alice" });
 * const status = await uploadStatus(adapter, { displayName: "fermions", username: "eve", jobId });
 * assert(status.status === "INITIALIZING");
 * const stored = await getStatus(adapter, { displayName: "fermions", username: "alice", jobId });
 * assert(stored.status === "ERROR"); // alice's job still has no status
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
  // Only the job's submitter writes its status; a job that another tool
  // submitted has no owner on record, and gets it written as in sqooler.
  // (The checked copy, not `ref` again: a getter could answer differently.)
  const owner = await ownerOf(adapter, displayName, jobId);
  if (owner != null && owner !== checked.username) return draft;
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
 * result with status ERROR, as in sqooler. The backend's config gives
 * `backend_name`.
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
  const name = await backendName(adapter, displayName);
  if (name === undefined) return missing("");
  if (!(await visibleTo(adapter, checked))) return missing(displayName);
  const result = await readRecord(
    adapter,
    { path: resultsPath(displayName), id: jobId },
    Result,
  );
  if (result === undefined) return missing(displayName);
  return { ...result, backend_name: name };
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
 *   supported_instructions: [], num_wires: 5, wire_order: "sequential", num_species: 1,
 * });
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
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

/**
 * Reads a job file (sqooler 0.9's `get_job`, the new name of
 * `get_job_content`): the same as {@linkcode getJobContent}.
 *
 * @param adapter The storage.
 * @param location The folder and the job's id.
 * @returns The job, as the user submitted it.
 * @throws {NotFoundError} When there is no such job file.
 * @throws {CorruptRecordError} When the file is not a JSON object.
 * @throws {InvalidNameError} When the folder or the id is not acceptable.
 *
 * @example Read a queued job
 * ```ts
 * import assert from "node:assert/strict";
 * import { getJob, queuedPath } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [{ displayName: "spins", username: "alice", job }],
 * });
 * const stored = await getJob(adapter, { storagePath: queuedPath("spins"), jobId: jobIds[0] });
 * assert.deepEqual(stored, job);
 * ```
 */
export async function getJob(
  adapter: StorageAdapter,
  location: JobLocation,
): Promise<JsonObject> {
  return await getJobContent(adapter, location);
}

/** Options of {@linkcode createJobId}. */
export interface CreateJobIdOptions {
  /** The backend the job is for. */
  displayName: string;
  /** Who submits it. */
  username: string;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/**
 * Makes a new job id (sqooler 0.9's `create_job_id`): 24 lowercase hex
 * characters, the first 12 the time, so that ids sort by creation time in
 * any process, like the ids of sqooler's local and MongoDB providers
 * (24 hex characters). {@linkcode uploadJob} makes its ids so; this is for
 * callers that need an id before they store anything.
 *
 * @param adapter The storage that the job is for.
 * @param options The backend, the user and the clock.
 * @returns The new id.
 * @throws {InvalidNameError} When the display name or the user name is not
 *   acceptable.
 * @throws {InactiveStorageError} When the storage is switched off.
 *
 * @example Ids that sort by time
 * ```ts
 * import assert from "node:assert/strict";
 * import { createJobId, MemoryAdapter } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * const first = createJobId(adapter, { displayName: "spins", username: "alice" });
 * const second = createJobId(adapter, { displayName: "spins", username: "bob" });
 * assert(/^[0-9a-f]{24}$/.test(first) && first < second);
 * ```
 */
export function createJobId(
  adapter: StorageAdapter,
  options: CreateJobIdOptions,
): string {
  records.check(adapter, queuedPath(options?.displayName));
  assertUsername(options.username);
  return newJobId(clockOf(options)());
}

/**
 * Deletes a job's status (sqooler's `_delete_status`, which is meant for
 * tests). The job itself, its result and its owner record stay.
 *
 * @param adapter The storage.
 * @param job The backend and the job.
 * @returns A promise that resolves once the status is gone.
 * @throws {NotFoundError} When the job has no status.
 * @throws {InvalidNameError} When the display name or the id is not
 *   acceptable.
 *
 * @example Remove a queued job's status
 * ```ts
 * import assert from "node:assert/strict";
 * import { deleteStatus, getStatus } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [{ displayName: "spins", username: "alice", job }],
 * });
 * await deleteStatus(adapter, { displayName: "spins", jobId: jobIds[0] });
 * const status = await getStatus(adapter, { displayName: "spins", username: "alice", jobId: jobIds[0] });
 * assert(status.status === "ERROR" && status.detail === "Cannot get status");
 * ```
 */
export async function deleteStatus(
  adapter: StorageAdapter,
  job: JobOnBackend,
): Promise<void> {
  const { displayName, jobId } = checkJob(job);
  await adapter.delete(statusPath(displayName), jobId);
}

/** Options of {@linkcode getNextJobInQueue}. */
export interface NextJobOptions {
  /**
   * How long the worker may hold the job, in milliseconds, before
   * {@linkcode recoverStaleJobs} may give it to another worker, unless it
   * extends its lease.
   *
   * @default {600000}
   */
  leaseMs?: number;
  /**
   * Stamp `last_queue_check` only when the stored one is older than this, in
   * milliseconds, so that busy workers do not rewrite the config on every
   * poll.
   *
   * @default {1000}
   */
  stampIntervalMs?: number;
  /**
   * Queued jobs to leave for now, such as job files that another tool is
   * still writing.
   */
  skip?: Iterable<string>;
  /**
   * The backend's private key: a config stored signed is stamped only with
   * the key that signed it (see {@linkcode timestampQueue}).
   */
  privateJwk?: JwkPrivate;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/**
 * Takes the oldest job of a backend's queue (sqooler's
 * `get_next_job_in_queue`): records a lease with a fresh fencing token, moves
 * the job to `jobs/running`, and stamps the backend's `last_queue_check` (when
 * the stored one is older than `stampIntervalMs`; a config that cannot be
 * read is not stamped, and the job is taken all the same). Any number of workers,
 * also in other processes and sqooler's own, may call it at once: each job
 * goes to one of them. Pass the returned `token` to
 * {@linkcode updateInDatabase}, {@linkcode extendLease} and
 * {@linkcode releaseJob}, so that they act only while the lease is yours.
 *
 * @param adapter The storage.
 * @param displayName The backend's display name.
 * @param options The lease's length, the stamp interval and the clock.
 * @returns `{ job_id, job_json_path: "jobs/running", token }`, or `"None"` for both paths when the queue is empty.
 * @throws {NotFoundError} When the backend has no config (checked when stamping).
 * @throws {StorageError} When the storage refuses.
 *
 * @example Poll an empty queue
 * ```ts
 * import assert from "node:assert/strict";
 * import { getNextJobInQueue, MemoryAdapter, uploadConfig } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const adapter = new MemoryAdapter();
 * await uploadConfig(adapter, testBackendConfig("spins"));
 * const next = await getNextJobInQueue(adapter, "spins");
 * assert(next.job_id === "None" && next.job_json_path === "None");
 * ```
 *
 * @example A job taken without `leaseMs` is leased for ten minutes
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_LEASE_MS, getNextJobInQueue, Lease, leasesPath, uploadJob } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const { adapter } = await createTestAdapter({ backends: [testBackendConfig("spins")] });
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * await uploadJob(adapter, { job, displayName: "spins", username: "alice" });
 * const next = await getNextJobInQueue(adapter, "spins");
 * const lease = Lease.parse(await adapter.get(leasesPath("spins"), next.job_id));
 * assert(lease.token === next.token);
 * assert(Date.parse(lease.expires_at) - Date.parse(lease.claimed_at) === DEFAULT_LEASE_MS);
 * ```
 */
export async function getNextJobInQueue(
  adapter: StorageAdapter,
  displayName: string,
  options: NextJobOptions = {},
): Promise<NextJob> {
  const display = assertDisplayName(displayName);
  options ??= {};
  const clock = clockOf(options);
  const leaseMs = numberOption(options?.leaseMs, {
    what: "lease length",
    fallback: DEFAULT_LEASE_MS,
    min: 1,
  });
  const minIntervalMs = numberOption(options?.stampIntervalMs, {
    what: "stamp interval",
    fallback: 1000,
  });
  try {
    await timestampQueue(adapter, display, {
      minIntervalMs,
      now: clock,
      privateJwk: options?.privateJwk,
    });
  } catch (error) {
    // A config that cannot be read (another tool wrote it badly) does not
    // stop the queue: the stamp is only a sign of life.
    if (!(error instanceof CorruptRecordError)) throw error;
  }
  const given: unknown = options.skip;
  if (
    given !== undefined &&
    typeof (given as Iterable<string>)[Symbol.iterator] !== "function"
  ) {
    throw new InvalidRecordError(
      `Invalid skip ${describeValue(given)}: expected a list of job ids`,
    );
  }
  const skip = given === undefined
    ? undefined
    : new Set(given as Iterable<string>);
  const claim = await transitionsOf(adapter).claim(display, {
    leaseMs,
    now: clock,
    skip,
  });
  if (claim === undefined) return { job_id: "None", job_json_path: "None" };
  return { job_id: claim.jobId, job_json_path: RUNNING, token: claim.token };
}

/** What {@linkcode updateInDatabase} writes. */
export interface JobOutcome {
  /** The result; required when the status is DONE. */
  result?: Result | null;
  /** The new status; its `job_id` must be the job's. */
  status: StatusMsg;
  /** The job's id. */
  jobId: string;
  /** The backend's display name. */
  displayName: string;
  /**
   * The fencing token that {@linkcode getNextJobInQueue} returned. With it,
   * the outcome is recorded only while the lease is still this worker's.
   * Without it (sqooler-style callers) the call is unfenced: it acts on the
   * job's current lease, whoever holds it.
   */
  token?: string;
  /**
   * The backend's private key (sqooler's `private_jwk`). When the backend's
   * config says `sign: true`, the result is stored signed with it, and
   * without it nothing is recorded. When the config cannot be read, or there
   * is none, the result is signed when a key is given.
   */
  privateJwk?: JwkPrivate;
  /**
   * How many experiments the job has, for a caller that read the job (as a
   * worker does): the check that the result has one entry per experiment then
   * uses it instead of reading the job again. Must be the job's own count.
   *
   * @default {read from the job}
   */
  experiments?: number;
  /**
   * When the result cannot be stored (the storage refuses), the attempt
   * counts as failed; after this many failed attempts the job ends ERROR.
   *
   * @default {3}
   */
  maxAttempts?: number;
  /**
   * How long others wait, in milliseconds, before they finish recording an
   * outcome that this call decided and then could not record (its process
   * stopped): the worker's lease length.
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
 * Writes what a worker found out about a job (sqooler's
 * `update_in_database`). With DONE or ERROR the outcome is decided by the
 * job's lease (a compare-and-swap on the token), then recorded in this order:
 * the result (DONE), the status, the job file's move to
 * `jobs/finished/<display>` (DONE) or `jobs/deleted` (ERROR), the lease's
 * removal. A result that has not one entry per experiment of the job makes
 * the job end ERROR, saying so. A status that is not final (INITIALIZING,
 * QUEUED) is only written while the job is queued or running, and never
 * replaces DONE or ERROR.
 *
 * When the backend's config says `sign: true`, the result is stored signed
 * with `privateJwk` (a JWS dict, as sqooler 0.9 stores it), so that
 * {@linkcode verifyResult} and sqooler's `verify_result` can check it;
 * without the key it is a {@linkcode SigningError} and nothing changes.
 *
 * If the storage refuses the result, the attempt counts as failed: the job
 * goes back to its queue, or after `maxAttempts` failed attempts ends ERROR
 * with the storage's message; the call then throws that
 * {@linkcode StorageError}.
 *
 * @param adapter The storage.
 * @param outcome The status, the result, the job, the backend and the token.
 * @returns The job's status as recorded: DONE, or ERROR (also for a DONE
 * whose result did not fit the job, or for a job that was cancelled while it
 * ran); for a report of progress, that status.
 * @throws {InvalidRecordError} When the status or the result does not match its schema, cannot be written as JSON (a cycle, a `toJSON` that throws), names another job or backend, or DONE comes without a result.
 * @throws {SigningError} When the backend's config says `sign: true` and no private key is given, or the config names another key; nothing was written.
 * @throws {InvalidNameError} When the display name or the id is not acceptable.
 * @throws {LeaseLostError} When the token is no longer the job's current one: nothing was written; or when a result's write took longer than half the lease and a recovery took the job over meanwhile: nothing more was recorded, and the result stays until the job's next run replaces it.
 * @throws {JobStateError} When the job is not running (final outcome) or neither queued nor running (progress), or its status is final already.
 * @throws {StorageError} When the storage refuses.
 *
 * @example A worker's loop, once
 * ```ts
 * import assert from "node:assert/strict";
 * import { getNextJobInQueue, getStatus, updateInDatabase, uploadJob } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const { adapter } = await createTestAdapter({ backends: [testBackendConfig("spins")] });
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const jobId = await uploadJob(adapter, { job, displayName: "spins", username: "alice" });
 * const next = await getNextJobInQueue(adapter, "spins");
 * await updateInDatabase(adapter, {
 *   jobId: next.job_id,
 *   displayName: "spins",
 *   token: next.token,
 *   status: { job_id: next.job_id, status: "DONE", detail: "All done", error_message: "None" },
 *   result: {
 *     backend_name: null, display_name: "spins", backend_version: "0.1.0", job_id: next.job_id,
 *     qobj_id: null, success: true, status: "DONE", header: {},
 *     results: [{ header: { name: "experiment_0" }, shots: 1, success: true, data: { memory: ["0"] } }],
 *   },
 * });
 * const status = await getStatus(adapter, { displayName: "spins", username: "alice", jobId });
 * assert(status.status === "DONE");
 * ```
 *
 * @example A worker whose lease was recovered changes nothing
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   getNextJobInQueue, LeaseLostError, recoverStaleJobs, updateInDatabase, uploadJob,
 * } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const { adapter } = await createTestAdapter({ backends: [testBackendConfig("spins")] });
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * await uploadJob(adapter, { job, displayName: "spins", username: "alice" });
 * let time = Date.parse("2026-11-28T10:00:00Z");
 * const now = () => time;
 * const next = await getNextJobInQueue(adapter, "spins", { now, leaseMs: 60_000 });
 * time += 120_000; // the worker stalls past its lease, and a recovery requeues the job
 * await recoverStaleJobs(adapter, { displayName: "spins", now });
 * const error = await updateInDatabase(adapter, {
 *   jobId: next.job_id,
 *   displayName: "spins",
 *   token: next.token,
 *   status: { job_id: next.job_id, status: "ERROR", detail: "", error_message: "late" },
 * }).catch((e) => e);
 * assert(error instanceof LeaseLostError);
 * ```
 */
export async function updateInDatabase(
  adapter: StorageAdapter,
  outcome: JobOutcome,
): Promise<JobStatus> {
  const displayName = assertDisplayName(outcome?.displayName);
  const jobId = assertJobId(outcome.jobId);
  const token = outcome.token === undefined
    ? undefined
    : assertToken(outcome.token);
  const status = parseInput(outcome.status, "status", StatusMsg);
  const maxAttempts = numberOption(outcome.maxAttempts, {
    what: "number of attempts",
    fallback: 3,
    min: 1,
    integer: true,
  });
  const leaseMs = numberOption(outcome.leaseMs, {
    what: "lease length",
    fallback: DEFAULT_LEASE_MS,
    min: 1,
  });
  const now = clockOf(outcome);
  const experiments = outcome.experiments === undefined
    ? undefined
    : numberOption(outcome.experiments, {
      what: "experiment count",
      fallback: 0,
      max: Number.MAX_SAFE_INTEGER,
      integer: true,
    });
  if (status.job_id !== jobId) {
    throw new InvalidRecordError(
      `Invalid status: its job_id is ${
        describeValue(status.job_id)
      }, but the job is ${describeValue(jobId)}`,
    );
  }
  const ref = { displayName, jobId, token };
  const transitions = transitionsOf(adapter);
  if (!isFinal(status)) {
    await transitions.report(ref, status);
    return status.status;
  }
  let result: Result | undefined;
  let record: JwsDict | undefined;
  if (status.status === "DONE") {
    if (outcome.result == null) {
      throw new InvalidRecordError(
        `Invalid result for job ${jobId}: a job with status DONE needs a result`,
      );
    }
    result = await checkResultFor(outcome.result, { displayName, jobId });
    // Signed before anything changes: a missing key changes nothing.
    record = await signedResultRecord(
      adapter,
      { displayName, jobId },
      result,
      outcome.privateJwk,
    );
  }
  const recorded = await transitions.complete(
    ref,
    { status, result, record, experiments },
    { maxAttempts, leaseMs, now },
  );
  return recorded === "done" ? "DONE" : "ERROR";
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
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
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
