import assert from "node:assert/strict";
import {
  DELETED,
  extendLease,
  finishedPath,
  getNextJobInQueue,
  getQueueStats,
  getStatus,
  InvalidNameError,
  InvalidRecordError,
  leasesPath,
  LocalAdapter,
  MemoryAdapter,
  metaPath,
  NotFoundError,
  queuedPath,
  recoverStaleJobs,
  releaseJob,
  resultsPath,
  RUNNING,
  statusPath,
  type StorageAdapter,
  updateInDatabase,
  uploadConfig,
  uploadStatus,
} from "@sqooler/storage";
import {
  configOf,
  doneOutcome,
  doneResult,
  doneStatus,
  errorStatus,
  jobOf,
} from "./support/fixtures.ts";
import { withTempDir } from "./support/folders.ts";
import { submitJobs } from "./support/store.ts";

const T0 = Date.parse("2026-11-28T10:00:00Z");
const at = (ms: number) => () => T0 + ms;
const JOB = jobOf();
const ALICE = { displayName: "spins", username: "alice" };
const SPINS = { displayName: "spins" };

/** A storage with the backend "spins" and the given number of queued jobs. */
async function spinStore(
  jobs: number,
  adapter: StorageAdapter = new MemoryAdapter({ name: "lab" }),
): Promise<{ adapter: StorageAdapter; ids: string[] }> {
  await uploadConfig(adapter, configOf("spins"));
  const ids = await submitJobs(adapter, {
    ...ALICE,
    job: JOB,
    count: jobs,
    now: at(0),
  });
  return { adapter, ids };
}

async function take(adapter: StorageAdapter, ms: number, leaseMs?: number) {
  return (await getNextJobInQueue(adapter, "spins", { now: at(ms), leaseMs }))
    .job_id;
}

// ---- getQueueStats ----

Deno.test("getQueueStats() counts queued, running, finished and failed jobs", async () => {
  const { adapter, ids: [a, b, c, d, e] } = await spinStore(5);
  assert.equal(await take(adapter, 10_000), a);
  assert.equal(await take(adapter, 10_000), b);
  assert.equal(await take(adapter, 10_000), c);
  await updateInDatabase(adapter, doneOutcome("spins", a));
  await updateInDatabase(adapter, {
    ...SPINS,
    jobId: b,
    status: errorStatus(b, "bad"),
  });
  // Jobs of another backend do not count.
  await adapter.upload(RUNNING, "0123456789abcdef01234567", JOB);
  await adapter.upload(DELETED, "0123456789abcdef01234568", JOB);

  assert.deepEqual(await getQueueStats(adapter, "spins", { now: at(70_000) }), {
    queued: 2,
    oldestQueuedAgeMs: 70_000,
    running: 1,
    oldestLeaseAgeMs: 60_000,
    runningJobs: [{ jobId: c, leaseAgeMs: 60_000 }],
    finished: 1,
    failed: 1,
  });
  assert.deepEqual(await adapter.list(queuedPath("spins")), [d, e]);
});

Deno.test("getQueueStats() of a backend without jobs is all zero", async () => {
  const { adapter } = await spinStore(0);
  assert.deepEqual(await getQueueStats(adapter, "spins"), {
    queued: 0,
    oldestQueuedAgeMs: null,
    running: 0,
    oldestLeaseAgeMs: null,
    runningJobs: [],
    finished: 0,
    failed: 0,
  });
  await assert.rejects(getQueueStats(adapter, "../spins"), InvalidNameError);
});

// ---- recoverStaleJobs ----

Deno.test("recoverStaleJobs() puts a stale job back at the head of its queue and counts the attempt", async () => {
  const { adapter, ids: [a, b] } = await spinStore(3);
  assert.equal(await take(adapter, 0), a);
  const report = await recoverStaleJobs(adapter, {
    ...SPINS,
    olderThanMs: 30_000,
    now: at(60_000),
  });
  assert.deepEqual(report, {
    requeued: [a],
    failed: [],
    completed: [],
    adopted: [],
    alive: [],
    attempts: { [a]: 1 },
  });
  assert.equal((await adapter.get(metaPath("spins"), a)).attempts, 1);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
  assert.equal(await take(adapter, 61_000), a);
  assert.equal(await take(adapter, 61_000), b);
});

