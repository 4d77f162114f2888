/**
 * The storage layer of a job system for remote quantum hardware: a Deno and
 * TypeScript re-implementation of sqooler's storage providers.
 *
 * A web API writes each user's job into a storage; the lab's worker takes the
 * next job of its backend, runs it, and writes status and result back; the API
 * reads them for the user. This module gives:
 *
 * - {@linkcode StorageAdapter}, with {@linkcode LocalAdapter} (the filesystem,
 *   in sqooler's own layout, so that sqooler's Python tools can share the
 *   folder) and {@linkcode MemoryAdapter} (for tests);
 * - free functions that take an adapter: {@linkcode uploadJob},
 *   {@linkcode getStatus}, {@linkcode getNextJobInQueue},
 *   {@linkcode updateInDatabase}, {@linkcode recoverStaleJobs}, …;
 * - sqooler 0.9's Ed25519 signatures: configs and results signed with a
 *   backend's private key ({@linkcode createKeyPair},
 *   {@linkcode privateJwkFromEnv}), public keys in the storage
 *   ({@linkcode uploadPublicKey}), and {@linkcode verifyResult};
 * - zod schemas of sqooler's JSON records, with their TypeScript types.
 *
 * @example The whole flow: the API submits, a worker runs, the API reads
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   getNextJobInQueue, getResult, getStatus, MemoryAdapter, updateInDatabase,
 *   uploadConfig, uploadJob, uploadStatus,
 * } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter({ name: "mylab" });
 * await uploadConfig(adapter, {
 *   description: "One spin", version: "0.1.0", display_name: "spin", cold_atom_type: "spin",
 *   gates: [], max_experiments: 1, max_shots: 10, simulator: true,
 *   supported_instructions: ["measure"], num_wires: 1, wire_order: "sequential", num_species: 1,
 * });
 *
 * // The API: the job, then its status.
 * const job = { experiment_0: { instructions: [["measure", [0], []]], num_wires: 1, shots: 2, wire_order: "sequential" } };
 * const ref = { displayName: "spin", username: "alice", jobId: "" };
 * ref.jobId = await uploadJob(adapter, { job, ...ref });
 * await uploadStatus(adapter, ref);
 *
 * // The worker.
 * const next = await getNextJobInQueue(adapter, "spin");
 * await updateInDatabase(adapter, {
 *   jobId: next.job_id,
 *   displayName: "spin",
 *   status: { job_id: next.job_id, status: "DONE", detail: "Done", error_message: "None" },
 *   result: {
 *     backend_name: null, display_name: "spin", backend_version: "0.1.0", job_id: next.job_id,
 *     qobj_id: null, success: true, status: "DONE", header: {},
 *     results: [{ header: { name: "experiment_0" }, shots: 2, success: true, data: { memory: ["0", "0"] } }],
 *   },
 * });
 *
 * // The API again.
 * assert((await getStatus(adapter, ref)).status === "DONE");
 * const result = await getResult(adapter, ref);
 * assert(result.backend_name === "mylab_spin_simulator");
 * ```
 *
 * @module
 */

export * from "./src/errors.ts";
export {
  assertDisplayName,
  assertJobId,
  assertRecordId,
  assertStoragePath,
  assertToken,
  assertUsername,
  newJobId,
  normalizeProviderName,
} from "./src/names.ts";
export {
  BackendConfigIn,
  BackendConfigInput,
  BackendConfigOut,
  BackendStatusOut,
  type ColdAtomType,
  Experiment,
  ExperimentData,
  Gate,
  GateConfig,
  Instruction,
  Job,
  JobMeta,
  type JobStatus,
  Lease,
  type LeaseState,
  LocalLoginInformation,
  MeasurementData,
  NextJob,
  Result,
  type SafeParseResult,
  type Schema,
  StatusMsg,
  WireOrder,
} from "./src/schemas.ts";
export {
  CONFIGS,
  DELETED,
  finishedPath,
  leasesPath,
  metaPath,
  PUBLIC_KEYS,
  queuedPath,
  resultsPath,
  RUNNING,
  statusPath,
} from "./src/layout.ts";
export type {
  GetOptions,
  JsonObject,
  MoveOldestOptions,
  RecordCheck,
  StorageAdapter,
  UploadOptions,
} from "./src/adapter.ts";
export type {
  AttemptTerms,
  Claim,
  ClaimTerms,
  JobTransitions,
  LeaseRef,
  LeaseTerms,
  Outcome,
  RecoverTerms,
  RecoveryReport,
  ReleaseOutcome,
  ReleaseTerms,
  SubmitInput,
} from "./src/transitions.ts";
export {
  MemoryAdapter,
  type MemoryAdapterOptions,
} from "./src/memory_adapter.ts";
export { LocalAdapter, type LocalAdapterOptions } from "./src/local_adapter.ts";
export {
  backendDictToQiskit,
  backendDictToQiskitStatus,
  type BackendStatusOptions,
  type ConfigSigningOptions,
  DEFAULT_LIVENESS_TIMEOUT_MS,
  deleteConfig,
  getBackendDict,
  getBackends,
  getBackendStatus,
  getConfig,
  longBackendName,
  timestampQueue,
  type TimestampQueueOptions,
  updateConfig,
  uploadConfig,
} from "./src/backends.ts";
export {
  createJobId,
  type CreateJobIdOptions,
  DEFAULT_LEASE_MS,
  deleteStatus,
  getFileQueue,
  getJob,
  getJobContent,
  getNextJobInQueue,
  getResult,
  getStatus,
  type JobLocation,
  type JobOutcome,
  type JobRef,
  type NextJobOptions,
  updateInDatabase,
  uploadJob,
  type UploadJobOptions,
  uploadStatus,
} from "./src/jobs.ts";
export {
  deleteResult,
  type JobOnBackend,
  uploadResult,
  type UploadResultOptions,
  verifyResult,
} from "./src/results.ts";
export {
  deletePublicKey,
  type EnvReader,
  getPublicKey,
  getPublicKeyFromKid,
  privateJwkFromEnv,
  SQOOLER_PRIVATE_JWK,
  uploadPublicKey,
  type UploadPublicKeyOptions,
} from "./src/keys.ts";
export {
  createKeyPair,
  decodePrivateJwkEnv,
  encodePrivateJwkEnv,
  JwkPrivate,
  JwkPublic,
  JwsDict,
  JwsHeader,
  type KeyPair,
  publicFromPrivate,
  signPayload,
  verifySignature,
} from "./src/signing.ts";
export {
  extendLease,
  type ExtendLeaseOptions,
  getQueueStats,
  type QueueStats,
  type RecoverOptions,
  recoverStaleJobs,
  releaseJob,
  type ReleaseOptions,
} from "./src/queue.ts";
export type { Clock } from "./src/transitions.ts";
export {
  cancelJob,
  type CancelOptions,
  type JobState,
  type JobSummary,
  listJobs,
  type ListJobsOptions,
  purgeJobs,
  type PurgeOptions,
  retryJob,
  type RetryOptions,
} from "./src/operations.ts";
export {
  type Backend,
  type Backends,
  type ExecuteContext,
  type WorkerEvent,
  type WorkerOptions,
  type WorkerSummary,
} from "./src/worker/types.ts";
export { runWorker } from "./src/worker/loop.ts";
export {
  type JobCheck,
  type JobLimits,
  validateJob,
} from "./src/worker/validate.ts";
