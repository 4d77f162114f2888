// The PostgreSQL adapter against a real server (DATABASE_URL): the document
// contract and the job protocol conformance suites, exact JSON texts, the
// migration, LISTEN/NOTIFY, connection errors, and (in other files of this
// folder's support) the multi-process, crash and fault tests. Each test
// works in a schema of its own (random name), dropped afterwards. Without
// DATABASE_URL every test here is reported as ignored, with one line that
// says how to run them.

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  cancelJob,
  DELETED,
  extendLease,
  finishedPath,
  getNextJobInQueue,
  getQueueStats,
  getResult,
  getStatus,
  InvalidNameError,
  JobMeta,
  type JobOutcome,
  leasesPath,
  MemoryAdapter,
  metaPath,
  NotFoundError,
  queuedPath,
  recoverStaleJobs,
  releaseJob,
  resultsPath,
  retryJob,
  RUNNING,
  SqoolerError,
  statusPath,
  type StorageAdapter,
  StorageError,
  updateInDatabase,
  uploadConfig,
  uploadJob,
  uploadStatus,
} from "../mod.ts";
import { transitionsOf } from "../src/protocol.ts";
import { PostgresAdapter, PostgresConnectionError } from "../postgres.ts";
import { parseExactJson, stringifyJson } from "../src/json.ts";
import { spawnPeer, testStorageAdapter } from "../testing.ts";
import { testJobProtocol } from "../src/testing/protocol_conformance.ts";
import {
  admin,
  countRuns,
  DATABASE_URL,
  dropSchema,
  HOW_TO_RUN,
  pgConfig,
  pgJob,
  pollUntil,
  schemaName,
  startPostgresScript,
  terminateSessions,
  withSchema,
} from "./support/postgres.ts";
import { doneOutcome, doneResult, experimentOf } from "./support/fixtures.ts";

const ignore = DATABASE_URL === undefined;
if (ignore) console.log(HOW_TO_RUN);

const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
const PEER = fileURLToPath(
  new URL("./support/postgres_peer.ts", import.meta.url),
);

/** Adapters of the conformance suites, each over its own fresh schema. */
function freshAdapters() {
  const schemas = new Map<PostgresAdapter, string>();
  return {
    create(init: { name?: string; active?: boolean } = {}) {
      const schema = schemaName();
      const adapter = new PostgresAdapter({
        url: DATABASE_URL,
        schema,
        ...init,
      });
      schemas.set(adapter, schema);
      return adapter;
    },
    async dispose(adapter: PostgresAdapter) {
      await adapter.close();
      await dropSchema(schemas.get(adapter)!);
    },
  };
}

Deno.test({
  name: "PostgresAdapter keeps the StorageAdapter contract",
  ignore,
  async fn(t) {
    const { create, dispose } = freshAdapters();
    const others: PostgresAdapter[] = [];
    try {
      await testStorageAdapter<PostgresAdapter>(t, {
        create,
        dispose,
        // Another adapter over the same schema acts like another process.
        reopen: (adapter) => {
          const other = new PostgresAdapter({
            url: DATABASE_URL,
            schema: adapter.schema,
          });
          others.push(other);
          return other;
        },
        peer: (adapter) =>
          spawnPeer({
            args: ["run", "--config", CONFIG, "-A", PEER, adapter.schema],
            env: { DATABASE_URL: DATABASE_URL! },
          }),
        rounds: 20,
      });
    } finally {
      for (const other of others) await other.close();
    }
  },
});

Deno.test({
  name: "PostgresAdapter keeps the job protocol (native transitions)",
  ignore,
  async fn(t) {
    const { create, dispose } = freshAdapters();
    await testJobProtocol<PostgresAdapter>(t, {
      create: () => create(),
      dispose,
    });
  },
});

Deno.test({
  name:
    "records keep their exact JSON text: key order, 1.0, -0.0, NaN, Infinity, big integers, escaped keys",
  ignore,
  async fn() {
    await withSchema(async (open, schema) => {
      const adapter = open();
      const text =
        '{"z":1,"a":1.0,"m":-0.0,"n":NaN,"i":-Infinity,"big":18446744073709551617,"10":2,"\\u00e9\\n":"x"}';
      const value = parseExactJson(text) as object;
      await adapter.upload("results/spins", "exact", value);
      const sql = admin();
      try {
        const [row] = await sql.unsafe(
          `SELECT content FROM "${schema}".records WHERE path = $1 AND id = $2`,
          ["results/spins", "exact"],
        );
        // What stringifyJson writes: every number token and the key order as
        // read (it writes the escaped key unescaped, which is the same JSON).
        assert.equal(row.content, stringifyJson(value));
        assert.equal(
          row.content,
          '{"z":1,"a":1.0,"m":-0.0,"n":NaN,"i":-Infinity,"big":18446744073709551617,"10":2,"\u00e9\\n":"x"}',
        );
      } finally {
        await sql.end();
      }
      const read = await adapter.get("results/spins", "exact");
      assert(Number.isNaN(read.n));
      assert.equal(read.i, -Infinity);
      assert(Object.is(read.m, -0));
      assert.equal(read["\u00e9\n"], "x");
    });
  },
});