Deno.test("recoverStaleJobs() requeues at the head on a LocalAdapter shared by processes", async () => {
  await withTempDir(async (basePath) => {
    const open = () => new LocalAdapter({ basePath, name: "lab" });
    const { ids: [a, b] } = await spinStore(3, open());
    // Each step in its own adapter, as in its own process.
    assert.equal(await take(open(), 0), a); // this worker then dies
    const report = await recoverStaleJobs(open(), {
      ...SPINS,
      olderThanMs: 30_000,
      now: at(60_000),
    });
    assert.deepEqual(report.requeued, [a]);
    const worker = open();
    assert.equal(await take(worker, 61_000), a);
    assert.equal(await take(worker, 61_000), b);
  });
});

Deno.test("recoverStaleJobs() leaves jobs with a good lease alone", async () => {
  const { adapter, ids: [a] } = await spinStore(1);
  await take(adapter, 0);
  const report = await recoverStaleJobs(adapter, {
    ...SPINS,
    olderThanMs: 30_000,
    now: at(30_000),
  });
  assert.deepEqual(report.alive, [a]);
  assert.deepEqual(report.requeued, []);
  assert.deepEqual(await adapter.list(RUNNING), [a]);
});

Deno.test("recoverStaleJobs() without olderThanMs goes by the lease's expires_at", async () => {
  const { adapter, ids: [a] } = await spinStore(1);
  await take(adapter, 0, 60_000);
  const early = await recoverStaleJobs(adapter, { ...SPINS, now: at(59_000) });
  assert.deepEqual(early.alive, [a]);
  const late = await recoverStaleJobs(adapter, { ...SPINS, now: at(61_000) });
  assert.deepEqual(late.requeued, [a]);
});

Deno.test("recoverStaleJobs() marks a job ERROR with a clear message after maxAttempts", async () => {
  const { adapter, ids: [a] } = await spinStore(1);
  const options = { ...SPINS, olderThanMs: 1_000, maxAttempts: 3 };
  const reports = [];
  for (let round = 0; round < 3; round++) {
    const start = round * 10_000;
    assert.equal(await take(adapter, start), a);
    reports.push(
      await recoverStaleJobs(adapter, { ...options, now: at(start + 5_000) }),
    );
  }
  assert.deepEqual(reports.map((r) => r.requeued), [[a], [a], []]);
  assert.deepEqual(reports.map((r) => r.failed), [[], [], [a]]);
  assert.deepEqual(reports.map((r) => r.attempts[a]), [1, 2, 3]);

  const status = await getStatus(adapter, { ...ALICE, jobId: a });
  assert.equal(status.status, "ERROR");
  assert.equal(status.detail, "Got your json.");
  assert.match(status.error_message, new RegExp(a));
  assert.match(status.error_message, /3 workers/);
  assert.match(status.error_message, /not run again/);
  assert.deepEqual(await adapter.list(DELETED), [a]);
  assert.deepEqual(await adapter.list(RUNNING), []);
  assert.deepEqual(await adapter.list(queuedPath("spins")), []);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
  assert.equal((await adapter.get(metaPath("spins"), a)).attempts, 3);
  assert.equal((await getQueueStats(adapter, "spins")).failed, 1);
});

Deno.test("recoverStaleJobs() completes jobs that have a final status but are still in jobs/running", async () => {
  const { adapter, ids: [a, b] } = await spinStore(2);
  await take(adapter, 0);
  await take(adapter, 0);
  // Workers that died after writing the status, before moving the job.
  await adapter.upload(`results/spins`, a, doneResult("spins", a));
  await adapter.update(statusPath("spins"), a, doneStatus(a));
  await adapter.update(statusPath("spins"), b, errorStatus(b, "bad"));
  const report = await recoverStaleJobs(adapter, {
    ...SPINS,
    olderThanMs: 30_000,
    now: at(1_000),
  });
  assert.deepEqual(report.completed, [a, b]);
  assert.deepEqual(report.requeued, []);
  assert.deepEqual(await adapter.list(finishedPath("spins")), [a]);
  assert.deepEqual(await adapter.list(DELETED), [b]);
  assert.deepEqual(await adapter.list(RUNNING), []);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
});

