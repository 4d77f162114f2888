/**
 * Public keys in the storage (sqooler ≥ 0.9): `backends/public_keys/<kid>.json`
 * holds the public Ed25519 key, as a JWK, of a backend (named by its config's
 * `kid`) or of a user, so that anyone who reads the storage can check what
 * the backend signed. Private keys never enter the storage: a worker gets its
 * key from its environment ({@linkcode privateJwkFromEnv}).
 *
 * @module
 */

import { type JsonObject, records, type StorageAdapter } from "./adapter.ts";
import { getConfig } from "./backends.ts";
import {
  CorruptRecordError,
  InvalidRecordError,
  NotFoundError,
} from "./errors.ts";
import { PUBLIC_KEYS } from "./layout.ts";
import { assertDisplayName, assertRecordId, describeValue } from "./names.ts";
import { parseInput, parseStored, putRecord } from "./records.ts";
import {
  decodePrivateJwkEnv,
  type JwkPrivate,
  JwkPublic,
  publicLayout,
} from "./signing.ts";

/**
 * The environment variable that holds a worker's private key: base64url,
 * with `=` padding, of the private JWK's JSON text, as sqooler's
 * `PRIVATE_JWK_STR` (its `JWK.to_config_str()`).
 *
 * @example The variable's name
 * ```ts
 * import assert from "node:assert/strict";
 * import { SQOOLER_PRIVATE_JWK } from "@sqooler/storage";
 *
 * assert(SQOOLER_PRIVATE_JWK === "SQOOLER_PRIVATE_JWK");
 * ```
 */
export const SQOOLER_PRIVATE_JWK = "SQOOLER_PRIVATE_JWK";

/** Where {@linkcode privateJwkFromEnv} reads: `Deno.env`, or anything with its `get`. */
export interface EnvReader {
  /**
   * Reads a variable.
   *
   * @param name The variable's name.
   * @returns Its value, or `undefined` when it is not set.
   */
  get(name: string): string | undefined;
}

/**
 * Reads a worker's private key from `SQOOLER_PRIVATE_JWK` (base64url of the
 * JWK's JSON, as sqooler's `PRIVATE_JWK_STR`; see
 * {@linkcode decodePrivateJwkEnv}). Error messages never show the value.
 *
 * @param env Where to read the variable.
 * @returns The private key, or `undefined` when the variable is not set.
 * @throws {InvalidRecordError} When the variable is set but empty, or does
 *   not hold an Ed25519 private JWK.
 * @throws {Deno.errors.NotCapable} When the program may not read the
 *   environment (`--allow-env`).
 *
 * @example Read the key that a lab exported
 * ```ts
 * import assert from "node:assert/strict";
 * import { createKeyPair, encodePrivateJwkEnv, privateJwkFromEnv } from "@sqooler/storage";
 *
 * const { privateJwk } = await createKeyPair("labkey");
 * const env = new Map([["SQOOLER_PRIVATE_JWK", encodePrivateJwkEnv(privateJwk)]]);
 * assert.deepEqual(privateJwkFromEnv(env), privateJwk);
 * assert(privateJwkFromEnv(new Map()) === undefined);
 * ```
 */
export function privateJwkFromEnv(
  env: EnvReader = Deno.env,
): JwkPrivate | undefined {
  const text = env.get(SQOOLER_PRIVATE_JWK);
  if (text === undefined) return undefined;
  try {
    return decodePrivateJwkEnv(text);
  } catch (error) {
    if (!(error instanceof InvalidRecordError)) throw error;
    // Its messages name sqooler's variable; this one is read here.
    throw new InvalidRecordError(
      error.message.replace(/^PRIVATE_JWK_STR\b/, SQOOLER_PRIVATE_JWK),
    );
  }
}

/** Options of {@linkcode uploadPublicKey}. */
export interface UploadPublicKeyOptions {
  /**
   * The backend whose key it is: its config must exist and name the key's
   * `kid`, as sqooler's `upload_public_key` checks. Leave it out for a user's
   * key, or to store a backend's key before its config.
   */
  displayName?: string;
}

