/**
 * {@linkcode PostgresAdapter}: the {@linkcode StorageAdapter} contract on a
 * PostgreSQL server, with the job transitions done natively (one transaction
 * each, claims by `FOR UPDATE SKIP LOCKED`) and idle workers woken by
 * `LISTEN/NOTIFY`. For deployments where the web API and the labs' workers
 * do not share a disk.
 *
 * @module
 */

import {
  type GetOptions,
  type JsonObject,
  type MoveOldestOptions,
  type RecordCheck,
  records,
  type StorageAdapter,
  type UploadOptions,
} from "../adapter.ts";
import {
  AlreadyExistsError,
  InvalidRecordError,
  NotFoundError,
} from "../errors.ts";
import { assertDisplayName, normalizeProviderName } from "../names.ts";
import { numberOption } from "../records.ts";
import type { JobTransitions } from "../transitions.ts";
import { Database, textArray } from "./database.ts";
import { PostgresConnectionError, redactUrl } from "./errors.ts";
import { assertSchemaName } from "./schema.ts";
import { PostgresTransitions } from "./transitions.ts";

/** Options of {@linkcode PostgresAdapter}. */
export interface PostgresAdapterOptions {
  /**
   * The server, as `postgres://user:password@host:port/database` (or
   * `postgresql://`; query parameters such as `sslmode=require` are passed
   * on).
   *
   * @default {Deno.env.get("DATABASE_URL")}
   */
  url?: string;
  /**
   * The storage provider's name; lowercased, then 1 to 64 letters and digits.
   *
   * @default {"default"}
   */
  name?: string;
  /**
   * The schema that holds the tables: 1 to 48 lowercase letters, digits or
   * `_`. Deployments (or test runs) with different schemas never meet.
   *
   * @default {"sqooler"}
   */
  schema?: string;
  /**
   * How many connections the adapter opens at most, besides the one that
   * listens for new jobs.
   *
   * @default {4}
   */
  poolSize?: number;
  /**
   * How long connecting may take, in milliseconds, before the call fails
   * with {@linkcode PostgresConnectionError}; the first call also creates or
   * migrates the tables within it.
   *
   * @default {4000}
   */
  connectTimeoutMs?: number;
  /**
   * How long one statement may run on the server, in milliseconds, before
   * it is cancelled and the call fails with a {@linkcode StorageError}.
   *
   * @default {30000}
   */
  statementTimeoutMs?: number;
  /**
   * Whether the storage accepts operations.
   *
   * @default {true}
   */
  active?: boolean;
}

/**
 * A {@linkcode StorageAdapter} on PostgreSQL. Every record is a row of one
 * table (`records(path, id, content, seq)`), its JSON text kept exactly as
 * written; the job transitions change the same rows, each in one
 * transaction, so that the free functions that read records (`getStatus`,
 * `getResult`, `getQueueStats`, the command line) see what the generic job
 * protocol would have stored. Tables are created (or migrated) on first use,
 * also when several processes start at once.
 *
 * Connections are opened on first use; a connection that breaks is replaced
 * on the next call, and a call that could not reach the server fails with a
 * {@linkcode StorageError} within the timeouts instead of hanging. Call
 * {@linkcode PostgresAdapter.close} when done.
 *
 * @example Submit and take a job
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { getNextJobInQueue, uploadJob } from "@sqooler/storage";
 * import { PostgresAdapter } from "@sqooler/storage/postgres";
 *
 * const adapter = new PostgresAdapter({ url: "postgres://postgres@127.0.0.1:5432/test", name: "mylab" });
 * try {
 *   const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "linear" } };
 *   const jobId = await uploadJob(adapter, { job, displayName: "spins", username: "alice" });
 *   const next = await getNextJobInQueue(adapter, "spins");
 *   assert(next.job_id === jobId && next.token !== undefined);
 * } finally {
 *   await adapter.close();
 * }
 * ```
 */
export class PostgresAdapter implements StorageAdapter {
  /** The storage provider's name. */
  readonly name: string;
  /** Whether the storage accepts operations. */
  readonly active: boolean;
  /** The schema that holds the tables. */
  readonly schema: string;
  /** The job transitions, each one transaction. */
  readonly transitions: JobTransitions;
  #db: Database;
  #reserved = new Map<string, { ids: Set<string>; turn: Promise<void> }>();

