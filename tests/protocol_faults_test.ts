// What an adversarial review of the job protocol found, each kept as a test:
// a claimer that stalls past its lease, an empty lease after a power cut, a
// layout whose moves cannot be atomic, a result that cannot be written, a
// worker stopped again and again, a job whose status is not written yet, a
// purge that meets a cancel, and a cancel that comes as a job returns. And
// what a second review found: leases written by an earlier version of this
// library, a cancel request that a swap read before it came in, and a job
// upload that failed after the job was in place.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cancelJob,
  DELETED,
  extendLease,
  getNextJobInQueue,
  getStatus,
  type Job,
  LeaseLostError,
  leasesPath,
  LocalAdapter,
  MemoryAdapter,
  metaPath,
  type MoveOldestOptions,
  purgeJobs,
  queuedPath,
  recoverStaleJobs,
  RUNNING,
  runWorker,
  statusPath,
  type StorageAdapter,
  StorageError,
  updateInDatabase,
  uploadConfig,
  uploadJob,
  uploadStatus,
  type WorkerEvent,
} from "@sqooler/storage";
import {
  FaultyAdapter,
  PausePoint,
  storageFault,
  testBackendConfig,
} from "@sqooler/storage/testing";
import { doneResult, doneStatus, jobOf, zeros } from "./support/fixtures.ts";
import { withTempDir } from "./support/folders.ts";
import { submitJobs } from "./support/store.ts";

const DISPLAY = "spins";
const ALICE = { displayName: DISPLAY, username: "alice" };
const SPINS = testBackendConfig(DISPLAY, { num_wires: 1 });
const T0 = Date.parse("2026-11-28T10:00:00Z");
const at = (ms: number) => () => T0 + ms;

async function store(adapter: StorageAdapter, count: number) {
  await uploadConfig(adapter, SPINS);
  return await submitJobs(adapter, { ...ALICE, count, now: at(0) });
}

Deno.test("a claimer that stalls between its lease and its move for longer than the lease still gets a lease for the job it moved", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const [jobId] = await store(adapter, 1);
    const stalled = Promise.withResolvers<void>();
    const resume = Promise.withResolvers<void>();
    // The claimer freezes (SIGSTOP, a paused VM) right after its lease.
    const freezing = new FaultyAdapter(adapter, {});
    const moveOldest = freezing.moveOldest.bind(freezing);
    freezing.moveOldest = (from, to, options?: MoveOldestOptions) =>
      moveOldest(from, to, {
        ...options,
        prepare: async (id) => {
          const ok = await options!.prepare!(id);
          stalled.resolve();
          await resume.promise;
          return ok;
        },
      });
    const claiming = getNextJobInQueue(freezing, DISPLAY, {
      now: at(0),
      leaseMs: 1_000,
    });
    await stalled.promise;
    // Meanwhile a recovery finds a stale lease on a job that is still queued.
    await recoverStaleJobs(adapter, { displayName: DISPLAY, now: at(5_000) });
    assert.deepEqual(await adapter.list(leasesPath(DISPLAY)), []);
    resume.resolve();
    const claim = await claiming;
    assert.equal(claim.job_id, jobId);
    const lease = await adapter.get(leasesPath(DISPLAY), jobId);
    assert.equal(lease.token, claim.token, "the job in hand has its lease");
    assert.deepEqual(await adapter.list(RUNNING), [jobId]);
  });
});

Deno.test("an empty lease (a power cut) is reported, and once older than a lease removed, so that its job is taken again", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const [queued, running] = await store(adapter, 2);
    // One lease left empty on a queued job, one on a job in jobs/running.
    await adapter.move(queuedPath(DISPLAY), RUNNING, running);
    await Deno.mkdir(join(basePath, leasesPath(DISPLAY)), { recursive: true });
    for (const id of [queued, running]) {
      await Deno.writeTextFile(
        join(basePath, leasesPath(DISPLAY), `${id}.json`),
        "",
      );
    }
    const young = await recoverStaleJobs(adapter, { displayName: DISPLAY });
    assert.deepEqual(
      Object.keys(young.errors).sort(),
      [queued, running].sort(),
    );
    assert.match(
      young.errors[queued],
      /not valid JSON; it is removed once it is older than a lease/,
    );
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const id of [queued, running]) {
      await Deno.utime(
        join(basePath, leasesPath(DISPLAY), `${id}.json`),
        hourAgo,
        hourAgo,
      );
    }
    const old = await recoverStaleJobs(adapter, { displayName: DISPLAY });
    assert.match(old.errors[running], /it was removed/);
    // The running one is now a job without a lease, reported as such.
    assert.deepEqual(old.unleased, [running]);
    assert.equal((await getNextJobInQueue(adapter, DISPLAY)).job_id, queued);
  });
});