Deno.test({
  name:
    "the tables are created once, also when several processes' adapters start at once, with a version table",
  ignore,
  async fn() {
    await withSchema(async (open, schema) => {
      const adapters = Array.from({ length: 6 }, () => open());
      await Promise.all(
        adapters.map((adapter, i) =>
          adapter.upload("jobs/running", `r${i}`, {})
        ),
      );
      assert.equal((await adapters[0].list("jobs/running")).length, 6);
      const sql = admin();
      try {
        const rows = await sql.unsafe(
          `SELECT version FROM "${schema}".migrations ORDER BY version`,
        );
        assert.deepEqual(rows.map((row) => row.version), [1]);
      } finally {
        await sql.end();
      }
      // Processes that start at once on a fresh schema: each migrates or
      // finds the tables ready, and none fails.
      await withSchema(async (_, fresh) => {
        const peers = await Promise.all(
          Array.from({ length: 4 }, () =>
            spawnPeer({
              args: ["run", "--config", CONFIG, "-A", PEER, fresh],
              env: { DATABASE_URL: DATABASE_URL! },
            })),
        );
        try {
          const requests = await Promise.all(
            peers.map((peer, i) =>
              peer.send([
                {
                  op: "upload",
                  path: "jobs/running",
                  id: `p${i}`,
                  content: {},
                },
              ])
            ),
          );
          for (const request of requests) {
            assert.deepEqual(await request.outcomes, [{
              ok: true,
              value: null,
            }]);
          }
        } finally {
          await Promise.all(peers.map((peer) => peer.close()));
        }
      });
      // Another adapter on the migrated schema finds it ready.
      const later = open();
      assert.deepEqual(
        await later.list("jobs/running"),
        await adapters[0].list("jobs/running"),
      );
    });
  },
});

Deno.test({
  name:
    "a hostile schema or name is refused before any statement, and every value is a parameter",
  ignore,
  async fn() {
    // Port 1 refuses connections: a statement would fail differently.
    const url = "postgres://postgres@127.0.0.1:1/test";
    for (
      const schema of [
        'x"; DROP TABLE records; --',
        "Sqooler",
        "pg_catalog",
        "1abc",
        "a".repeat(49),
        "",
        "a-b",
        "a.b",
      ]
    ) {
      assert.throws(
        () => new PostgresAdapter({ url, schema }),
        InvalidNameError,
        `schema ${JSON.stringify(schema)}`,
      );
    }
    assert.throws(
      () => new PostgresAdapter({ url, name: "lab'; --" }),
      InvalidNameError,
    );
    await withSchema(async (open, schema) => {
      const adapter = open({ name: "lab" });
      await uploadConfig(adapter, pgConfig("spins"));
      // Hostile text as content and as a user name is stored as it is.
      const hostile = `'); DROP SCHEMA "${schema}" CASCADE; --`;
      const jobId = await uploadJob(adapter, {
        job: { [hostile]: hostile, experiment_0: {} },
        displayName: "spins",
        username: hostile,
      });
      await uploadStatus(adapter, {
        displayName: "spins",
        username: hostile,
        jobId,
      });
      const job = await adapter.get("jobs/queued/spins", jobId);
      assert.equal(job[hostile], hostile);
      // Hostile names, ids, paths and tokens get a typed error from every
      // function, and nothing stored changes.
      const before = await rows(schema);
      const values: unknown[] = [
        "x' OR '1'='1",
        "spins'; DELETE FROM records; --",
        "../configs",
        "jobs//running",
        "spins\0",
        "\uff53pins",
        "",
        "a".repeat(200),
        42,
        null,
        {},
        ["spins"],
      ];
      for (const bad of values) {
        const v = bad as string;
        const calls: [string, () => Promise<unknown>][] = [
          ["upload path", () => adapter.upload(v, "r1", {})],
          ["upload id", () => adapter.upload("jobs/running", v, {})],
          ["get", () => adapter.get("jobs/queued/spins", v)],
          ["update", () => adapter.update(v, jobId, {})],
          ["delete", () => adapter.delete("jobs/queued/spins", v)],
          ["move", () => adapter.move("jobs/queued/spins", v, jobId)],
          ["moveOldest", () => adapter.moveOldest(v, "jobs/running")],
          ["list", () => adapter.list(v)],
          ["writtenAt", () => adapter.writtenAt(v, jobId)],
          ["waitForJobs", () =>
            adapter.waitForJobs([v], {
              timeoutMs: 1,
              signal: new AbortController().signal,
            })],
          ["uploadJob", () =>
            uploadJob(adapter, {
              job: {},
              displayName: v,
              username: "alice",
            })],
          ["getStatus", () =>
            getStatus(adapter, {
              displayName: "spins",
              username: "alice",
              jobId: v,
            })],
          ["getNextJobInQueue", () => getNextJobInQueue(adapter, v)],
          ["updateInDatabase token", () =>
            updateInDatabase(adapter, {
              jobId,
              displayName: "spins",
              token: v,
              status: {
                job_id: jobId,
                status: "ERROR",
                detail: "",
                error_message: "",
              },
            })],
          [
            "extendLease",
            () => extendLease(adapter, { displayName: "spins", jobId: v }),
          ],
          ["releaseJob", () => releaseJob(adapter, { displayName: v, jobId })],
          [
            "recoverStaleJobs",
            () => recoverStaleJobs(adapter, { displayName: v }),
          ],
          [
            "cancelJob",
            () => cancelJob(adapter, { displayName: "spins", jobId: v }),
          ],
          ["retryJob", () => retryJob(adapter, { displayName: v, jobId })],
        ];
        for (const [what, call] of calls) {
          // "" is a valid-looking non-name only where names are asked for.
          const error = await call().then(() => undefined, (e) => e);
          assert(
            error instanceof SqoolerError && !(error instanceof StorageError),
            `${what}(${
              JSON.stringify(bad)
            }) gave ${error}, not a typed refusal`,
          );
        }
      }
      assert.deepEqual(await rows(schema), before, "nothing stored changed");
    });
  },
});

