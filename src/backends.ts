/**
 * Backends: their configs, the list of them, their qiskit-style descriptions
 * and status, and the time stamp that says a worker is polling their queue.
 *
 * A backend whose config says `sign: true` (sqooler ≥ 0.9) stores its config
 * signed, as a JWS dict `{ header, payload, signature }`, with the backend's
 * private key; readers get the payload. As in sqooler 0.9, a config that was
 * stored signed stays signed, and only the key that signed it may replace
 * it.
 *
 * @module
 */

import { type JsonObject, records, type StorageAdapter } from "./adapter.ts";
import {
  AlreadyExistsError,
  CorruptRecordError,
  InvalidRecordError,
  NotFoundError,
  SigningError,
  StorageError,
} from "./errors.ts";
import { CONFIGS } from "./layout.ts";
import {
  assertDisplayName,
  describeValue,
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
  readRecord,
  unwrapSigned,
} from "./records.ts";
import {
  BackendConfigIn,
  BackendConfigInput,
  type BackendConfigOut,
  type BackendStatusOut,
  parseStoredTime,
} from "./schemas.ts";
import {
  type JwkPrivate,
  type JwsDict,
  publicFromPrivate,
  signPayload,
  verifySignature,
} from "./signing.ts";

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

/** Options of {@linkcode uploadConfig} and {@linkcode updateConfig}. */
export interface ConfigSigningOptions {
  /**
   * The backend's private key (sqooler's `private_jwk`). Needed when the
   * config says `sign: true`, or when the stored config is signed (then it
   * must be the key that signed it). The config's `kid` becomes the key's.
   */
  privateJwk?: JwkPrivate;
}

/**
 * Uploads a backend's config (sqooler's `upload_config`), creating it or
 * replacing the one there; the config's `display_name` names the backend.
 * Unlike sqooler's, which refuses a config that exists, it replaces one, by
 * {@linkcode updateConfig}'s rules, so that a worker can upload its config
 * whenever it starts.
 *
 * The config is checked against {@linkcode BackendConfigInput}: values that
 * sqooler 0.9 cannot read (such as the seed version's `wire_order:
 * "linear"`) are refused. A config that says `sign: true` is stored signed
 * with `privateJwk`, and its `kid` becomes the key's; without a key nothing
 * is written. A stored config that is signed is replaced only with the key
 * that signed it, and stays signed (sqooler 0.9 does the same); a stored
 * config that cannot be read is replaced.
 *
 * @param adapter The storage.
 * @param config The config; fields with defaults may be left out.
 * @param options The backend's private key, for a config that is signed.
 * @returns The config as stored (the payload, for a signed one), with
 *   defaults filled in.
 * @throws {InvalidRecordError} When the config does not match
 *   {@linkcode BackendConfigInput}, or the private key is not an Ed25519
 *   private JWK.
 * @throws {SigningError} When the config must be signed and no private key
 *   is given, when the key did not sign the stored config, or when the
 *   config's `kid` is not the key's.
 * @throws {StorageError} When the storage refuses.
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
  options: ConfigSigningOptions = {},
): Promise<BackendConfigIn> {
  return await writeConfig(adapter, config, options, { mayCreate: true });
}

/**
 * Replaces a backend's stored config (sqooler's `update_config`): the config
 * must exist. The rules of sqooler 0.9's `_format_update_config` apply: when
 * the stored config is signed or the new one says `sign: true`, a private
 * key is needed; when the stored one is signed, the key must be the one that
 * signed it (its signature over the stored payload must hold), and the new
 * config is signed too, whatever its `sign` says. The key's `kid` becomes
 * the config's. Nothing is written when a check fails.
 *
 * @param adapter The storage.
 * @param config The new config; fields with defaults may be left out.
 * @param options The backend's private key, for a config that is signed.
 * @returns The config as stored (the payload, for a signed one).
 * @throws {NotFoundError} When the backend has no config.
 * @throws {InvalidRecordError} When the config does not match
 *   {@linkcode BackendConfigInput}, or the private key is not an Ed25519
 *   private JWK.
 * @throws {SigningError} When a key is needed and not given, when the key
 *   did not sign the stored config, or when the config's `kid` is not the
 *   key's.
 * @throws {StorageError} When the storage refuses.
 *
 * @example Update a signed config with the key that signed it
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   createKeyPair, getConfig, MemoryAdapter, SigningError, updateConfig, uploadConfig,
 * } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const adapter = new MemoryAdapter();
 * const { privateJwk } = await createKeyPair("labkey");
 * await uploadConfig(adapter, testBackendConfig("spins", { sign: true }), { privateJwk });
 * const config = await getConfig(adapter, "spins");
 * assert(config.kid === "labkey");
 *
 * await updateConfig(adapter, { ...config, max_shots: 50 }, { privateJwk });
 * assert((await getConfig(adapter, "spins")).max_shots === 50);
 *
 * // Another key may not replace it.
 * const other = await createKeyPair("labkey");
 * const error = await updateConfig(adapter, config, { privateJwk: other.privateJwk }).catch((e) => e);
 * assert(error instanceof SigningError);
 * ```
 *
 * @example A backend must exist to be updated
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryAdapter, NotFoundError, updateConfig } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const error = await updateConfig(new MemoryAdapter(), testBackendConfig("spins")).catch((e) => e);
 * assert(error instanceof NotFoundError);
 * ```
 */
