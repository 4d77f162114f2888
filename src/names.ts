/**
 * What a valid display name, provider name, job id, user name and storage path
 * is, and how job ids are made. Every name is checked here before any record
 * is touched, so that no input can reach a path outside the storage.
 *
 * @module
 */

import { InvalidNameError } from "./errors.ts";

const DISPLAY_NAME = /^[a-z0-9]{1,64}$/;
const ID = /^[A-Za-z0-9_-]{1,128}$/;
const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;
// 1 to 8 segments of what an id may hold, joined by "/"; one test, no split.
const STORAGE_PATH = /^[A-Za-z0-9_-]{1,128}(?:\/[A-Za-z0-9_-]{1,128}){0,7}$/;
const MAX_USERNAME = 256;
// Control characters (C0, DEL, C1) have no place in a user name or a log line.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * How a value looks in an error message: quoted, cut when long, and with every
 * character outside printable ASCII escaped, so that a look-alike such as
 * `"\uff46ermions"` shows why it was refused and a hostile name cannot put
 * control or bidi characters into a log line.
 */
export function describeValue(value: unknown): string {
  if (typeof value !== "string") {
    const plain = value == null || typeof value === "number" ||
      typeof value === "boolean";
    if (plain) return String(value);
    return Array.isArray(value)
      ? "an array"
      : typeof value === "object"
      ? "an object"
      : `a ${typeof value}`;
  }
  const quoted = JSON.stringify(value.slice(0, 40)).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return value.length <= 40
    ? quoted
    : `${quoted}… (${value.length} characters)`;
}

function fail(kind: string, value: unknown, rule: string): never {
  throw new InvalidNameError(
    `Invalid ${kind} ${describeValue(value)}: ${rule}`,
  );
}

/**
 * Checks a backend's display name: 1 to 64 lowercase letters and digits, as
 * sqooler's `DisplayNameStr` (which also refuses `_`, because the long backend
 * name joins its parts with `_`).
 *
 * @param value The name to check.
 * @returns The name, typed as a string.
 * @throws {InvalidNameError} When the name is not acceptable.
 *
 * @example Accept and refuse display names
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertDisplayName, InvalidNameError } from "@sqooler/storage";
 *
 * assert(assertDisplayName("fermions") === "fermions");
 * assert.throws(() => assertDisplayName("../configs"), InvalidNameError);
 * ```
 */
export function assertDisplayName(value: unknown): string {
  if (!isDisplayName(value)) {
    fail("display name", value, "use 1 to 64 lowercase letters and digits");
  }
  return value;
}

/**
 * Whether a value is a valid display name (see {@linkcode assertDisplayName}).
 *
 * @internal
 */
export function isDisplayName(value: unknown): value is string {
  return typeof value === "string" && DISPLAY_NAME.test(value);
}

/**
 * Checks a job id: 1 to 64 ASCII letters, digits, `_` or `-`. Ids made by this
 * library and by sqooler are 24 lowercase hex characters; the wider rule lets
 * the library read jobs that other tools wrote.
 *
 * @param value The id to check.
 * @returns The id, typed as a string.
 * @throws {InvalidNameError} When the id is not acceptable.
 *
 * @example Accept a sqooler job id, refuse a path
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertJobId, InvalidNameError } from "@sqooler/storage";
 *
 * assert(assertJobId("a04ebc8cdf96468fad72ca94") === "a04ebc8cdf96468fad72ca94");
 * assert.throws(() => assertJobId("../a04ebc8c"), InvalidNameError);
 * ```
 */
export function assertJobId(value: unknown): string {
  if (typeof value !== "string" || !JOB_ID.test(value)) {
    fail("job id", value, "use 1 to 64 ASCII letters, digits, '_' or '-'");
  }
  return value;
}

/**
 * Checks a fencing token, as {@linkcode getNextJobInQueue} returns it: 1 to
 * 128 ASCII letters, digits, `_` or `-` (tokens made here are 32 hex
 * characters).
 *
 * @param value The token to check.
 * @returns The token, typed as a string.
 * @throws {InvalidNameError} When the token is not acceptable.
 *
 * @example Accept a token, refuse one that is not a string
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertToken, InvalidNameError } from "@sqooler/storage";
 *
 * assert(assertToken("5f2b9c0e7d1a4b3c8e6f0a1b2c3d4e5f") === "5f2b9c0e7d1a4b3c8e6f0a1b2c3d4e5f");
 * assert.throws(() => assertToken(42), InvalidNameError);
 * ```
 */
export function assertToken(value: unknown): string {
  if (typeof value !== "string" || !ID.test(value)) {
    fail(
      "fencing token",
      value,
      "expected the token that getNextJobInQueue returned",
    );
  }
  return value;
}

/**
 * Checks the id of a record in a {@linkcode StorageAdapter}: 1 to 128 ASCII
 * letters, digits, `_` or `-`. It becomes a file name, so nothing else is let
 * through.
 *
 * @param value The id to check.
 * @returns The id, typed as a string.
 * @throws {InvalidNameError} When the id is not acceptable.
 *
 * @example Accept an id, refuse a file name
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertRecordId, InvalidNameError } from "@sqooler/storage";
 *
 * assert(assertRecordId("fermions") === "fermions");
 * assert.throws(() => assertRecordId("fermions.json"), InvalidNameError);
 * ```
 */