/**
 * Stores a public key as `backends/public_keys/<kid>.json` (sqooler's
 * `upload_public_key`), in sqooler's layout `{x, key_ops: "verify", kid,
 * d: null, kty, alg, crv}`, replacing a key with the same `kid`, as sqooler
 * does. A private key (one with `d`, or `key_ops` `"sign"`) is refused and
 * never stored.
 *
 * @param adapter The storage.
 * @param publicJwk The public key; its `kid` names its file.
 * @param options The backend whose config must name the key, if any.
 * @returns The key as stored.
 * @throws {InvalidRecordError} When the key is a private key, is not an
 *   Ed25519 public JWK, has no `kid`, or is not the key that the backend's
 *   config names.
 * @throws {InvalidNameError} When the `kid` or the display name is not
 *   acceptable.
 * @throws {NotFoundError} When `displayName` is given and the backend has no
 *   config.
 *
 * @example Publish a backend's key, and refuse its private key
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   createKeyPair, getPublicKey, InvalidRecordError, MemoryAdapter, uploadConfig, uploadPublicKey,
 * } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const adapter = new MemoryAdapter();
 * const { privateJwk, publicJwk } = await createKeyPair("labkey");
 * await uploadConfig(adapter, testBackendConfig("spins", { sign: true }), { privateJwk });
 * await uploadPublicKey(adapter, publicJwk, { displayName: "spins" });
 * assert((await getPublicKey(adapter, "spins")).x === publicJwk.x);
 *
 * // A private key, read from the wrong file.
 * const fromFile = JSON.parse(JSON.stringify(privateJwk));
 * const error = await uploadPublicKey(adapter, fromFile).catch((e) => e);
 * assert(error instanceof InvalidRecordError);
 * ```
 */
export async function uploadPublicKey(
  adapter: StorageAdapter,
  publicJwk: JwkPublic,
  options: UploadPublicKeyOptions = {},
): Promise<JwkPublic> {
  const key = checkPublicKey(publicJwk);
  const displayName = options?.displayName;
  if (displayName !== undefined) {
    const config = await getConfig(adapter, assertDisplayName(displayName));
    if (config.kid !== key.kid) {
      throw new InvalidRecordError(
        `Cannot store the public key ${
          describeValue(key.kid)
        } for backend "${displayName}": its config names the key ${
          describeValue(config.kid)
        }`,
      );
    }
  }
  await putRecord(adapter, { path: PUBLIC_KEYS, id: key.kid }, key);
  return key;
}

/**
 * Reads the public key of a backend (sqooler's `get_public_key`): the key
 * that its config's `kid` names.
 *
 * @param adapter The storage.
 * @param displayName The backend's display name.
 * @returns The public key.
 * @throws {NotFoundError} When the backend has no config, its config names
 *   no key, or the key is not stored.
 * @throws {InvalidNameError} When the display name, or the config's `kid`,
 *   is not acceptable.
 * @throws {CorruptRecordError} When the config or the stored key cannot be
 *   read, or the stored key is not a public Ed25519 JWK.
 *
 * @example A backend's key, through its config
 * ```ts
 * import assert from "node:assert/strict";
 * import { createKeyPair, getPublicKey, MemoryAdapter, uploadConfig, uploadPublicKey } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const adapter = new MemoryAdapter();
 * const { privateJwk, publicJwk } = await createKeyPair("labkey");
 * await uploadConfig(adapter, testBackendConfig("spins", { sign: true }), { privateJwk });
 * await uploadPublicKey(adapter, publicJwk);
 * assert.deepEqual(await getPublicKey(adapter, "spins"), publicJwk);
 * ```
 *
 * @example A backend that does not sign names no key
 * ```ts
 * import assert from "node:assert/strict";
 * import { getPublicKey, NotFoundError } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const { adapter } = await createTestAdapter({ backends: [testBackendConfig("spins")] });
 * const error = await getPublicKey(adapter, "spins").catch((e) => e);
 * assert(error instanceof NotFoundError);
 * ```
 */