export async function updateConfig(
  adapter: StorageAdapter,
  config: BackendConfigInput,
  options: ConfigSigningOptions = {},
): Promise<BackendConfigIn> {
  return await writeConfig(adapter, config, options, { mayCreate: false });
}

/**
 * Deletes a backend's config (sqooler's `_delete_config`, which is meant for
 * tests). Its jobs, statuses, results and public key stay.
 *
 * @param adapter The storage.
 * @param displayName The backend's display name.
 * @returns A promise that resolves once the config is gone.
 * @throws {NotFoundError} When the backend has no config.
 * @throws {InvalidNameError} When the display name is not acceptable.
 *
 * @example Remove a backend's config
 * ```ts
 * import assert from "node:assert/strict";
 * import { deleteConfig, getBackends, MemoryAdapter, uploadConfig } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const adapter = new MemoryAdapter();
 * await uploadConfig(adapter, testBackendConfig("spins"));
 * await deleteConfig(adapter, "spins");
 * assert.deepEqual(await getBackends(adapter), []);
 * ```
 */
export async function deleteConfig(
  adapter: StorageAdapter,
  displayName: string,
): Promise<void> {
  const id = assertDisplayName(displayName);
  try {
    await adapter.delete(CONFIGS, id);
  } catch (error) {
    if (error instanceof NotFoundError) throw noConfig(id);
    throw error;
  }
}

/** A stored config as read for a change, and how to tell that it changed since. */
interface StoredConfig {
  /** The content, with exact numbers (a signed one is checked from these). */
  exact: JsonObject;
  /** Whether it is a signed JWS dict. */
  signed: boolean;
  /** Throws {@linkcode ConfigChanged} when the current content is not the one read. */
  check: ((current: JsonObject) => void) | undefined;
}

/** How many times a config's change is tried while others keep changing it. */
const CONFIG_ROUNDS = 8;