Deno.test("recoverStaleJobs() adopts a running job without lease, and recovers it later", async () => {
  const { adapter } = await spinStore(0);
  // Taken by sqooler's Python worker, which records no lease.
  const jobId = "5b4625859f0440c2af154efb";
  await adapter.upload(RUNNING, jobId, JOB);
  await adapter.upload(statusPath("spins"), jobId, {
    job_id: jobId,
    status: "INITIALIZING",
    detail: "Got your json.",
    error_message: "None",
  });
  // A running job of another backend: no lease and no status here.
  const foreign = "0123456789abcdef01234567";
  await adapter.upload(RUNNING, foreign, JOB);

  const options = { ...SPINS, olderThanMs: 30_000 };
  const first = await recoverStaleJobs(adapter, { ...options, now: at(0) });
  assert.deepEqual(first.adopted, [jobId]);
  assert.deepEqual(first.requeued, []);
  assert.deepEqual(await adapter.get(leasesPath("spins"), jobId), {
    job_id: jobId,
    claimed_at: "2026-11-28T10:00:00.000Z",
    expires_at: "2026-11-28T10:00:30.000Z",
  });
  const later = await recoverStaleJobs(adapter, {
    ...options,
    now: at(31_000),
  });
  assert.deepEqual(later.requeued, [jobId]);
  assert.deepEqual(later.attempts, { [jobId]: 1 });
  assert.deepEqual(await adapter.list(queuedPath("spins")), [jobId]);
  assert.deepEqual(await adapter.list(RUNNING), [foreign]);
});

Deno.test("recoverStaleJobs() refuses a bad display name", async () => {
  const adapter = new MemoryAdapter();
  await assert.rejects(
    recoverStaleJobs(adapter, { displayName: "../spins" }),
    InvalidNameError,
  );
});

// ---- extendLease ----

Deno.test("extendLease() keeps a job from being recovered", async () => {
  const { adapter, ids: [a] } = await spinStore(1);
  await take(adapter, 0, 60_000);
  const lease = await extendLease(adapter, {
    ...SPINS,
    jobId: a,
    leaseMs: 60_000,
    now: at(50_000),
  });
  assert.deepEqual(lease, {
    job_id: a,
    claimed_at: "2026-11-28T10:00:50.000Z",
    expires_at: "2026-11-28T10:01:50.000Z",
  });
  assert.deepEqual(await adapter.get(leasesPath("spins"), a), lease);
  // Past the first lease's end, by either rule.
  const byExpiry = await recoverStaleJobs(adapter, {
    ...SPINS,
    now: at(100_000),
  });
  assert.deepEqual(byExpiry.alive, [a]);
  const byAge = await recoverStaleJobs(adapter, {
    ...SPINS,
    olderThanMs: 60_000,
    now: at(100_000),
  });
  assert.deepEqual(byAge.alive, [a]);
  // Once the extension runs out too, the job is recovered.
  const after = await recoverStaleJobs(adapter, { ...SPINS, now: at(111_000) });
  assert.deepEqual(after.requeued, [a]);
});

Deno.test("extendLease() throws NotFoundError once the job was recovered or finished", async () => {
  const { adapter, ids: [a, b] } = await spinStore(2);
  await take(adapter, 0, 10_000);
  await recoverStaleJobs(adapter, { ...SPINS, now: at(20_000) });
  await assert.rejects(
    extendLease(adapter, { ...SPINS, jobId: a, now: at(21_000) }),
    NotFoundError,
  );
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);

  assert.equal(await take(adapter, 30_000), a);
  await updateInDatabase(adapter, doneOutcome("spins", a));
  await assert.rejects(
    extendLease(adapter, { ...SPINS, jobId: a }),
    NotFoundError,
  );
  // A job still queued has no lease either.
  await assert.rejects(
    extendLease(adapter, { ...SPINS, jobId: b }),
    NotFoundError,
  );
});

Deno.test("extendLease() refuses a lease length that is not positive, and bad names", async () => {
  const { adapter, ids: [a] } = await spinStore(1);
  await take(adapter, 0);
  const before = await adapter.get(leasesPath("spins"), a);
  for (const leaseMs of [0, -1, NaN]) {
    await assert.rejects(
      extendLease(adapter, { ...SPINS, jobId: a, leaseMs }),
      InvalidRecordError,
    );
  }
  await assert.rejects(
    extendLease(adapter, { displayName: "spins", jobId: "../a" }),
    InvalidNameError,
  );
  assert.deepEqual(await adapter.get(leasesPath("spins"), a), before);
});

Deno.test("recoverStaleJobs() fails a job whose meta record is unreadable, and leaves the record alone", async () => {
  const { adapter, ids: [jobId] } = await spinStore(1);
  await getNextJobInQueue(adapter, "spins", { now: at(0), leaseMs: 1000 });
  // Rewriting the record with no owner would show the job to every user.
  await adapter.update(metaPath("spins"), jobId, { job_id: 7 });

  const report = await recoverStaleJobs(adapter, { ...SPINS, now: at(5000) });

  assert.deepEqual(report.failed, [jobId]);
  assert.deepEqual(report.requeued, []);
  assert.deepEqual(await adapter.get(metaPath("spins"), jobId), { job_id: 7 });
  assert.deepEqual(await adapter.list(DELETED), [jobId]);
  const status = await adapter.get(statusPath("spins"), jobId);
  assert.equal(status.status, "ERROR");
  assert.match(String(status.error_message), /meta\/spins\/.*\.json/);
});