export async function getPublicKey(
  adapter: StorageAdapter,
  displayName: string,
): Promise<JwkPublic> {
  const config = await getConfig(adapter, displayName);
  if (config.kid == null) {
    throw new NotFoundError(
      `Backend "${config.display_name}" has no public key: its config names none (kid is null)`,
    );
  }
  return await getPublicKeyFromKid(adapter, config.kid);
}

/**
 * Reads a public key by its id (sqooler's `get_public_key_from_kid`): a
 * backend's or a user's.
 *
 * @param adapter The storage.
 * @param kid The key's id.
 * @returns The public key, as stored.
 * @throws {NotFoundError} When no key has this id.
 * @throws {InvalidNameError} When the id is not acceptable.
 * @throws {CorruptRecordError} When the stored key cannot be read, or is not
 *   a public Ed25519 JWK (a private key stored by another tool included).
 *
 * @example A user's key
 * ```ts
 * import assert from "node:assert/strict";
 * import { createKeyPair, getPublicKeyFromKid, MemoryAdapter, uploadPublicKey } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * const { publicJwk } = await createKeyPair("useralice");
 * await uploadPublicKey(adapter, publicJwk);
 * assert((await getPublicKeyFromKid(adapter, "useralice")).x === publicJwk.x);
 * ```
 */
export async function getPublicKeyFromKid(
  adapter: StorageAdapter,
  kid: string,
): Promise<JwkPublic> {
  const id = assertRecordId(kid);
  let stored: JsonObject;
  try {
    stored = await adapter.get(PUBLIC_KEYS, id);
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw new NotFoundError(
        `There is no public key ${
          describeValue(id)
        }: ${PUBLIC_KEYS}/${id}.json does not exist`,
      );
    }
    throw error;
  }
  const name = records.name(PUBLIC_KEYS, id);
  if (stored.d != null) {
    throw new CorruptRecordError(
      name,
      "it holds a private key (d), where a public key belongs",
    );
  }
  return parseStored(stored, name, JwkPublic);
}

/**
 * Deletes a public key (sqooler's `_delete_public_key`, which is meant for
 * tests). Results signed with it can no longer be verified.
 *
 * @param adapter The storage.
 * @param kid The key's id.
 * @returns A promise that resolves once the key is gone.
 * @throws {NotFoundError} When no key has this id.
 * @throws {InvalidNameError} When the id is not acceptable.
 *
 * @example Remove a user's key
 * ```ts
 * import assert from "node:assert/strict";
 * import { createKeyPair, deletePublicKey, MemoryAdapter, PUBLIC_KEYS, uploadPublicKey } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter();
 * await uploadPublicKey(adapter, (await createKeyPair("useralice")).publicJwk);
 * await deletePublicKey(adapter, "useralice");
 * assert.deepEqual(await adapter.list(PUBLIC_KEYS), []);
 * ```
 */
export async function deletePublicKey(
  adapter: StorageAdapter,
  kid: string,
): Promise<void> {
  await adapter.delete(PUBLIC_KEYS, assertRecordId(kid));
}

/**
 * Checks a public key for storing and puts it in sqooler's layout; refuses a
 * private key with a message that says so (and never shows its `d`).
 */
function checkPublicKey(value: unknown): JwkPublic & { kid: string } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidRecordError(
      `Invalid public key ${describeValue(value)}: expected an Ed25519 JWK`,
    );
  }
  const key = value as Record<string, unknown>;
  const keyOps = key.key_ops;
  if (
    (key.d !== undefined && key.d !== null) || keyOps === "sign" ||
    (Array.isArray(keyOps) && keyOps.includes("sign"))
  ) {
    throw new InvalidRecordError(
      `Refused to store a private key${
        typeof key.kid === "string" ? ` (kid ${describeValue(key.kid)})` : ""
      }: only public keys go into the storage; pass publicFromPrivate(privateJwk)`,
    );
  }
  if (key.kid === undefined || key.kid === null) {
    throw new InvalidRecordError(
      "Invalid public key: it has no kid, which names its file",
    );
  }
  const kid = assertRecordId(key.kid);
  const checked = parseInput(
    key,
    `public key ${describeValue(kid)} (expected an Ed25519 public JWK)`,
    JwkPublic,
  );
  return publicLayout(checked.x, kid);
}
