/**
 * The {@linkcode StorageAdapter} interface: a small document store of JSON
 * objects, keyed by a folder path and an id. Every adapter behaves the same;
 * the conformance suite in `@sqooler/storage/testing` proves it.
 *
 * @module
 */

import {
  CorruptRecordError,
  InactiveStorageError,
  InvalidRecordError,
} from "./errors.ts";
import { parseExactJson, parseJson, stringifyJson } from "./json.ts";
import {
  createPacer,
  isLargeJson,
  parseJsonInSlices,
  SLICE_CHARS,
  stringifyJsonInSlices,
  type TextStream,
} from "./slices.ts";
import { assertRecordId, assertStoragePath, describeValue } from "./names.ts";
import type { JobTransitions } from "./transitions.ts";

/** A JSON object as an adapter returns it. */
export type JsonObject = { [key: string]: unknown };

/** Options of {@linkcode StorageAdapter.get}. */
export interface GetOptions {
  /**
   * Keep every number exactly as stored, as an {@linkcode ExactNumber}.
   *
   * @default {false}
   */
  exact?: boolean;
}

/** Options of {@linkcode StorageAdapter.upload}. */
export interface UploadOptions {
  /**
   * Replace a record that exists instead of refusing with
   * {@linkcode AlreadyExistsError}: a create-or-replace ("put"), atomic with
   * respect to `update`, `delete` and `move` as `update` is. For a record
   * that is usually new, such as one with an id that was just made, or a
   * result recorded under a decided lease; {@linkcode LocalAdapter} then
   * places the file with one `rename` instead of a `link` and an `unlink`.
   *
   * @default {false}
   */
  overwrite?: boolean;
}

/** Options of {@linkcode StorageAdapter.update} and {@linkcode StorageAdapter.delete}. */
export interface RecordCheck {
  /**
   * A precondition, called with the record's current content while no other
   * `update`, `delete` or `move` of the record (by any process that uses this
   * library) can run. Throwing refuses the change; the call then rejects with
   * what it threw, and nothing is changed. It must be synchronous and quick.
   * This is the compare-and-swap on which the job protocol builds.
   *
   * @param current The record's content as stored now.
   */
  check?(current: JsonObject): void;
}

/** Options of {@linkcode StorageAdapter.moveOldest}. */
export interface MoveOldestOptions {
  /**
   * Called with each candidate, oldest first, before it is moved. Returning
   * false skips the candidate. The job protocol records its claim here,
   * before the move that decides it.
   *
   * @param id The candidate's id.
   * @returns Whether to try to move it.
   */
  prepare?(id: string): Promise<boolean>;
  /**
   * Called for a candidate that `prepare` accepted but that another caller
   * (also another process or another tool) moved first; then the next
   * candidate is tried.
   *
   * @param id The candidate's id.
   * @returns A promise that settles when the candidate's preparation is undone.
   */
  rollback?(id: string): Promise<void>;
}

/**
 * A document store for sqooler's records: JSON objects kept under a storage
 * path (such as `jobs/queued/fermions`) and an id (such as a job id).
 *
 * The contract, which {@linkcode LocalAdapter} and {@linkcode MemoryAdapter}
 * both keep:
 * - Paths and ids are checked first: an unacceptable one throws
 *   {@linkcode InvalidNameError} and nothing is touched.
 * - When {@linkcode StorageAdapter.active} is false, every operation throws
 *   {@linkcode InactiveStorageError}.
 * - Writes are atomic: a reader sees the old content or the new one, never a
 *   mix, also from another process.
 * - Contents are copied in and out: changing an object after `upload` or after
 *   `get` changes nothing stored.
 * - "Oldest first" means in the order the records were written; `move` keeps a
 *   record's place, so that a job moved back to its queue is taken first.
 * - `update` and `delete` are atomic with respect to each other and to `move`:
 *   a record that was deleted or moved away never reappears because of an
 *   update that ran at the same time, and their `check` sees the content that
 *   the change replaces.
 * - A failure of the storage itself (no space, permissions, too many open
 *   files, a move across filesystems) is a {@linkcode StorageError}, never a
 *   raw error of the runtime.
 *
 * @example Store, read and move a record
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryAdapter, type StorageAdapter } from "@sqooler/storage";
 *
 * const adapter: StorageAdapter = new MemoryAdapter();
 * await adapter.upload("jobs/queued/fermions", "job1", { experiment_0: {} });
 * await adapter.move("jobs/queued/fermions", "jobs/running", "job1");
 * assert((await adapter.list("jobs/running"))[0] === "job1");
 * ```
 */
