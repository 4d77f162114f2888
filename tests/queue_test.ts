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
  JobStateError,
  LeaseLostError,
  leasesPath,
  LocalAdapter,
  MemoryAdapter,
  metaPath,
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
    runningJobs: [{
      jobId: c,
      leaseAgeMs: 60_000,
      expiresAt: "2026-11-28T10:10:10.000Z",
    }],
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
  assert.equal(await take(adapter, 0, 20_000), a);
  const report = await recoverStaleJobs(adapter, {
    ...SPINS,
    olderThanMs: 30_000,
    now: at(60_000),
  });
  assert.deepEqual(report, {
    requeued: [a],
    failed: [],
    completed: [],
    unleased: [],
    alive: [],
    attempts: { [a]: 1 },
    errors: {},
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
    assert.equal(await take(open(), 0, 20_000), a); // this worker then dies
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

Deno.test("recoverStaleJobs() leaves jobs with a good lease alone, and olderThanMs only adds a margin after expires_at", async () => {
  const { adapter, ids: [a] } = await spinStore(1);
  await take(adapter, 0, 20_000);
  // A lease that runs for another 10 s is never stale, however small olderThanMs.
  for (const olderThanMs of [undefined, 0, 1]) {
    const report = await recoverStaleJobs(adapter, {
      ...SPINS,
      olderThanMs,
      now: at(10_000),
    });
    assert.deepEqual(report.alive, [a]);
  }
  // Ran out 5 s ago: stale, unless the margin is longer.
  const margin = await recoverStaleJobs(adapter, {
    ...SPINS,
    olderThanMs: 30_000,
    now: at(25_000),
  });
  assert.deepEqual(margin.alive, [a]);
  assert.deepEqual(margin.requeued, []);
  assert.deepEqual(await adapter.list(RUNNING), [a]);
  const stale = await recoverStaleJobs(adapter, { ...SPINS, now: at(25_000) });
  assert.deepEqual(stale.requeued, [a]);
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
  const options = { ...SPINS, maxAttempts: 3 };
  const reports = [];
  for (let round = 0; round < 3; round++) {
    const start = round * 10_000;
    assert.equal(await take(adapter, start, 1_000), a);
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
  assert.equal(
    status.error_message,
    `Job ${a} failed 3 attempts; the last because its worker stopped before it recorded an outcome. It is not run again.`,
  );
  assert.deepEqual(await adapter.list(DELETED), [a]);
  assert.deepEqual(await adapter.list(RUNNING), []);
  assert.deepEqual(await adapter.list(queuedPath("spins")), []);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
  assert.equal((await adapter.get(metaPath("spins"), a)).attempts, 3);
  assert.equal((await getQueueStats(adapter, "spins")).failed, 1);
});

Deno.test("recoverStaleJobs() leaves a running job without a lease alone, also with the clock hours ahead", async () => {
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

  for (const ms of [0, 3_600_000, 10 * 3_600_000]) {
    const report = await recoverStaleJobs(adapter, {
      ...SPINS,
      olderThanMs: 30_000,
      now: at(ms),
    });
    assert.deepEqual(report.unleased, [jobId]);
    assert.deepEqual(report.requeued, []);
  }
  assert.deepEqual(
    (await adapter.list(RUNNING)).sort(),
    [foreign, jobId].sort(),
  );
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);

  // An operator who knows that the Python worker died puts it back.
  const report = await recoverStaleJobs(adapter, {
    ...SPINS,
    requeueUnleased: true,
    now: at(0),
  });
  assert.deepEqual(report.requeued, [jobId]);
  assert.deepEqual(report.attempts, { [jobId]: 1 });
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
  assert.equal(lease.claimed_at, "2026-11-28T10:00:00.000Z");
  assert.equal(lease.renewed_at, "2026-11-28T10:00:50.000Z");
  assert.equal(lease.expires_at, "2026-11-28T10:01:50.000Z");
  assert.deepEqual(await adapter.get(leasesPath("spins"), a), lease);
  // Past the first lease's end.
  const byExpiry = await recoverStaleJobs(adapter, {
    ...SPINS,
    now: at(100_000),
  });
  assert.deepEqual(byExpiry.alive, [a]);
  // Once the extension runs out too, the job is recovered.
  const after = await recoverStaleJobs(adapter, { ...SPINS, now: at(111_000) });
  assert.deepEqual(after.requeued, [a]);
});

Deno.test("extendLease() with a token throws LeaseLostError once the job was recovered or finished", async () => {
  const { adapter, ids: [a, b] } = await spinStore(2);
  const first = await getNextJobInQueue(adapter, "spins", {
    now: at(0),
    leaseMs: 10_000,
  });
  await recoverStaleJobs(adapter, { ...SPINS, now: at(20_000) });
  await assert.rejects(
    extendLease(adapter, {
      ...SPINS,
      jobId: a,
      token: first.token,
      now: at(21_000),
    }),
    LeaseLostError,
  );
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);

  // Taken again: the first worker's token stays refused, and the new lease untouched.
  const second = await getNextJobInQueue(adapter, "spins", { now: at(30_000) });
  assert.equal(second.job_id, a);
  const held = await adapter.get(leasesPath("spins"), a);
  await assert.rejects(
    extendLease(adapter, { ...SPINS, jobId: a, token: first.token }),
    LeaseLostError,
  );
  assert.deepEqual(await adapter.get(leasesPath("spins"), a), held);

  await updateInDatabase(adapter, {
    ...doneOutcome("spins", a),
    token: second.token,
  });
  await assert.rejects(
    extendLease(adapter, { ...SPINS, jobId: a, token: second.token }),
    LeaseLostError,
  );
  // Without a token, a job without a lease (finished, or still queued) cannot be extended.
  for (const jobId of [a, b]) {
    await assert.rejects(
      extendLease(adapter, { ...SPINS, jobId }),
      JobStateError,
    );
  }
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
  // Rewriting the record with no owner would show the job to every user,
  // and without it the attempts cannot be counted: it must not run again.
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

  assert.equal(
    await releaseJob(adapter, { ...SPINS, jobId: first, token: taken.token }),
    true,
  );
  assert.deepEqual(await adapter.list(queuedPath("spins")), [first, second]);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
  assert.deepEqual(await adapter.list(RUNNING), []);
  // A job that is no longer running is not released twice.
  assert.equal(await releaseJob(adapter, { ...SPINS, jobId: first }), false);
  await assert.rejects(
    releaseJob(adapter, { ...SPINS, jobId: first, token: taken.token }),
    LeaseLostError,
  );
});

Deno.test("releaseJob() with a stale token never drops the lease of the worker that took the job next", async () => {
  const { adapter, ids: [jobId] } = await spinStore(1);
  const slow = await getNextJobInQueue(adapter, "spins", {
    now: at(0),
    leaseMs: 1_000,
  });
  await recoverStaleJobs(adapter, { ...SPINS, now: at(5_000) });
  const next = await getNextJobInQueue(adapter, "spins", { now: at(6_000) });
  assert.equal(next.job_id, jobId);
  const held = await adapter.get(leasesPath("spins"), jobId);
  await assert.rejects(
    releaseJob(adapter, { ...SPINS, jobId, token: slow.token }),
    LeaseLostError,
  );
  assert.deepEqual(await adapter.get(leasesPath("spins"), jobId), held);
  assert.deepEqual(await adapter.list(RUNNING), [jobId]);
});

Deno.test("releaseJob() with a failure counts the attempt, and ends the job ERROR after maxAttempts", async () => {
  const { adapter, ids: [jobId] } = await spinStore(1);
  const failure = "the storage refused the result";
  for (let round = 1; round <= 3; round++) {
    const next = await getNextJobInQueue(adapter, "spins", { now: at(round) });
    assert.equal(next.job_id, jobId);
    const requeued = await releaseJob(adapter, {
      ...SPINS,
      jobId,
      token: next.token,
      failure,
      maxAttempts: 3,
    });
    assert.equal(requeued, round < 3);
    assert.equal((await adapter.get(metaPath("spins"), jobId)).attempts, round);
  }
  const status = await getStatus(adapter, { ...ALICE, jobId });
  assert.equal(status.status, "ERROR");
  assert.equal(
    status.error_message,
    `Job ${jobId} failed 3 attempts; the last because ${failure}. It is not run again.`,
  );
  assert.deepEqual(await adapter.list(DELETED), [jobId]);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
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

const isLeaseWrite = (method: string, args: unknown[]) =>
  method === "update" && String(args[0]).startsWith("leases/");

Deno.test("a worker's DONE and a recovery's decision race on the lease: the first one stands, the other changes nothing", async (t) => {
  await t.step("the worker decides first: the job ends DONE", async () => {
    const { adapter, ids: [jobId] } = await spinStore(1);
    const next = await getNextJobInQueue(adapter, "spins", {
      now: at(0),
      leaseMs: 1000,
    });
    // The worker records its outcome just before the recovery's compare-and-swap.
    const racing = interleave(adapter, {
      match: isLeaseWrite,
      before: () =>
        updateInDatabase(adapter, {
          ...doneOutcome("spins", jobId),
          token: next.token,
        }),
    });
    const report = await recoverStaleJobs(racing, {
      ...SPINS,
      maxAttempts: 1,
      now: at(60_000),
    });
    assert.deepEqual(report.failed, []);
    assert.deepEqual(report.requeued, []);
    assert.equal(
      (await getStatus(adapter, { ...ALICE, jobId })).status,
      "DONE",
    );
    assert.deepEqual(await adapter.list(finishedPath("spins")), [jobId]);
    assert.deepEqual(await adapter.list(DELETED), []);
    assert.deepEqual(await adapter.list(leasesPath("spins")), []);
  });
  await t.step(
    "the recovery decides first: the late DONE is refused",
    async () => {
      const { adapter, ids: [jobId] } = await spinStore(1);
      const next = await getNextJobInQueue(adapter, "spins", {
        now: at(0),
        leaseMs: 1000,
      });
      const racing = interleave(adapter, {
        match: isLeaseWrite,
        before: () => recoverStaleJobs(adapter, { ...SPINS, now: at(60_000) }),
      });
      await assert.rejects(
        updateInDatabase(racing, {
          ...doneOutcome("spins", jobId),
          token: next.token,
        }),
        LeaseLostError,
      );
      assert.deepEqual(await adapter.list(queuedPath("spins")), [jobId]);
      assert.deepEqual(await adapter.list(resultsPath("spins")), []);
      assert.equal(
        (await getStatus(adapter, { ...ALICE, jobId })).status,
        "INITIALIZING",
      );
    },
  );
});

Deno.test("recoverStaleJobs() in two processes recovers a job once, though it is taken again in between", async () => {
  const { adapter, ids: [jobId] } = await spinStore(1);
  await take(adapter, 0, 1000);
  // Process 2 found the stale lease; before it acts, process 1 recovers the
  // job and a second worker takes it.
  const second = interleave(adapter, {
    match: isLeaseWrite,
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

Deno.test("recoverStaleJobs() finishes recording the outcomes that stopped workers had decided", async () => {
  const { adapter, ids: [withResult, withoutResult, failed] } = await spinStore(
    3,
  );
  const tokens = [];
  for (let i = 0; i < 3; i++) {
    tokens.push(
      (await getNextJobInQueue(adapter, "spins", { now: at(0), leaseMs: 1000 }))
        .token,
    );
  }
  // Each worker decided on its lease, then died: one after storing its
  // result, one before, one while recording why its job failed.
  const decide = async (jobId: string, state: string, extra = {}) => {
    const lease = await adapter.get(leasesPath("spins"), jobId);
    await adapter.update(leasesPath("spins"), jobId, {
      ...lease,
      ...extra,
      state,
    });
  };
  await decide(withResult, "done");
  await adapter.upload(
    resultsPath("spins"),
    withResult,
    doneResult("spins", withResult),
  );
  await decide(withoutResult, "done");
  await decide(failed, "error", { error_message: "Wire 7 does not exist" });

  // Not before the decided leases run out: their workers may still be at it.
  const early = await recoverStaleJobs(adapter, { ...SPINS, now: at(500) });
  assert.deepEqual(early.alive.length, 3);

  const report = await recoverStaleJobs(adapter, { ...SPINS, now: at(5_000) });
  assert.deepEqual(report.completed.sort(), [withResult, failed].sort());
  assert.deepEqual(report.requeued, [withoutResult]);
  assert.deepEqual(report.attempts, { [withoutResult]: 1 });
  assert.equal(
    (await getStatus(adapter, { ...ALICE, jobId: withResult })).status,
    "DONE",
  );
  const status = await getStatus(adapter, { ...ALICE, jobId: failed });
  assert.equal(status.status, "ERROR");
  assert.equal(status.error_message, "Wire 7 does not exist");
  // Its result was lost with the worker, so it runs again.
  assert.deepEqual(await adapter.list(queuedPath("spins")), [withoutResult]);
  assert.deepEqual(await adapter.list(finishedPath("spins")), [withResult]);
  assert.deepEqual(await adapter.list(DELETED), [failed]);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
  assert.equal(tokens.length, 3);
});

Deno.test("recoverStaleJobs() removes the lease of a claimer that died before it moved the job, and never runs it", async () => {
  const { adapter, ids: [jobId] } = await spinStore(1);
  // The claimer wrote its lease and died before the move.
  await adapter.upload(leasesPath("spins"), jobId, {
    job_id: jobId,
    token: "0123456789abcdef0123456789abcdef",
    state: "running",
    claimed_at: new Date(T0).toISOString(),
    renewed_at: new Date(T0).toISOString(),
    expires_at: new Date(T0 + 1000).toISOString(),
    attempts: null,
    error_message: null,
  });
  // Until the lease is stale, no one takes the job.
  assert.equal(await take(adapter, 500), "None");
  const report = await recoverStaleJobs(adapter, { ...SPINS, now: at(5_000) });
  assert.deepEqual(report.requeued, []);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
  assert.equal(await take(adapter, 6_000), jobId);
  assert.equal((await adapter.get(metaPath("spins"), jobId)).attempts, 0);
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
    JobStateError,
  );
  assert.equal((await getStatus(adapter, { ...ALICE, jobId })).status, "DONE");
  assert.deepEqual(await adapter.list(DELETED), []);
});

Deno.test("uploadStatus() for a job without an owner record writes the status, as sqooler does", async () => {
  const { adapter } = await spinStore(0);
  // Submitted by another tool: the job file, and no owner record.
  const jobId = "0123456789abcdef01234567";
  await adapter.upload(queuedPath("spins"), jobId, JOB);
  const status = await uploadStatus(adapter, { ...ALICE, jobId });
  assert.equal(status.status, "INITIALIZING");
  assert.deepEqual(await adapter.list(statusPath("spins")), [jobId]);
  assert.equal(
    (await getStatus(adapter, { ...ALICE, jobId })).status,
    "INITIALIZING",
  );
});
