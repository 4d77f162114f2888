/**
 * sqooler 0.9's Ed25519 signatures: keys as JWKs, signed records as JWS
 * dicts `{ header, payload, signature }`, on WebCrypto.
 *
 * What sqooler signs (its `security.py`): the signing input is
 * `b64(header JSON) + "." + b64(payload JSON)`, where `b64` is base64url
 * with `=` padding (Python's `base64.urlsafe_b64encode`), the header JSON is
 * pydantic's compact `model_dump_json()` of `{alg, kid, typ, version}` (in
 * that order, `{"alg":"EdDSA","kid":"…","typ":"JWS","version":"0.1"}`), and
 * the payload JSON is Python's `json.dumps(payload)` with its default
 * arguments (see {@linkcode pythonDumps}). The signature is Ed25519 over
 * those bytes, stored in base64url with padding. Keys are sqooler's `JWK`
 * model: `{x, key_ops, kid, d, kty: "OKP", alg: "EdDSA", crv: "Ed25519"}`,
 * with `x` and `d` the raw 32-byte keys in base64url with padding, `key_ops`
 * the string `"sign"` or `"verify"`, and `d: null` in a public key.
 *
 * A stored record is verified from its text ({@linkcode verifySignature} with
 * a string): the payload is read with {@linkcode parseExactJson}, so that
 * `1.0`, `-0.0`, big integers and the order of keys are printed back exactly
 * as Python reads them; a JavaScript object cannot tell `1.0` from `1`.
 *
 * The storage side (public keys in `backends/public_keys`, signed configs
 * and results, `verifyResult`) is in `keys.ts`, `backends.ts` and
 * `results.ts`; `tests/signing_test.ts` checks all of this against records
 * that sqooler signed and against a Python verifier.
 *
 * @module
 */

import { z } from "zod";
import { InvalidRecordError } from "./errors.ts";
import { parseExactJson, parseJson, pythonDumps } from "./json.ts";
import { assertRecordId } from "./names.ts";
import type { Schema } from "./schemas.ts";

/**
 * A public Ed25519 key as a JWK (RFC 8037), as sqooler stores it in
 * `backends/public_keys/<kid>.json`: `x` is the raw 32-byte key in base64url
 * with `=` padding. Fields other than these are kept.
 */
export interface JwkPublic {
  /** The key type: always `"OKP"`. */
  kty: "OKP";
  /** The curve: always `"Ed25519"`. */
  crv: "Ed25519";
  /** The public key: 32 bytes in base64url, with `=` padding as sqooler writes it. */
  x: string;
  /** The key's id, a valid record id (it names the key's file). */
  kid?: string;
  /** sqooler writes `"verify"`; RFC 7517's array form is read too. */
  key_ops?: "verify" | string[];
  /** The algorithm: `"EdDSA"`. */
  alg?: "EdDSA";
  /** sqooler writes `null`: a public key has no private part. */
  d?: null;
  /** Other fields, kept. */
  [field: string]: unknown;
}

/**
 * A private Ed25519 key as a JWK, as sqooler keeps it (in `PRIVATE_JWK_STR`):
 * the public key `x` and the private key `d` (the 32-byte seed), both in
 * base64url with `=` padding, and the `kid` that signed records name.
 */
export interface JwkPrivate {
  /** The key type: always `"OKP"`. */
  kty: "OKP";
  /** The curve: always `"Ed25519"`. */
  crv: "Ed25519";
  /** The public key: 32 bytes in base64url, with `=` padding. */
  x: string;
  /** The private key (seed): 32 bytes in base64url, with `=` padding. */
  d: string;
  /** The key's id, a valid record id. */
  kid: string;
  /** sqooler writes `"sign"`; RFC 7517's array form is read too. */
  key_ops?: "sign" | string[];
  /** The algorithm: `"EdDSA"`. */
  alg?: "EdDSA";
  /** Other fields, kept. */
  [field: string]: unknown;
}

/** The header of a signed record, as sqooler writes it. */
export interface JwsHeader {
  /** The algorithm: `"EdDSA"`. */
  alg: "EdDSA";
  /** The id of the key that signed. */
  kid: string;
  /** sqooler writes `"JWS"`. */
  typ: string;
  /** sqooler writes `"0.1"`. */
  version: string;
}

