/**
 * Results as sqooler 0.9 stores them: signed with the backend's private key
 * when its config says `sign: true` (a JWS dict `{ header, payload,
 * signature }` in place of the result), and verified by anyone who reads the
 * storage with the backend's public key. A worker records results with
 * `updateInDatabase`, which signs them the same way; {@linkcode uploadResult}
 * is sqooler's lower-level `upload_result`.
 *
 * @module
 */

import { type JsonObject, records, type StorageAdapter } from "./adapter.ts";
import { getConfig, storedConfig } from "./backends.ts";
import {
  CorruptRecordError,
  InvalidRecordError,
  NotFoundError,
  SigningError,
  UnsignedRecordError,
} from "./errors.ts";
import { getPublicKey } from "./keys.ts";
import { resultsPath } from "./layout.ts";
import { assertDisplayName, assertJobId, describeValue } from "./names.ts";
import { isSigned, parseInputInSlices } from "./records.ts";
import { type BackendConfigIn, type Result, ResultToStore } from "./schemas.ts";
import {
  type JwkPrivate,
  type JwsDict,
  signPayload,
  verifySignature,
} from "./signing.ts";

/** A job of a backend. */
export interface JobOnBackend {
  /** The backend's display name. */
  displayName: string;
  /** The job's id. */
  jobId: string;
}

/** Options of {@linkcode uploadResult}. */
export interface UploadResultOptions extends JobOnBackend {
  /** The result; its `job_id` and `display_name` must be the job's. */
  result: Result;
  /**
   * The backend's private key: needed when the backend's config says
   * `sign: true`, and then the result is stored signed with it.
   */
  privateJwk?: JwkPrivate;
}

/**
 * Checks a result that is to be stored for a job: by
 * {@linkcode ResultToStore}, and with the job's id and backend.
 *
 * @internal
 */
export async function checkResultFor(
  result: unknown,
  job: JobOnBackend,
): Promise<Result> {
  // A result that cannot be written (a cycle, a toJSON that throws) is
  // refused here, before the job's outcome is decided.
  await records.serializeInSlices(result, `the result of job ${job.jobId}`);
  const checked = await parseInputInSlices(result, "result", ResultToStore);
  for (
    const [field, expected] of [
      ["job_id", job.jobId],
      ["display_name", job.displayName],
    ] as const
  ) {
    if (checked[field] !== expected) {
      throw new InvalidRecordError(
        `Invalid result: its ${field} is ${
          describeValue(checked[field])
        }, but the job's is ${describeValue(expected)}`,
      );
    }
  }
  return checked;
}

/**
 * The record to store for a result when its backend signs: the JWS dict,
 * signed with `privateJwk`; `undefined` when the backend does not sign.
 *
 * Whether it signs, the backend's config says (`sign`). When there is no
 * config, or it cannot be read, the result is signed when a key is given:
 * the caller then says that it signs. A config that says `sign: true` with
 * no key, or that names another key than the key's, is a
 * {@linkcode SigningError}, before anything is written.
 *
 * @internal
 */
export async function signedResultRecord(
  adapter: StorageAdapter,
  job: JobOnBackend,
  result: Result,
  privateJwk: JwkPrivate | undefined,
  config?: Pick<BackendConfigIn, "sign" | "kid">,
): Promise<JwsDict | undefined> {
  if (config === undefined) {
    try {
      config = (await storedConfig(adapter, job.displayName))?.config;
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
    }
  }
  const sign = config?.sign ?? privateJwk !== undefined;
  if (!sign) return undefined;
  const about =
    `Cannot store the result of job ${job.jobId} of backend "${job.displayName}"`;
  if (privateJwk === undefined) {
    throw new SigningError(
      `${about}: the backend's config says sign: true, so the result must be signed; pass the backend's privateJwk (e.g. from SQOOLER_PRIVATE_JWK). Nothing was changed.`,
    );
  }
  const kid = (privateJwk as { kid?: unknown }).kid;
  if (config?.kid != null && config.kid !== kid) {
    throw new SigningError(
      `${about}: the backend's config names the key ${
        describeValue(config.kid)
      }, but the private key is ${
        describeValue(kid)
      }, so the result would not verify. Nothing was changed.`,
    );
  }
  return await signPayload(result, privateJwk);
}

/**
 * Stores a job's result (sqooler's `upload_result`), signed with the
 * backend's key when its config says `sign: true`. Like sqooler 0.9's, it
 * never replaces a result. It writes only the result: a worker records a
 * job's outcome (result, status, job file, lease) with `updateInDatabase`.
 *
 * @param adapter The storage.
 * @param options The job, its result, and the backend's private key.
 * @returns The record as stored: the JWS dict for a backend that signs,
 *   else the result.
 * @throws {NotFoundError} When the backend has no config.
 * @throws {AlreadyExistsError} When the job has a result.
 * @throws {InvalidRecordError} When the result does not match its schema or
 *   names another job or backend, or the key is not an Ed25519 private JWK.
 * @throws {SigningError} When the backend signs and no key is given, or the
 *   config names another key.
 * @throws {InvalidNameError} When the display name or the id is not
 *   acceptable.
 *
 * @example Store a signed result and verify it
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   createKeyPair, getResult, MemoryAdapter, uploadConfig, uploadPublicKey, uploadResult, verifyResult,
 * } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const adapter = new MemoryAdapter({ name: "lab" });
 * const { privateJwk, publicJwk } = await createKeyPair("labkey");
 * await uploadConfig(adapter, testBackendConfig("spins", { sign: true }), { privateJwk });
 * await uploadPublicKey(adapter, publicJwk, { displayName: "spins" });
 *
 * const jobId = "0123456789abcdef01234567";
 * const result = {
 *   backend_name: null, display_name: "spins", backend_version: "0.1.0", job_id: jobId,
 *   qobj_id: null, success: true, status: "DONE" as const, header: {}, results: [],
 * };
 * const stored = await uploadResult(adapter, { displayName: "spins", jobId, result, privateJwk });
 * assert("signature" in stored);
 * assert(await verifyResult(adapter, { displayName: "spins", jobId }));
 * const read = await getResult(adapter, { displayName: "spins", username: "alice", jobId });
 * assert(read.backend_name === "lab_spins_simulator");
 * ```
 */
