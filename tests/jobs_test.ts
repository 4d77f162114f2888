import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CONFIGS,
  CorruptRecordError,
  DELETED,
  finishedPath,
  getFileQueue,
  getJobContent,
  getNextJobInQueue,
  getResult,
  getStatus,
  InvalidNameError,
  InvalidRecordError,
  JobStateError,
  type JsonObject,
  LeaseLostError,
  leasesPath,
  LocalAdapter,
  MemoryAdapter,
  metaPath,
  type MoveOldestOptions,
  NotFoundError,
  queuedPath,
  type RecordCheck,
  recoverStaleJobs,
  type Result,
  resultsPath,
  RUNNING,
  type StatusMsg,
  statusPath,
  type StorageAdapter,
  updateInDatabase,
  uploadConfig,
  uploadJob,
  uploadStatus,
} from "@sqooler/storage";
import {
  configOf,
  doneResult,
  doneStatus,
  errorStatus,
  experimentOf,
  jobOf,
} from "./support/fixtures.ts";
import { withTempDir } from "./support/folders.ts";
import { backendFolders, recordsIn } from "./support/store.ts";
import { FaultyAdapter } from "@sqooler/storage/testing";

const T0 = Date.parse("2026-11-28T10:00:00Z");
const at = (ms: number) => () => T0 + ms;
const JOB = jobOf(2);
const ALICE = { displayName: "spins", username: "alice" };

/** A storage with the backend "spins" (provider "lab"). */
async function spinStore(
  adapter: StorageAdapter = new MemoryAdapter({ name: "lab" }),
): Promise<StorageAdapter> {
  await uploadConfig(adapter, configOf("spins"));
  return adapter;
}

/** Runs a test on a LocalAdapter in a temp folder, removed afterwards. */
function withLocal(work: (adapter: LocalAdapter) => Promise<void>) {
  return withTempDir((basePath) =>
    work(new LocalAdapter({ basePath, name: "lab" }))
  );
}

const done = (jobId: string) => doneStatus(jobId);
const failed = (jobId: string) => errorStatus(jobId, "Wire 7 does not exist");
const resultOf = (jobId: string) =>
  doneResult("spins", jobId, [experimentOf(2)]);
/** What a worker writes back for a job that ran: DONE, with its result. */
const ran = (jobId: string) => ({
  jobId,
  displayName: "spins",
  status: done(jobId),
  result: resultOf(jobId),
});

/** Every record of the store, to show that a refused call changed nothing. */
const snapshot = (adapter: StorageAdapter) =>
  recordsIn(adapter, backendFolders("spins"));

/**
 * A StorageAdapter that logs every write that succeeded, to check the order
 * of writes: `write <path>/<id>` (created or replaced), `move`, `delete`.
 * Like an adapter written for an earlier version of the contract, its
 * `upload` knows no options: `overwrite` is ignored.
 */
class LoggingAdapter implements StorageAdapter {
  readonly log: string[] = [];
  #inner = new MemoryAdapter({ name: "lab" });
  get name(): string {
    return this.#inner.name;
  }
  get active(): boolean {
    return this.#inner.active;
  }
  async #logged(entry: string, work: Promise<void>): Promise<void> {
    await work;
    this.log.push(entry);
  }
  upload(path: string, id: string, content: object): Promise<void> {
    return this.#logged(
      `write ${path}/${id}`,
      this.#inner.upload(path, id, content),
    );
  }
  get(path: string, id: string): Promise<JsonObject> {
    return this.#inner.get(path, id);
  }
  update(
    path: string,
    id: string,
    content: object,
    options?: RecordCheck,
  ): Promise<void> {
    return this.#logged(
      `write ${path}/${id}`,
      this.#inner.update(path, id, content, options),
    );
  }
  move(from: string, to: string, id: string): Promise<void> {
    return this.#logged(
      `move ${from}/${id} ${to}`,
      this.#inner.move(from, to, id),
    );
  }
  moveOldest(
    from: string,
    to: string,
    options?: MoveOldestOptions,
  ): Promise<string | undefined> {
    return this.#inner.moveOldest(from, to, options);
  }
  delete(path: string, id: string, options?: RecordCheck): Promise<void> {
    return this.#logged(
      `delete ${path}/${id}`,
      this.#inner.delete(path, id, options),
    );
  }
  list(path: string): Promise<string[]> {
    return this.#inner.list(path);
  }
}

