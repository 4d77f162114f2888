/**
 * Backends: their configs, the list of them, their qiskit-style descriptions
 * and status, and the time stamp that says a worker is polling their queue.
 *
 * @module
 */

import { type JsonObject, records, type StorageAdapter } from "./adapter.ts";
import { NotFoundError } from "./errors.ts";
import { CONFIGS } from "./layout.ts";
import {
  assertDisplayName,
  isDisplayName,
  normalizeProviderName,
} from "./names.ts";
import {
  type Clock,
  clockOf,
  isSigned,
  numberOption,
  parseInput,
  parseStored,
  putRecord,
  readRecord,
} from "./records.ts";
import {
  BackendConfigIn,
  type BackendConfigInput,
  type BackendConfigOut,
  type BackendStatusOut,
  parseStoredTime,
} from "./schemas.ts";

/**
 * How long, in milliseconds, a queue may go unpolled before its backend counts
 * as down, as in sqooler: five minutes.
 *
 * @example A backend is up until five minutes after its last poll
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   backendDictToQiskitStatus, BackendConfigIn, DEFAULT_LIVENESS_TIMEOUT_MS,
 * } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const polledAt = "2026-11-28T10:00:00Z";
 * const config = BackendConfigIn.parse(testBackendConfig("spins", { last_queue_check: polledAt }));
 * const upAfter = (ms: number) =>
 *   backendDictToQiskitStatus("lab", config, { now: () => Date.parse(polledAt) + ms }).operational;
 * assert(upAfter(DEFAULT_LIVENESS_TIMEOUT_MS));
 * assert(!upAfter(DEFAULT_LIVENESS_TIMEOUT_MS + 1));
 * ```
 */
export const DEFAULT_LIVENESS_TIMEOUT_MS = 300_000;

/**
 * Uploads a backend's config, creating it or replacing the one there. The
 * config's `display_name` names the backend.
 *
 * @param adapter The storage.
 * @param config The config; fields with defaults may be left out.
 * @returns The config as stored, with defaults filled in.
 * @throws {InvalidRecordError} When the config does not match its schema.
 *
 * @example Upload a config and read it back
 * ```ts
 * import assert from "node:assert/strict";
 * import { getConfig, MemoryAdapter, uploadConfig } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * await uploadConfig(adapter, {
 *   description: "Fermions in tweezers",
 *   version: "0.1.0",
 *   display_name: "fermions",
 *   cold_atom_type: "fermion",
 *   gates: [],
 *   max_experiments: 50,
 *   max_shots: 1000,
 *   simulator: true,
 *   supported_instructions: ["load", "measure"],
 *   num_wires: 3,
 *   wire_order: "interleaved",
 *   num_species: 2,
 * });
 * const config = await getConfig(adapter, "fermions");
 * assert(config.pending_jobs === null);
 * ```
 */
export async function uploadConfig(
  adapter: StorageAdapter,
  config: BackendConfigInput,
): Promise<BackendConfigIn> {
  const parsed = parseInput(config, "backend config", BackendConfigIn);
  await putRecord(adapter, { path: CONFIGS, id: parsed.display_name }, parsed);
  return parsed;
}

/**
 * Reads a backend's config. Configs that sqooler ≥ 0.9 stored signed are
 * read from their payload (the signature is not checked).
 *
 * @param adapter The storage.
 * @param displayName The backend's display name.
 * @returns The config, with defaults filled in.
 * @throws {NotFoundError} When the backend has no config.
 * @throws {CorruptRecordError} When the stored config is not valid.
 *
 * @example Ask for a backend that has no config
 * ```ts
 * import assert from "node:assert/strict";
 * import { getConfig, MemoryAdapter, NotFoundError } from "@sqooler/storage";
 *
 * const error = await getConfig(new MemoryAdapter(), "nothere").catch((e) => e);
 * assert(error instanceof NotFoundError);
 * ```
 */
export async function getConfig(
  adapter: StorageAdapter,
  displayName: string,
): Promise<BackendConfigIn> {
  const id = assertDisplayName(displayName);
  const config = await readRecord(
    adapter,
    { path: CONFIGS, id },
    BackendConfigIn,
  );
  if (config === undefined) {
    throw noConfig(id);
  }
  return config;
}