/** Stores a config by the rules of {@linkcode uploadConfig} and {@linkcode updateConfig}. */
async function writeConfig(
  adapter: StorageAdapter,
  config: BackendConfigInput,
  options: ConfigSigningOptions,
  mode: { mayCreate: boolean },
): Promise<BackendConfigIn> {
  const parsed = parseInput(config, "backend config", BackendConfigInput);
  const id = parsed.display_name;
  const privateJwk = options?.privateJwk;
  for (let round = 0;; round++) {
    const stored = await readForChange(adapter, id);
    if (stored === undefined && !mode.mayCreate) throw noConfig(id);
    const { record, config: written } = await configToStore(
      id,
      parsed,
      stored,
      privateJwk,
    );
    try {
      if (stored === undefined) {
        await adapter.upload(CONFIGS, id, record);
      } else {
        await adapter.update(CONFIGS, id, record, { check: stored.check });
      }
      return written;
    } catch (error) {
      const raced = error instanceof ConfigChanged ||
        (stored === undefined
          ? error instanceof AlreadyExistsError
          : error instanceof NotFoundError);
      if (!raced) throw error;
      if (round >= CONFIG_ROUNDS) {
        throw new StorageError(
          `Cannot write ${
            records.name(CONFIGS, id)
          }: other processes kept changing it while it was being written`,
          { cause: error },
        );
      }
    }
  }
}

/** Reads a stored config for a change; `undefined` when there is none. */
async function readForChange(
  adapter: StorageAdapter,
  id: string,
): Promise<StoredConfig | undefined> {
  let plain: JsonObject;
  let exact: JsonObject;
  try {
    plain = await adapter.get(CONFIGS, id);
    exact = await adapter.get(CONFIGS, id, { exact: true });
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    // A config that cannot be read (another tool wrote it badly) is replaced.
    if (error instanceof CorruptRecordError) {
      return { exact: {}, signed: false, check: undefined };
    }
    throw error;
  }
  const seen = JSON.stringify(plain);
  return {
    exact,
    signed: isSigned(plain),
    check: (current) => {
      if (JSON.stringify(current) !== seen) throw new ConfigChanged();
    },
  };
}

/**
 * What to store for a config: itself, or its JWS dict when it is signed (then
 * with the key's `kid`), and the config that the record holds.
 */