export function assertRecordId(value: unknown): string {
  if (typeof value !== "string" || !ID.test(value)) {
    fail("record id", value, "use 1 to 128 ASCII letters, digits, '_' or '-'");
  }
  return value;
}

/**
 * Checks a storage path such as `jobs/queued/fermions`: 1 to 8 segments joined
 * by `/`, each made of ASCII letters, digits, `_` or `-`. That refuses `..`,
 * absolute paths, `\`, NUL and empty segments, so that a path can never leave
 * the storage.
 *
 * @param value The path to check.
 * @returns The path, typed as a string.
 * @throws {InvalidNameError} When the path is not acceptable.
 *
 * @example Accept a folder, refuse paths that could leave the storage
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertStoragePath, InvalidNameError } from "@sqooler/storage";
 *
 * assert(assertStoragePath("jobs/running") === "jobs/running");
 * for (const bad of ["../x", "/etc", "jobs//running", "jobs\\running"]) {
 *   assert.throws(() => assertStoragePath(bad), InvalidNameError);
 * }
 * ```
 */
export function assertStoragePath(value: unknown): string {
  if (typeof value !== "string") {
    fail("storage path", value, "expected a string");
  }
  if (!STORAGE_PATH.test(value)) {
    fail(
      "storage path",
      value,
      "use 1 to 8 segments joined by '/', each of ASCII letters, digits, '_' or '-'",
    );
  }
  return value;
}

/**
 * Normalizes and checks a storage provider's name the way sqooler does: the
 * name is lowercased, then must be 1 to 64 letters and digits.
 *
 * @param value The name to check, e.g. `"Whatever"`.
 * @returns The lowercased name, e.g. `"whatever"`.
 * @throws {InvalidNameError} When the name is not acceptable.
 *
 * @example Lowercase a provider name, refuse an underscore
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidNameError, normalizeProviderName } from "@sqooler/storage";
 *
 * assert(normalizeProviderName("Whatever") === "whatever");
 * assert.throws(() => normalizeProviderName("my_lab"), InvalidNameError);
 * ```
 */
export function normalizeProviderName(value: unknown): string {
  const name = typeof value === "string" ? value.toLowerCase() : value;
  if (typeof name !== "string" || !DISPLAY_NAME.test(name)) {
    fail("provider name", value, "use 1 to 64 letters and digits");
  }
  return name;
}

/**
 * Checks a user name: a string of 1 to 256 characters without control
 * characters. User names are stored, never used in a path.
 *
 * @param value The name to check.
 * @returns The name, typed as a string.
 * @throws {InvalidNameError} When the name is not acceptable.
 *
 * @example Accept a user name, refuse one with a line break
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertUsername, InvalidNameError } from "@sqooler/storage";
 *
 * assert(assertUsername("Alice Smith") === "Alice Smith");
 * assert.throws(() => assertUsername("alice\nFAKE LOG LINE"), InvalidNameError);
 * ```
 */
export function assertUsername(value: unknown): string {
  if (
    typeof value !== "string" || value.length === 0 ||
    value.length > MAX_USERNAME || CONTROL.test(value)
  ) {
    fail(
      "user name",
      value,
      "use 1 to 256 characters without control characters",
    );
  }
  return value;
}

const RANDOM_LIMIT = 2 ** 48;
let lastTime = 0;
let lastRandom = 0;

function random48(): number {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (words[0] & 0xffff) * 2 ** 32 + words[1];
}

/**
 * Makes a new job id: 24 lowercase hex characters, like sqooler's, whose first
 * 12 are the creation time in milliseconds and whose last 12 are random. Ids
 * made later sort later, also within one millisecond in one process (the
 * random part then counts up), so that queues can be first-in first-out.
 *
 * @param now The current time in milliseconds since the epoch.
 * @returns The new id.
 * @throws {InvalidNameError} When `now` is not a finite number.
 *
 * @example Ids sort by creation time
 * ```ts
 * import assert from "node:assert/strict";
 * import { newJobId } from "@sqooler/storage";
 *
 * const first = newJobId();
 * const second = newJobId();
 * assert(/^[0-9a-f]{24}$/.test(first));
 * assert(first < second);
 * ```
 */
export function newJobId(now: number = Date.now()): string {
  // 12 hex characters hold the time; a later one would poison every later id.
  if (typeof now !== "number" || !(now >= 0 && now < 2 ** 48)) {
    fail("time for a job id", now, "expected milliseconds since the epoch");
  }
  let time = Math.max(Math.floor(now), 0);
  let random: number;
  if (time <= lastTime) {
    time = lastTime;
    random = lastRandom + 1 + Math.floor(Math.random() * 1024);
    if (random >= RANDOM_LIMIT) {
      time += 1;
      random = random48();
    }
  } else {
    random = random48();
  }
  lastTime = time;
  lastRandom = random;
  return time.toString(16).padStart(12, "0").slice(-12) +
    random.toString(16).padStart(12, "0");
}