Deno.test("a layout whose job folders are on different filesystems is refused before any job is taken", async () => {
  const shm = "/dev/shm";
  try {
    if ((await Deno.stat(shm)).dev === (await Deno.stat(Deno.cwd())).dev) {
      return;
    }
  } catch {
    return; // no second filesystem here
  }
  await withTempDir(async (basePath) => {
    const elsewhere = await Deno.makeTempDir({ dir: shm });
    try {
      const adapter = new LocalAdapter({ basePath });
      const [jobId] = await store(adapter, 1);
      await Deno.mkdir(join(basePath, "jobs/finished"), { recursive: true });
      await Deno.symlink(elsewhere, join(basePath, "jobs/finished", DISPLAY));
      let runs = 0;
      const events: WorkerEvent[] = [];
      const controller = new AbortController();
      await runWorker(adapter, {
        signal: controller.signal,
        pollIntervalMs: 1,
        backends: {
          [DISPLAY]: { config: SPINS, execute: (job) => (runs++, zeros(job)) },
        },
        onEvent: (event) => {
          events.push(event);
          if (event.type === "error") controller.abort();
        },
      });
      assert.equal(runs, 0, "no job ran");
      const error = events.find((e) => e.type === "error");
      assert(error?.type === "error");
      assert.match(
        error.message,
        /jobs\/running and jobs\/finished\/spins are on different filesystems/,
      );
      assert.deepEqual(await adapter.list(queuedPath(DISPLAY)), [jobId]);
      assert.deepEqual(await adapter.list(leasesPath(DISPLAY)), []);
    } finally {
      await Deno.remove(elsewhere, { recursive: true });
    }
  });
});

Deno.test("a result that cannot be written ends its job ERROR at once, saying why, after one run", async () => {
  const adapter = new MemoryAdapter();
  const [jobId] = await store(adapter, 1);
  let runs = 0;
  const summary = await runWorker(adapter, {
    untilIdle: true,
    backends: {
      [DISPLAY]: {
        config: SPINS,
        execute: (job) => {
          runs++;
          const results = zeros(job);
          const header: Record<string, unknown> = {};
          header.self = header;
          results[0].header = header;
          return results;
        },
      },
    },
  });
  assert.equal(runs, 1);
  assert.equal(summary.failed, 1);
  const status = await getStatus(adapter, { ...ALICE, jobId });
  assert.equal(status.status, "ERROR");
  assert.match(
    status.error_message,
    /^The backend returned a result that cannot be stored: .*circular/,
  );
});

Deno.test("a job whose worker is stopped while it runs counts the attempt: it runs at most maxAttempts times", async () => {
  const adapter = new MemoryAdapter();
  const [jobId] = await store(adapter, 1);
  let runs = 0;
  for (let round = 0; round < 4; round++) {
    const controller = new AbortController();
    await runWorker(adapter, {
      untilIdle: true,
      maxAttempts: 2,
      signal: controller.signal,
      backends: {
        [DISPLAY]: {
          config: SPINS,
          execute: (_job, { signal }) => {
            runs++;
            controller.abort(); // the worker is told to stop, e.g. by SIGTERM
            throw signal.reason ?? new Error("stopped");
          },
        },
      },
    });
  }
  assert.equal(runs, 2);
  const status = await getStatus(adapter, { ...ALICE, jobId });
  assert.equal(status.status, "ERROR");
  assert.match(
    status.error_message,
    /failed 2 attempts; the last because its worker was stopped while the job ran/,
  );
});

