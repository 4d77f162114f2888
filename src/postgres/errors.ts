/**
 * The errors of the PostgreSQL adapter, and how the driver's errors become
 * this library's: a server that cannot be reached, a role or database that
 * does not exist, a timeout or a dropped connection is a
 * {@linkcode StorageError} (with `code` the server's SQLSTATE or the
 * driver's name for the failure), never a raw driver error.
 *
 * @module
 */

import { StorageError } from "../errors.ts";

/**
 * The database could not be reached or refused the connection: a URL that is
 * not a PostgreSQL URL, a refused connection, a host or port that does not
 * answer within `connectTimeoutMs`, an unknown role, a wrong password or an
 * unknown database. `code` says which (`"EINVALIDURL"`, `"ECONNREFUSED"`,
 * `"ETIMEDOUT"`, or the server's SQLSTATE such as `"28000"` for an unknown
 * role and `"3D000"` for an unknown database); the message names the server
 * (never the password) and the reason.
 *
 * @example Tell a connection failure from other storage failures
 * ```ts
 * import assert from "node:assert/strict";
 * import { StorageError } from "@sqooler/storage";
 * import { PostgresConnectionError } from "@sqooler/storage/postgres";
 *
 * const error = new PostgresConnectionError(
 *   'Cannot connect to PostgreSQL at postgres://lab@db:5432/sqooler: database "sqooler" does not exist',
 *   { code: "3D000" },
 * );
 * assert(error instanceof StorageError && error.code === "3D000");
 * ```
 */
export class PostgresConnectionError extends StorageError {}

/** SQLSTATEs and driver codes of a failure to connect at all. */
const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "CONNECT_TIMEOUT",
  "SASL_SIGNATURE_MISMATCH",
  "AUTH_TYPE_NOT_IMPLEMENTED",
  // invalid_authorization_specification (unknown role), invalid_password,
  // invalid_catalog_name (unknown database), cannot_connect_now,
  // too_many_connections, and the connection_exception class.
  "28000",
  "28P01",
  "3D000",
  "57P03",
  "53300",
  "08001",
  "08004",
]);

/**
 * Codes of a connection that broke while it was in use: the server was shut
 * down or the session was terminated (`pg_terminate_backend`), or the socket
 * closed. Whether a statement in flight was committed is unknown.
 */
const LOST_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "ECONNRESET",
  "EPIPE",
  "57P01",
  "57P02",
  "08000",
  "08003",
  "08006",
]);

/**
 * The driver's (or the OS's, or the server's) code of an error, if any.
 *
 * @param error What was thrown.
 * @returns Its `code` when that is a string (a SQLSTATE such as `"23505"`, or
 * a name such as `"ECONNREFUSED"`), else `undefined`.
 *
 * @example Read the code of a driver error
 * ```ts
 * import assert from "node:assert/strict";
 * import { codeOf } from "./errors.ts";
 *
 * assert.equal(codeOf(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })), "ECONNREFUSED");
 * assert.equal(codeOf(new Error("no code")), undefined);
 * ```
 */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Whether an error says that the database could not be reached or refused
 * the session (unknown role or database, wrong password, no answer).
 *
 * @param error What was thrown.
 * @returns Whether it is such a failure.
 *
 * @example An unknown database is a connection failure; a duplicate key is not
 * ```ts
 * import assert from "node:assert/strict";
 * import { isConnectFailure } from "./errors.ts";
 *
 * assert(isConnectFailure(Object.assign(new Error('database "x" does not exist'), { code: "3D000" })));
 * assert(!isConnectFailure(Object.assign(new Error("duplicate key"), { code: "23505" })));
 * ```
 */
export function isConnectFailure(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && CONNECT_CODES.has(code);
}

/**
 * Whether an error says that a connection broke while it was in use (the
 * session was terminated, the socket closed): a statement in flight may or
 * may not have been committed.
 *
 * @param error What was thrown.
 * @returns Whether it is such a failure.
 *
 * @example A terminated session is a lost connection
 * ```ts
 * import assert from "node:assert/strict";
 * import { isConnectionLost } from "./errors.ts";
 *
 * assert(isConnectionLost(Object.assign(new Error("closed"), { code: "CONNECTION_CLOSED" })));
 * assert(!isConnectionLost(new Error("no code")));
 * ```
 */
export function isConnectionLost(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && LOST_CODES.has(code);
}

/**
 * Whether an error is the server's refusal of a duplicate key.
 *
 * @param error What was thrown.
 * @returns Whether its SQLSTATE is `23505` (unique_violation).
 *
 * @example Tell a duplicate key from other errors
 * ```ts
 * import assert from "node:assert/strict";
 * import { isUniqueViolation } from "./errors.ts";
 *
 * assert(isUniqueViolation(Object.assign(new Error("duplicate key"), { code: "23505" })));
 * assert(!isUniqueViolation(new Error("other")));
 * ```
 */
export function isUniqueViolation(error: unknown): boolean {
  return codeOf(error) === "23505";
}

/**
 * The driver's error as this library's: a {@linkcode PostgresConnectionError}
 * when the server could not be reached, else a {@linkcode StorageError}; an
 * error of this library passes unchanged.
 *
 * @param error What the driver threw.
 * @param what What was being done, e.g. `Cannot read status/spins/abc.json`.
 * @param server The server's URL without its password, for connection failures.
 * @returns The error to throw.
 *
 * @example A refused connection becomes a PostgresConnectionError that names the server
 * ```ts
 * import assert from "node:assert/strict";
 * import { PostgresConnectionError, storageErrorOf } from "./errors.ts";
 *
 * const raw = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
 * const error = storageErrorOf(raw, "Cannot list jobs/running", "postgres://lab@127.0.0.1:1/test");
 * assert(error instanceof PostgresConnectionError && error.code === "ECONNREFUSED");
 * assert.equal(
 *   error.message,
 *   "Cannot list jobs/running: cannot connect to PostgreSQL at postgres://lab@127.0.0.1:1/test: connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)",
 * );
 * ```
 */
export function storageErrorOf(
  error: unknown,
  what: string,
  server: string,
): Error {
  if (error instanceof StorageError) return error;
  if (!(error instanceof Error)) {
    return new StorageError(`${what}: ${String(error)}`, { cause: error });
  }
  const code = codeOf(error) ?? "EUNKNOWN";
  const reason = error.message.split("\n")[0].trim() || error.name;
  if (isConnectFailure(error)) {
    return new PostgresConnectionError(
      `${what}: cannot connect to PostgreSQL at ${server}: ${reason} (${code})`,
      { code, cause: error },
    );
  }
  return new StorageError(`${what}: ${reason} (${code})`, {
    code,
    cause: error,
  });
}

/**
 * A URL as it may be shown: without its password.
 *
 * @param url A `postgres://` URL.
 * @returns The URL with `***` for the password, if it had one.
 *
 * @example Hide a password
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactUrl } from "./errors.ts";
 *
 * assert.equal(redactUrl(new URL("postgres://lab:secret@db:5432/sqooler")), "postgres://lab:***@db:5432/sqooler");
 * ```
 */
export function redactUrl(url: URL): string {
  if (url.password === "") return url.href;
  const copy = new URL(url.href);
  copy.password = "***";
  return copy.href;
}