  /**
   * Checks the options; connects on first use.
   *
   * @param options The server, the name, the schema, the pool and the timeouts.
   * @throws {PostgresConnectionError} When there is no URL, or it is not a PostgreSQL URL (`code` `"EINVALIDURL"`).
   * @throws {InvalidNameError} When the name or the schema is not acceptable.
   * @throws {InvalidRecordError} When a number or flag is not acceptable.
   */
  constructor(options: PostgresAdapterOptions = {}) {
    const url = parseUrl(options?.url ?? Deno.env.get("DATABASE_URL"));
    this.name = normalizeProviderName(options.name ?? "default");
    this.active = records.flag(options.active ?? true, "active");
    this.schema = assertSchemaName(options.schema ?? "sqooler");
    this.#db = new Database({
      url,
      schema: this.schema,
      poolSize: numberOption(options.poolSize, {
        what: "pool size",
        fallback: 4,
        min: 1,
        max: 1000,
        integer: true,
      }),
      connectTimeoutMs: numberOption(options.connectTimeoutMs, {
        what: "connect timeout",
        fallback: 4000,
        min: 1,
        max: 3_600_000,
      }),
      statementTimeoutMs: numberOption(options.statementTimeoutMs, {
        what: "statement timeout",
        fallback: 30_000,
        min: 1,
        max: 86_400_000,
        integer: true,
      }),
    }, redactUrl(url));
    this.transitions = new PostgresTransitions(this, this.#db);
  }

  /**
   * Creates a record.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param content A JSON object; its JSON text is stored.
   * @param options With `overwrite: true`, an existing record is replaced
   *   (one `INSERT … ON CONFLICT DO UPDATE`).
   * @returns Nothing.
   * @throws {AlreadyExistsError} When the record exists (and `overwrite` is
   *   not set).
   */
  async upload(
    storagePath: string,
    id: string,
    content: object,
    options?: UploadOptions,
  ): Promise<void> {
    records.check(this, storagePath, id);
    const record = records.name(storagePath, id);
    const overwrite = records.flag(options?.overwrite ?? false, "overwrite");
    const text = (await records.serializeInSlices(content, record)).join("");
    const rows = await this.#db.run(
      `Cannot create ${record}`,
      (sql) =>
        sql.unsafe(
          overwrite ? this.#db.sql.put : this.#db.sql.upload,
          [storagePath, id, text],
          { prepare: true },
        ),
      { idempotent: false },
    );
    if (!overwrite && rows.length === 0) {
      throw new AlreadyExistsError(`Cannot create ${record}: it exists`);
    }
  }

  /**
   * Reads a record.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param options With `exact: true`, every number as an `ExactNumber`
   * holding its stored text.
   * @returns A copy of the content.
   * @throws {NotFoundError} When the record does not exist.
   */
  async get(
    storagePath: string,
    id: string,
    options?: GetOptions,
  ): Promise<JsonObject> {
    records.check(this, storagePath, id);
    const record = records.name(storagePath, id);
    const row = await this.#read(storagePath, id, "read");
    return await records.parseInSlices(row.content, record, options);
  }

  /**
   * Replaces an existing record's content; it becomes the newest.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param content A JSON object.
   * @param options A precondition on the current content.
   * @returns Nothing.
   * @throws {NotFoundError} When the record does not exist.
   */
  async update(
    storagePath: string,
    id: string,
    content: object,
    options?: RecordCheck,
  ): Promise<void> {
    records.check(this, storagePath, id);
    const record = records.name(storagePath, id);
    const text = (await records.serializeInSlices(content, record)).join("");
    const check = options?.check;
    if (check === undefined) {
      const rows = await this.#db.run(
        `Cannot update ${record}`,
        (sql) =>
          sql.unsafe(this.#db.sql.update, [storagePath, id, text], {
            prepare: true,
          }),
      );
      if (rows.length === 0) throw missing("update", record);
      return;
    }
    // Compare and swap on the record's write number: the check sees the
    // content that the update replaces, or the update is tried again.
    for (;;) {
      const row = await this.#read(storagePath, id, "update");
      check(records.parse(row.content, record));
      const rows = await this.#db.run(
        `Cannot update ${record}`,
        (sql) =>
          sql.unsafe(
            this.#db.sql.updateIfSame,
            [storagePath, id, text, row.seq],
            { prepare: true },
          ),
        // Repeated after it took effect, it would find the record changed.
        { idempotent: false },
      );
      if (rows.length > 0) return;
    }
  }

  /**
   * Moves a record to another folder, keeping its place in the order.
   *
   * @param fromPath The folder it is in.
   * @param toPath The folder it goes to.
   * @param id The record's id.
   * @returns Nothing.
   * @throws {NotFoundError} When the record is not in `fromPath`.
   */
  async move(fromPath: string, toPath: string, id: string): Promise<void> {
    records.check(this, fromPath, id);
    records.check(this, toPath);
    const record = records.name(fromPath, id);
    const moved = await this.#move(fromPath, toPath, id, null);
    if (!moved) throw missing("move", record);
  }

  /**
   * Moves the oldest record of a folder to another folder. Concurrent
   * callers (in any process) each get another record: the record is locked
   * with `FOR UPDATE SKIP LOCKED` while it moves.
   *
   * @param fromPath The folder to take from.
   * @param toPath The folder it goes to.
   * @param options What to do before each candidate is moved, and after it was lost.
   * @returns The moved record's id, or `undefined` when `fromPath` is empty.
   */
  async moveOldest(
    fromPath: string,
    toPath: string,
    options?: MoveOldestOptions,
  ): Promise<string | undefined> {
    records.check(this, fromPath);
    records.check(this, toPath);
    const what = `Cannot move the oldest record of ${fromPath} to ${toPath}`;
    if (options?.prepare === undefined) {
      const rows = await this.#db.run(
        what,
        (sql) =>
          sql.unsafe(this.#db.sql.moveOldest, [fromPath, toPath, "{}"], {
            prepare: true,
          }),
        { idempotent: false },
      );
      return rows[0]?.id ?? undefined;
    }
    // Candidates that this instance is preparing are skipped by its other
    // callers, so that they do not all prepare the same record: each picks
    // (and reserves) its candidate in turn.
    let reserved = this.#reserved.get(fromPath);
    if (reserved === undefined) {
      reserved = { ids: new Set(), turn: Promise.resolve() };
      this.#reserved.set(fromPath, reserved);
    }
    const held = reserved;
    const refused: string[] = [];
    for (;;) {
      const before = held.turn;
      let done!: () => void;
      held.turn = new Promise<void>((resolve) => done = resolve);
      let candidate: { id: string; seq: string } | undefined;
      try {
        await before;
        const skip = [...refused, ...held.ids];
        const rows = await this.#db.run(
          what,
          (sql) =>
            sql.unsafe(this.#db.sql.oldest, [fromPath, textArray(skip)], {
              prepare: true,
            }),
        );
        candidate = rows[0] as unknown as { id: string; seq: string };
        if (candidate !== undefined) held.ids.add(candidate.id);
      } finally {
        done();
      }
      if (candidate === undefined) return undefined;
      const { id, seq } = candidate;
      let moved: boolean;
      try {
        if (!await options.prepare(id)) {
          refused.push(id);
          continue;
        }
        moved = await this.#move(fromPath, toPath, id, seq);
      } finally {
        held.ids.delete(id);
      }
      if (moved) return id;
      // Moved away (or rewritten) by another caller while it was prepared.
      await options.rollback?.(id);
    }
  }

  /**
   * Deletes a record.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param options A precondition on the current content.
   * @returns Nothing.
   * @throws {NotFoundError} When the record does not exist.
   */
  async delete(
    storagePath: string,
    id: string,
    options?: RecordCheck,
  ): Promise<void> {
    records.check(this, storagePath, id);
    const record = records.name(storagePath, id);
    const check = options?.check;
    for (;;) {
      let params: unknown[] = [storagePath, id];
      let statement = this.#db.sql.delete;
      if (check !== undefined) {
        const row = await this.#read(storagePath, id, "delete");
        check(records.parse(row.content, record));
        params = [storagePath, id, row.seq];
        statement = this.#db.sql.deleteIfSame;
      }
      const rows = await this.#db.run(
        `Cannot delete ${record}`,
        (sql) => sql.unsafe(statement, params as never[], { prepare: true }),
        // Repeated after it took effect, it would find nothing to delete.
        { idempotent: false },
      );
      if (rows.length > 0) return;
      if (check === undefined) throw missing("delete", record);
    }
  }

  /**
   * Lists the ids in a folder, oldest first.
   *
   * @param storagePath The folder.
   * @returns The ids; `[]` when the folder has none.
   */
  async list(storagePath: string): Promise<string[]> {
    records.check(this, storagePath);
    const rows = await this.#db.run(
      `Cannot list ${storagePath}`,
      (sql) => sql.unsafe(this.#db.sql.list, [storagePath], { prepare: true }),
    );
    return rows.map((row) => row.id as string);
  }

  /**
   * When a record was last written (created, replaced, not moved), by the
   * server's clock.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @returns Milliseconds since the epoch, or `undefined` when the record does not exist.
   */
  async writtenAt(
    storagePath: string,
    id: string,
  ): Promise<number | undefined> {
    records.check(this, storagePath, id);
    const rows = await this.#db.run(
      `Cannot read the time of ${records.name(storagePath, id)}`,
      (sql) =>
        sql.unsafe(this.#db.sql.writtenAt, [storagePath, id], {
          prepare: true,
        }),
    );
    return rows.length === 0 ? undefined : Math.round(rows[0].ms);
  }

  /**
   * Waits until a job may have been queued for one of the backends (a
   * `NOTIFY` from the transaction that queued it), until `timeoutMs` has
   * passed, or until `signal` aborts. It listens on a connection of its own;
   * the first call, and the first after that connection broke, returns at
   * once, since jobs queued before were not announced to it.
   *
   * @param displayNames The backends whose queues to watch.
   * @param options The longest wait in milliseconds, and a signal that ends it.
   * @returns A promise that resolves when the wait is over.
   * @throws {InvalidNameError} When a display name is not acceptable.
   * @throws {StorageError} When listening could not start.
   */
  async waitForJobs(
    displayNames: string[],
    options: { timeoutMs: number; signal: AbortSignal },
  ): Promise<void> {
    records.check(this, "jobs/queued");
    if (!Array.isArray(displayNames)) {
      throw new InvalidRecordError(
        "Invalid display names: expected an array of display names",
      );
    }
    const names = displayNames.map((name) => assertDisplayName(name));
    const timeoutMs = numberOption(options?.timeoutMs, {
      what: "wait",
      fallback: 30_000,
    });
    await this.#db.waitForJobs(names, { timeoutMs, signal: options.signal });
  }

  /**
   * Closes every connection of the adapter. Later calls fail with a
   * {@linkcode StorageError}; a pending {@linkcode waitForJobs} returns.
   *
   * @returns A promise that resolves once the connections are closed.
   */
  async close(): Promise<void> {
    await this.#db.close();
  }

  async #read(
    storagePath: string,
    id: string,
    action: string,
  ): Promise<{ content: string; seq: string }> {
    const record = records.name(storagePath, id);
    const rows = await this.#db.run(
      `Cannot ${action === "read" ? "read" : action} ${record}`,
      (sql) =>
        sql.unsafe(this.#db.sql.get, [storagePath, id], { prepare: true }),
    );
    if (rows.length === 0) throw missing(action, record);
    return rows[0] as unknown as { content: string; seq: string };
  }

  async #move(
    fromPath: string,
    toPath: string,
    id: string,
    seq: string | null,
  ): Promise<boolean> {
    const rows = await this.#db.run(
      `Cannot move ${records.name(fromPath, id)} to ${toPath}`,
      (sql) =>
        sql.unsafe(this.#db.sql.move, [fromPath, toPath, id, seq], {
          prepare: true,
        }),
      // Repeated after it took effect, it would find nothing to move.
      { idempotent: false },
    );
    return rows[0]?.moved === true;
  }
}

function missing(action: string, record: string): NotFoundError {
  return new NotFoundError(`Cannot ${action} ${record}: it does not exist`);
}

/** Checks the server's URL. */
function parseUrl(value: unknown): URL {
  if (value === undefined || value === "") {
    throw new PostgresConnectionError(
      "No PostgreSQL server given: pass the url option or set DATABASE_URL, e.g. postgres://user@host:5432/database",
      { code: "EINVALIDURL" },
    );
  }
  let url: URL | undefined;
  try {
    url = typeof value === "string" ? new URL(value) : undefined;
  } catch {
    // Refused below.
  }
  if (
    url === undefined ||
    !(url.protocol === "postgres:" || url.protocol === "postgresql:") ||
    url.hostname === ""
  ) {
    const shown = typeof value === "string"
      ? JSON.stringify(value.replace(/:[^:@/]*@/, ":***@").slice(0, 80))
      : typeof value;
    throw new PostgresConnectionError(
      `Invalid PostgreSQL URL ${shown}: expected postgres://user:password@host:port/database`,
      { code: "EINVALIDURL" },
    );
  }
  return url;
}
