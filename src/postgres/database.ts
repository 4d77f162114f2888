/**
 * The PostgreSQL adapter's connection to its server: a pool of connections
 * (replaced when it hangs), the migration on first use, bounded waits, the
 * translation of driver errors, retries where a statement surely changed
 * nothing, and a dedicated connection that listens for new jobs.
 *
 * @module
 * @internal
 */

import postgres from "postgres";
import { StorageError } from "../errors.ts";
import { MAX_TIMER_MS } from "../worker/timers.ts";
import { codeOf, isConnectionLost, storageErrorOf } from "./errors.ts";
import {
  channelOf,
  MIGRATION_LOCK,
  migrations,
  type Statements,
  statements,
} from "./schema.ts";

/** A pool of the driver. */
type Pool = postgres.Sql;

/**
 * What a {@linkcode Database} connects to, and how patiently.
 *
 * @example Settings of a small pool
 * ```ts
 * import type { DatabaseSettings } from "./database.ts";
 *
 * const settings: DatabaseSettings = {
 *   url: new URL("postgres://postgres@127.0.0.1:5432/test"),
 *   schema: "sqooler",
 *   poolSize: 4,
 *   connectTimeoutMs: 4000,
 *   statementTimeoutMs: 30000,
 * };
 * void settings;
 * ```
 */
export interface DatabaseSettings {
  /** The server, checked. */
  url: URL;
  /** The schema, checked. */
  schema: string;
  /** Connections in the pool. */
  poolSize: number;
  /** How long connecting (and the migration on first use) may take, in ms. */
  connectTimeoutMs: number;
  /** How long one statement may run on the server, in ms. */
  statementTimeoutMs: number;
}

/**
 * One step of {@linkcode Database.apply}: an expectation or a write.
 *
 * @example Replace a lease only if it is still the one read
 * ```ts
 * import type { Op } from "./database.ts";
 *
 * const ops: Op[] = [
 *   { op: "expect", path: "leases/spins", id: "job1", text: '{"job_id":"job1"}' },
 *   { op: "put", path: "leases/spins", id: "job1", text: '{"job_id":"job1","state":"running"}' },
 * ];
 * void ops;
 * ```
 */
export type Op =
  /** The record holds exactly `text`, or is absent (`null`). */
  | { op: "expect"; path: string; id: string; text: string | null }
  /** Create or replace the record, as the newest. */
  | { op: "put"; path: string; id: string; text: string }
  /** Delete the record if it is there. */
  | { op: "delete"; path: string; id: string }
  /** Move the record to `to` if it is there, keeping its place. */
  | { op: "move"; path: string; id: string; to: string };

/** The driver's options that differ between the pool and the listener. */
interface ConnectOptions {
  max: number;
  idle_timeout?: number;
  max_lifetime?: number;
  onnotify?: (channel: string, payload: string) => void;
  onclose?: (connectionId: number) => void;
}

/** How many times a statement is retried after its connection broke. */
const RETRIES = 3;

/** A waiter of {@linkcode Database.waitForJobs}. */
interface Waiter {
  displayNames: ReadonlySet<string>;
  wake(): void;
}

/**
 * The server behind one adapter. It keeps no state outside its instance.
 *
 * @example Run a statement, then close
 * ```ts ignore
 * import { Database } from "./database.ts";
 *
 * const db = new Database({
 *   url: new URL("postgres://postgres@127.0.0.1:5432/test"),
 *   schema: "sqooler",
 *   poolSize: 2,
 *   connectTimeoutMs: 4000,
 *   statementTimeoutMs: 30000,
 * }, "postgres://postgres@127.0.0.1:5432/test");
 * const rows = await db.run("Cannot list jobs/running", (sql) => sql.unsafe(db.sql.list, ["jobs/running"]));
 * console.log(rows.length);
 * await db.close();
 * ```
 */
export class Database {
  /** The statements for this schema. */
  readonly sql: Statements;
  /** The server's URL without its password, for messages. */
  readonly server: string;
  #settings: DatabaseSettings;
  #pool: Pool | undefined;
  #ready: Promise<void> | undefined;
  #closed = false;
  #listener: Pool | undefined;
  #listening: Promise<void> | undefined;
  #pending = new Set<string>();
  #waiters = new Set<Waiter>();

