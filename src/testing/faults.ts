/**
 * A fault-injecting {@linkcode StorageAdapter} wrapper, for testing code
 * under storage faults and races: it can pause any document operation at a
 * chosen point (so that a test interleaves two callers deterministically,
 * without sleeps) and make any operation fail with a storage error (a full
 * disk, a cross-device link, too many open files).
 *
 * @module
 */

import type {
  GetOptions,
  JsonObject,
  MoveOldestOptions,
  RecordCheck,
  StorageAdapter,
  UploadOptions,
} from "../adapter.ts";
import { StorageError } from "../errors.ts";

/** One document operation, as {@linkcode FaultyAdapter} reports it. */
export interface StorageOperation {
  /** The adapter method. */
  method:
    | "upload"
    | "get"
    | "update"
    | "move"
    | "moveOldest"
    | "delete"
    | "list";
  /** The folder it reads or writes (for moves, the one it takes from). */
  path: string;
  /** The record's id; absent for `list` and `moveOldest`. */
  id?: string;
  /** For moves: the folder the record goes to. */
  to?: string;
}

/** What a {@linkcode FaultyAdapter} does around each operation. */
export interface FaultPlan {
  /**
   * Called before each operation. It may wait (the operation waits with it:
   * a pause point) and may throw (the operation then fails with that error,
   * having changed nothing).
   *
   * @param operation The operation about to run.
   * @returns Nothing, or a promise that the operation waits for.
   */
  before?(operation: StorageOperation): void | Promise<void>;
}

/**
 * A {@linkcode StorageAdapter} that runs every document operation of another
 * adapter, calling {@linkcode FaultPlan.before} first. Native job transitions
 * of the inner adapter are not used through it, so that the job protocol runs
 * over the faulty document operations; the other capabilities are passed on.
 *
 * @example Fail every result write with a full disk
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryAdapter, StorageError } from "@sqooler/storage";
 * import { FaultyAdapter, storageFault } from "@sqooler/storage/testing";
 *
 * const inner = new MemoryAdapter();
 * const adapter = new FaultyAdapter(inner, {
 *   before: (op) => {
 *     if (op.method === "upload" && op.path.startsWith("results/")) {
 *       throw storageFault("ENOSPC", op);
 *     }
 *   },
 * });
 * const error = await adapter.upload("results/spins", "abc", {}).catch((e) => e);
 * assert(error instanceof StorageError && error.code === "ENOSPC");
 * assert.deepEqual(await inner.list("results/spins"), []);
 * ```
 *
 * @example Pause a caller at a chosen step, and let another act meanwhile
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryAdapter } from "@sqooler/storage";
 * import { FaultyAdapter, PausePoint } from "@sqooler/storage/testing";
 *
 * const inner = new MemoryAdapter();
 * await inner.upload("jobs/queued/spins", "job1", {});
 * const pause = new PausePoint((op) => op.method === "move");
 * const slow = new FaultyAdapter(inner, pause);
 * const moving = slow.move("jobs/queued/spins", "jobs/running", "job1");
 * await pause.reached; // the slow caller is about to move the record
 * await inner.delete("jobs/queued/spins", "job1");
 * pause.resume();
 * assert((await moving.catch((e) => e)).name === "NotFoundError");
 * ```
 */
export class FaultyAdapter implements StorageAdapter {
  #inner: StorageAdapter;
  #plan: FaultPlan;

  /**
   * Wraps an adapter.
   *
   * @param inner The adapter whose operations run.
   * @param plan What to do before each operation.
   */
  constructor(inner: StorageAdapter, plan: FaultPlan) {
    this.#inner = inner;
    this.#plan = plan;
    if (inner.sweepTempFiles) {
      this.sweepTempFiles = (options) => inner.sweepTempFiles!(options);
    }
    if (inner.waitForJobs) {
      this.waitForJobs = (names, options) => inner.waitForJobs!(names, options);
    }
  }

  /** The inner adapter's name. */
  get name(): string {
    return this.#inner.name;
  }

  /** Whether the inner adapter is active. */
  get active(): boolean {
    return this.#inner.active;
  }

  /** The inner adapter's {@linkcode StorageAdapter.sweepTempFiles}, if it has one. */
  sweepTempFiles?: StorageAdapter["sweepTempFiles"];

  /** The inner adapter's {@linkcode StorageAdapter.waitForJobs}, if it has one. */
  waitForJobs?: StorageAdapter["waitForJobs"];

  /**
   * {@linkcode StorageAdapter.upload}, after the plan.
   *
   * @param path The folder.
   * @param id The record's id.
   * @param content A JSON object.
   * @param options Whether an existing record is replaced.
   * @returns Nothing.
   */
  async upload(
    path: string,
    id: string,
    content: object,
    options?: UploadOptions,
  ): Promise<void> {
    await this.#plan.before?.({ method: "upload", path, id });
    return await this.#inner.upload(path, id, content, options);
  }

  /**
   * {@linkcode StorageAdapter.get}, after the plan.
   *
   * @param path The folder.
   * @param id The record's id.
   * @param options Whether to keep numbers exactly.
   * @returns The content.
   */
  async get(
    path: string,
    id: string,
    options?: GetOptions,
  ): Promise<JsonObject> {
    await this.#plan.before?.({ method: "get", path, id });
    return await this.#inner.get(path, id, options);
  }