export async function uploadResult(
  adapter: StorageAdapter,
  options: UploadResultOptions,
): Promise<Result | JwsDict> {
  const job = checkJob(options);
  const result = await checkResultFor(options.result, job);
  const config = await getConfig(adapter, job.displayName);
  const record = await signedResultRecord(
    adapter,
    job,
    result,
    options.privateJwk,
    config,
  ) ?? result;
  await adapter.upload(resultsPath(job.displayName), job.jobId, record);
  return record;
}

/**
 * Checks a stored result's signature (sqooler's `verify_result`) with the
 * backend's public key, the one its config's `kid` names. The signature is
 * checked against the stored text: the payload is read with its exact number
 * tokens and key order (`1.0`, `-0.0`, big integers), which is what Python
 * signed.
 *
 * @param adapter The storage.
 * @param job The backend and the job.
 * @returns `true` when the result is signed by the backend's key and
 *   unchanged; `false` for a result signed with another key, changed after
 *   it was signed, or whose signature is not sqooler's form.
 * @throws {UnsignedRecordError} When the result is stored unsigned (sqooler
 *   raises there too).
 * @throws {NotFoundError} When the job has no result, the backend has no
 *   config, its config names no key, or the key is not stored.
 * @throws {CorruptRecordError} When the result, the config or the key cannot
 *   be read.
 * @throws {InvalidNameError} When the display name or the id is not
 *   acceptable.
 *
 * @example A result signed with another key does not verify
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   createKeyPair, MemoryAdapter, resultsPath, signPayload, uploadConfig, uploadPublicKey, verifyResult,
 * } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const adapter = new MemoryAdapter();
 * const { privateJwk, publicJwk } = await createKeyPair("labkey");
 * await uploadConfig(adapter, testBackendConfig("spins", { sign: true }), { privateJwk });
 * await uploadPublicKey(adapter, publicJwk);
 *
 * const jobId = "0123456789abcdef01234567";
 * const forger = await createKeyPair("labkey");
 * const forged = await signPayload({
 *   display_name: "spins", backend_version: "0.1.0", job_id: jobId, status: "DONE",
 * }, forger.privateJwk);
 * await adapter.upload(resultsPath("spins"), jobId, forged);
 * assert(!await verifyResult(adapter, { displayName: "spins", jobId }));
 * ```
 *
 * @example An unsigned result cannot be verified
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnsignedRecordError, verifyResult } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [{ displayName: "spins", username: "alice", job, state: "done" }],
 * });
 * const error = await verifyResult(adapter, { displayName: "spins", jobId: jobIds[0] }).catch((e) => e);
 * assert(error instanceof UnsignedRecordError);
 * ```
 */
export async function verifyResult(
  adapter: StorageAdapter,
  job: JobOnBackend,
): Promise<boolean> {
  const { displayName, jobId } = checkJob(job);
  const path = resultsPath(displayName);
  let stored: JsonObject;
  try {
    stored = await adapter.get(path, jobId, { exact: true });
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw new NotFoundError(
        `Job ${jobId} of backend "${displayName}" has no result to verify`,
      );
    }
    throw error;
  }
  if (!isSigned(stored)) {
    throw new UnsignedRecordError(
      records.name(path, jobId),
      `the result is stored unsigned, as a plain result, so there is no signature to check`,
    );
  }
  const publicJwk = await getPublicKey(adapter, displayName);
  try {
    return await verifySignature(stored as unknown as JwsDict, publicJwk);
  } catch (error) {
    // A JWS dict whose header is not sqooler's: its signature cannot hold.
    if (error instanceof InvalidRecordError) return false;
    throw error;
  }
}

/**
 * Deletes a job's result (sqooler's `_delete_result`, which is meant for
 * tests). The job's status and job file stay as they are.
 *
 * @param adapter The storage.
 * @param job The backend and the job.
 * @returns A promise that resolves once the result is gone.
 * @throws {NotFoundError} When the job has no result.
 * @throws {InvalidNameError} When the display name or the id is not
 *   acceptable.
 *
 * @example Remove a finished job's result
 * ```ts
 * import assert from "node:assert/strict";
 * import { deleteResult, getResult } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [{ displayName: "spins", username: "alice", job, state: "done" }],
 * });
 * await deleteResult(adapter, { displayName: "spins", jobId: jobIds[0] });
 * const result = await getResult(adapter, { displayName: "spins", username: "alice", jobId: jobIds[0] });
 * assert(result.status === "ERROR");
 * ```
 */
export async function deleteResult(
  adapter: StorageAdapter,
  job: JobOnBackend,
): Promise<void> {
  const { displayName, jobId } = checkJob(job);
  await adapter.delete(resultsPath(displayName), jobId);
}

/**
 * Checks a job reference's backend and id.
 *
 * @internal
 */
export function checkJob(job: JobOnBackend): JobOnBackend {
  if (typeof job !== "object" || job === null) {
    throw new InvalidRecordError(
      `Invalid job ${describeValue(job)}: expected { displayName, jobId }`,
    );
  }
  return {
    displayName: assertDisplayName(job.displayName),
    jobId: assertJobId(job.jobId),
  };
}
