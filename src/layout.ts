/**
 * The one place that knows where sqooler keeps its records. Every storage path
 * that the job and backend functions use comes from here.
 *
 * sqooler's own folders: `backends/configs`, `backends/public_keys`,
 * `jobs/queued/<display>`, `jobs/running`, `jobs/finished/<display>`,
 * `jobs/deleted`, `status/<display>`, `results/<display>`. This library adds two that
 * sqooler's Python tools never look at: `meta/<display>` (who submitted a job,
 * how often it was attempted) and `leases/<display>` (who holds a running job
 * since when).
 *
 * @module
 */

import { assertDisplayName } from "./names.ts";

/**
 * The folder of the backends' configs; a config's id is its display name.
 *
 * @example List the stored configs
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONFIGS } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const { adapter } = await createTestAdapter({
 *   backends: [testBackendConfig("spins"), testBackendConfig("bosons")],
 * });
 * assert.deepEqual(await adapter.list(CONFIGS), ["spins", "bosons"]);
 * ```
 */
export const CONFIGS = "backends/configs";

/**
 * The folder of the public keys (sqooler ≥ 0.9): backends' keys, which check
 * the signatures of their configs and results, and users' keys. A key's id
 * is its `kid`, and a backend's config names its key with `kid`.
 *
 * @example Find the public key that a backend's config names
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   createKeyPair, getConfig, MemoryAdapter, PUBLIC_KEYS, uploadConfig, uploadPublicKey,
 * } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const adapter = new MemoryAdapter();
 * const { privateJwk, publicJwk } = await createKeyPair("labkey");
 * await uploadConfig(adapter, testBackendConfig("spins", { sign: true }), { privateJwk });
 * await uploadPublicKey(adapter, publicJwk);
 * const { kid } = await getConfig(adapter, "spins");
 * assert.deepEqual(await adapter.list(PUBLIC_KEYS), [kid]);
 * ```
 */
export const PUBLIC_KEYS = "backends/public_keys";

/**
 * The folder of the jobs that a worker holds, for all backends.
 *
 * @example See which jobs the workers hold
 * ```ts
 * import assert from "node:assert/strict";
 * import { RUNNING } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [
 *     { displayName: "spins", username: "alice", job },
 *     { displayName: "spins", username: "alice", job, state: "running" },
 *   ],
 * });
 * assert.deepEqual(await adapter.list(RUNNING), [jobIds[1]]);
 * ```
 */
export const RUNNING = "jobs/running";

/**
 * The folder of the jobs that failed, for all backends.
 *
 * @example Find the jobs that failed
 * ```ts
 * import assert from "node:assert/strict";
 * import { DELETED } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [
 *     { displayName: "spins", username: "alice", job, state: "done" },
 *     { displayName: "spins", username: "alice", job, state: "error" },
 *   ],
 * });
 * assert.deepEqual(await adapter.list(DELETED), [jobIds[1]]);
 * ```
 */
export const DELETED = "jobs/deleted";

/**
 * The folder of a backend's waiting jobs.
 *
 * @param displayName The backend's display name.
 * @returns The folder, `jobs/queued/<display>`.
 * @throws {InvalidNameError} When the display name is not acceptable.
 *
 * @example List a backend's waiting jobs, oldest first
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidNameError, queuedPath } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [
 *     { displayName: "spins", username: "alice", job },
 *     { displayName: "spins", username: "alice", job },
 *   ],
 * });
 * assert(queuedPath("spins") === "jobs/queued/spins");
 * assert.deepEqual(await adapter.list(queuedPath("spins")), jobIds);
 * assert.throws(() => queuedPath("../configs"), InvalidNameError);
 * ```
 */
export function queuedPath(displayName: string): string {
  return `jobs/queued/${assertDisplayName(displayName)}`;
}

/**
 * The folder of a backend's finished jobs.
 *
 * @param displayName The backend's display name.
 * @returns The folder, `jobs/finished/<display>`.
 * @throws {InvalidNameError} When the display name is not acceptable.
 *
 * @example List a backend's finished jobs
 * ```ts
 * import assert from "node:assert/strict";
 * import { finishedPath } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [
 *     { displayName: "spins", username: "alice", job },
 *     { displayName: "spins", username: "alice", job, state: "done" },
 *   ],
 * });
 * assert(finishedPath("spins") === "jobs/finished/spins");
 * assert.deepEqual(await adapter.list(finishedPath("spins")), [jobIds[1]]);
 * ```
 */
export function finishedPath(displayName: string): string {
  return `jobs/finished/${assertDisplayName(displayName)}`;
}

/**
 * The folder of a backend's job statuses.
 *
 * @param displayName The backend's display name.
 * @returns The folder, `status/<display>`.
 * @throws {InvalidNameError} When the display name is not acceptable.
 *
 * @example Read a job's status file
 * ```ts
 * import assert from "node:assert/strict";
 * import { statusPath } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [{ displayName: "spins", username: "alice", job }],
 * });
 * const stored = await adapter.get(statusPath("spins"), jobIds[0]);
 * assert(stored.status === "INITIALIZING");
 * ```
 */