  /**
   * {@linkcode StorageAdapter.update}, after the plan.
   *
   * @param path The folder.
   * @param id The record's id.
   * @param content A JSON object.
   * @param options The precondition.
   * @returns Nothing.
   */
  async update(
    path: string,
    id: string,
    content: object,
    options?: RecordCheck,
  ): Promise<void> {
    await this.#plan.before?.({ method: "update", path, id });
    return await this.#inner.update(path, id, content, options);
  }

  /**
   * {@linkcode StorageAdapter.move}, after the plan.
   *
   * @param from The folder it is in.
   * @param to The folder it goes to.
   * @param id The record's id.
   * @returns Nothing.
   */
  async move(from: string, to: string, id: string): Promise<void> {
    await this.#plan.before?.({ method: "move", path: from, id, to });
    return await this.#inner.move(from, to, id);
  }

  /**
   * {@linkcode StorageAdapter.moveOldest}, after the plan.
   *
   * @param from The folder to take from.
   * @param to The folder it goes to.
   * @param options The claim hooks, passed on.
   * @returns The moved record's id, or `undefined`.
   */
  async moveOldest(
    from: string,
    to: string,
    options?: MoveOldestOptions,
  ): Promise<string | undefined> {
    await this.#plan.before?.({ method: "moveOldest", path: from, to });
    return await this.#inner.moveOldest(from, to, options);
  }

  /**
   * {@linkcode StorageAdapter.delete}, after the plan.
   *
   * @param path The folder.
   * @param id The record's id.
   * @param options The precondition.
   * @returns Nothing.
   */
  async delete(path: string, id: string, options?: RecordCheck): Promise<void> {
    await this.#plan.before?.({ method: "delete", path, id });
    return await this.#inner.delete(path, id, options);
  }

  /**
   * {@linkcode StorageAdapter.list}, after the plan.
   *
   * @param path The folder.
   * @returns The ids, oldest first.
   */
  async list(path: string): Promise<string[]> {
    await this.#plan.before?.({ method: "list", path });
    return await this.#inner.list(path);
  }
}

/**
 * A {@linkcode FaultPlan} that stops the first operation that matches until
 * {@linkcode PausePoint.resume} is called: the test learns that a caller
 * reached that point ({@linkcode PausePoint.reached}), acts, then lets it go on.
 *
 * @example Stop the first lease write
 * ```ts
 * import assert from "node:assert/strict";
 * import { PausePoint } from "@sqooler/storage/testing";
 *
 * const pause = new PausePoint((op) => op.method === "update" && op.path.startsWith("leases/"));
 * const waiting = pause.before({ method: "update", path: "leases/spins", id: "abc" });
 * assert.equal((await pause.reached).id, "abc");
 * pause.resume();
 * await waiting;
 * ```
 */
export class PausePoint implements FaultPlan {
  #match: (operation: StorageOperation) => boolean;
  #fired = false;
  #reached = Promise.withResolvers<StorageOperation>();
  #resume = Promise.withResolvers<void>();

  /**
   * Makes a pause point.
   *
   * @param match Which operation to stop (only the first that matches).
   */
  constructor(match: (operation: StorageOperation) => boolean) {
    this.#match = match;
  }

  /** Resolves with the operation once a caller is stopped at it. */
  get reached(): Promise<StorageOperation> {
    return this.#reached.promise;
  }

  /** Lets the stopped operation run. */
  resume(): void {
    this.#resume.resolve();
  }

  /**
   * Stops the first matching operation until {@linkcode PausePoint.resume}.
   *
   * @param operation The operation about to run.
   * @returns A promise that resolves when the operation may run.
   */
  before(operation: StorageOperation): Promise<void> {
    if (this.#fired || !this.#match(operation)) return Promise.resolve();
    this.#fired = true;
    this.#reached.resolve(operation);
    return this.#resume.promise;
  }
}

const MESSAGES: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EXDEV: "the move would cross filesystems, so it cannot be atomic",
  EMFILE: "too many open files",
  EACCES: "permission denied",
  EROFS: "the filesystem is read-only",
  EIO: "an input/output error",
};

/**
 * The {@linkcode StorageError} that an adapter gives for an operating system
 * failure, to throw from a {@linkcode FaultPlan}.
 *
 * @param code The failure's code, e.g. `"ENOSPC"`.
 * @param operation The operation that fails, named in the message.
 * @returns The error.
 *
 * @example A full disk
 * ```ts
 * import assert from "node:assert/strict";
 * import { storageFault } from "@sqooler/storage/testing";
 *
 * const error = storageFault("ENOSPC", { method: "upload", path: "results/spins", id: "abc" });
 * assert.equal(error.message, "Cannot write results/spins/abc.json: no space left on the device");
 * ```
 */
export function storageFault(
  code: string,
  operation: StorageOperation,
): StorageError {
  const record = operation.id === undefined
    ? operation.path
    : `${operation.path}/${operation.id}.json`;
  const verb = operation.method === "get" || operation.method === "list"
    ? "read"
    : operation.method === "move" || operation.method === "moveOldest"
    ? "move"
    : operation.method === "delete"
    ? "delete"
    : "write";
  return new StorageError(
    `Cannot ${verb} ${record}: ${MESSAGES[code] ?? code}`,
    { code },
  );
}