export interface StorageAdapter {
  /** The storage provider's name: lowercase letters and digits. */
  readonly name: string;
  /** Whether the storage accepts operations. */
  readonly active: boolean;

  /**
   * Capability: the job transitions done natively, each in one atomic step of
   * the storage (a database transaction). Without it, the job functions use
   * the generic implementation over the document operations below.
   */
  readonly transitions?: JobTransitions;

  /**
   * Creates a record.
   *
   * A large record (about 64 KiB of JSON or more, e.g. a result of many
   * shots) is written in slices, letting the event loop run between them:
   * as with Node's `fs.writeFile` and a buffer, the content must not change
   * until the promise settles, and calls that are not awaited may land in
   * either order. A small record is taken at the call.
   *
   * @param storagePath The folder, e.g. `jobs/queued/fermions`.
   * @param id The record's id.
   * @param content A JSON object.
   * @param options With `overwrite: true`, an existing record is replaced.
   * @returns A promise that resolves once the record is stored.
   * @throws {AlreadyExistsError} When the record exists (and `overwrite` is
   *   not set).
   * @throws {InvalidRecordError} When the content is not a JSON object.
   */
  upload(
    storagePath: string,
    id: string,
    content: object,
    options?: UploadOptions,
  ): Promise<void>;

  /**
   * Reads a record.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param options With `exact: true`, every number comes back as an
   * {@linkcode ExactNumber} holding its stored text (`1.0`, `-0.0`, integers
   * beyond 2^53, `NaN`), so that a record rewritten from it keeps every
   * value it did not mean to change.
   * @returns A copy of the content.
   * @throws {NotFoundError} When the record does not exist.
   * @throws {CorruptRecordError} When the stored data is not a JSON object.
   */
  get(
    storagePath: string,
    id: string,
    options?: GetOptions,
  ): Promise<JsonObject>;

  /**
   * Replaces an existing record's content. A large content is written in
   * slices, as with {@linkcode StorageAdapter.upload}: it must not change
   * until the promise settles.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param content A JSON object.
   * @param options A precondition on the current content.
   * @returns A promise that resolves once the new content is stored.
   * @throws {NotFoundError} When the record does not exist.
   * @throws {InvalidRecordError} When the content is not a JSON object.
   * @throws {CorruptRecordError} When `check` is given and the stored data is not a JSON object.
   */
  update(
    storagePath: string,
    id: string,
    content: object,
    options?: RecordCheck,
  ): Promise<void>;

  /**
   * Moves a record to another folder, atomically: of two concurrent movers of
   * the same record, exactly one succeeds and the other gets
   * {@linkcode NotFoundError}. A record of the same id in `toPath` is replaced.
   *
   * @param fromPath The folder it is in.
   * @param toPath The folder it goes to.
   * @param id The record's id.
   * @returns A promise that resolves once the record is in `toPath`.
   * @throws {NotFoundError} When the record is not in `fromPath`.
   */
  move(fromPath: string, toPath: string, id: string): Promise<void>;

  /**
   * Moves the oldest record of a folder to another folder and returns its id.
   * Concurrent callers, also in other processes, each get a different record;
   * none fails because another was faster. Its cost does not grow with the
   * number of records in the folder.
   *
   * @param fromPath The folder to take from, e.g. a queue.
   * @param toPath The folder it goes to.
   * @param options What to do before each candidate is moved, and after it was lost.
   * @returns The moved record's id, or `undefined` when `fromPath` is empty
   * (or `prepare` refused every candidate).
   */
  moveOldest(
    fromPath: string,
    toPath: string,
    options?: MoveOldestOptions,
  ): Promise<string | undefined>;

  /**
   * Deletes a record.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param options A precondition on the current content.
   * @returns A promise that resolves once the record is gone.
   * @throws {NotFoundError} When the record does not exist.
   * @throws {CorruptRecordError} When `check` is given and the stored data is not a JSON object.
   */
  delete(
    storagePath: string,
    id: string,
    options?: RecordCheck,
  ): Promise<void>;