/** Every row of a test schema, as `path/id: content`, in order. */
async function rows(schema: string): Promise<string[]> {
  const sql = admin();
  try {
    const found = await sql.unsafe(
      `SELECT path, id, content FROM "${schema}".records ORDER BY path, id`,
    );
    return found.map((row) => `${row.path}/${row.id}: ${row.content}`);
  } finally {
    await sql.end();
  }
}

/** Connecting with `url` fails with PostgresConnectionError of `code`, within 5 s. */
async function connectFails(url: string, code: string | RegExp) {
  const adapter = new PostgresAdapter({ url, schema: schemaName() });
  const started = performance.now();
  try {
    const error = await adapter.list("jobs/running").then(
      () => assert.fail("list() succeeded"),
      (error: unknown) => error,
    );
    const ms = performance.now() - started;
    assert(
      error instanceof PostgresConnectionError,
      `expected a PostgresConnectionError, got ${error}`,
    );
    assert(error instanceof StorageError);
    assert.match(
      error.code ?? "",
      code instanceof RegExp ? code : new RegExp(`^${code}$`),
    );
    assert(ms < 5_000, `the error took ${Math.round(ms)} ms`);
    assert.match(error.message, /Cannot list jobs\/running/);
    return error;
  } finally {
    await adapter.close();
  }
}