Deno.test("releaseJob() puts a running job back at the head of its queue and drops its lease", async () => {
  const { adapter, ids: [first, second] } = await spinStore(2);
  const taken = await getNextJobInQueue(adapter, "spins", { now: at(0) });
  assert.equal(taken.job_id, first);

  assert.equal(await releaseJob(adapter, { ...SPINS, jobId: first }), true);
  assert.deepEqual(await adapter.list(queuedPath("spins")), [first, second]);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
  assert.deepEqual(await adapter.list(RUNNING), []);
  // A job that is no longer running is not released twice.
  assert.equal(await releaseJob(adapter, { ...SPINS, jobId: first }), false);
});

Deno.test("queue functions refuse a broken clock or a bad number with InvalidRecordError", async () => {
  const { adapter, ids: [jobId] } = await spinStore(1);
  const calls: [string, () => Promise<unknown>][] = [
    [
      "clock returning NaN",
      () => getNextJobInQueue(adapter, "spins", { now: () => NaN }),
    ],
    [
      "clock not a function",
      () =>
        recoverStaleJobs(adapter, {
          ...SPINS,
          now: "soon" as unknown as () => number,
        }),
    ],
    [
      "maxAttempts as text",
      () =>
        recoverStaleJobs(adapter, {
          ...SPINS,
          maxAttempts: "x" as unknown as number,
        }),
    ],
    [
      "maxAttempts 0",
      () => recoverStaleJobs(adapter, { ...SPINS, maxAttempts: 0 }),
    ],
    [
      "negative age",
      () => recoverStaleJobs(adapter, { ...SPINS, olderThanMs: -1 }),
    ],
    [
      "lease of 0 ms",
      () => extendLease(adapter, { ...SPINS, jobId, leaseMs: 0 }),
    ],
    [
      "infinite stamp interval",
      () => getNextJobInQueue(adapter, "spins", { stampIntervalMs: Infinity }),
    ],
    [
      "clock returning text",
      () =>
        getQueueStats(adapter, "spins", {
          now: (() => "noon") as unknown as () => number,
        }),
    ],
  ];
  for (const [what, call] of calls) {
    await assert.rejects(call, InvalidRecordError, what);
  }
  // Nothing was taken by the refused calls.
  assert.deepEqual(await adapter.list(queuedPath("spins")), [jobId]);
});

// ---- Races and crash windows ----

/** An adapter that runs `before` once, just before the first call that matches. */
function interleave(
  inner: StorageAdapter,
  hook: {
    match: (method: string, args: unknown[]) => boolean;
    before: () => Promise<unknown>;
  },
): StorageAdapter {
  let fired = false;
  return new Proxy(inner, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        if (!fired && hook.match(String(property), args)) {
          fired = true;
          await hook.before();
        }
        return await value.apply(target, args);
      };
    },
  });
}

Deno.test("recoverStaleJobs() giving up never overwrites the DONE of a slow worker that finished at the same time", async () => {
  const { adapter, ids: [jobId] } = await spinStore(1);
  await take(adapter, 0, 1000);
  // The worker records its outcome just as recovery is about to fail the job.
  const racing = interleave(adapter, {
    match: (method, args) => method === "move" && args[1] === DELETED,
    before: () => updateInDatabase(adapter, doneOutcome("spins", jobId)),
  });

  const report = await recoverStaleJobs(racing, {
    ...SPINS,
    maxAttempts: 1,
    now: at(60_000),
  });

  assert.deepEqual(report.failed, []);
  const status = await getStatus(adapter, { ...ALICE, jobId });
  assert.equal(status.status, "DONE");
  assert.deepEqual(await adapter.list(finishedPath("spins")), [jobId]);
  assert.deepEqual(await adapter.list(DELETED), []);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
});