/**
 * A signed record (sqooler's `JWSDict`), stored as JSON in place of the
 * record itself: e.g. `results/<display>/<id>.json` of a backend with
 * `sign: true`.
 */
export interface JwsDict {
  /** Which key signed, and how. */
  header: JwsHeader;
  /** The record (a result, a config, a status). */
  payload: Record<string, unknown>;
  /** The Ed25519 signature, 64 bytes in base64url with `=` padding. */
  signature: string;
}

/** A key pair made by {@linkcode createKeyPair}. */
export interface KeyPair {
  /** The private key: keep it secret (sqooler reads it from `PRIVATE_JWK_STR`). */
  privateJwk: JwkPrivate;
  /** The public key, for `backends/public_keys/<kid>.json`. */
  publicJwk: JwkPublic;
}

// ---------------------------------------------------------------------------
// Schemas

// 32 bytes in base64url: 43 characters, then the `=` of padding.
const KEY_BYTES = /^[A-Za-z0-9_-]{43}=?$/;
// 64 bytes in base64url: 86 characters, then `==`.
const SIGNATURE_BYTES = /^[A-Za-z0-9_-]{86}(?:==)?$/;

function isRecordId(value: string): boolean {
  try {
    assertRecordId(value);
    return true;
  } catch {
    return false;
  }
}

const kid = z.string().refine(isRecordId, {
  error: "expected 1 to 128 ASCII letters, digits, '_' or '-'",
});
const keyBytes = z.string().regex(KEY_BYTES, {
  error: "expected 32 bytes in base64url (44 characters with the = padding)",
});

const jwkPublic = z.object({
  kty: z.literal("OKP"),
  crv: z.literal("Ed25519"),
  x: keyBytes,
  kid: kid.optional(),
  key_ops: z.union([
    z.literal("verify"),
    z.array(z.string()).refine((ops) => ops.includes("verify"), {
      error: "expected the operation verify",
    }),
  ]).optional(),
  alg: z.literal("EdDSA").optional(),
  d: z.null().optional(),
}).loose();

/**
 * Schema of {@linkcode JwkPublic}. It refuses a private key (one with `d`).
 */
export const JwkPublic: Schema<JwkPublic> = jwkPublic;

const jwkPrivate = z.object({
  kty: z.literal("OKP"),
  crv: z.literal("Ed25519"),
  x: keyBytes,
  d: keyBytes,
  kid,
  key_ops: z.union([
    z.literal("sign"),
    z.array(z.string()).refine((ops) => ops.includes("sign"), {
      error: "expected the operation sign",
    }),
  ]).optional(),
  alg: z.literal("EdDSA").optional(),
}).loose();

/** Schema of {@linkcode JwkPrivate}. */
export const JwkPrivate: Schema<JwkPrivate> = jwkPrivate;

// Missing fields get sqooler's defaults, as its pydantic model gives them;
// other fields are dropped, as there (they are not signed).
const jwsHeader = z.object({
  alg: z.literal("EdDSA").default("EdDSA"),
  kid,
  typ: z.string().default("JWS"),
  version: z.string().default("0.1"),
});

/** Schema of {@linkcode JwsHeader}; fills in sqooler's defaults. */
export const JwsHeader: Schema<JwsHeader> = jwsHeader;

const jwsDict = z.object({
  header: jwsHeader,
  payload: z.custom<Record<string, unknown>>(isPlainRecord, {
    error: "expected an object",
  }),
  signature: z.string(),
});

/** Schema of {@linkcode JwsDict}. */
export const JwsDict: Schema<JwsDict> = jwsDict;

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The first problem zod found, as `path: message`. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "not valid";
  const path = issue.path.map(String).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}

// ---------------------------------------------------------------------------
// Base64url

function base64UrlPadded(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) {
    binary += String.fromCharCode(bytes[i]);
  }
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_");
}

