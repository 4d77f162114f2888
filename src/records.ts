/**
 * Reading and writing typed records through a {@linkcode StorageAdapter}: the
 * steps that the backend and job functions share.
 *
 * @module
 * @internal
 */

import { type JsonObject, records, type StorageAdapter } from "./adapter.ts";
import {
  AlreadyExistsError,
  CorruptRecordError,
  InvalidRecordError,
  NotFoundError,
} from "./errors.ts";
import { describeValue } from "./names.ts";
import { check, checkInSlices, type Schema } from "./schemas.ts";

import type { Clock } from "./transitions.ts";

export type { Clock };

/**
 * The clock of an options object (`Date.now` when none is given), checked on
 * every reading, so that a broken clock fails with a clear error instead of a
 * `RangeError` from deep inside.
 */
export function clockOf(options: { now?: Clock } | undefined): Clock {
  const clock: unknown = options?.now ?? Date.now;
  if (typeof clock !== "function") {
    throw new InvalidRecordError(
      `Invalid clock ${
        describeValue(clock)
      }: expected a function that returns milliseconds since the epoch`,
    );
  }
  return () => {
    const now: unknown = clock();
    if (typeof now !== "number" || !(now >= 0 && now <= MAX_TIME_MS)) {
      throw new InvalidRecordError(
        `Invalid clock: it returned ${
          describeValue(now)
        }, expected milliseconds since the epoch`,
      );
    }
    return now;
  };
}

/**
 * Checks a number from an options object: finite, at least `min`, and whole
 * when asked; `fallback` when it is not given.
 */
export function numberOption(
  value: unknown,
  rule: {
    what: string;
    fallback: number;
    min?: number;
    max?: number;
    integer?: boolean;
  },
): number {
  if (value === undefined) return rule.fallback;
  const min = rule.min ?? 0;
  const max = rule.max ?? MAX_DURATION_MS;
  if (
    typeof value !== "number" || !(value >= min && value <= max) ||
    (rule.integer && !Number.isInteger(value))
  ) {
    throw new InvalidRecordError(
      `Invalid ${rule.what} ${describeValue(value)}: expected ${
        rule.integer ? "a whole number" : "a number"
      } from ${min} to ${max}`,
    );
  }
  return value;
}

/** The longest length of time an option may give: about 31 years. */
const MAX_DURATION_MS = 1e12;
/** The latest time a clock may tell, so that it plus any duration is a date. */
const MAX_TIME_MS = 8.64e15 - MAX_DURATION_MS;

const JWS_KEYS = ["header", "payload", "signature"];

/**
 * The payload of a record that sqooler ≥ 0.9 stored signed, as a JWS dict
 * `{ header, payload, signature }`; any other record as it is. The signature
 * is not checked here.
 */
export function unwrapSigned(content: JsonObject): JsonObject {
  const keys = Object.keys(content);
  const payload = content.payload;
  return keys.length === 3 && JWS_KEYS.every((key) => key in content) &&
      typeof payload === "object" && payload !== null &&
      !Array.isArray(payload)
    ? payload as JsonObject
    : content;
}

/** Whether a stored record is a signed JWS dict. */
export function isSigned(content: JsonObject): boolean {
  return unwrapSigned(content) !== content;
}

/**
 * Reads a record and checks it against its schema.
 *
 * @param written What the calling function itself wrote to the record, when
 *   it is a flat object (strings, numbers, booleans, `null`) that the schema
 *   reads as it is: a stored record with exactly its members and values is
 *   returned as `written` without being checked again.
 * @returns The typed record, or `undefined` when it does not exist.
 * @throws {CorruptRecordError} When it is not valid JSON or fails the schema.
 */