// ---- Submitting ----

Deno.test("uploadJob() stores the job as given and records its owner", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE, now: at(0) });
  assert.match(jobId, /^[0-9a-f]{24}$/);
  assert.deepEqual(await adapter.get(queuedPath("spins"), jobId), JOB);
  assert.deepEqual(await adapter.get(metaPath("spins"), jobId), {
    job_id: jobId,
    username: "alice",
    submitted_at: "2026-11-28T10:00:00.000Z",
    attempts: 0,
  });
});

Deno.test("uploadJob() ids follow submission order", async () => {
  const adapter = await spinStore();
  const ids = [];
  for (let i = 0; i < 20; i++) {
    ids.push(await uploadJob(adapter, { job: JOB, ...ALICE, now: at(0) }));
  }
  assert.deepEqual([...ids].sort(), ids);
  assert.deepEqual(await getFileQueue(adapter, queuedPath("spins")), ids);
});

Deno.test("uploadJob() refuses a job that is not a JSON object, and bad names, writing nothing", async () => {
  const adapter = await spinStore();
  const before = await snapshot(adapter);
  for (const job of [[JOB], null, "job", 42]) {
    await assert.rejects(
      uploadJob(adapter, { job: job as object, ...ALICE }),
      InvalidRecordError,
    );
  }
  await assert.rejects(
    uploadJob(adapter, {
      job: JOB,
      displayName: "../spins",
      username: "alice",
    }),
    InvalidNameError,
  );
  await assert.rejects(
    uploadJob(adapter, { job: JOB, displayName: "spins", username: "" }),
    InvalidNameError,
  );
  assert.deepEqual(await snapshot(adapter), before);
});

Deno.test("uploadStatus() writes INITIALIZING and returns the existing status when there is one", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  const first = await uploadStatus(adapter, { ...ALICE, jobId });
  assert.deepEqual(first, {
    job_id: jobId,
    status: "INITIALIZING",
    detail: "Got your json.",
    error_message: "None",
  });
  assert.deepEqual(await adapter.get(statusPath("spins"), jobId), first);
  assert.deepEqual(await uploadStatus(adapter, { ...ALICE, jobId }), first);
});

Deno.test("uploadStatus() never overwrites a worker's final status", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  // A fast worker finishes the job before the API writes the first status.
  await getNextJobInQueue(adapter, "spins");
  await updateInDatabase(adapter, ran(jobId));
  assert.deepEqual(
    await uploadStatus(adapter, { ...ALICE, jobId }),
    done(jobId),
  );
  assert.deepEqual(await getStatus(adapter, { ...ALICE, jobId }), done(jobId));
});

Deno.test("uploadStatus() for another user's job writes nothing", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  const status = await uploadStatus(adapter, {
    displayName: "spins",
    username: "mallory",
    jobId,
  });
  assert.equal(status.status, "INITIALIZING");
  assert.deepEqual(await adapter.list(statusPath("spins")), []);
});

// ---- Reading ----

Deno.test("getStatus() of an unknown job is an ERROR status naming it", async () => {
  const adapter = await spinStore();
  const jobId = "0123456789abcdef01234567";
  assert.deepEqual(await getStatus(adapter, { ...ALICE, jobId }), {
    job_id: jobId,
    status: "ERROR",
    detail: "Cannot get status",
    error_message: `Could not find status for spins with job_id ${jobId}.`,
  });
});

