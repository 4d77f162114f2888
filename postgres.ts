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
 * ## When to pick it
 *
 * `MemoryAdapter` for tests; `LocalAdapter` when the web API and the workers
 * share one host (or a folder that sqooler's Python tools also use);
 * `PostgresAdapter` when they do not share a disk: the API in the cloud, a
 * worker next to each lab's machine, all with the same `DATABASE_URL`.
 *
 * ## Tables (in the schema, default `sqooler`)
 *
 * - `records(path, id, content, seq, written_at)`: every record, in
 *   sqooler's folder layout (`jobs/queued/<display>`, `jobs/running`,
 *   `status/<display>`, `leases/<display>`, …); `content` is the JSON text as
 *   written, `seq` the write order (a move keeps it), primary key
 *   `(path, id)`, and an index on `(path, seq)` for "oldest first";
 * - `migrations(version, applied_at)`: which migrations ran;
 *
 * plus the sequence `record_seq`, the functions of the transitions
 * (`move_record`, `move_oldest`, `apply_ops`, `current_lease`,
 * `report_fast`, `complete_fast`) and a trigger that sends
 * `NOTIFY "sqooler.<schema>"` with the display name when a job is queued.
 *
 * ## Command line and workers
 *
 * `deno task cli <command> --database-url postgres://…` (or `DATABASE_URL`
 * set) works on the database instead of a folder; a worker script passes
 * `new PostgresAdapter()` to `runWorker`, as below. Run them with
 * `--allow-net --allow-env`.
 *
 * ## Testing against a server
 *
 * `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test deno test -A
 * tests/postgres_test.ts`: every test works in a schema of its own, dropped
 * afterwards. Without `DATABASE_URL` these tests are reported as ignored.
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