Deno.test("recoverStaleJobs() in two processes recovers a job once, though it is taken again in between", async () => {
  const { adapter, ids: [jobId] } = await spinStore(1);
  await take(adapter, 0, 1000);
  // Process 2 found the stale lease; before it acts, process 1 recovers the
  // job and a second worker takes it.
  const second = interleave(adapter, {
    match: (method) => method === "move",
    before: async () => {
      await recoverStaleJobs(adapter, { ...SPINS, now: at(60_000) });
      assert.equal(await take(adapter, 61_000, 600_000), jobId);
    },
  });

  const report = await recoverStaleJobs(second, { ...SPINS, now: at(60_000) });

  assert.deepEqual(report.requeued, []);
  assert.deepEqual(await adapter.list(RUNNING), [jobId]);
  assert.deepEqual(await adapter.list(leasesPath("spins")), [jobId]);
  const lease = await adapter.get(leasesPath("spins"), jobId);
  assert.equal(lease.claimed_at, new Date(T0 + 61_000).toISOString());
  const meta = await adapter.get(metaPath("spins"), jobId);
  assert.equal(meta.attempts, 1);
});

Deno.test("recoverStaleJobs() completes the record of a worker that stopped after moving its job", async () => {
  const { adapter, ids: [withResult, withoutResult, failed] } = await spinStore(
    3,
  );
  for (let i = 0; i < 3; i++) await take(adapter, 0, 1000);
  // Each worker died right after its move, before the status (and the lease).
  await adapter.move(RUNNING, finishedPath("spins"), withResult);
  await adapter.upload(
    resultsPath("spins"),
    withResult,
    doneResult("spins", withResult),
  );
  await adapter.move(RUNNING, finishedPath("spins"), withoutResult);
  await adapter.move(RUNNING, DELETED, failed);

  const report = await recoverStaleJobs(adapter, { ...SPINS, now: at(1) });

  assert.deepEqual(report.completed.sort(), [withResult, failed].sort());
  assert.deepEqual(report.requeued, [withoutResult]);
  assert.equal(
    (await getStatus(adapter, { ...ALICE, jobId: withResult })).status,
    "DONE",
  );
  assert.equal(
    (await getStatus(adapter, { ...ALICE, jobId: failed })).status,
    "ERROR",
  );
  // Its result was lost with the worker, so it runs again.
  assert.deepEqual(await adapter.list(queuedPath("spins")), [withoutResult]);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
});

Deno.test("getNextJobInQueue() puts the job back when its lease cannot be written", async () => {
  const { adapter, ids: [jobId] } = await spinStore(1);
  const failing = new Proxy(adapter, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property !== "upload" || typeof value !== "function") {
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (path: string, id: string, content: object) =>
        path.startsWith("leases/")
          ? Promise.reject(new Error("disk full"))
          : value.call(target, path, id, content);
    },
  });

  await assert.rejects(
    getNextJobInQueue(failing, "spins", { now: at(0) }),
    /disk full/,
  );

  assert.deepEqual(await adapter.list(queuedPath("spins")), [jobId]);
  assert.deepEqual(await adapter.list(RUNNING), []);
});

Deno.test("releaseJob() does not release a running job of another backend", async () => {
  const { adapter, ids: [jobId] } = await spinStore(1);
  await take(adapter, 0);
  assert.equal(
    await releaseJob(adapter, { displayName: "other", jobId }),
    false,
  );
  assert.deepEqual(await adapter.list(RUNNING), [jobId]);
  assert.deepEqual(await adapter.list(queuedPath("other")), []);
});

Deno.test("updateInDatabase() refuses an outcome for a job that another worker or a recovery decided", async () => {
  const { adapter, ids: [jobId] } = await spinStore(1);
  await take(adapter, 0);
  await updateInDatabase(adapter, doneOutcome("spins", jobId));
  // A late ERROR from a second worker does not replace the DONE.
  await assert.rejects(
    updateInDatabase(adapter, {
      ...SPINS,
      jobId,
      status: errorStatus(jobId, "late"),
    }),
    NotFoundError,
  );
  assert.equal((await getStatus(adapter, { ...ALICE, jobId })).status, "DONE");
  assert.deepEqual(await adapter.list(DELETED), []);
});

Deno.test("uploadStatus() for an unknown job id writes nothing", async () => {
  const { adapter } = await spinStore(0);
  const jobId = "0123456789abcdef01234567";
  const status = await uploadStatus(adapter, { ...ALICE, jobId });
  assert.equal(status.status, "INITIALIZING");
  assert.deepEqual(await adapter.list(statusPath("spins")), []);
  // So a stranger cannot tell an unknown id from another user's job.
  assert.equal((await getStatus(adapter, { ...ALICE, jobId })).status, "ERROR");
});