Deno.test("getResult() fills in backend_name and gives ERROR results for missing results and backends", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  const pending = await getResult(adapter, { ...ALICE, jobId });
  assert.equal(pending.status, "ERROR");
  assert.equal(pending.display_name, "spins");
  assert.equal(pending.success, false);

  await adapter.upload(resultsPath("spins"), jobId, {
    ...resultOf(jobId),
    backend_name: "stored_name_ignored",
  });
  assert.deepEqual(await getResult(adapter, { ...ALICE, jobId }), {
    ...resultOf(jobId),
    backend_name: "lab_spins_simulator",
  });

  const noBackend = await getResult(adapter, {
    displayName: "nothere",
    username: "alice",
    jobId,
  });
  assert.equal(noBackend.status, "ERROR");
  assert.equal(noBackend.display_name, "");
});

Deno.test("getResult() calls a stored config whose display_name is not a display name corrupt, naming it", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  await adapter.upload(resultsPath("spins"), jobId, resultOf(jobId));
  const config = await adapter.get(CONFIGS, "spins");
  await adapter.update(CONFIGS, "spins", {
    ...config,
    display_name: "Spins_1",
  });
  await assert.rejects(
    getResult(adapter, { ...ALICE, jobId }),
    (error: unknown) =>
      error instanceof CorruptRecordError &&
      error.message.includes("backends/configs/spins"),
  );
});

Deno.test("getStatus() and getResult() answer another user exactly as for an unknown job", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  await uploadStatus(adapter, { ...ALICE, jobId });
  await getNextJobInQueue(adapter, "spins");
  await updateInDatabase(adapter, ran(jobId));
  // The same backend, without the job: what an unknown id gets.
  const empty = await spinStore();
  const mallory = { displayName: "spins", username: "mallory", jobId };
  assert.deepEqual(
    await getStatus(adapter, mallory),
    await getStatus(empty, mallory),
  );
  assert.deepEqual(
    await getResult(adapter, mallory),
    await getResult(empty, mallory),
  );
  // The owner still sees it.
  assert.equal((await getStatus(adapter, { ...ALICE, jobId })).status, "DONE");
  assert.equal((await getResult(adapter, { ...ALICE, jobId })).status, "DONE");
});

Deno.test("a job written by another tool, with no owner recorded, is readable by anyone", async () => {
  const adapter = await spinStore();
  const jobId = "5b4625859f0440c2af154efb";
  await adapter.upload(queuedPath("spins"), jobId, JOB);
  await adapter.upload(statusPath("spins"), jobId, {
    job_id: jobId,
    status: "INITIALIZING",
    detail: "Got your json.",
    error_message: "None",
  });
  for (const username of ["alice", "bob"]) {
    const status = await getStatus(adapter, {
      displayName: "spins",
      username,
      jobId,
    });
    assert.equal(status.status, "INITIALIZING");
  }
  const next = await getNextJobInQueue(adapter, "spins");
  assert.equal(next.job_id, jobId);
  await updateInDatabase(adapter, ran(jobId));
  const result = await getResult(adapter, {
    displayName: "spins",
    username: "bob",
    jobId,
  });
  assert.equal(result.status, "DONE");
  assert.equal(result.backend_name, "lab_spins_simulator");
});

Deno.test("the owner survives a Python worker rewriting the status file, which keeps sqooler's fields", async () => {
  await withLocal(async (adapter) => {
    await spinStore(adapter);
    const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
    await uploadStatus(adapter, { ...ALICE, jobId });
    const statusFile = join(adapter.basePath, "status/spins", `${jobId}.json`);
    const raw = JSON.parse(await Deno.readTextFile(statusFile));
    assert.deepEqual(Object.keys(raw).sort(), [
      "detail",
      "error_message",
      "job_id",
      "status",
    ]);
    assert.deepEqual(
      JSON.parse(
        await Deno.readTextFile(
          join(adapter.basePath, "jobs/queued/spins", `${jobId}.json`),
        ),
      ),
      JOB,
    );
    // sqooler's worker writes the status as json.dump does.
    await Deno.writeTextFile(
      statusFile,
      JSON.stringify({ ...raw, status: "DONE", detail: "All done" }, null, 1),
    );
    // A fresh adapter, as in another process: nothing cached.
    const api = new LocalAdapter({ basePath: adapter.basePath, name: "lab" });
    assert.equal((await getStatus(api, { ...ALICE, jobId })).status, "DONE");
    const mallory = { displayName: "spins", username: "mallory", jobId };
    assert.equal((await getStatus(api, mallory)).status, "ERROR");
  });
});

