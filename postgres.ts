/**
 * The PostgreSQL adapter of `@sqooler/storage`: for deployments where the
 * web API runs in the cloud and each lab's worker runs next to its machine,
 * so that no disk is shared. Only this entry point loads a database driver
 * (`npm:postgres`); users of `LocalAdapter` and `MemoryAdapter` never do.
 *
 * - Every record is a row of one table, `records(path, id, content, seq)`,
 *   in sqooler's folder layout; `content` is the record's JSON text exactly
 *   as written. Tables are created (and later migrated) on first use, under
 *   an advisory lock, so that several processes may start at once.
 * - The job transitions are native: a claim is one statement
 *   (`FOR UPDATE SKIP LOCKED`) that moves the oldest free job to
 *   `jobs/running` and writes its lease with a fresh fencing token; extend,
 *   report, complete, release and each recovered job are one transaction.
 * - An idle `runWorker` waits on `LISTEN/NOTIFY` instead of polling: the
 *   transaction that queues a job announces it.
 * - A server that cannot be reached, an unknown role or database, a timeout:
 *   a {@linkcode PostgresConnectionError} or another `StorageError` within
 *   the connect and statement timeouts, never a hang. Broken connections are
 *   replaced on the next call.
 *
 * @example Run a worker on a database
 * ```ts ignore
 * import { runWorker } from "@sqooler/storage";
 * import { PostgresAdapter } from "@sqooler/storage/postgres";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * // DATABASE_URL=postgres://lab:secret@db.example.org:5432/sqooler
 * const adapter = new PostgresAdapter({ name: "mylab" });
 * const controller = new AbortController();
 * Deno.addSignalListener("SIGINT", () => controller.abort());
 * try {
 *   await runWorker(adapter, {
 *     signal: controller.signal,
 *     backends: {
 *       spins: {
 *         config: testBackendConfig("spins"),
 *         execute: (job) =>
 *           Object.keys(job).map((name) => ({
 *             header: { name },
 *             shots: 1,
 *             success: true,
 *             data: { memory: ["0"] },
 *           })),
 *       },
 *     },
 *   });
 * } finally {
 *   await adapter.close();
 * }
 * ```
 *
 * @module
 */

export {
  PostgresAdapter,
  type PostgresAdapterOptions,
} from "./src/postgres/adapter.ts";
export { PostgresConnectionError } from "./src/postgres/errors.ts";
