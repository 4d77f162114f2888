// The operator's functions, on both adapters: cancel, retry, list, purge,
// each within the job protocol.

import assert from "node:assert/strict";
import {
  cancelJob,
  DELETED,
  finishedPath,
  getNextJobInQueue,
  getStatus,
  JobStateError,
  listJobs,
  LocalAdapter,
  MemoryAdapter,
  metaPath,
  NotFoundError,
  purgeJobs,
  queuedPath,
  resultsPath,
  retryJob,
  RUNNING,
  runWorker,
  statusPath,
  type StorageAdapter,
  updateInDatabase,
  uploadConfig,
  type WorkerEvent,
} from "@sqooler/storage";
import { testBackendConfig } from "@sqooler/storage/testing";
import { doneOutcome, errorStatus, zeros } from "./support/fixtures.ts";
import { withTempDir } from "./support/folders.ts";
import { submitJobs } from "./support/store.ts";

const DISPLAY = "spins";
const ALICE = { displayName: DISPLAY, username: "alice" };
const SPINS = testBackendConfig(DISPLAY, { num_wires: 1 });
const T0 = Date.parse("2026-11-28T10:00:00Z");
const at = (ms: number) => () => T0 + ms;

/** Runs `test` once on a MemoryAdapter and once on a LocalAdapter in a temp folder. */
function onBoth(
  name: string,
  test: (adapter: StorageAdapter) => Promise<void>,
) {
  Deno.test(`${name} (MemoryAdapter)`, () => test(new MemoryAdapter()));
  Deno.test(
    `${name} (LocalAdapter)`,
    () => withTempDir((basePath) => test(new LocalAdapter({ basePath }))),
  );
}

async function store(adapter: StorageAdapter, count: number) {
  await uploadConfig(adapter, SPINS);
  return await submitJobs(adapter, { ...ALICE, count, now: at(0) });
}

onBoth(
  "cancelJob() ends a queued job ERROR at once, saying who cancelled it",
  async (adapter) => {
    const [a, b] = await store(adapter, 2);
    assert.equal(await cancelJob(adapter, { ...ALICE, jobId: a }), "cancelled");
    const status = await getStatus(adapter, { ...ALICE, jobId: a });
    assert.equal(status.status, "ERROR");
    assert.equal(status.error_message, "Cancelled by alice.");
    assert.deepEqual(await adapter.list(DELETED), [a]);
    assert.deepEqual(await adapter.list(queuedPath(DISPLAY)), [b]);
    // The next worker takes the other job.
    assert.equal((await getNextJobInQueue(adapter, DISPLAY)).job_id, b);
    // Another user cannot cancel alice's job: it looks like no job at all.
    await assert.rejects(
      cancelJob(adapter, { displayName: DISPLAY, username: "eve", jobId: b }),
      NotFoundError,
    );
    await assert.rejects(
      cancelJob(adapter, { ...ALICE, jobId: a }),
      JobStateError,
      "a job that ended cannot be cancelled",
    );
    await assert.rejects(
      cancelJob(adapter, { ...ALICE, jobId: "0123456789abcdef01234567" }),
      NotFoundError,
    );
  },
);

onBoth(
  "cancelJob() of a running job aborts its execute, and the job ends ERROR with the message",
  async (adapter) => {
    const [jobId] = await store(adapter, 1);
    const started = Promise.withResolvers<void>();
    const aborted = Promise.withResolvers<unknown>();
    const events: WorkerEvent[] = [];
    const worker = runWorker(adapter, {
      untilIdle: true,
      leaseMs: 60_000,
      onEvent: (event) => void events.push(event),
      backends: {
        [DISPLAY]: {
          config: SPINS,
          execute: async (job, { signal }) => {
            started.resolve();
            signal.addEventListener(
              "abort",
              () => aborted.resolve(signal.reason),
              {
                once: true,
              },
            );
            await aborted.promise;
            // A backend that ignores the abort and returns results all the same.
            return zeros(job);
          },
        },
      },
    });
    await started.promise;
    assert.equal(
      await cancelJob(adapter, {
        displayName: DISPLAY,
        jobId,
        by: "operator bob",
      }),
      "requested",
    );
    const reason = await aborted.promise;
    assert.equal((reason as Error).name, "JobCancelledError");
    const summary = await worker;
    assert.deepEqual(summary, { done: 0, failed: 1, released: 0, errors: 0 });
    const status = await getStatus(adapter, { ...ALICE, jobId });
    assert.equal(status.status, "ERROR");
    assert.equal(status.error_message, "Cancelled by operator bob.");
    assert.deepEqual(await adapter.list(DELETED), [jobId]);
    assert.deepEqual(await adapter.list(resultsPath(DISPLAY)), []);
    assert(
      events.some((e) =>
        e.type === "failed" && e.message === "Cancelled by operator bob."
      ),
    );
  },
);

onBoth(
  "retryJob() puts a failed job back at the head of its queue with its attempts reset",
  async (adapter) => {
    const [a, b] = await store(adapter, 2);
    const next = await getNextJobInQueue(adapter, DISPLAY);
    assert.equal(next.job_id, a);
    await updateInDatabase(adapter, {
      jobId: a,
      displayName: DISPLAY,
      token: next.token,
      status: errorStatus(a, "The machine was down"),
    });
    await adapter.update(metaPath(DISPLAY), a, {
      ...(await adapter.get(metaPath(DISPLAY), a)),
      attempts: 2,
    });
    await retryJob(adapter, { displayName: DISPLAY, jobId: a, by: "bob" });
    assert.deepEqual(await adapter.list(queuedPath(DISPLAY)), [a, b]);
    assert.deepEqual(await adapter.list(DELETED), []);
    assert.equal((await adapter.get(metaPath(DISPLAY), a)).attempts, 0);
    const status = await getStatus(adapter, { ...ALICE, jobId: a });
    assert.equal(status.status, "INITIALIZING");
    assert.match(status.detail, /Retried by bob/);
    // A job that did not fail cannot be retried, nor one of another backend.
    await assert.rejects(
      retryJob(adapter, { displayName: DISPLAY, jobId: b }),
      NotFoundError,
    );
    await assert.rejects(
      retryJob(adapter, { displayName: "other", jobId: a }),
      NotFoundError,
    );
  },
);