Deno.test("a job that another tool submitted waits for its status before it runs, so that the status it writes cannot replace DONE", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    await uploadConfig(adapter, SPINS);
    const jobId = "7f0c1d2e3b4a59687766aa01";
    const controller = new AbortController();
    const events: WorkerEvent[] = [];
    const statusFile = join(basePath, statusPath(DISPLAY), `${jobId}.json`);
    const worker = runWorker(adapter, {
      signal: controller.signal,
      pollIntervalMs: 1,
      backends: { [DISPLAY]: { config: SPINS, execute: zeros } },
      onEvent: async (event) => {
        events.push(event);
        if (
          event.type === "idle" &&
          events.filter((e) => e.type === "idle").length === 1
        ) {
          // sqooler's web API: the job file first...
          await Deno.mkdir(join(basePath, queuedPath(DISPLAY)), {
            recursive: true,
          });
          await Deno.writeTextFile(
            join(basePath, queuedPath(DISPLAY), `${jobId}.json`),
            JSON.stringify({
              experiment_0: {
                instructions: [],
                num_wires: 1,
                shots: 1,
                wire_order: "sequential",
              },
            }),
          );
        }
        if (event.type === "released") {
          // ...then, a moment later, its status, written in place.
          await Deno.mkdir(join(basePath, statusPath(DISPLAY)), {
            recursive: true,
          });
          await Deno.writeTextFile(
            statusFile,
            JSON.stringify({
              job_id: jobId,
              status: "INITIALIZING",
              detail: "Got your json.",
              error_message: "None",
            }),
          );
        }
        if (event.type === "done") controller.abort();
      },
    });
    const summary = await worker;
    assert.equal(summary.done, 1);
    assert(
      events.some((e) => e.type === "released"),
      "the worker waited for the status",
    );
    assert.equal(
      JSON.parse(await Deno.readTextFile(statusFile)).status,
      "DONE",
    );
  });
});

Deno.test("purgeJobs() leaves a job that is being cancelled (its status not yet ERROR)", async () => {
  const adapter = new MemoryAdapter();
  const [jobId] = await store(adapter, 1);
  // A cancel moved the job to jobs/deleted and has not written its status yet.
  await adapter.move(queuedPath(DISPLAY), DELETED, jobId);
  const removed = await purgeJobs(adapter, {
    displayName: DISPLAY,
    olderThanMs: 0,
    now: () => Date.now() + 60_000,
  });
  assert.deepEqual(removed, []);
  assert.deepEqual(await adapter.list(DELETED), [jobId]);
  assert.deepEqual(await adapter.list(statusPath(DISPLAY)), [jobId]);
});

Deno.test("a job cancelled just as it returns is counted as failed, as recorded", async () => {
  const adapter = new MemoryAdapter();
  const [jobId] = await store(adapter, 1);
  const summary = await runWorker(adapter, {
    untilIdle: true,
    backends: {
      [DISPLAY]: {
        config: SPINS,
        execute: async (job, { jobId }) => {
          await cancelJob(adapter, { displayName: DISPLAY, jobId, by: "bob" });
          return zeros(job);
        },
      },
    },
  });
  assert.deepEqual(summary, { done: 0, failed: 1, released: 0, errors: 0 });
  const status = await getStatus(adapter, { ...ALICE, jobId });
  assert.equal(status.error_message, "Cancelled by bob.");
});

Deno.test("an upload refused for lack of file descriptors leaves no owner record, also when the first removal of it is refused too", async () => {
  for (const adapter of [new MemoryAdapter()]) {
    await uploadConfig(adapter, SPINS);
    let refusedDeletes = 0;
    const faulty = new FaultyAdapter(adapter, {
      before(operation) {
        if (
          operation.method === "upload" &&
          operation.path === queuedPath(DISPLAY)
        ) {
          throw storageFault("EMFILE", operation);
        }
        if (
          operation.method === "delete" &&
          operation.path === metaPath(DISPLAY) && refusedDeletes < 2
        ) {
          refusedDeletes++;
          throw storageFault("EMFILE", operation);
        }
      },
    });
    const job = jobOf();
    await assert.rejects(
      uploadJob(faulty, { job, ...ALICE }),
      (error: unknown) =>
        error instanceof StorageError && error.code === "EMFILE",
    );
    assert.equal(refusedDeletes, 2);
    assert.deepEqual(await adapter.list(metaPath(DISPLAY)), []);
  }
});

const JOB: Job = {
  experiment_0: {
    instructions: [["measure", [0], []]],
    num_wires: 1,
    shots: 1,
    wire_order: "interleaved",
  },
};

const resultOf = (jobId: string) => doneResult(DISPLAY, jobId, zeros(JOB));

/** A submitted job with its status, and a lease as versions before fencing wrote it. */
async function withOldLease(adapter: StorageAdapter, { running = true } = {}) {
  await uploadConfig(adapter, SPINS);
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  await uploadStatus(adapter, { ...ALICE, jobId });
  if (running) await adapter.move(queuedPath(DISPLAY), RUNNING, jobId);
  await adapter.upload(leasesPath(DISPLAY), jobId, {
    job_id: jobId,
    claimed_at: "2026-01-01T10:00:00Z",
    expires_at: "2026-01-01T10:10:00Z",
  });
  return jobId;
}