/** Decodes base64 or base64url text that was checked before. */
function base64Decode(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function unpadded(text: string): string {
  return text.replace(/=+$/, "");
}

const utf8 = new TextEncoder();

/**
 * The bytes sqooler signs: `b64(header JSON) "." b64(payload JSON)`, the
 * header as pydantic's `model_dump_json()` writes sqooler's `JWSHeader` and
 * the payload as Python's `json.dumps()` prints it.
 */
function signingInput(
  header: JwsHeader,
  payloadText: string,
): Uint8Array<ArrayBuffer> {
  const headerJson = JSON.stringify({
    alg: header.alg,
    kid: header.kid,
    typ: header.typ,
    version: header.version,
  });
  return utf8.encode(
    `${base64UrlPadded(utf8.encode(headerJson))}.${
      base64UrlPadded(utf8.encode(payloadText))
    }`,
  );
}

// ---------------------------------------------------------------------------
// Keys

/** Checks a public key; refuses a private one with a clear message. */
function checkPublicJwk(value: unknown): JwkPublic {
  if (!isPlainRecord(value)) {
    throw new InvalidRecordError(
      "Not an Ed25519 public JWK: expected an object",
    );
  }
  const keyOps = value.key_ops;
  if (
    (value.d !== undefined && value.d !== null) || keyOps === "sign" ||
    (Array.isArray(keyOps) && keyOps.includes("sign"))
  ) {
    throw new InvalidRecordError(
      "A private key was given where a public key is expected: pass the public JWK (with x, without d)",
    );
  }
  const checked = jwkPublic.safeParse(value);
  if (!checked.success) {
    throw new InvalidRecordError(
      `Not an Ed25519 public JWK: ${firstIssue(checked.error)}`,
    );
  }
  // The key as given (the schema only checks; its copy would reorder fields).
  return value as JwkPublic;
}

/** Checks a private key. Messages never show the key's text. */
function checkPrivateJwk(value: unknown, what = "Not"): JwkPrivate {
  if (!isPlainRecord(value)) {
    throw new InvalidRecordError(
      `${what} an Ed25519 private JWK: expected an object`,
    );
  }
  if (value.d === undefined || value.d === null) {
    throw new InvalidRecordError(
      `${what} an Ed25519 private JWK: it has no private part d (a public key?)`,
    );
  }
  const checked = jwkPrivate.safeParse(value);
  if (!checked.success) {
    throw new InvalidRecordError(
      `${what} an Ed25519 private JWK: ${firstIssue(checked.error)}`,
    );
  }
  return value as JwkPrivate;
}

async function importPublicKey(jwk: JwkPublic): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey(
      "raw",
      base64Decode(unpadded(jwk.x)),
      { name: "Ed25519" },
      false,
      ["verify"],
    );
  } catch (error) {
    throw new InvalidRecordError(
      "Not an Ed25519 public JWK: x is not a public key",
      { cause: error },
    );
  }
}

/** Imports a private key, and checks that its `x` belongs to its `d`. */
async function importPrivateKey(jwk: JwkPrivate): Promise<CryptoKey> {
  let key: CryptoKey;
  let derivedX: string | undefined;
  try {
    key = await crypto.subtle.importKey(
      "jwk",
      { kty: "OKP", crv: "Ed25519", d: unpadded(jwk.d), x: unpadded(jwk.x) },
      { name: "Ed25519" },
      true,
      ["sign"],
    );
    derivedX = (await crypto.subtle.exportKey("jwk", key)).x;
  } catch (error) {
    throw new InvalidRecordError(
      "Not an Ed25519 private JWK: d and x are not a key pair",
      { cause: error },
    );
  }
  if (derivedX !== unpadded(jwk.x)) {
    throw new InvalidRecordError(
      "Not an Ed25519 private JWK: x is not the public key of d",
    );
  }
  return key;
}

