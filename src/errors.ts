/**
 * The errors that this library throws. Every one extends {@linkcode SqoolerError},
 * so that a caller can catch all of them at once, or one kind with `instanceof`.
 *
 * @module
 */

/**
 * The base class of every error this library throws on purpose.
 *
 * @example Catch any error of this library
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryAdapter, NotFoundError, SqoolerError } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * const error = await adapter.get("jobs/running", "abc").catch((e) => e);
 * assert(error instanceof SqoolerError);
 * assert(error instanceof NotFoundError);
 * ```
 */
export class SqoolerError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed, and with which value.
   * @param options The cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A record that was asked for does not exist.
 *
 * @example Read a status that was never written
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryAdapter, NotFoundError } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * const error = await adapter.get("status/fermions", "abc").catch((e) => e);
 * assert(error instanceof NotFoundError);
 * ```
 */
export class NotFoundError extends SqoolerError {}

/**
 * A record could not be created because one with the same id exists.
 *
 * @example Upload the same record twice
 * ```ts
 * import assert from "node:assert/strict";
 * import { AlreadyExistsError, MemoryAdapter } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * await adapter.upload("jobs/deleted", "abc", {});
 * const error = await adapter.upload("jobs/deleted", "abc", {}).catch((e) => e);
 * assert(error instanceof AlreadyExistsError);
 * ```
 */
export class AlreadyExistsError extends SqoolerError {}

/**
 * The storage was switched off (`active: false`), so it refuses every operation.
 *
 * @example List a folder of a storage that is switched off
 * ```ts
 * import assert from "node:assert/strict";
 * import { InactiveStorageError, MemoryAdapter } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter({ active: false });
 * const error = await adapter.list("jobs/running").catch((e) => e);
 * assert(error instanceof InactiveStorageError);
 * ```
 */
export class InactiveStorageError extends SqoolerError {}

/**
 * A display name, job id, provider name, user name or storage path is not
 * acceptable. Nothing was read or written.
 *
 * @example Refuse a path that would leave the storage
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidNameError, MemoryAdapter } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * const error = await adapter.get("../etc", "passwd").catch((e) => e);
 * assert(error instanceof InvalidNameError);
 * ```
 */
export class InvalidNameError extends SqoolerError {}

/**
 * A record handed to this library (a config, a status, a result, a job) does
 * not match its schema. Nothing was written.
 *
 * @example Refuse a config that lacks its fields
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidRecordError, MemoryAdapter, uploadConfig } from "@sqooler/storage";
 *
 * const fromUser = JSON.parse('{ "version": 1 }');
 * const error = await uploadConfig(new MemoryAdapter(), fromUser).catch((e) => e);
 * assert(error instanceof InvalidRecordError);
 * ```
 */
export class InvalidRecordError extends SqoolerError {}

/**
 * A stored record is not valid JSON or does not match its schema. The message
 * names the record, e.g. `Cannot read status/fermions/abc.json: not valid JSON`.
 *
 * @example Read a file that another tool left half written
 * ```ts
 * import assert from "node:assert/strict";
 * import { CorruptRecordError, LocalAdapter } from "@sqooler/storage";
 *
 * const basePath = await Deno.makeTempDir();
 * try {
 *   await Deno.mkdir(`${basePath}/status/fermions`, { recursive: true });
 *   await Deno.writeTextFile(`${basePath}/status/fermions/abc.json`, '{"job_id": "ab');
 *   const adapter = new LocalAdapter({ basePath });
 *   const error = await adapter.get("status/fermions", "abc").catch((e) => e);
 *   assert(error instanceof CorruptRecordError);
 *   assert(error.record === "status/fermions/abc.json");
 *   assert(error.message === "Cannot read status/fermions/abc.json: not valid JSON");
 * } finally {
 *   await Deno.remove(basePath, { recursive: true });
 * }
 * ```
 */
export class CorruptRecordError extends SqoolerError {
  /** The record that could not be read, as `<storage path>/<id>.json`. */
  readonly record: string;

  /**
   * Creates the error.
   *
   * @param record The record, as `<storage path>/<id>.json`.
   * @param reason Why it could not be read.
   * @param options The cause, if any.
   */
  constructor(record: string, reason: string, options?: ErrorOptions) {
    super(`Cannot read ${record}: ${reason}`, options);
    this.record = record;
  }
}