Deno.test({
  name:
    "an unknown role, an unknown database, a refused port and a host that does not answer each fail clearly within 5 s",
  ignore,
  async fn() {
    const base = new URL(DATABASE_URL!);
    const role = new URL(base.href);
    role.username = "nosuchrole";
    const roleError = await connectFails(role.href, "28000");
    assert.match(roleError.message, /nosuchrole/);
    const database = new URL(base.href);
    database.pathname = "/nosuchdatabase";
    const dbError = await connectFails(database.href, "3D000");
    assert.match(dbError.message, /nosuchdatabase/);
    const port = new URL(base.href);
    port.port = "1";
    await connectFails(port.href, "ECONNREFUSED");
    // An address that nothing answers: only the connect timeout ends the wait.
    const silent = new URL(base.href);
    silent.hostname = "10.255.255.1";
    await connectFails(silent.href, /^(ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/);
  },
});

Deno.test({
  name: "a missing or malformed URL is refused at once with EINVALIDURL",
  // No server needed: the URL is refused before any connection.
  fn() {
    for (
      const url of ["", "not a url", "http://127.0.0.1/test", "postgres://"]
    ) {
      const error = assert.throws(
        () => new PostgresAdapter({ url }),
        PostgresConnectionError,
      );
      void error;
    }
    try {
      new PostgresAdapter({ url: "mysql://root:secret@db/test" });
      assert.fail("accepted a MySQL URL");
    } catch (error) {
      assert(error instanceof PostgresConnectionError);
      assert.equal(error.code, "EINVALIDURL");
      assert(!error.message.includes("secret"), error.message);
    }
  },
});

Deno.test({
  name:
    "waitForJobs() wakes when a job of the backend is queued, not for another backend, and ends on its timeout or signal",
  ignore,
  async fn() {
    await withSchema(async (open) => {
      const worker = open();
      const api = open();
      const signal = new AbortController().signal;
      // The first wait starts listening and returns at once.
      await worker.waitForJobs(["spins"], { timeoutMs: 60_000, signal });
      const job = { experiment_0: {} };
      // Another backend's job does not wake it; its timeout ends the wait.
      let started = performance.now();
      const other = worker.waitForJobs(["spins"], { timeoutMs: 300, signal });
      await uploadJob(api, { job, displayName: "fermions", username: "a" });
      await other;
      assert(performance.now() - started >= 290, "woke for another backend");
      // A job of its backend wakes it.
      started = performance.now();
      const woken = worker.waitForJobs(["spins", "bosons"], {
        timeoutMs: 60_000,
        signal,
      });
      await uploadJob(api, { job, displayName: "bosons", username: "a" });
      await woken;
      assert(performance.now() - started < 5_000, "not woken by the job");
      // A job queued while nobody waited wakes the next wait at once.
      await uploadJob(api, { job, displayName: "spins", username: "a" });
      await api.list("jobs/queued/spins");
      await waitUntilAnnounced(worker, "spins");
      // The signal ends a wait.
      const controller = new AbortController();
      const aborted = worker.waitForJobs(["spins"], {
        timeoutMs: 60_000,
        signal: controller.signal,
      });
      controller.abort();
      await aborted;
    });
  },
});

/** Waits (with a deadline) until a wait returns at once: the announcement arrived. */
async function waitUntilAnnounced(adapter: PostgresAdapter, display: string) {
  const signal = new AbortController().signal;
  const started = performance.now();
  await adapter.waitForJobs([display], { timeoutMs: 5_000, signal });
  assert(performance.now() - started < 5_000, "the announcement never came");
}

Deno.test({
  name:
    "a terminated listening connection wakes the waiter, and the next wait listens again",
  ignore,
  async fn() {
    await withSchema(async (open) => {
      const worker = open({ name: "lab" });
      const api = open();
      const signal = new AbortController().signal;
      await worker.waitForJobs(["spins"], { timeoutMs: 60_000, signal });
      const waiting = worker.waitForJobs(["spins"], {
        timeoutMs: 60_000,
        signal,
      });
      const sql = admin();
      try {
        assert((await terminateSessions(sql)) > 0);
      } finally {
        await sql.end();
      }
      const started = performance.now();
      await waiting;
      assert(performance.now() - started < 5_000);
      // Listening again returns at once; then a job wakes it as before.
      await worker.waitForJobs(["spins"], { timeoutMs: 60_000, signal });
      const woken = worker.waitForJobs(["spins"], {
        timeoutMs: 60_000,
        signal,
      });
      await uploadJob(api, {
        job: { experiment_0: {} },
        displayName: "spins",
        username: "a",
      });
      await woken;
      // The pool's connections were terminated too: the next call reconnects.
      assert.equal((await worker.list("jobs/queued/spins")).length, 1);
    });
  },
});

Deno.test({
  name:
    "a statement that waits longer than statementTimeoutMs fails with StorageError instead of hanging",
  ignore,
  async fn() {
    await withSchema(async (open, schema) => {
      const adapter = open({ statementTimeoutMs: 300 });
      await adapter.upload("jobs/running", "held", { v: 1 });
      const sql = admin();
      let release!: () => void;
      const released = new Promise<void>((resolve) => release = resolve);
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => locked = resolve);
      // Another session holds the record's row lock until told to let go.
      const holder = sql.begin(async (tx) => {
        await tx.unsafe(
          `SELECT 1 FROM "${schema}".records WHERE path = $1 AND id = $2 FOR UPDATE`,
          ["jobs/running", "held"],
        );
        locked();
        await released;
      });
      try {
        await isLocked;
        const started = performance.now();
        const error = await adapter.update("jobs/running", "held", { v: 2 })
          .then(() => undefined, (e) => e);
        const ms = performance.now() - started;
        assert(error instanceof StorageError, `got ${error}`);
        assert.equal(error.code, "57014");
        assert.match(error.message, /Cannot update jobs\/running\/held\.json/);
        assert(ms < 5_000, `the statement took ${Math.round(ms)} ms`);
      } finally {
        release();
        await holder;
        await sql.end();
      }
      assert.deepEqual(await adapter.get("jobs/running", "held"), { v: 1 });
    });
  },
});