// ---- Taking jobs ----

for (const kind of ["MemoryAdapter", "LocalAdapter"]) {
  Deno.test(`getNextJobInQueue() takes the oldest job first (${kind})`, async () => {
    const run = async (adapter: StorageAdapter) => {
      await spinStore(adapter);
      const ids = [];
      for (let i = 0; i < 5; i++) {
        ids.push(await uploadJob(adapter, { job: JOB, ...ALICE, now: at(0) }));
      }
      const taken = [];
      for (let i = 0; i < 5; i++) {
        const next = await getNextJobInQueue(adapter, "spins", { now: at(i) });
        assert.equal(next.job_json_path, "jobs/running");
        taken.push(next.job_id);
      }
      assert.deepEqual(taken, ids);
      assert.deepEqual(await adapter.list(RUNNING), ids);
    };
    if (kind === "MemoryAdapter") await run(new MemoryAdapter({ name: "lab" }));
    else await withLocal(run);
  });
}

Deno.test('getNextJobInQueue() returns "None" twice for an empty queue', async () => {
  const adapter = await spinStore();
  // A job of another backend is not this backend's.
  await adapter.upload(queuedPath("other"), "0123456789abcdef01234567", JOB);
  assert.deepEqual(await getNextJobInQueue(adapter, "spins"), {
    job_id: "None",
    job_json_path: "None",
  });
  assert.deepEqual(await adapter.list(RUNNING), []);
});

Deno.test("getNextJobInQueue() records a lease on the job it takes", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  const next = await getNextJobInQueue(adapter, "spins", {
    now: at(0),
    leaseMs: 30_000,
  });
  assert.match(next.token!, /^[0-9a-f]{32}$/);
  assert.deepEqual(await adapter.get(leasesPath("spins"), jobId), {
    job_id: jobId,
    token: next.token,
    state: "running",
    claimed_at: "2026-11-28T10:00:00.000Z",
    renewed_at: "2026-11-28T10:00:00.000Z",
    expires_at: "2026-11-28T10:00:30.000Z",
    attempts: null,
    error_message: null,
    cancel_requested: null,
  });
  // The default lease is ten minutes.
  const second = await uploadJob(adapter, { job: JOB, ...ALICE });
  await getNextJobInQueue(adapter, "spins", { now: at(0) });
  const lease = await adapter.get(leasesPath("spins"), second);
  assert.equal(lease.expires_at, "2026-11-28T10:10:00.000Z");
});

Deno.test("getNextJobInQueue() stamps last_queue_check at most once per stampIntervalMs", async () => {
  const adapter = await spinStore();
  const poll = async (ms: number, stampIntervalMs?: number) => {
    await getNextJobInQueue(adapter, "spins", { now: at(ms), stampIntervalMs });
    return (await adapter.get(CONFIGS, "spins")).last_queue_check;
  };
  assert.equal(await poll(0), "2026-11-28T10:00:00.000Z");
  assert.equal(await poll(500), "2026-11-28T10:00:00.000Z");
  assert.equal(await poll(999), "2026-11-28T10:00:00.000Z");
  assert.equal(await poll(1_000), "2026-11-28T10:00:01.000Z");
  assert.equal(await poll(5_000, 10_000), "2026-11-28T10:00:01.000Z");
  assert.equal(await poll(11_000, 10_000), "2026-11-28T10:00:11.000Z");
});

Deno.test("getNextJobInQueue() for a backend without config throws NotFoundError and takes nothing", async () => {
  const adapter = new MemoryAdapter({ name: "lab" });
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  await assert.rejects(getNextJobInQueue(adapter, "spins"), NotFoundError);
  assert.deepEqual(await adapter.list(queuedPath("spins")), [jobId]);
  await assert.rejects(getNextJobInQueue(adapter, "Spins"), InvalidNameError);
});