  /**
   * Lists the ids in a folder, oldest first.
   *
   * @param storagePath The folder.
   * @returns The ids; `[]` when the folder does not exist.
   */
  list(storagePath: string): Promise<string[]>;

  /**
   * Capability: removes what writes left behind when their process was
   * killed (temp files), once it is older than `olderThanMs`. An adapter
   * that leaves nothing behind does not implement it. `runWorker` calls it
   * when it starts.
   *
   * @param options How old, in milliseconds, a leftover must be (default one
   * hour), and the clock.
   * @returns How many leftovers were removed.
   */
  sweepTempFiles?(
    options?: { olderThanMs?: number; now?: () => number },
  ): Promise<number>;

  /**
   * Capability: when a record was last written, in milliseconds since the
   * epoch, by the storage's own clock (for {@linkcode LocalAdapter}, the
   * file's modification time, which a `move` keeps). It gives ages to records
   * that other tools wrote without saying when.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @returns The time, or `undefined` when the record does not exist.
   */
  writtenAt?(storagePath: string, id: string): Promise<number | undefined>;

  /**
   * Capability: checks that a record can go from each folder of a pair to
   * the other with one atomic step, so that a layout where it cannot (for
   * {@linkcode LocalAdapter}, two folders on different filesystems) is
   * refused before any work is done, not after. Folders that do not exist yet
   * are made. The job protocol calls it before every claim; an adapter
   * remembers what it checked.
   *
   * @param pairs Pairs of storage paths, `[from, to]`.
   * @returns A promise that resolves when every pair can move atomically.
   * @throws {StorageError} With code `EXDEV`, naming both folders of a pair that cannot.
   */
  checkMoves?(pairs: [from: string, to: string][]): Promise<void>;

  /**
   * Capability: waits until a job may have been queued for one of the
   * backends (a change feed, such as PostgreSQL's `LISTEN/NOTIFY`), until
   * `timeoutMs` has passed, or until `signal` aborts, whichever comes first.
   * Waking without a new job is allowed; missing one is not, within
   * `timeoutMs`. An idle `runWorker` waits on it instead of polling.
   *
   * @param displayNames The backends whose queues to watch.
   * @param options The longest wait in milliseconds, and a signal that ends it.
   * @returns A promise that resolves when the wait is over.
   */
  waitForJobs?(
    displayNames: string[],
    options: { timeoutMs: number; signal: AbortSignal },
  ): Promise<void>;
}

/**
 * The checks and conversions that every adapter does alike.
 *
 * @internal
 */