Deno.test({
  name:
    "a transition whose connection is cut while it waits is found uncommitted and made again, exactly once",
  ignore,
  async fn() {
    await withSchema(async (open, schema) => {
      const display = "spins";
      const url = new URL(DATABASE_URL!);
      url.searchParams.set("application_name", "cutworker");
      const adapter = open({ url: url.href, name: "lab" });
      await uploadConfig(adapter, pgConfig(display));
      const [jobId] = await submitMany(adapter, display, 1, 1);
      const next = await getNextJobInQueue(adapter, display);
      assert.equal(next.job_id, jobId);
      const sql = admin();
      try {
        /**
         * Runs `action` while another session holds the lease's row lock,
         * cuts the adapter's session once it waits for that lock, then lets
         * the lock go.
         */
        const cutWhileWaiting = async <T>(action: () => Promise<T>) => {
          let release!: () => void;
          const released = new Promise<void>((resolve) => release = resolve);
          let locked!: () => void;
          const isLocked = new Promise<void>((resolve) => locked = resolve);
          const holder = sql.begin(async (tx) => {
            await tx.unsafe(
              `SELECT 1 FROM "${schema}".records WHERE path = $1 AND id = $2 FOR UPDATE`,
              [leasesPath(display), jobId],
            );
            locked();
            await released;
          });
          await isLocked;
          const result = action();
          const watcher = admin();
          try {
            await pollUntil("the transition waits for the lock", async () => {
              const rows = await watcher`
                SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity
                WHERE application_name = 'cutworker' AND wait_event_type = 'Lock'`;
              return rows.some((row) => row.cut);
            }, 10_000);
          } finally {
            await watcher.end();
          }
          release();
          await holder;
          return await result;
        };
        // An extension (compare-and-swap of the lease, in one transaction).
        const extended = await cutWhileWaiting(() =>
          extendLease(adapter, {
            displayName: display,
            jobId,
            token: next.token,
            leaseMs: 120_000,
          })
        );
        const lease = await transitionsOf(adapter).lease(display, jobId);
        assert.deepEqual(lease, extended);
        // The outcome (one statement): found uncommitted, made again.
        await cutWhileWaiting(() =>
          updateInDatabase(adapter, {
            ...doneOutcome(display, jobId),
            token: next.token,
          })
        );
        await assertAllDone(adapter, display, [jobId]);
      } finally {
        await sql.end();
      }
    });
  },
});

Deno.test({
  name: "a closed adapter refuses calls with StorageError",
  ignore,
  async fn() {
    await withSchema(async (open) => {
      const adapter = open();
      await adapter.upload("jobs/running", "a", {});
      await adapter.close();
      await assert.rejects(
        () => adapter.get("jobs/running", "a"),
        StorageError,
      );
      await assert.rejects(
        () => adapter.get("jobs/running", "b"),
        (error) => !(error instanceof NotFoundError),
      );
    });
  },
});

/** Submits `count` jobs as the web API does, `parallel` at a time; their ids in order. */
async function submitMany(
  adapter: PostgresAdapter,
  displayName: string,
  count: number,
  parallel = 4,
): Promise<string[]> {
  const ids: string[] = new Array(count);
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    for (let i = next++; i < count; i = next++) {
      const ref = { displayName, username: "alice", jobId: "" };
      ref.jobId = await uploadJob(adapter, {
        job: pgJob((i % 4) + 1),
        ...ref,
      });
      await uploadStatus(adapter, ref);
      ids[i] = ref.jobId;
    }
  }));
  return ids;
}

/** Every job DONE with its result, and nothing left queued, running or leased. */
async function assertAllDone(
  adapter: PostgresAdapter,
  displayName: string,
  ids: string[],
): Promise<void> {
  assert.deepEqual(
    (await adapter.list(finishedPath(displayName))).sort(),
    [...ids].sort(),
  );
  for (
    const folder of [
      queuedPath(displayName),
      RUNNING,
      DELETED,
      leasesPath(displayName),
    ]
  ) {
    assert.deepEqual(await adapter.list(folder), [], folder);
  }
  for (const jobId of ids) {
    const ref = { displayName, username: "alice", jobId };
    assert.equal((await getStatus(adapter, ref)).status, "DONE", jobId);
    assert.equal((await getResult(adapter, ref)).results.length, 1, jobId);
  }
}

