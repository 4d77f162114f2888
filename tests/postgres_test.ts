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
  InvalidNameError,
  NotFoundError,
  StorageError,
  uploadJob,
} from "../mod.ts";
import { PostgresAdapter, PostgresConnectionError } from "../postgres.ts";
import { parseExactJson, stringifyJson } from "../src/json.ts";
import { spawnPeer, testStorageAdapter } from "../testing.ts";
import { testJobProtocol } from "../src/testing/protocol_conformance.ts";
import {
  admin,
  DATABASE_URL,
  dropSchema,
  HOW_TO_RUN,
  schemaName,
  terminateSessions,
  withSchema,
} from "./support/postgres.ts";

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
      const adapter = open();
      const hostile = `'); DROP SCHEMA "${schema}" CASCADE; --`;
      const jobId = await uploadJob(adapter, {
        job: { [hostile]: hostile },
        displayName: "spins",
        username: hostile,
      });
      const job = await adapter.get("jobs/queued/spins", jobId);
      assert.equal(job[hostile], hostile);
      await assert.rejects(
        () => adapter.get("jobs/queued/spins", "x' OR '1'='1"),
        InvalidNameError,
      );
    });
  },
});

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
  ignore,
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