/**
 * Lists the display names of the backends that have a config.
 *
 * @param adapter The storage.
 * @returns The display names, oldest config first.
 *
 * @example List the backends, oldest config first
 * ```ts
 * import assert from "node:assert/strict";
 * import { getBackends, MemoryAdapter, uploadConfig } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const adapter = new MemoryAdapter();
 * assert.deepEqual(await getBackends(adapter), []);
 * await uploadConfig(adapter, testBackendConfig("spins"));
 * await uploadConfig(adapter, testBackendConfig("bosons"));
 * assert.deepEqual(await getBackends(adapter), ["spins", "bosons"]);
 * ```
 */
export async function getBackends(adapter: StorageAdapter): Promise<string[]> {
  const ids = await adapter.list(CONFIGS);
  return ids.filter(isDisplayName);
}

/**
 * The long name of a backend: `<provider>_<display>_simulator` or
 * `<provider>_<display>_hardware`.
 *
 * @param providerName The storage provider's name (an adapter's `name`).
 * @param config The backend's `display_name` and `simulator`.
 * @returns The long name.
 * @throws {InvalidNameError} When a name is not acceptable.
 *
 * @example Name a simulator backend
 * ```ts
 * import assert from "node:assert/strict";
 * import { longBackendName } from "@sqooler/storage";
 *
 * const name = longBackendName("fixture", { display_name: "fermions", simulator: true });
 * assert(name === "fixture_fermions_simulator");
 * ```
 */
export function longBackendName(
  providerName: string,
  config: Pick<BackendConfigIn, "display_name" | "simulator">,
): string {
  const provider = normalizeProviderName(providerName);
  const display = assertDisplayName(config?.display_name);
  return `${provider}_${display}_${
    config.simulator ? "simulator" : "hardware"
  }`;
}

/**
 * A backend's long name from its config, or `undefined` when it has no config.
 *
 * @internal
 */
export async function backendName(
  adapter: StorageAdapter,
  displayName: string,
): Promise<string | undefined> {
  const config = await readRecord(
    adapter,
    { path: CONFIGS, id: displayName },
    BackendConfigIn,
  );
  return config === undefined
    ? undefined
    : longBackendName(adapter.name, config);
}

/**
 * Turns a stored config into qiskit's form, as the API sends it to users.
 *
 * @param providerName The storage provider's name.
 * @param config The stored config.
 * @returns The config in qiskit's form.
 * @throws {InvalidRecordError} When the config does not match its schema.
 *
 * @example Turn a hardware config into qiskit's form
 * ```ts
 * import assert from "node:assert/strict";
 * import { backendDictToQiskit, type BackendConfigIn } from "@sqooler/storage";
 *
 * const config: BackendConfigIn = {
 *   description: "d", version: "1.0.0", display_name: "spins", cold_atom_type: "spin",
 *   gates: [{ name: "rx" }], max_experiments: 10, max_shots: 100, simulator: false,
 *   supported_instructions: ["rx", "measure"], num_wires: 5, wire_order: "linear",
 *   num_species: 1, operational: true, pending_jobs: null, status_msg: null,
 *   last_queue_check: null,
 * };
 * const qiskit = backendDictToQiskit("lab", config);
 * assert(qiskit.backend_name === "lab_spins_hardware");
 * assert(qiskit.basis_gates[0] === "rx" && qiskit.n_qubits === 5);
 * ```
 */
export function backendDictToQiskit(
  providerName: string,
  config: BackendConfigIn,
): BackendConfigOut {
  // Checked here too: a caller's config need not come from getConfig.
  config = parseInput(config, "backend config", BackendConfigIn);
  return {
    description: config.description,
    display_name: config.display_name,
    conditional: false,
    coupling_map: "linear",
    dynamic_reprate_enabled: false,
    local: false,
    memory: true,
    open_pulse: false,
    backend_version: config.version,
    n_qubits: config.num_wires,
    backend_name: longBackendName(providerName, config),
    basis_gates: config.gates.map((gate) => gate.name),
    max_experiments: config.max_experiments,
    max_shots: config.max_shots,
    simulator: config.simulator,
    gates: config.gates,
    supported_instructions: config.supported_instructions,
    cold_atom_type: config.cold_atom_type,
    wire_order: config.wire_order,
    num_species: config.num_species,
    url: null,
  };
}