// ---- Writing back ----

Deno.test("updateInDatabase() with DONE decides on the lease, then writes the result, the status, moves the job, and drops the lease", async () => {
  const adapter = new LoggingAdapter();
  await spinStore(adapter);
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  await uploadStatus(adapter, { ...ALICE, jobId });
  const { token } = await getNextJobInQueue(adapter, "spins");
  adapter.log.length = 0;
  await updateInDatabase(adapter, { ...ran(jobId), token });
  // The lease's compare-and-swap decides the outcome; the result comes
  // before the status, so that whoever reads DONE finds it; the lease goes
  // last, so that recovery completes the record if the worker stops between.
  assert.deepEqual(adapter.log, [
    `write leases/spins/${jobId}`,
    `write results/spins/${jobId}`,
    `write status/spins/${jobId}`,
    `move jobs/running/${jobId} jobs/finished/spins`,
    `delete leases/spins/${jobId}`,
  ]);
  assert.deepEqual(
    await adapter.get(resultsPath("spins"), jobId),
    resultOf(jobId),
  );
  assert.deepEqual(await adapter.get(statusPath("spins"), jobId), done(jobId));
  assert.deepEqual(await adapter.get(finishedPath("spins"), jobId), JOB);
  assert.deepEqual(await adapter.list(RUNNING), []);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
});

Deno.test("updateInDatabase() replaces an earlier run's result, also on an adapter whose upload() knows no overwrite option", async () => {
  for (
    const adapter of [new MemoryAdapter({ name: "lab" }), new LoggingAdapter()]
  ) {
    await spinStore(adapter);
    const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
    await uploadStatus(adapter, { ...ALICE, jobId });
    // What a worker left that wrote its result and then lost its lease.
    await adapter.upload(resultsPath("spins"), jobId, {
      ...resultOf(jobId),
      header: { run: "earlier" },
    });
    const { token } = await getNextJobInQueue(adapter, "spins");
    await updateInDatabase(adapter, { ...ran(jobId), token });
    assert.deepEqual(
      await adapter.get(resultsPath("spins"), jobId),
      resultOf(jobId),
    );
    assert.deepEqual(
      await adapter.get(statusPath("spins"), jobId),
      done(jobId),
    );
  }
});

Deno.test("updateInDatabase() creates a missing status", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  await getNextJobInQueue(adapter, "spins");
  await updateInDatabase(adapter, ran(jobId));
  assert.deepEqual(await getStatus(adapter, { ...ALICE, jobId }), done(jobId));
});

Deno.test("updateInDatabase() with DONE and no result throws InvalidRecordError and changes nothing", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  await uploadStatus(adapter, { ...ALICE, jobId });
  await getNextJobInQueue(adapter, "spins");
  const before = await snapshot(adapter);
  for (const result of [undefined, null]) {
    await assert.rejects(
      updateInDatabase(adapter, { ...ran(jobId), result }),
      InvalidRecordError,
    );
  }
  assert.deepEqual(await snapshot(adapter), before);
});

Deno.test("updateInDatabase() refuses an invalid status or result and changes nothing", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  await getNextJobInQueue(adapter, "spins");
  const before = await snapshot(adapter);
  const badStatus = {
    ...done(jobId),
    status: "FINISHED",
  } as unknown as StatusMsg;
  await assert.rejects(
    updateInDatabase(adapter, {
      jobId,
      displayName: "spins",
      status: badStatus,
    }),
    InvalidRecordError,
  );
  const badResult = {
    ...resultOf(jobId),
    results: "none",
  } as unknown as Result;
  await assert.rejects(
    updateInDatabase(adapter, { ...ran(jobId), result: badResult }),
    InvalidRecordError,
  );
  await assert.rejects(
    updateInDatabase(adapter, {
      ...ran(jobId),
      jobId: "../../backends/configs/spins",
    }),
    InvalidNameError,
  );
  assert.deepEqual(await snapshot(adapter), before);
});