Deno.test("recovery puts back the job of a stale lease that an earlier version wrote (no token, state or renewed_at)", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const jobId = await withOldLease(adapter);
    const report = await recoverStaleJobs(adapter, { displayName: DISPLAY });
    assert.deepEqual(report.requeued, [jobId]);
    assert.deepEqual(await adapter.list(queuedPath(DISPLAY)), [jobId]);
    assert.deepEqual(await adapter.list(RUNNING), []);
    adapter.close();
  });
});

Deno.test("a token-less outcome completes a job that holds an earlier version's lease", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const jobId = await withOldLease(adapter);
    await updateInDatabase(adapter, {
      jobId,
      displayName: DISPLAY,
      status: doneStatus(jobId),
      result: resultOf(jobId),
    });
    assert.equal(
      (await getStatus(adapter, { ...ALICE, jobId })).status,
      "DONE",
    );
    assert.deepEqual(await adapter.list(leasesPath(DISPLAY)), []);
    adapter.close();
  });
});

Deno.test("a queued job with an earlier version's stale lease (its claimer died before the move) is taken after recovery", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const jobId = await withOldLease(adapter, { running: false });
    await recoverStaleJobs(adapter, { displayName: DISPLAY });
    assert.equal((await getNextJobInQueue(adapter, DISPLAY)).job_id, jobId);
    adapter.close();
  });
});

/** A running job and its claim's token. */
async function runningJob(adapter: StorageAdapter) {
  await uploadConfig(adapter, SPINS);
  const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
  await uploadStatus(adapter, { ...ALICE, jobId });
  const next = await getNextJobInQueue(adapter, DISPLAY);
  assert.equal(next.job_id, jobId);
  return { jobId, token: next.token! };
}

Deno.test("a cancel that comes in while an outcome checks its result ends the job ERROR, not DONE", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const { jobId, token } = await runningJob(adapter);
    // The outcome has read the lease and is reading the job to check the result.
    const pause = new PausePoint((op) =>
      op.method === "get" && op.path === RUNNING
    );
    const recording = updateInDatabase(new FaultyAdapter(adapter, pause), {
      jobId,
      displayName: DISPLAY,
      token,
      status: doneStatus(jobId),
      result: resultOf(jobId),
    });
    await pause.reached;
    assert.equal(
      await cancelJob(adapter, { ...ALICE, jobId, by: "alice" }),
      "requested",
    );
    pause.resume();
    await recording;
    const status = await getStatus(adapter, { ...ALICE, jobId });
    assert.equal(status.status, "ERROR");
    assert.equal(status.error_message, "Cancelled by alice.");
    adapter.close();
  });
});

Deno.test("a cancel that comes in while the lease is renewed stays: the job then ends ERROR", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const { jobId, token } = await runningJob(adapter);
    // The lease keeper has read the lease and is about to swap it.
    const pause = new PausePoint((op) =>
      op.method === "update" && op.path === leasesPath(DISPLAY)
    );
    const extending = extendLease(new FaultyAdapter(adapter, pause), {
      displayName: DISPLAY,
      jobId,
      token,
    });
    await pause.reached;
    assert.equal(await cancelJob(adapter, { ...ALICE, jobId }), "requested");
    pause.resume();
    const lease = await extending;
    assert.equal(lease.cancel_requested, "Cancelled by alice.");
    await updateInDatabase(adapter, {
      jobId,
      displayName: DISPLAY,
      token,
      status: doneStatus(jobId),
      result: resultOf(jobId),
    });
    assert.equal(
      (await getStatus(adapter, { ...ALICE, jobId })).status,
      "ERROR",
    );
    adapter.close();
  });
});

/**
 * An adapter whose upload of a job puts the job in place and then fails, as a
 * folder sync after the file's link can; `between` runs in between.
 */
function failingAfterUpload(
  inner: StorageAdapter,
  between: () => Promise<void> = async () => {},
): StorageAdapter {
  return new FaultyAdapter(inner, {
    async before(operation) {
      if (
        operation.method === "upload" && operation.path === queuedPath(DISPLAY)
      ) {
        await inner.upload(operation.path, operation.id!, JOB);
        await between();
        throw storageFault("EIO", operation);
      }
    },
  });
}