/** Options of {@linkcode backendDictToQiskitStatus} and {@linkcode getBackendStatus}. */
export interface BackendStatusOptions {
  /**
   * How long, in milliseconds, the queue may go unpolled before the backend
   * counts as not operational.
   *
   * @default {300000}
   */
  timeoutMs?: number;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/**
 * Turns a stored config into qiskit's backend status. The backend is
 * operational when the config does not say otherwise and a worker polled its
 * queue within `timeoutMs` (a queue never polled counts as down, as in newer
 * sqooler versions).
 *
 * @param providerName The storage provider's name.
 * @param config The stored config.
 * @param options The liveness timeout and the clock.
 * @returns The status.
 * @throws {InvalidRecordError} When the config does not match its schema.
 *
 * @example A backend whose worker polled a minute ago
 * ```ts
 * import assert from "node:assert/strict";
 * import { backendDictToQiskitStatus, type BackendConfigIn } from "@sqooler/storage";
 *
 * const config: BackendConfigIn = {
 *   description: "d", version: "1.0.0", display_name: "spins", cold_atom_type: "spin",
 *   gates: [], max_experiments: 10, max_shots: 100, simulator: true,
 *   supported_instructions: [], num_wires: 5, wire_order: "linear", num_species: 1,
 *   operational: true, pending_jobs: null, status_msg: null,
 *   last_queue_check: "2026-11-28T10:00:00Z",
 * };
 * const now = () => Date.parse("2026-11-28T10:01:00Z");
 * const status = backendDictToQiskitStatus("lab", config, { now });
 * assert(status.operational && status.pending_jobs === 0 && status.status_msg === "");
 * ```
 */
export function backendDictToQiskitStatus(
  providerName: string,
  config: BackendConfigIn,
  options: BackendStatusOptions = {},
): BackendStatusOut {
  config = parseInput(config, "backend config", BackendConfigIn);
  const now = clockOf(options)();
  const timeoutMs = numberOption(options?.timeoutMs, {
    what: "liveness timeout",
    fallback: DEFAULT_LIVENESS_TIMEOUT_MS,
  });
  const lastCheck = config.last_queue_check === null
    ? NaN
    : parseStoredTime(config.last_queue_check);
  return {
    backend_name: longBackendName(providerName, config),
    backend_version: config.version,
    operational: config.operational && now - lastCheck <= timeoutMs,
    pending_jobs: config.pending_jobs ?? 0,
    status_msg: config.status_msg ?? "",
  };
}

/**
 * Reads a backend's config in qiskit's form.
 *
 * @param adapter The storage.
 * @param displayName The backend's display name.
 * @returns The config in qiskit's form.
 * @throws {NotFoundError} When the backend has no config.
 *
 * @example Read a backend as the API sends it to users
 * ```ts
 * import assert from "node:assert/strict";
 * import { getBackendDict, MemoryAdapter, uploadConfig } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const adapter = new MemoryAdapter({ name: "lab" });
 * await uploadConfig(adapter, testBackendConfig("spins", { num_wires: 5 }));
 * const backend = await getBackendDict(adapter, "spins");
 * assert(backend.backend_name === "lab_spins_simulator" && backend.n_qubits === 5);
 * ```
 *
 * @example Ask for a backend that has no config
 * ```ts
 * import assert from "node:assert/strict";
 * import { getBackendDict, MemoryAdapter, NotFoundError } from "@sqooler/storage";
 *
 * const error = await getBackendDict(new MemoryAdapter(), "nothere").catch((e) => e);
 * assert(error instanceof NotFoundError);
 * ```
 */
export async function getBackendDict(
  adapter: StorageAdapter,
  displayName: string,
): Promise<BackendConfigOut> {
  return backendDictToQiskit(
    adapter.name,
    await getConfig(adapter, displayName),
  );
}

/**
 * Reads a backend's status in qiskit's form; see
 * {@linkcode backendDictToQiskitStatus} for when it is operational.
 *
 * @param adapter The storage.
 * @param displayName The backend's display name.
 * @param options The liveness timeout and the clock.
 * @returns The status.
 * @throws {NotFoundError} When the backend has no config.
 *
 * @example A backend whose worker polled a minute ago is operational
 * ```ts
 * import assert from "node:assert/strict";
 * import { getBackendStatus, MemoryAdapter, timestampQueue, uploadConfig } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const adapter = new MemoryAdapter();
 * await uploadConfig(adapter, testBackendConfig("spins"));
 * const polledAt = Date.parse("2026-11-28T10:00:00Z");
 * await timestampQueue(adapter, "spins", { now: () => polledAt });
 * const status = await getBackendStatus(adapter, "spins", { now: () => polledAt + 60_000 });
 * assert(status.operational);
 * ```
 *
 * @example Ask for a backend that has no config
 * ```ts
 * import assert from "node:assert/strict";
 * import { getBackendStatus, MemoryAdapter, NotFoundError } from "@sqooler/storage";
 *
 * const error = await getBackendStatus(new MemoryAdapter(), "nothere").catch((e) => e);
 * assert(error instanceof NotFoundError);
 * ```
 */
export async function getBackendStatus(
  adapter: StorageAdapter,
  displayName: string,
  options: BackendStatusOptions = {},
): Promise<BackendStatusOut> {
  const config = await getConfig(adapter, displayName);
  return backendDictToQiskitStatus(adapter.name, config, options);
}

/** Options of {@linkcode timestampQueue}. */
export interface TimestampQueueOptions {
  /**
   * Skip the stamp when the stored `last_queue_check` is less than this many
   * milliseconds old (by this clock), so that busy workers do not rewrite the
   * config on every poll. A stamp in the future (a clock that was set back)
   * is replaced.
   *
   * @default {0}
   */
  minIntervalMs?: number;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/**
 * Records in the backend's config (`last_queue_check`) that a worker looked at
 * its queue now (sqooler's `timestamp_queue`). The config is rewritten
 * atomically, so readers never see a torn file, and only the stamp changes:
 * every other value is written back exactly as stored (`1.0`, integers beyond
 * 2^53, unknown fields, key order). Configs that sqooler ≥ 0.9 stored signed
 * are left alone, because rewriting them would break their signature.
 *
 * @param adapter The storage.
 * @param displayName The backend's display name.
 * @param options How often to stamp at most, and the clock.
 * @returns Whether the config was stamped.
 * @throws {NotFoundError} When the backend has no config.
 *
 * @example Stamp a backend's queue check with a given clock
 * ```ts
 * import assert from "node:assert/strict";
 * import { getConfig, MemoryAdapter, timestampQueue, uploadConfig } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * await uploadConfig(adapter, {
 *   description: "d", version: "1.0.0", display_name: "spins", cold_atom_type: "spin",
 *   gates: [], max_experiments: 10, max_shots: 100, simulator: true,
 *   supported_instructions: [], num_wires: 5, wire_order: "linear", num_species: 1,
 * });
 * await timestampQueue(adapter, "spins", { now: () => Date.parse("2026-11-28T10:00:00Z") });
 * const config = await getConfig(adapter, "spins");
 * assert(config.last_queue_check === "2026-11-28T10:00:00.000Z");
 * ```
 */
export async function timestampQueue(
  adapter: StorageAdapter,
  displayName: string,
  options: TimestampQueueOptions = {},
): Promise<boolean> {
  const id = assertDisplayName(displayName);
  const now = clockOf(options)();
  const minIntervalMs = numberOption(options?.minIntervalMs, {
    what: "stamp interval",
    fallback: 0,
  });
  let stored: JsonObject;
  try {
    stored = await adapter.get(CONFIGS, id);
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw noConfig(id);
    }
    throw error;
  }
  if (isSigned(stored)) return false;
  const config = parseStored(
    stored,
    records.name(CONFIGS, id),
    BackendConfigIn,
  );
  const last = config.last_queue_check === null
    ? NaN
    : parseStoredTime(config.last_queue_check);
  // Either way: a clock set back an hour must not stop the stamps for an hour.
  if (Math.abs(now - last) < minIntervalMs) return false;
  // Only the stamp changes: every other value is written back exactly as it
  // was (1.0, big integers, key order), and a config uploaded meanwhile is
  // not overwritten.
  const seen = JSON.stringify(stored);
  try {
    const exact = await adapter.get(CONFIGS, id, { exact: true });
    await adapter.update(CONFIGS, id, {
      ...exact,
      last_queue_check: new Date(now).toISOString(),
    }, {
      check: (current) => {
        if (JSON.stringify(current) !== seen) throw new ConfigChanged();
      },
    });
  } catch (error) {
    if (error instanceof ConfigChanged || error instanceof NotFoundError) {
      return false;
    }
    throw error;
  }
  return true;
}

/** Thrown by the stamp's check when the config changed since it was read. */
class ConfigChanged extends Error {}

/** The error for a backend that has no config. */
function noConfig(displayName: string): NotFoundError {
  return new NotFoundError(
    `Backend "${displayName}" does not exist: it has no config`,
  );
}