onBoth(
  "listJobs() lists a backend's jobs by state with owner, submission time, attempts and age",
  async (adapter) => {
    const [a, b, c] = await store(adapter, 3);
    const next = await getNextJobInQueue(adapter, DISPLAY, { now: at(1_000) });
    await updateInDatabase(adapter, {
      ...doneOutcome(DISPLAY, a),
      token: next.token,
    });
    await getNextJobInQueue(adapter, DISPLAY, { now: at(2_000) });
    const all = await listJobs(adapter, {
      displayName: DISPLAY,
      now: at(60_000),
    });
    assert.deepEqual(
      all.map((
        job,
      ) => [job.jobId, job.state, job.username, job.attempts, job.ageMs]),
      [
        [c, "queued", "alice", 0, 60_000],
        [b, "running", "alice", 0, 60_000],
        [a, "finished", "alice", 0, 60_000],
      ],
    );
    assert.equal(all[0].submittedAt, new Date(T0).toISOString());
    assert.deepEqual(
      (await listJobs(adapter, { displayName: DISPLAY, state: "running" })).map(
        (j) => j.jobId,
      ),
      [b],
    );
    assert.equal(
      (await listJobs(adapter, { displayName: DISPLAY, limit: 1 })).length,
      1,
    );
    await assert.rejects(
      listJobs(adapter, { displayName: DISPLAY, state: "lost" as never }),
      /Invalid state "lost"/,
    );
  },
);

onBoth(
  "purgeJobs() removes old finished and failed jobs with their records; a dry run removes nothing",
  async (adapter) => {
    const [a, b, c] = await store(adapter, 3);
    for (const [jobId, ok] of [[a, true], [b, false]] as const) {
      const next = await getNextJobInQueue(adapter, DISPLAY);
      assert.equal(next.job_id, jobId);
      await updateInDatabase(
        adapter,
        ok ? { ...doneOutcome(DISPLAY, jobId), token: next.token } : {
          jobId,
          displayName: DISPLAY,
          token: next.token,
          status: errorStatus(jobId, "bad"),
        },
      );
    }
    const later = () => Date.now() + 48 * 3_600_000;
    const dry = await purgeJobs(adapter, {
      displayName: DISPLAY,
      olderThanMs: 24 * 3_600_000,
      dryRun: true,
      now: later,
    });
    assert.deepEqual(dry.map((j) => j.jobId).sort(), [a, b].sort());
    assert.deepEqual(await adapter.list(finishedPath(DISPLAY)), [a]);
    // Too young for a purge of week-old jobs.
    assert.deepEqual(
      await purgeJobs(adapter, {
        displayName: DISPLAY,
        olderThanMs: 7 * 24 * 3_600_000,
        now: later,
      }),
      [],
    );
    const removed = await purgeJobs(adapter, {
      displayName: DISPLAY,
      olderThanMs: 24 * 3_600_000,
      now: later,
    });
    assert.deepEqual(
      removed.map((j) => [j.jobId, j.state]).sort(),
      [[a, "finished"], [b, "failed"]].sort(),
    );
    for (const path of [finishedPath(DISPLAY), DELETED, resultsPath(DISPLAY)]) {
      assert.deepEqual(await adapter.list(path), [], path);
    }
    assert.deepEqual(await adapter.list(statusPath(DISPLAY)), [c]);
    assert.deepEqual(await adapter.list(metaPath(DISPLAY)), [c]);
    assert.deepEqual(await adapter.list(queuedPath(DISPLAY)), [c]);
    await assert.rejects(
      purgeJobs(adapter, { displayName: DISPLAY } as never),
      /needs an age/,
    );
  },
);

onBoth(
  "purgeJobs() racing with a worker that finishes jobs removes nothing that has not ended",
  async (adapter) => {
    const ids = await store(adapter, 30);
    const purged: string[] = [];
    const worker = runWorker(adapter, {
      untilIdle: true,
      backends: { [DISPLAY]: { config: SPINS, execute: zeros } },
    });
    // Purge everything that ended, as fast as it can, while the worker drains.
    let draining = true;
    worker.finally(() => draining = false);
    while (draining) {
      const removed = await purgeJobs(adapter, {
        displayName: DISPLAY,
        olderThanMs: 0,
        now: () => Date.now() + 1_000,
      });
      purged.push(...removed.map((job) => job.jobId));
      // Let the worker have its turn (on a MemoryAdapter nothing else waits).
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const summary = await worker;
    assert.equal(summary.done, 30);
    // What the purge did not take is finished, with its status.
    const finished = await adapter.list(finishedPath(DISPLAY));
    assert.deepEqual([...purged, ...finished].sort(), [...ids].sort());
    for (const jobId of finished) {
      assert.equal(
        (await getStatus(adapter, { ...ALICE, jobId })).status,
        "DONE",
      );
    }
    assert.deepEqual(await adapter.list(RUNNING), []);
  },
);