Deno.test("updateInDatabase() with ERROR moves the job to jobs/deleted", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  await uploadStatus(adapter, { ...ALICE, jobId });
  await getNextJobInQueue(adapter, "spins");
  await updateInDatabase(adapter, {
    jobId,
    displayName: "spins",
    status: failed(jobId),
  });
  assert.deepEqual(await adapter.get(DELETED, jobId), JOB);
  assert.deepEqual(
    await getStatus(adapter, { ...ALICE, jobId }),
    failed(jobId),
  );
  assert.deepEqual(await adapter.list(RUNNING), []);
  assert.deepEqual(await adapter.list(resultsPath("spins")), []);
  assert.deepEqual(await adapter.list(finishedPath("spins")), []);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
});

Deno.test("updateInDatabase() with a status that is not final only writes the status", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  await uploadStatus(adapter, { ...ALICE, jobId });
  await getNextJobInQueue(adapter, "spins");
  const queued: StatusMsg = {
    job_id: jobId,
    status: "QUEUED",
    detail: "Passed json sanity check",
    error_message: "None",
  };
  await updateInDatabase(adapter, {
    jobId,
    displayName: "spins",
    status: queued,
  });
  assert.deepEqual(await getStatus(adapter, { ...ALICE, jobId }), queued);
  assert.deepEqual(await adapter.list(RUNNING), [jobId]);
  assert.deepEqual(await adapter.list(leasesPath("spins")), [jobId]);
});

Deno.test("updateInDatabase() with a stale token changes nothing, also after the job was taken again", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  await uploadStatus(adapter, { ...ALICE, jobId });
  const slow = await getNextJobInQueue(adapter, "spins", {
    now: at(0),
    leaseMs: 1_000,
  });
  // Its lease runs out and a recovery puts the job back in the queue.
  await recoverStaleJobs(adapter, { displayName: "spins", now: at(5_000) });
  const before = await snapshot(adapter);
  await assert.rejects(
    updateInDatabase(adapter, { ...ran(jobId), token: slow.token }),
    LeaseLostError,
  );
  assert.deepEqual(await snapshot(adapter), before);
  // Another worker takes it; the slow worker still cannot finish it.
  const fresh = await getNextJobInQueue(adapter, "spins", { now: at(6_000) });
  assert.equal(fresh.job_id, jobId);
  await assert.rejects(
    updateInDatabase(adapter, { ...ran(jobId), token: slow.token }),
    LeaseLostError,
  );
  await updateInDatabase(adapter, { ...ran(jobId), token: fresh.token });
  assert.deepEqual(await adapter.list(finishedPath("spins")), [jobId]);
});

Deno.test("updateInDatabase() never lets a status that is not final replace DONE, nor creates a status for an unknown job", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  await uploadStatus(adapter, { ...ALICE, jobId });
  const next = await getNextJobInQueue(adapter, "spins");
  await updateInDatabase(adapter, { ...ran(jobId), token: next.token });
  const queued: StatusMsg = {
    job_id: jobId,
    status: "QUEUED",
    detail: "Waiting",
    error_message: "None",
  };
  await assert.rejects(
    updateInDatabase(adapter, { jobId, displayName: "spins", status: queued }),
    JobStateError,
  );
  assert.deepEqual(await getStatus(adapter, { ...ALICE, jobId }), done(jobId));
  const unknown = "0123456789abcdef01234567";
  await assert.rejects(
    updateInDatabase(adapter, {
      jobId: unknown,
      displayName: "spins",
      status: { ...queued, job_id: unknown },
    }),
    JobStateError,
  );
  assert.deepEqual(await adapter.list(statusPath("spins")), [jobId]);
});

Deno.test("updateInDatabase() refuses a status or result that names another job or backend", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  const next = await getNextJobInQueue(adapter, "spins");
  const before = await snapshot(adapter);
  const other = "0123456789abcdef01234567";
  for (
    const outcome of [
      { ...ran(jobId), status: done(other) },
      { ...ran(jobId), result: { ...resultOf(jobId), job_id: other } },
      { ...ran(jobId), result: { ...resultOf(jobId), display_name: "bosons" } },
    ]
  ) {
    await assert.rejects(
      updateInDatabase(adapter, { ...outcome, token: next.token }),
      InvalidRecordError,
    );
  }
  assert.deepEqual(await snapshot(adapter), before);
});