export const records = {
  /** The name of a record in messages: `<storage path>/<id>.json`. */
  name(storagePath: string, id: string): string {
    return `${storagePath}/${id}.json`;
  },

  /**
   * Checks that the adapter is active and that path and id are acceptable.
   * The id is checked whenever it is passed, also when a caller passed
   * `undefined`, which must not become a record named "undefined".
   */
  check(
    adapter: StorageAdapter,
    storagePath: string,
    ...id: [id?: string]
  ): void {
    if (!adapter.active) {
      throw new InactiveStorageError(
        `Storage "${adapter.name}" is not active; it refuses every operation`,
      );
    }
    assertStoragePath(storagePath);
    if (id.length > 0) assertRecordId(id[0]);
  },

  /** Checks an option that must be true or false. */
  flag(value: unknown, name: string): boolean {
    if (typeof value !== "boolean") {
      throw new InvalidRecordError(
        `Invalid option ${name} ${
          describeValue(value)
        }: expected true or false`,
      );
    }
    return value;
  },

  /**
   * Turns content into JSON text, refusing what is not a JSON object. `NaN`
   * and infinities are written as Python's `json` writes them, and exact
   * numbers as their tokens, so nothing changes silently on the way out.
   */
  serialize(content: unknown, record: string): string {
    rootObject(content, record);
    let text: string | undefined;
    try {
      text = stringifyJson(content);
    } catch (error) {
      throw unwritable(error, record);
    }
    return textOfObject(text, record);
  },

  /**
   * {@linkcode records.serialize} in slices (`slices.ts`): a large record's
   * text comes in pieces, written without holding the event loop for long,
   * as a promise; a small record's text comes at once, as one piece.
   */
  serializeInSlices(
    content: unknown,
    record: string,
  ): string[] | Promise<string[]> {
    if (!isLargeJson(content)) return [records.serialize(content, record)];
    return serializeLarge(content, record);
  },

  /**
   * Reads JSON text as Python's `json` reads it (`NaN` and infinities
   * included), refusing what is not a JSON object.
   */
  parse(text: string, record: string, options?: GetOptions): JsonObject {
    let value: unknown;
    try {
      value = options?.exact ? parseExactJson(text) : parseJson(text);
    } catch (error) {
      throw new CorruptRecordError(record, "not valid JSON", { cause: error });
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new CorruptRecordError(record, "not a JSON object");
    }
    return value as JsonObject;
  },

  /**
   * {@linkcode records.parse} in slices (`slices.ts`) when the text is longer
   * than {@linkcode SLICE_CHARS}: a large record is read without holding the
   * event loop for long, as a promise; a small one at once. Exact reads are
   * made in one piece.
   */
  parseInSlices(
    text: string,
    record: string,
    options?: GetOptions,
  ): JsonObject | Promise<JsonObject> {
    if (options?.exact || text.length <= SLICE_CHARS) {
      return records.parse(text, record, options);
    }
    return parseLarge(text, record);
  },

  /**
   * {@linkcode records.parse} of a large record's text that arrives in
   * pieces (a file read a piece at a time), in slices.
   */
  parseStream(text: TextStream, record: string): Promise<JsonObject> {
    return parseLarge(text, record);
  },
};

async function serializeLarge(
  content: unknown,
  record: string,
): Promise<string[]> {
  rootObject(content, record);
  let pieces: string[];
  try {
    pieces = await stringifyJsonInSlices(content, createPacer());
  } catch (error) {
    throw unwritable(error, record);
  }
  if (pieces.length === 1) textOfObject(pieces[0], record);
  return pieces;
}

async function parseLarge(
  text: string | TextStream,
  record: string,
): Promise<JsonObject> {
  let value: unknown;
  try {
    value = await parseJsonInSlices(text, createPacer());
  } catch (error) {
    // A stream's own failure (reading its file) is not a fault of the JSON.
    if (!(error instanceof SyntaxError)) throw error;
    throw new CorruptRecordError(record, "not valid JSON", { cause: error });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CorruptRecordError(record, "not a JSON object");
  }
  return value as JsonObject;
}

/**
 * Goes on with a value that may still be coming: at once for a value, after
 * it settles for a promise. Small records stay synchronous this way.
 *
 * @internal
 */
export function andThen<T, U>(
  value: T | Promise<T>,
  next: (value: T) => U,
): U | Promise<Awaited<U>> {
  return value instanceof Promise
    ? value.then(next) as Promise<Awaited<U>>
    : next(value);
}

/** Refuses content that is not a JSON object, before it is written. */
function rootObject(content: unknown, record: string): void {
  if (
    typeof content !== "object" || content === null || Array.isArray(content)
  ) {
    throw new InvalidRecordError(
      `Cannot write ${record}: expected a JSON object, got ${
        Array.isArray(content) ? "an array" : describeValue(content)
      }`,
    );
  }
}

/** The error for content that has no JSON text (a cycle, a toJSON that throws). */
function unwritable(error: unknown, record: string): InvalidRecordError {
  return new InvalidRecordError(
    // V8's message on a cycle spans lines; an error message is one.
    `Cannot write ${record}: ${
      (error as Error).message.replace(/\s*\n\s*/g, " ")
    }`,
    { cause: error },
  );
}

/** The text, when it is a JSON object's (a toJSON method can make it other JSON). */
function textOfObject(text: unknown, record: string): string {
  if (typeof text !== "string" || !text.startsWith("{")) {
    throw new InvalidRecordError(
      `Cannot write ${record}: expected a JSON object, got JSON ${
        describeValue(text)
      }`,
    );
  }
  return text;
}

/**
 * Runs synchronous work as a promise, so that its errors reject the promise
 * instead of escaping the call.
 *
 * @internal
 */
export function settle<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}