Deno.test("a job upload that fails after the job was in place changes nothing: the job is taken out again, with its owner record", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    await uploadConfig(adapter, SPINS);
    await assert.rejects(
      uploadJob(failingAfterUpload(adapter), { job: JOB, ...ALICE }),
      (error: unknown) => error instanceof StorageError && error.code === "EIO",
    );
    assert.deepEqual(await adapter.list(queuedPath(DISPLAY)), []);
    assert.deepEqual(await adapter.list(metaPath(DISPLAY)), []);
    adapter.close();
  });
});

Deno.test("a job that a worker took before its failed upload was cleaned up is submitted: the upload answers its id, and it keeps its owner", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    await uploadConfig(adapter, SPINS);
    let taken = "";
    const api = failingAfterUpload(adapter, async () => {
      taken = (await getNextJobInQueue(adapter, DISPLAY)).job_id;
    });
    assert.equal(await uploadJob(api, { job: JOB, ...ALICE }), taken);
    assert.deepEqual(await adapter.list(RUNNING), [taken]);
    assert.deepEqual(await adapter.list(metaPath(DISPLAY)), [taken]);
    const asEve = await getStatus(adapter, {
      displayName: DISPLAY,
      username: "eve",
      jobId: taken,
    });
    assert.equal(asEve.status, "ERROR");
    adapter.close();
  });
});

Deno.test("a lease that someone stored signed (a JWS dict) is renewed, cancelled and recovered like any other, never in a loop", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const { jobId, token } = await runningJob(adapter);
    const sign = async () => {
      const lease = await adapter.get(leasesPath(DISPLAY), jobId);
      await adapter.update(leasesPath(DISPLAY), jobId, {
        header: { alg: "EdDSA", kid: "somekey", typ: "JWS", version: "0.1" },
        payload: lease,
        signature: "c2lnbmF0dXJl",
      });
    };
    await sign();
    const renewed = await extendLease(adapter, {
      displayName: DISPLAY,
      jobId,
      token,
      now: at(60_000),
    });
    assert.equal(renewed.token, token);
    await sign();
    assert.equal(await cancelJob(adapter, { ...ALICE, jobId }), "requested");
    await sign();
    // Its worker died: once the lease ran out, recovery ends the cancelled job.
    const report = await recoverStaleJobs(adapter, {
      displayName: DISPLAY,
      now: at(86_400_000),
    });
    assert.deepEqual(report.errors, {});
    assert.deepEqual(await adapter.list(RUNNING), []);
    assert.deepEqual(await adapter.list(leasesPath(DISPLAY)), []);
    const status = await getStatus(adapter, { ...ALICE, jobId });
    assert.equal(status.status, "ERROR");
    assert.equal(status.error_message, "Cancelled by alice.");
    adapter.close();
  });
});

Deno.test("a worker whose result took longer than its lease to write, while a recovery put the job back, records nothing more: the job stays queued", async () => {
  for (const Adapter of ["memory", "local"] as const) {
    await withTempDir(async (basePath) => {
      const adapter = Adapter === "memory"
        ? new MemoryAdapter()
        : new LocalAdapter({ basePath });
      await uploadConfig(adapter, SPINS);
      const jobId = await uploadJob(adapter, { job: JOB, ...ALICE });
      await uploadStatus(adapter, { ...ALICE, jobId });
      let time = T0;
      const now = () => time;
      const next = await getNextJobInQueue(adapter, DISPLAY, {
        now,
        leaseMs: 60_000,
      });
      // The outcome is decided; the result's write is slow (a disk, many shots).
      const pause = new PausePoint((op) =>
        op.method === "upload" && op.path === `results/${DISPLAY}`
      );
      const recording = updateInDatabase(new FaultyAdapter(adapter, pause), {
        jobId,
        displayName: DISPLAY,
        token: next.token,
        status: doneStatus(jobId),
        result: resultOf(jobId),
        leaseMs: 60_000,
        now,
      }).catch((error) => error);
      await pause.reached;
      time += 10 * 60_000;
      // A recovery finds the decided lease long expired and no result yet.
      const report = await recoverStaleJobs(adapter, {
        displayName: DISPLAY,
        now,
      });
      assert.deepEqual(report.requeued, [jobId], Adapter);
      pause.resume();
      const error = await recording;
      assert(error instanceof LeaseLostError, `${Adapter}: ${error}`);
      assert.deepEqual(await adapter.list(queuedPath(DISPLAY)), [jobId]);
      assert.notEqual(
        (await getStatus(adapter, { ...ALICE, jobId })).status,
        "DONE",
        `${Adapter}: a job put back does not read as DONE`,
      );
      assert.deepEqual(await adapter.list(leasesPath(DISPLAY)), []);
    });
  }
});