export function statusPath(displayName: string): string {
  return `status/${assertDisplayName(displayName)}`;
}

/**
 * The folder of a backend's job results.
 *
 * @param displayName The backend's display name.
 * @returns The folder, `results/<display>`.
 * @throws {InvalidNameError} When the display name is not acceptable.
 *
 * @example Read a job's result file, stored without its backend name
 * ```ts
 * import assert from "node:assert/strict";
 * import { resultsPath } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [{ displayName: "spins", username: "alice", job, state: "done" }],
 * });
 * const stored = await adapter.get(resultsPath("spins"), jobIds[0]);
 * assert(stored.status === "DONE" && stored.backend_name === null);
 * ```
 */
export function resultsPath(displayName: string): string {
  return `results/${assertDisplayName(displayName)}`;
}

/**
 * The folder of a backend's job metadata (owner, attempts).
 *
 * @param displayName The backend's display name.
 * @returns The folder, `meta/<display>`.
 * @throws {InvalidNameError} When the display name is not acceptable.
 *
 * @example Read who submitted a job
 * ```ts
 * import assert from "node:assert/strict";
 * import { metaPath } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [{ displayName: "spins", username: "alice", job }],
 * });
 * const meta = await adapter.get(metaPath("spins"), jobIds[0]);
 * assert(meta.username === "alice" && meta.attempts === 0);
 * ```
 */
export function metaPath(displayName: string): string {
  return `meta/${assertDisplayName(displayName)}`;
}

/**
 * The folder of a backend's leases on running jobs.
 *
 * @param displayName The backend's display name.
 * @returns The folder, `leases/<display>`.
 * @throws {InvalidNameError} When the display name is not acceptable.
 *
 * @example Read the lease on a running job
 * ```ts
 * import assert from "node:assert/strict";
 * import { leasesPath } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   backends: [testBackendConfig("spins")],
 *   jobs: [{ displayName: "spins", username: "alice", job, state: "running" }],
 *   now: () => Date.parse("2026-11-28T10:00:00Z"),
 * });
 * const lease = await adapter.get(leasesPath("spins"), jobIds[0]);
 * assert(lease.expires_at === "2026-11-28T10:10:00.000Z");
 * ```
 */
export function leasesPath(displayName: string): string {
  return `leases/${assertDisplayName(displayName)}`;
}

/**
 * Where a lease waits while one process recovers its job, so that no other
 * does. Internal to recovery: it is not exported from the package.
 *
 * @param displayName The backend's display name.
 * @returns The folder, `leases/<display>/recovering`.
 * @throws {InvalidNameError} When the display name is not acceptable.
 *
 * @example A folder inside the backend's leases
 * ```ts
 * import assert from "node:assert/strict";
 * import { leasesPath, recoveringPath } from "./layout.ts";
 *
 * assert(recoveringPath("spins") === `${leasesPath("spins")}/recovering`);
 * ```
 */
export function recoveringPath(displayName: string): string {
  return `${leasesPath(displayName)}/recovering`;
}

/** The top folders of records that are only ever found by id, never listed in order. */
const UNORDERED = ["status/", "results/", "meta/", "leases/", "backends/"];

/**
 * Whether the order in which records are written into a folder is ever read
 * back: true for the job folders (`jobs/…`, whose queues are first in, first
 * out) and for folders outside sqooler's layout; false for statuses, results,
 * owner records, leases and the backends' records, which are found by id. An
 * adapter may spend less on keeping the write order where it is false.
 * Internal: it is not exported from the package.
 *
 * @param storagePath A storage path.
 * @returns Whether listings of the folder must keep the write order.
 *
 * @example Queues keep their order, statuses need not
 * ```ts
 * import assert from "node:assert/strict";
 * import { keepsWriteOrder, queuedPath, statusPath } from "./layout.ts";
 *
 * assert(keepsWriteOrder(queuedPath("spins")));
 * assert(!keepsWriteOrder(statusPath("spins")));
 * ```
 */
export function keepsWriteOrder(storagePath: string): boolean {
  return !UNORDERED.some((top) => storagePath.startsWith(top));
}

/** The top folders whose records are always small: a status, an owner record, a lease, a config or a key. */
const SMALL_RECORDS = ["status/", "meta/", "leases/", "backends/"];

/**
 * Whether a folder may hold large records (about 64 KiB of JSON or more):
 * results (of many shots), jobs (of many instructions) and folders outside
 * sqooler's layout; not statuses, owner records, leases or the backends'
 * records. An adapter may read records of the other folders in one piece
 * without first asking their size. Internal: it is not exported from the
 * package.
 *
 * @param storagePath A storage path.
 * @returns Whether the folder's records may be large.
 *
 * @example Results may be large, statuses never are
 * ```ts
 * import assert from "node:assert/strict";
 * import { mayHoldLargeRecords, resultsPath, statusPath } from "./layout.ts";
 *
 * assert(mayHoldLargeRecords(resultsPath("spins")));
 * assert(!mayHoldLargeRecords(statusPath("spins")));
 * ```
 */
export function mayHoldLargeRecords(storagePath: string): boolean {
  return !SMALL_RECORDS.some((top) => storagePath.startsWith(top));
}