Deno.test("updateInDatabase() ends a job ERROR when its result has not one entry per experiment", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  const next = await getNextJobInQueue(adapter, "spins");
  await updateInDatabase(adapter, {
    ...ran(jobId),
    result: doneResult("spins", jobId, []),
    token: next.token,
  });
  const status = await getStatus(adapter, { ...ALICE, jobId });
  assert.equal(status.status, "ERROR");
  assert.equal(
    status.error_message,
    "The backend returned 0 results for a job of 1 experiment; every experiment needs exactly one.",
  );
  assert.deepEqual(await adapter.list(DELETED), [jobId]);
  assert.deepEqual(await adapter.list(resultsPath("spins")), []);
});

Deno.test("updateInDatabase() with the job's experiment count checks the result by it, without reading the job again", async () => {
  const adapter = await spinStore();
  const reads: string[] = [];
  const counted = new FaultyAdapter(adapter, {
    before: (op) => void (op.method === "get" && reads.push(op.path)),
  });
  const wrong = await uploadJob(adapter, { job: JOB, ...ALICE });
  const right = await uploadJob(adapter, { job: JOB, ...ALICE });
  for (const [jobId, experiments] of [[wrong, 2], [right, 1]] as const) {
    const next = await getNextJobInQueue(adapter, "spins");
    assert.equal(next.job_id, jobId);
    await updateInDatabase(counted, {
      ...ran(jobId),
      token: next.token,
      experiments,
    });
  }
  assert.equal(reads.includes(RUNNING), false);
  const refused = await getStatus(adapter, { ...ALICE, jobId: wrong });
  assert.equal(
    refused.error_message,
    "The backend returned 1 result for a job of 2 experiments; every experiment needs exactly one.",
  );
  assert.equal(
    (await getStatus(adapter, { ...ALICE, jobId: right })).status,
    "DONE",
  );
});

Deno.test("updateInDatabase() refuses an experiment count that is not a whole number, and changes nothing", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  const next = await getNextJobInQueue(adapter, "spins");
  const before = await snapshot(adapter);
  for (const experiments of [-1, 1.5, Number.NaN, "1"]) {
    await assert.rejects(
      updateInDatabase(adapter, {
        ...ran(jobId),
        token: next.token,
        experiments: experiments as number,
      }),
      (error: unknown) =>
        error instanceof InvalidRecordError &&
        error.message.startsWith("Invalid experiment count"),
    );
  }
  assert.deepEqual(await snapshot(adapter), before);
});

Deno.test("getFileQueue() lists ids oldest first and refuses bad paths", async () => {
  const adapter = await spinStore();
  assert.deepEqual(await getFileQueue(adapter, queuedPath("spins")), []);
  const a = await uploadJob(adapter, { job: JOB, ...ALICE });
  const b = await uploadJob(adapter, { job: JOB, ...ALICE });
  assert.deepEqual(await getFileQueue(adapter, "jobs/queued/spins"), [a, b]);
  await assert.rejects(getFileQueue(adapter, "../jobs"), InvalidNameError);
});

Deno.test("getJobContent() reads a job and refuses bad paths and ids", async () => {
  const adapter = await spinStore();
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  const storagePath = queuedPath("spins");
  assert.deepEqual(await getJobContent(adapter, { storagePath, jobId }), JOB);
  await assert.rejects(
    getJobContent(adapter, { storagePath: RUNNING, jobId }),
    NotFoundError,
  );
  await assert.rejects(
    getJobContent(adapter, { storagePath: "jobs/../backends", jobId }),
    InvalidNameError,
  );
  await assert.rejects(
    getJobContent(adapter, { storagePath, jobId: "../spins" }),
    InvalidNameError,
  );
});