export async function readRecord<T>(
  adapter: StorageAdapter,
  key: { path: string; id: string },
  schema: Schema<T>,
  written?: T & object,
): Promise<T | undefined> {
  let content: JsonObject;
  try {
    content = await adapter.get(key.path, key.id);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  if (written !== undefined && isAsWritten(content, written)) return written;
  const result = await checkInSlices(schema, unwrapSigned(content));
  if (!result.ok) {
    throw new CorruptRecordError(records.name(key.path, key.id), result.reason);
  }
  return result.value;
}

/** Whether stored content has exactly the members of `written`, with the same primitive values. */
function isAsWritten(content: JsonObject, written: object): boolean {
  const keys = Object.keys(content);
  if (keys.length !== Object.keys(written).length) return false;
  const expected = written as Record<string, unknown>;
  for (const key of keys) {
    const value = content[key];
    if (
      value !== expected[key] || (typeof value === "object" && value !== null)
    ) return false;
    if (!Object.hasOwn(expected, key)) return false;
  }
  return true;
}

/**
 * Reads a record and checks it against its schema; a missing or unreadable
 * one counts as absent, for callers that go on without it.
 */
export async function readIfReadable<T>(
  adapter: StorageAdapter,
  key: { path: string; id: string },
  schema: Schema<T>,
): Promise<T | undefined> {
  try {
    return await readRecord(adapter, key, schema);
  } catch (error) {
    if (error instanceof CorruptRecordError) return undefined;
    throw error;
  }
}

/** Checks stored content against its schema, naming the record when it fails. */
export function parseStored<T>(
  content: unknown,
  record: string,
  schema: Schema<T>,
): T {
  const result = check(schema, content);
  if (!result.ok) throw new CorruptRecordError(record, result.reason);
  return result.value;
}

/**
 * {@linkcode parseInput} in slices, for content that may be large (a result
 * of many shots).
 */
export async function parseInputInSlices<T>(
  content: unknown,
  what: string,
  schema: Schema<T>,
): Promise<T> {
  const result = await checkInSlices(schema, content);
  if (!result.ok) {
    throw new InvalidRecordError(`Invalid ${what}: ${result.reason}`);
  }
  return result.value;
}

/** Checks content handed in by a caller, naming what it is when it fails. */
export function parseInput<T>(
  content: unknown,
  what: string,
  schema: Schema<T>,
): T {
  const result = check(schema, content);
  if (!result.ok) {
    throw new InvalidRecordError(`Invalid ${what}: ${result.reason}`);
  }
  return result.value;
}

/**
 * Creates a record or replaces it, whichever applies: one `upload` with
 * `overwrite: true`. An adapter that does not know that option (one written
 * for an earlier version of the contract) refuses an existing record with
 * {@linkcode AlreadyExistsError}; then the record is replaced with `update`,
 * or created again if it went meanwhile.
 */
export async function putRecord(
  adapter: StorageAdapter,
  key: { path: string; id: string },
  content: object,
): Promise<void> {
  try {
    await adapter.upload(key.path, key.id, content, { overwrite: true });
    return;
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error;
  }
  const create = () => adapter.upload(key.path, key.id, content);
  const replace = () => adapter.update(key.path, key.id, content);
  // A few rounds cover concurrent creates and deletes between the calls.
  for (let round = 0;; round++) {
    for (const step of [replace, create]) {
      try {
        await step();
        return;
      } catch (error) {
        const lost = step === create
          ? error instanceof AlreadyExistsError
          : error instanceof NotFoundError;
        if (!lost || round > 1) throw error;
      }
    }
  }
}

/** Deletes a record if it exists. */
export async function deleteIfExists(
  adapter: StorageAdapter,
  key: { path: string; id: string },
): Promise<boolean> {
  try {
    await adapter.delete(key.path, key.id);
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}

/** Moves a record if it exists; false when it was not in `from`. */
export async function moveIfExists(
  adapter: StorageAdapter,
  move: { from: string; to: string; id: string },
): Promise<boolean> {
  try {
    await adapter.move(move.from, move.to, move.id);
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}