/**
 * The storage refused an operation for a reason outside this library's
 * control: no space left, permission denied, too many open files, a
 * read-only or failing filesystem, or a move between two filesystems that
 * cannot be atomic. The message names the record and the reason; `code` is
 * the operating system's name for it (e.g. `"ENOSPC"`), and `cause` the
 * original error. The job protocol counts such a failure as a failed attempt
 * of the job it concerns.
 *
 * @example Tell a full disk from a missing record
 * ```ts
 * import assert from "node:assert/strict";
 * import { StorageError } from "@sqooler/storage";
 *
 * const error = new StorageError("Cannot write status/spins/abc.json: no space left on the device", {
 *   code: "ENOSPC",
 * });
 * assert(error instanceof StorageError && error.code === "ENOSPC");
 * ```
 */
export class StorageError extends SqoolerError {
  /** The operating system's name of the failure, e.g. `"ENOSPC"`, when known. */
  readonly code: string | undefined;

  /**
   * Creates the error.
   *
   * @param message What failed, on which record, and why.
   * @param options The OS error's code and the original error.
   */
  constructor(message: string, options?: ErrorOptions & { code?: string }) {
    super(message, options);
    this.code = options?.code;
  }
}

/**
 * A call proved a lease with a fencing token that is no longer the job's
 * current one: the lease ran out and a recovery took it, or the job was
 * finished, released or given to another worker since. Nothing was changed;
 * the caller must stop working on the job.
 *
 * @example Catch a lost lease
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeaseLostError, SqoolerError } from "@sqooler/storage";
 *
 * const error = new LeaseLostError("Job abc of spins is no longer yours: its lease was recovered");
 * assert(error instanceof SqoolerError && error.name === "LeaseLostError");
 * ```
 */
export class LeaseLostError extends SqoolerError {}

/**
 * A change that the job's current state does not allow, such as a status that
 * would replace a final DONE or ERROR, or an outcome for a job that is not
 * running. Nothing was changed.
 *
 * @example Catch a refused transition
 * ```ts
 * import assert from "node:assert/strict";
 * import { JobStateError, SqoolerError } from "@sqooler/storage";
 *
 * const error = new JobStateError("Job abc of spins is DONE; its status cannot become QUEUED");
 * assert(error instanceof SqoolerError && error.name === "JobStateError");
 * ```
 */
export class JobStateError extends SqoolerError {}

/**
 * A running job was cancelled (`cancelJob`): the reason with which its
 * worker aborts `execute`'s signal. The job ends ERROR with the message.
 *
 * @example Tell a cancellation from a stop of the worker
 * ```ts
 * import assert from "node:assert/strict";
 * import { JobCancelledError, SqoolerError } from "@sqooler/storage";
 *
 * const reason = new JobCancelledError("Cancelled by alice.");
 * assert(reason instanceof SqoolerError && reason.name === "JobCancelledError");
 * ```
 */
export class JobCancelledError extends SqoolerError {}

/**
 * A record cannot be signed, or a signed record cannot be replaced: a backend
 * whose config says `sign: true` (or whose stored config is signed) got no
 * private key, or the private key is not the one that signed the stored
 * config, or the config names another key than the private key's. Nothing
 * was written.
 *
 * @example Upload a config that must be signed, without a key
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryAdapter, SigningError, uploadConfig } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const adapter = new MemoryAdapter();
 * const config = testBackendConfig("spins", { sign: true });
 * const error = await uploadConfig(adapter, config).catch((e) => e);
 * assert(error instanceof SigningError);
 * assert.deepEqual(await adapter.list("backends/configs"), []);
 * ```
 */
export class SigningError extends SqoolerError {}

/**
 * A record whose signature was to be checked is not signed: it is stored as
 * the plain record, not as a JWS dict `{ header, payload, signature }`.
 * sqooler's `verify_result` raises there too.
 *
 * @example Tell an unsigned result from a forged one
 * ```ts
 * import assert from "node:assert/strict";
 * import { SqoolerError, UnsignedRecordError } from "@sqooler/storage";
 *
 * const error = new UnsignedRecordError("results/spins/abc.json", "it is stored unsigned");
 * assert(error instanceof SqoolerError && error.record === "results/spins/abc.json");
 * assert(error.message === "Cannot verify results/spins/abc.json: it is stored unsigned");
 * ```
 */
export class UnsignedRecordError extends SqoolerError {
  /** The record that is not signed, as `<storage path>/<id>.json`. */
  readonly record: string;

  /**
   * Creates the error.
   *
   * @param record The record, as `<storage path>/<id>.json`.
   * @param reason Why it cannot be verified.
   * @param options The cause, if any.
   */
  constructor(record: string, reason: string, options?: ErrorOptions) {
    super(`Cannot verify ${record}: ${reason}`, options);
    this.record = record;
  }
}