  /**
   * Prepares the connection; nothing is opened before the first statement.
   *
   * @param settings The server, the schema, the pool and the timeouts.
   * @param server How to name the server in messages.
   */
  constructor(settings: DatabaseSettings, server: string) {
    this.#settings = settings;
    this.server = server;
    this.sql = statements(settings.schema);
  }

  /**
   * Runs statements on the pool, after the migration, within a bounded time.
   * A statement whose connection broke is tried again when `idempotent` (a
   * read, or a write that checks what it replaces).
   *
   * @param what What is done, for messages: `Cannot read status/spins/abc.json`.
   * @param work The statements.
   * @param options Whether the work may be repeated after a broken connection.
   * @returns What the work returned.
   * @throws {StorageError} When the server failed or could not be reached.
   */
  async run<T>(
    what: string,
    work: (pool: Pool) => Promise<T>,
    options: { idempotent: boolean } = { idempotent: true },
  ): Promise<T> {
    for (let attempt = 0;; attempt++) {
      try {
        await this.#ensureReady(what);
        return await this.#bounded(work);
      } catch (error) {
        const retry = options.idempotent && attempt < RETRIES &&
          isConnectionLost(error) && !this.#closed;
        if (!retry) throw storageErrorOf(error, what, this.server);
        await delay(10 * 4 ** attempt);
      }
    }
  }