async function configToStore(
  id: string,
  config: BackendConfigIn,
  stored: StoredConfig | undefined,
  privateJwk: JwkPrivate | undefined,
): Promise<{ record: object; config: BackendConfigIn }> {
  const signedBefore = stored?.signed === true;
  if (!signedBefore && !config.sign) return { record: config, config };
  if (privateJwk === undefined) {
    throw new SigningError(
      signedBefore
        ? `Cannot replace the config of backend "${id}": the stored config is signed, so the new one must be signed by the same key; pass its privateJwk`
        : `Cannot store the config of backend "${id}": it says sign: true, so it must be signed; pass the backend's privateJwk (e.g. from SQOOLER_PRIVATE_JWK)`,
    );
  }
  const publicJwk = await publicFromPrivate(privateJwk);
  if (config.kid != null && config.kid !== publicJwk.kid) {
    throw new SigningError(
      `Cannot sign the config of backend "${id}": it names the key ${
        describeValue(config.kid)
      }, but the private key is ${describeValue(publicJwk.kid)}`,
    );
  }
  if (signedBefore) {
    const verified = await verifySignature(
      stored.exact as unknown as JwsDict,
      publicJwk,
    ).catch((error) => {
      if (error instanceof InvalidRecordError) return false;
      throw error;
    });
    if (!verified) {
      throw new SigningError(
        `Cannot replace the config of backend "${id}": the stored config was not signed by the private key ${
          describeValue(publicJwk.kid)
        }; only the key that signed it may replace it`,
      );
    }
  }
  const payload = { ...config, kid: publicJwk.kid };
  return { record: await signPayload(payload, privateJwk), config: payload };
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
 * The fields of a backend's stored config that the job functions need on
 * every job (its kind, whether and with which key it signs, when its queue
 * was last polled), read without the config's full check, which costs more
 * than the rest of a claim. A config whose fields are not as expected is
 * checked in full, so that it fails as {@linkcode getConfig} fails.
 *
 * @internal
 * @returns The fields and the stored record, or `undefined` without a config.
 * @throws {CorruptRecordError} When the stored config is not valid.
 */
export async function storedConfig(
  adapter: StorageAdapter,
  displayName: string,
): Promise<ConfigFields | undefined> {
  let stored: JsonObject;
  try {
    stored = await adapter.get(CONFIGS, displayName);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  const signed = isSigned(stored);
  const payload = unwrapSigned(stored);
  const { display_name, simulator, sign, kid, last_queue_check } = payload;
  const plain = isDisplayName(display_name) &&
    typeof simulator === "boolean" &&
    (sign === undefined || typeof sign === "boolean") &&
    (kid === undefined || kid === null || typeof kid === "string") &&
    (last_queue_check === undefined || last_queue_check === null ||
      !Number.isNaN(parseStoredTime(last_queue_check as string | number)));
  if (!plain) {
    // Not as expected: the full check says what is wrong.
    const config = parseStored(
      payload,
      records.name(CONFIGS, displayName),
      BackendConfigIn,
    );
    return { config: config, stored, signed };
  }
  return {
    config: {
      display_name,
      simulator,
      sign: sign ?? false,
      kid: kid ?? null,
      last_queue_check: (last_queue_check ?? null) as string | number | null,
    },
    stored,
    signed,
  };
}

/** What {@linkcode storedConfig} reads. @internal */
export interface ConfigFields {
  /** The fields needed on every job. */
  config: Pick<
    BackendConfigIn,
    "display_name" | "simulator" | "sign" | "kid" | "last_queue_check"
  >;
  /** The record as stored (a JWS dict when signed). */
  stored: JsonObject;
  /** Whether it is stored signed. */
  signed: boolean;
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
  const found = await storedConfig(adapter, displayName);
  return found === undefined
    ? undefined
    : longBackendName(adapter.name, found.config);
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
 *   supported_instructions: ["rx", "measure"], num_wires: 5, wire_order: "sequential",
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
 *   supported_instructions: [], num_wires: 5, wire_order: "sequential", num_species: 1,
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
   * The backend's private key. A signed config is stamped only with the key
   * that signed it, and signed again; without it (or with another key) a
   * signed config is left alone.
   */
  privateJwk?: JwkPrivate;
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
 * 2^53, unknown fields, key order). A config that is stored signed is
 * stamped and signed again with `privateJwk` when that key signed it, as
 * sqooler 0.9's `timestamp_queue` does; without the key (or with another
 * one) it is left alone, since it cannot be rewritten without breaking its
 * signature.
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
 *   supported_instructions: [], num_wires: 5, wire_order: "sequential", num_species: 1,
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
  const privateJwk = options?.privateJwk;
  const found = await storedConfig(adapter, id);
  if (found === undefined) throw noConfig(id);
  const { config, stored, signed } = found;
  if (signed && privateJwk === undefined) return false;
  const last = config.last_queue_check === null
    ? NaN
    : parseStoredTime(config.last_queue_check);
  // Either way: a clock set back an hour must not stop the stamps for an hour.
  if (Math.abs(now - last) < minIntervalMs) return false;
  // About to rewrite it: the whole config must be valid.
  parseStored(unwrapSigned(stored), records.name(CONFIGS, id), BackendConfigIn);
  // Only the stamp changes: every other value is written back exactly as it
  // was (1.0, big integers, key order), and a config uploaded meanwhile is
  // not overwritten.
  const seen = JSON.stringify(stored);
  const stamp = new Date(now).toISOString();
  try {
    const exact = await adapter.get(CONFIGS, id, { exact: true });
    let record: object = { ...exact, last_queue_check: stamp };
    if (signed && privateJwk !== undefined) {
      const signedBy = await publicFromPrivate(privateJwk);
      const verified = await verifySignature(
        exact as unknown as JwsDict,
        signedBy,
      ).catch((error) => {
        if (error instanceof InvalidRecordError) return false;
        throw error;
      });
      // Another key's config: rewriting it would replace its signature.
      if (!verified) return false;
      record = await signPayload({
        ...(exact.payload as JsonObject),
        last_queue_check: stamp,
      }, privateJwk);
    }
    await adapter.update(CONFIGS, id, record, {
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