Deno.test({
  name:
    "4 runWorker processes (each its own connections) and a process recovering in a loop run 2,000 jobs: each exactly once, all DONE",
  ignore,
  async fn() {
    await withSchema(async (open, schema) => {
      const display = "fermions";
      const jobs = 2_000;
      const adapter = open({ name: "lab" });
      await uploadConfig(adapter, pgConfig(display));
      const log = await Deno.makeTempFile({ suffix: ".log" });
      try {
        const started = performance.now();
        const workers = Array.from(
          { length: 4 },
          () =>
            startPostgresScript("postgres_worker.ts", {
              schema,
              displayName: display,
              log,
              mode: "run",
              // Each worker recovers on every round too: a recovery that
              // touched a fresh lease would show as a job run twice.
              recoverIntervalMs: 5,
            }),
        );
        const recoverer = startPostgresScript("postgres_recoverer.ts", {
          schema,
          displayName: display,
        });
        const ids = await submitMany(adapter, display, jobs);
        await pollUntil(
          `${jobs} jobs are finished`,
          async () =>
            (await adapter.list(finishedPath(display))).length >= jobs,
          180_000,
        );
        const ms = performance.now() - started;
        const summaries = [];
        for (const worker of workers) {
          const run = await worker.finish();
          assert.equal(run.code, 0, run.stderr);
          summaries.push(JSON.parse(run.stdout));
        }
        const recovered = await recoverer.finish();
        assert.equal(recovered.code, 0, recovered.stderr);
        const rounds = JSON.parse(recovered.stdout);
        assert(rounds.rounds > 0, "the recovering process ran");
        assert.equal(
          rounds.requeued + rounds.failed,
          0,
          "no fresh lease was recovered",
        );

        const runs = await countRuns(log);
        const twice = [...runs].filter(([, count]) => count > 1);
        assert.deepEqual(twice, [], "jobs executed more than once");
        assert.equal(runs.size, jobs, "every job ran");
        assert.equal(
          summaries.reduce((sum, s) => sum + s.done, 0),
          jobs,
          "DONE counted once per job",
        );
        await assertAllDone(adapter, display, ids);
        console.log(
          `  ${jobs} jobs, 4 workers + a recovering process: all DONE in ${
            Math.round(ms)
          } ms (${Math.round(jobs / ms * 1000)} jobs/s incl. submission); ` +
            `jobs per worker ${summaries.map((s) => s.done).join("/")}, ` +
            `recovery rounds ${rounds.rounds}, 0 run twice, 0 lost`,
        );
      } finally {
        await Deno.remove(log);
      }
    });
  },
});

Deno.test({
  name:
    "a worker process killed by SIGKILL mid-job: its job is recovered, and finished once by another worker",
  ignore,
  async fn() {
    await withSchema(async (open, schema) => {
      const display = "spins";
      const adapter = open({ name: "lab" });
      await uploadConfig(adapter, pgConfig(display));
      const log = await Deno.makeTempFile({ suffix: ".log" });
      try {
        const ids = await submitMany(adapter, display, 3, 1);
        const doomed = startPostgresScript("postgres_worker.ts", {
          schema,
          displayName: display,
          log,
          mode: "hold",
          leaseMs: 60_000,
        });
        const line = await doomed.line();
        assert(line !== undefined, "the worker printed nothing");
        const { holding } = JSON.parse(line) as { holding: string };
        assert.equal(holding, ids[0], "the oldest job is taken first");
        doomed.child.kill("SIGKILL");
        const killed = await doomed.finish();
        assert.equal(killed.code, 137, "the worker died by SIGKILL");

        // The lease is good for a minute: nothing is recovered now.
        const early = await recoverStaleJobs(adapter, { displayName: display });
        assert.deepEqual(early.alive, [holding]);
        const lease = await transitionsOf(adapter).lease(display, holding);
        assert(lease !== undefined);
        const report = await recoverStaleJobs(adapter, {
          displayName: display,
          now: () => Date.parse(lease.expires_at) + 1,
        });
        assert.deepEqual(report.requeued, [holding]);
        assert.deepEqual(report.attempts, { [holding]: 1 });
        // Back at the head of its queue.
        assert.deepEqual(await adapter.list(queuedPath(display)), ids);

        const worker = startPostgresScript("postgres_worker.ts", {
          schema,
          displayName: display,
          log,
          mode: "run",
        });
        await pollUntil(
          "the jobs are finished",
          async () => (await adapter.list(finishedPath(display))).length === 3,
          60_000,
        );
        const run = await worker.finish();
        assert.equal(run.code, 0, run.stderr);
        assert.equal(JSON.parse(run.stdout).done, 3);
        const runs = await countRuns(log);
        assert.deepEqual(
          ids.map((id) => runs.get(id)),
          [2, 1, 1],
          "the killed worker's job ran again, once; the others once",
        );
        await assertAllDone(adapter, display, ids);
        const meta = JobMeta.parse(
          await adapter.get(metaPath(display), holding),
        );
        assert.equal(meta.attempts, 1);
      } finally {
        await Deno.remove(log);
      }
    });
  },
});