/**
 * Makes a new Ed25519 key pair, in sqooler's JWK layout (its
 * `create_jwk_pair`): `{x, key_ops, kid, d, kty, alg, crv}`, with
 * `key_ops: "sign"` and the private `d` in the private key, `key_ops:
 * "verify"` and `d: null` in the public one. `JSON.stringify` of the public key
 * is the text sqooler writes to `backends/public_keys/<kid>.json`.
 *
 * @param kid The key's id: 1 to 128 ASCII letters, digits, `_` or `-` (it
 *   names the public key's file).
 * @returns The private and the public key.
 * @throws {InvalidNameError} When the kid is not a valid record id.
 *
 * @example Make a backend's key pair
 * ```ts
 * import assert from "node:assert/strict";
 * import { createKeyPair } from "@sqooler/storage";
 *
 * const { privateJwk, publicJwk } = await createKeyPair("labkey");
 * assert(publicJwk.kid === "labkey" && publicJwk.d === null && publicJwk.x === privateJwk.x);
 * ```
 */
export async function createKeyPair(kid: string): Promise<KeyPair> {
  assertRecordId(kid);
  const pair = await crypto.subtle.generateKey(
    { name: "Ed25519" },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const exported = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const x = base64UrlPadded(base64Decode(exported.x ?? ""));
  const d = base64UrlPadded(base64Decode(exported.d ?? ""));
  return {
    privateJwk: {
      x,
      key_ops: "sign",
      kid,
      d,
      kty: "OKP",
      alg: "EdDSA",
      crv: "Ed25519",
    },
    publicJwk: publicLayout(x, kid),
  };
}

/**
 * A public key in sqooler's JWK layout: every field, in sqooler's order.
 *
 * @internal
 * @param x The public key, base64url with padding.
 * @param kid The key's id.
 * @returns The JWK.
 */
export function publicLayout(
  x: string,
  kid: string,
): JwkPublic & { kid: string } {
  return {
    x,
    key_ops: "verify",
    kid,
    d: null,
    kty: "OKP",
    alg: "EdDSA",
    crv: "Ed25519",
  };
}

/**
 * The public key of a private key, in sqooler's layout (its
 * `public_from_private_jwk`). Unlike sqooler, which copies `x`, this checks
 * that `x` is the public key of `d`.
 *
 * @param privateJwk The private key.
 * @returns The public key, with the private key's `kid`.
 * @throws {InvalidRecordError} When the key is not an Ed25519 private JWK, or
 *   its `x` does not belong to its `d`.
 *
 * @example The public key to publish for a worker's key
 * ```ts
 * import assert from "node:assert/strict";
 * import { createKeyPair, publicFromPrivate } from "@sqooler/storage";
 *
 * const { privateJwk, publicJwk } = await createKeyPair("labkey");
 * assert.deepEqual(await publicFromPrivate(privateJwk), publicJwk);
 * ```
 */
export async function publicFromPrivate(
  privateJwk: JwkPrivate,
): Promise<JwkPublic> {
  const jwk = checkPrivateJwk(privateJwk);
  await importPrivateKey(jwk);
  return publicLayout(base64UrlPadded(base64Decode(unpadded(jwk.x))), jwk.kid);
}

// ---------------------------------------------------------------------------
// Signing and verifying

/**
 * Signs a record as sqooler's `sign_payload` does, so that sqooler's
 * `verify_signature` (and `verify_result`) accepts it: the header is
 * `{alg: "EdDSA", kid, typ: "JWS", version: "0.1"}` and the payload is signed
 * as {@linkcode pythonDumps} prints it, which is how Python prints what it
 * reads from the text {@linkcode stringifyJson} writes for the returned
 * record. Store the record with {@linkcode stringifyJson}; any change to the
 * payload afterwards breaks the signature.
 *
 * @param payload The record to sign: an object (a result, a config, a
 *   status). It is returned in the dict as it is, not copied.
 * @param privateJwk The private key.
 * @returns The signed record `{ header, payload, signature }`.
 * @throws {InvalidRecordError} When the payload is not an object that has a
 *   JSON text, or the key is not an Ed25519 private JWK (or its `x` does not
 *   belong to its `d`).
 *
 * @example Sign a record and check it
 * ```ts
 * import assert from "node:assert/strict";
 * import { createKeyPair, signPayload, verifySignature } from "@sqooler/storage";
 *
 * const { privateJwk, publicJwk } = await createKeyPair("labkey");
 * const jws = await signPayload({ job_id: "abc", angle: 0.5 }, privateJwk);
 * assert(jws.header.kid === "labkey");
 * assert(await verifySignature(jws, publicJwk));
 * ```
 */
export async function signPayload(
  payload: object,
  privateJwk: JwkPrivate,
): Promise<JwsDict> {
  const jwk = checkPrivateJwk(privateJwk);
  if (!isPlainRecord(payload)) {
    throw new InvalidRecordError(
      "Cannot sign the payload: expected an object (a record)",
    );
  }
  let payloadText: string;
  try {
    payloadText = pythonDumps(payload);
  } catch (error) {
    throw new InvalidRecordError(
      `Cannot sign the payload: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (!payloadText.startsWith("{")) {
    throw new InvalidRecordError(
      "Cannot sign the payload: its JSON is not an object",
    );
  }
  const key = await importPrivateKey(jwk);
  const header: JwsHeader = {
    alg: "EdDSA",
    kid: jwk.kid,
    typ: "JWS",
    version: "0.1",
  };
  const signature = await crypto.subtle.sign(
    "Ed25519",
    key,
    signingInput(header, payloadText),
  );
  return {
    header,
    payload,
    signature: base64UrlPadded(new Uint8Array(signature)),
  };
}

/**
 * Checks a signed record's signature, as sqooler's `verify_signature` does.
 *
 * Pass the stored JSON text of the record where you have it: then the signed
 * bytes are made from the exact number tokens and key order of that text (via
 * {@linkcode parseExactJson}), which is what Python reads. A parsed object
 * works as well when its numbers print as Python prints them (JavaScript
 * numbers lose `1.0` and `-0.0`; a record read with {@linkcode parseExactJson}
 * keeps them).
 *
 * As in sqooler, the header's fields other than `alg`, `kid`, `typ` and
 * `version` are not signed and not looked at, and the `kid` of the header is
 * not compared with the key's (the signature decides).
 *
 * @param jws The signed record, parsed or as its stored JSON text.
 * @param publicJwk The public key of the backend that signed.
 * @returns `true` when the signature is the key's over this header and
 *   payload; `false` for another key, any changed payload, or a signature
 *   that is not 64 bytes of base64url.
 * @throws {InvalidRecordError} When the record is not a JWS dict (not JSON,
 *   or without `header`, `payload`, `signature`, e.g. an unsigned result, or
 *   with a header that is not sqooler's), when the key is not an Ed25519
 *   public JWK, or when a private key is given instead of a public one.
 *
 * @example Verify a stored record from its text, where 1.0 stays 1.0
 * ```ts
 * import assert from "node:assert/strict";
 * import { createKeyPair, signPayload, verifySignature } from "@sqooler/storage";
 *
 * const { privateJwk, publicJwk } = await createKeyPair("labkey");
 * const jws = await signPayload({ shots: 2 }, privateJwk);
 * const text = JSON.stringify(jws);
 * assert(await verifySignature(text, publicJwk));
 * assert(!await verifySignature(text.replace('"shots":2', '"shots":3'), publicJwk));
 * ```
 */
export async function verifySignature(
  jws: JwsDict | string,
  publicJwk: JwkPublic,
): Promise<boolean> {
  const key = await importPublicKey(checkPublicJwk(publicJwk));
  let record: unknown = jws;
  if (typeof jws === "string") {
    try {
      record = parseExactJson(jws);
    } catch (error) {
      throw new InvalidRecordError(
        `Not a JWS dict: the text is not JSON (${(error as Error).message})`,
        { cause: error },
      );
    }
  }
  if (!isPlainRecord(record)) {
    throw new InvalidRecordError(
      "Not a JWS dict {header, payload, signature}: expected an object",
    );
  }
  const missing = ["header", "payload", "signature"].filter((field) =>
    !Object.hasOwn(record as object, field)
  );
  if (missing.length > 0) {
    throw new InvalidRecordError(
      `Not a JWS dict {header, payload, signature}: it has no ${
        missing.join(", ")
      } (an unsigned record?)`,
    );
  }
  const checked = jwsDict.safeParse(record);
  if (!checked.success) {
    throw new InvalidRecordError(
      `Not a JWS dict {header, payload, signature}: ${
        firstIssue(checked.error)
      }`,
    );
  }
  const { header, signature } = checked.data;
  // The payload as given: the check above copies it, which would lose an
  // exact parse's key order.
  let payloadText: string;
  try {
    payloadText = pythonDumps(record.payload);
  } catch (error) {
    throw new InvalidRecordError(
      `Not a JWS dict: its payload has no JSON text (${
        (error as Error).message
      })`,
      { cause: error },
    );
  }
  if (!SIGNATURE_BYTES.test(signature)) return false;
  return await crypto.subtle.verify(
    "Ed25519",
    key,
    base64Decode(unpadded(signature)),
    signingInput(header, payloadText),
  );
}

// ---------------------------------------------------------------------------
// PRIVATE_JWK_STR

/**
 * Reads sqooler's `PRIVATE_JWK_STR`, the private key of a backend's worker, as
 * sqooler's `jwk_from_config_str` does: base64url (with `=` padding) of the
 * private JWK's JSON text, which sqooler's `JWK.to_config_str()` writes.
 *
 * Surrounding whitespace is ignored. Python's decoder also skips characters
 * that are not base64 and stops at the first padding; this refuses such text,
 * and text without its padding, with a clear error. Messages never show the
 * text. The key's `x` is checked against its `d` when the key is used.
 *
 * @param text The value of `PRIVATE_JWK_STR`.
 * @returns The private key.
 * @throws {InvalidRecordError} When the text is empty, not base64url, not
 *   UTF-8 JSON, or not an Ed25519 private JWK.
 *
 * @example Read a key written by sqooler's `JWK.to_config_str()`
 * ```ts
 * import assert from "node:assert/strict";
 * import { createKeyPair, decodePrivateJwkEnv, encodePrivateJwkEnv } from "@sqooler/storage";
 *
 * const { privateJwk } = await createKeyPair("labkey");
 * assert.deepEqual(decodePrivateJwkEnv(encodePrivateJwkEnv(privateJwk)), privateJwk);
 * ```
 */
export function decodePrivateJwkEnv(text: string): JwkPrivate {
  if (typeof text !== "string" || text.trim() === "") {
    throw new InvalidRecordError("PRIVATE_JWK_STR is empty");
  }
  const trimmed = text.trim();
  if (
    trimmed.length % 4 !== 0 || !/^[A-Za-z0-9_+/-]+={0,2}$/.test(trimmed)
  ) {
    throw new InvalidRecordError(
      "PRIVATE_JWK_STR is not base64url text with its = padding (as sqooler's JWK.to_config_str() writes it)",
    );
  }
  let json: string;
  try {
    json = new TextDecoder("utf-8", { fatal: true }).decode(
      base64Decode(trimmed),
    );
  } catch (error) {
    throw new InvalidRecordError("PRIVATE_JWK_STR does not hold UTF-8 text", {
      cause: error,
    });
  }
  let value: unknown;
  try {
    value = parseJson(json);
  } catch {
    // No cause: the parser's message would quote the secret text.
    throw new InvalidRecordError("PRIVATE_JWK_STR does not hold JSON");
  }
  return checkPrivateJwk(value, "PRIVATE_JWK_STR does not hold");
}

/**
 * Writes a private key as sqooler's `PRIVATE_JWK_STR` (its
 * `JWK.to_config_str()`): base64url, with `=` padding, of the key's compact
 * JSON text. A key from {@linkcode createKeyPair} gives the very text sqooler
 * writes for the same key.
 *
 * @param privateJwk The private key.
 * @returns The text for `PRIVATE_JWK_STR`.
 * @throws {InvalidRecordError} When the key is not an Ed25519 private JWK.
 *
 * @example The value to export for a worker
 * ```ts
 * import assert from "node:assert/strict";
 * import { createKeyPair, encodePrivateJwkEnv } from "@sqooler/storage";
 *
 * const { privateJwk } = await createKeyPair("labkey");
 * assert.match(encodePrivateJwkEnv(privateJwk), /^[A-Za-z0-9_-]+={0,2}$/);
 * ```
 */
export function encodePrivateJwkEnv(privateJwk: JwkPrivate): string {
  checkPrivateJwk(privateJwk);
  return base64UrlPadded(utf8.encode(JSON.stringify(privateJwk)));
}