  /**
   * Runs one job transition's writes in one transaction: the expectations
   * first (checked and locked), then the writes. After a connection that
   * broke in flight, it finds out whether the writes were committed, and
   * tries again if they surely were not.
   *
   * @param what What is done, for messages.
   * @param ops The expectations, then the writes.
   * @returns Whether the writes were made; false when an expectation did not hold (nothing changed).
   * @throws {StorageError} When the server failed or could not be reached.
   */
  async apply(what: string, ops: readonly Op[]): Promise<boolean> {
    const params = [
      textArray(ops.map((op) => op.op)),
      textArray(ops.map((op) => op.path)),
      textArray(ops.map((op) => op.id)),
      textArray(
        ops.map((op) =>
          op.op === "expect" || op.op === "put"
            ? op.text
            : op.op === "move"
            ? op.to
            : null
        ),
      ),
    ];
    for (let attempt = 0;; attempt++) {
      try {
        await this.#ensureReady(what);
        const rows = await this.#bounded((pool) =>
          pool.unsafe(this.sql.apply, params as never[], { prepare: true })
        );
        return rows[0]?.ok === true;
      } catch (error) {
        if (!isConnectionLost(error) || attempt >= RETRIES || this.#closed) {
          throw storageErrorOf(error, what, this.server);
        }
        await delay(10 * 4 ** attempt);
        const state = await this.#outcome(what, ops);
        if (state === "applied") return true;
        if (state === "changed") return false;
      }
    }
  }

  /**
   * After a broken connection: whether the writes of `ops` are all there
   * (they were committed), none are and the expectations still hold (not
   * committed: try again), or the records changed otherwise.
   */
  async #outcome(
    what: string,
    ops: readonly Op[],
  ): Promise<"applied" | "unchanged" | "changed"> {
    const keys = new Map<string, [string, string]>();
    for (const op of ops) {
      keys.set(`${op.path}\0${op.id}`, [op.path, op.id]);
      if (op.op === "move") keys.set(`${op.to}\0${op.id}`, [op.to, op.id]);
    }
    const pairs = [...keys.values()];
    const rows = await this.run(what, (pool) =>
      pool.unsafe(this.sql.pairs, [
        textArray(pairs.map(([path]) => path)),
        textArray(pairs.map(([, id]) => id)),
      ], { prepare: true }));
    const found = new Map<string, string>(
      rows.map((row) => [`${row.path}\0${row.id}`, row.content]),
    );
    const at = (path: string, id: string) => found.get(`${path}\0${id}`);
    const expected = ops.every((op) =>
      op.op !== "expect" || (at(op.path, op.id) ?? null) === op.text
    );
    const written = ops.every((op) => {
      switch (op.op) {
        case "expect":
          return true;
        case "put":
          return at(op.path, op.id) === op.text;
        case "delete":
          return at(op.path, op.id) === undefined;
        case "move":
          return op.path === op.to ||
            (at(op.path, op.id) === undefined &&
              at(op.to, op.id) !== undefined);
      }
    });
    if (written) return "applied";
    return expected ? "unchanged" : "changed";
  }

  /**
   * Waits until a job may have been queued for one of the backends, until
   * `timeoutMs` has passed, or until `signal` aborts. The first call (and
   * the first after the listening connection broke) starts listening and
   * returns at once, since a job queued before was not announced to it.
   *
   * @param displayNames The backends, checked.
   * @param options The longest wait and the signal.
   * @returns A promise that resolves when the wait is over.
   * @throws {StorageError} When listening could not start.
   */
  async waitForJobs(
    displayNames: readonly string[],
    options: { timeoutMs: number; signal: AbortSignal },
  ): Promise<void> {
    const what = `Cannot wait for jobs of ${displayNames.join(", ")}`;
    if (this.#closed) throw closedError(what);
    await this.#ensureReady(what);
    if (this.#listening === undefined) {
      this.#listening = this.#listen(what);
      this.#listening.catch(() => this.#listening = undefined);
      return await this.#listening;
    }
    await this.#listening;
    let announced = false;
    for (const name of displayNames) {
      if (this.#pending.delete(name)) announced = true;
    }
    if (announced || options.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(
        () => waiter.wake(),
        Math.min(Math.max(options.timeoutMs, 0), MAX_TIMER_MS),
      );
      const waiter: Waiter = {
        displayNames: new Set(displayNames),
        wake: () => {
          clearTimeout(timer);
          options.signal.removeEventListener("abort", waiter.wake);
          this.#waiters.delete(waiter);
          resolve();
        },
      };
      options.signal.addEventListener("abort", waiter.wake, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /**
   * Ends every connection; later calls fail.
   *
   * @returns A promise that resolves when the connections are closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of [...this.#waiters]) waiter.wake();
    const pools = [this.#pool, this.#listener];
    this.#pool = this.#listener = undefined;
    await Promise.all(
      pools.map((pool) => pool?.end({ timeout: 1 }).catch(() => {})),
    );
  }

  /** Starts listening on a connection of its own. */
  async #listen(what: string): Promise<void> {
    const channel = channelOf(this.#settings.schema);
    const listener = this.#connect({
      max: 1,
      idle_timeout: 0,
      max_lifetime: 0,
      onnotify: (name: string, payload: string) => {
        if (name === channel && this.#listener === listener) {
          this.#announce(payload);
        }
      },
      onclose: () => {
        if (this.#listener !== listener) return;
        // Announcements may be missed until listening starts again: every
        // waiter looks at its queues now, and the next wait listens anew.
        this.#listener = undefined;
        this.#listening = undefined;
        listener.end({ timeout: 0 }).catch(() => {});
        for (const waiter of [...this.#waiters]) waiter.wake();
      },
    });
    this.#listener = listener;
    try {
      await this.#within(
        this.#settings.connectTimeoutMs,
        listener.unsafe(`LISTEN "${channel.replaceAll('"', '""')}"`),
        "ETIMEDOUT",
      );
    } catch (error) {
      if (this.#listener === listener) this.#listener = undefined;
      await listener.end({ timeout: 0 }).catch(() => {});
      throw storageErrorOf(error, what, this.server);
    }
  }

  #announce(displayName: string): void {
    let woken = false;
    for (const waiter of [...this.#waiters]) {
      if (waiter.displayNames.has(displayName)) {
        waiter.wake();
        woken = true;
      }
    }
    if (!woken) this.#pending.add(displayName);
  }

  /** Runs the migration once (again after a failure), within the connect timeout. */
  async #ensureReady(what: string): Promise<void> {
    if (this.#closed) throw closedError(what);
    this.#ready ??= this.#within(
      this.#settings.connectTimeoutMs,
      this.#migrate(),
      "ETIMEDOUT",
    ).catch((error) => {
      this.#ready = undefined;
      // A pool that could not connect in time may hang: start a new one.
      this.#resetPool();
      throw error;
    });
    try {
      await this.#ready;
    } catch (error) {
      throw storageErrorOf(error, what, this.server);
    }
  }

  /** Creates the schema and runs the missing migrations, under a lock. */
  async #migrate(): Promise<void> {
    const { schema } = this.#settings;
    const s = `"${schema}"`;
    const steps = migrations(schema);
    await this.#currentPool().begin(async (tx) => {
      await tx.unsafe(MIGRATION_LOCK, [schema]);
      await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await tx.unsafe(
        `CREATE TABLE IF NOT EXISTS ${s}.migrations (
          version integer PRIMARY KEY,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`,
      );
      const [{ version }] = await tx.unsafe(
        `SELECT coalesce(max(version), 0) AS version FROM ${s}.migrations`,
      );
      if (version > steps.length) {
        throw new StorageError(
          `The schema ${s} is at version ${version}, newer than this library's ${steps.length}; update the library`,
          { code: "ESCHEMAVERSION" },
        );
      }
      for (let next = version + 1; next <= steps.length; next++) {
        await tx.unsafe(steps[next - 1]);
        await tx.unsafe(`INSERT INTO ${s}.migrations (version) VALUES ($1)`, [
          next,
        ]);
      }
    });
  }

  /** Runs work on the pool; a pool that does not answer in time is replaced. */
  async #bounded<T>(work: (pool: Pool) => Promise<T>): Promise<T> {
    const pool = this.#currentPool();
    const limit = this.#settings.statementTimeoutMs +
      this.#settings.connectTimeoutMs;
    try {
      return await this.#within(limit, work(pool), "ERESPONSETIMEOUT");
    } catch (error) {
      if (codeOf(error) === "ERESPONSETIMEOUT" && this.#pool === pool) {
        this.#resetPool();
      }
      throw error;
    }
  }

  #currentPool(): Pool {
    if (this.#closed) throw closedError("Cannot run a statement");
    this.#pool ??= this.#connect({ max: this.#settings.poolSize });
    return this.#pool;
  }

  #resetPool(): void {
    const pool = this.#pool;
    this.#pool = undefined;
    pool?.end({ timeout: 0 }).catch(() => {});
  }

  #connect(options: ConnectOptions): Pool {
    const { url, connectTimeoutMs, statementTimeoutMs } = this.#settings;
    return postgres(url.href, {
      connect_timeout: connectTimeoutMs / 1000,
      // postgres.js keeps reconnecting while a host does not answer; the
      // adapter's own deadlines end such waits, and the pool is replaced.
      // The server's notices (e.g. "schema exists, skipping") are not ours to print.
      onnotice: () => {},
      fetch_types: false,
      ...options,
      connection: {
        application_name: "sqooler-storage",
        statement_timeout: statementTimeoutMs,
        // Every statement here is prepared and its best plan does not depend
        // on the values (an index probe, or a walk of the (path, seq) index
        // from its start): plan once, not on every execution.
        plan_cache_mode: "force_generic_plan",
      },
    });
  }

  /** A promise that rejects with `code` when `work` takes longer than `ms`. */
  async #within<T>(ms: number, work: Promise<T>, code: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`no answer within ${ms} ms`);
        (error as Error & { code: string }).code = code;
        reject(error);
      }, ms);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
      // The loser must not be reported as unhandled.
      work.catch(() => {});
    }
  }

  /** Whether the adapter was closed. */
  get closed(): boolean {
    return this.#closed;
  }
}

/**
 * A `text[]` parameter, as PostgreSQL's array literal: every element quoted
 * (with `\\` and `"` escaped), `NULL` for `null`.
 *
 * @param values The elements.
 * @returns The literal, to pass as a parameter cast to `text[]`.
 *
 * @example Quote, escape, and keep nulls
 * ```ts
 * import assert from "node:assert/strict";
 * import { textArray } from "./database.ts";
 *
 * assert.equal(textArray(["a,b", 'c"d', null]), '{"a,b","c\\"d",NULL}');
 * assert.equal(textArray([]), "{}");
 * ```
 */
export function textArray(values: readonly (string | null)[]): string {
  const elements = values.map((value) =>
    value === null ? "NULL" : `"${value.replace(/[\\"]/g, "\\$&")}"`
  );
  return `{${elements.join(",")}}`;
}

function closedError(what: string): StorageError {
  return new StorageError(`${what}: the PostgreSQL adapter was closed`, {
    code: "ECLOSED",
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