Deno.test({
  name:
    "a worker whose connections are terminated (pg_terminate_backend) five times while it drains a queue reconnects, and every job ends DONE exactly once",
  ignore,
  async fn() {
    await withSchema(async (open, schema) => {
      const display = "spins";
      const jobs = 400;
      const adapter = open({ name: "lab" });
      await uploadConfig(adapter, pgConfig(display));
      const ids = await submitMany(adapter, display, jobs);
      const log = await Deno.makeTempFile({ suffix: ".log" });
      const url = new URL(DATABASE_URL!);
      // The worker's sessions have a name of their own, so that only they are cut.
      url.searchParams.set("application_name", "faultyworker");
      const sql = admin();
      try {
        const worker = startPostgresScript("postgres_worker.ts", {
          schema,
          displayName: display,
          log,
          mode: "run",
          leaseMs: 5_000,
          recoverIntervalMs: 250,
        }, url.href);
        let cuts = 0;
        let sessions = 0;
        for (const threshold of [40, 100, 160, 220, 280]) {
          await pollUntil(
            `${threshold} jobs are finished`,
            async () =>
              (await adapter.list(finishedPath(display))).length >= threshold,
            60_000,
          );
          sessions += await terminateSessions(sql, "faultyworker");
          cuts++;
        }
        await pollUntil(
          "every job is finished",
          async () =>
            (await adapter.list(finishedPath(display))).length === jobs,
          120_000,
        );
        const run = await worker.finish();
        assert.equal(run.code, 0, run.stderr);
        const summary = JSON.parse(run.stdout);
        assert.equal(cuts, 5);
        assert(sessions >= 5, `only ${sessions} sessions were terminated`);
        assert.equal(summary.done, jobs, "each job recorded DONE once");
        const runs = await countRuns(log);
        assert.equal(runs.size, jobs, "every job ran");
        const again = [...runs].filter(([, count]) => count > 1);
        await assertAllDone(adapter, display, ids);
        console.log(
          `  ${jobs} jobs, ${sessions} sessions terminated in ${cuts} cuts: ` +
            `all DONE once; ${summary.errors} storage errors reported; ` +
            `${again.length} jobs ran more than once`,
        );
        assert.deepEqual(again, [], "jobs executed more than once");
      } finally {
        await sql.end();
        await Deno.remove(log);
      }
    });
  },
});

/**
 * One story of the job protocol, step by step, through the public
 * functions: what each step returned (or threw), and every folder after it.
 * Ids and tokens are replaced by `job<i>` and `token<i>` (in the order they
 * appeared), so that two runs can be compared.
 */
async function jobStory(adapter: StorageAdapter): Promise<unknown[]> {
  const display = "spins";
  let time = Date.parse("2026-11-28T10:00:00Z");
  const now = () => time;
  const ids: string[] = [];
  const tokens: string[] = [];
  const normal = (text: string) => {
    ids.forEach((id, i) => text = text.replaceAll(id, `job${i}`));
    tokens.forEach((token, i) => text = text.replaceAll(token, `token${i}`));
    return text;
  };
  const folders = [
    queuedPath(display),
    RUNNING,
    finishedPath(display),
    DELETED,
    statusPath(display),
    resultsPath(display),
    metaPath(display),
    leasesPath(display),
  ];
  const story: unknown[] = [];
  const step = async (name: string, work: () => Promise<unknown>) => {
    let outcome: unknown;
    try {
      outcome = { value: await work() };
    } catch (error) {
      outcome = {
        error: (error as Error).name,
        message: (error as Error).message,
      };
    }
    const records: string[] = [];
    for (const folder of folders) {
      for (const id of await adapter.list(folder)) {
        records.push(
          `${folder}/${id}: ${stringifyJson(await adapter.get(folder, id))}`,
        );
      }
    }
    story.push(normal(JSON.stringify({ name, outcome, records }, null, 1)));
  };
  const take = async (leaseMs = 60_000) => {
    const next = await getNextJobInQueue(adapter, display, {
      now,
      leaseMs,
      stampIntervalMs: 1e12,
    });
    if (next.token !== undefined) tokens.push(next.token);
    return next;
  };
  const outcome = (
    jobId: string,
    token: string | undefined,
    n = 1,
  ): JobOutcome => ({
    jobId,
    displayName: display,
    token,
    now,
    status: {
      job_id: jobId,
      status: "DONE" as const,
      detail: "Got your json.; All done",
      error_message: "None",
    },
    result: doneResult(
      display,
      jobId,
      Array.from({ length: n }, () => experimentOf(1)),
    ),
  });
  await uploadConfig(adapter, pgConfig(display));
  for (let i = 0; i < 7; i++) {
    const ref = { displayName: display, username: "alice", jobId: "" };
    ref.jobId = await uploadJob(adapter, { job: pgJob(), ...ref, now });
    await uploadStatus(adapter, ref);
    ids.push(ref.jobId);
    time += 1000;
  }
  await step("submitted", () => Promise.resolve());
  const a = await take();
  await step("progress", () =>
    updateInDatabase(adapter, {
      jobId: a.job_id,
      displayName: display,
      token: a.token,
      status: {
        job_id: a.job_id,
        status: "INITIALIZING",
        detail: "Passed json sanity check",
        error_message: "None",
      },
    }));
  await step(
    "done",
    () => updateInDatabase(adapter, outcome(a.job_id, a.token)),
  );
  await step(
    "done again",
    () => updateInDatabase(adapter, outcome(a.job_id, a.token)),
  );
  const b = await take();
  await step("error", () =>
    updateInDatabase(adapter, {
      jobId: b.job_id,
      displayName: display,
      token: b.token,
      status: {
        job_id: b.job_id,
        status: "ERROR",
        detail: "Got your json.",
        error_message: "Wire 7 does not exist",
      },
    }));
  const c = await take();
  time += 10_000;
  await step("extend", () =>
    extendLease(adapter, {
      displayName: display,
      jobId: c.job_id,
      token: c.token,
      now,
      leaseMs: 30_000,
    }));
  await step("release", () =>
    releaseJob(adapter, {
      displayName: display,
      jobId: c.job_id,
      token: c.token,
      now,
    }));
  const c2 = await take();
  await step("release after a failure", () =>
    releaseJob(adapter, {
      displayName: display,
      jobId: c2.job_id,
      token: c2.token,
      failure: "the disk is full",
      now,
    }));
  await step(
    "stale token",
    () => updateInDatabase(adapter, outcome(c.job_id, c.token)),
  );
  await take(5_000); // its worker then stops
  time += 60_000;
  await step(
    "recover",
    () => recoverStaleJobs(adapter, { displayName: display, now }),
  );
  const e = await take();
  await step(
    "cancel running",
    () => cancelJob(adapter, { displayName: display, jobId: e.job_id, now }),
  );
  await step(
    "done after cancel",
    () => updateInDatabase(adapter, outcome(e.job_id, e.token)),
  );
  await step(
    "cancel queued",
    () => cancelJob(adapter, { displayName: display, jobId: ids[6], now }),
  );
  await step(
    "cancel finished",
    () => cancelJob(adapter, { displayName: display, jobId: ids[0], now }),
  );
  await step(
    "retry",
    () => retryJob(adapter, { displayName: display, jobId: b.job_id, now }),
  );
  const f = await take();
  await step(
    "a result that does not fit",
    () => updateInDatabase(adapter, outcome(f.job_id, f.token, 2)),
  );
  // A job that another tool's worker runs: in jobs/running without a lease.
  const g = await take();
  await adapter.delete(leasesPath(display), g.job_id);
  time += 3_600_000;
  await step(
    "recover, unleased",
    () => recoverStaleJobs(adapter, { displayName: display, now }),
  );
  await step(
    "unfenced outcome",
    () => updateInDatabase(adapter, outcome(g.job_id, undefined)),
  );
  // Attempts run out.
  for (let round = 0; round < 3; round++) {
    const h = await take(1_000);
    time += 5_000;
    await step(
      `recover ${h.job_id === "None" ? "nothing" : "again"}`,
      () =>
        recoverStaleJobs(adapter, {
          displayName: display,
          now,
          maxAttempts: 2,
        }),
    );
  }
  await step("stats", () => getQueueStats(adapter, display, { now }));
  return story;
}

Deno.test({
  name:
    "the native transitions leave the same records in the same folders as the generic protocol, step by step",
  ignore,
  async fn() {
    const generic = await jobStory(new MemoryAdapter({ name: "lab" }));
    await withSchema(async (open) => {
      const native = await jobStory(open({ name: "lab" }));
      assert.equal(native.length, generic.length);
      for (let i = 0; i < generic.length; i++) {
        assert.equal(native[i], generic[i], `step ${i}`);
      }
    });
  },
});
