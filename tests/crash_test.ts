import assert from "node:assert/strict";
import {
  DELETED,
  finishedPath,
  getFileQueue,
  getJobContent,
  getNextJobInQueue,
  getQueueStats,
  getStatus,
  JobMeta,
  Lease,
  leasesPath,
  LocalAdapter,
  metaPath,
  queuedPath,
  recoverStaleJobs,
  RUNNING,
  updateInDatabase,
  uploadConfig,
} from "../mod.ts";
import { configOf, doneOutcome } from "./support/fixtures.ts";
import { withTempDir } from "./support/folders.ts";
import { startScript } from "./support/processes.ts";
import { submitJobs } from "./support/store.ts";

const DISPLAY = "spins";
const OWNER = { displayName: DISPLAY, username: "alice" };
const OLDER_THAN_MS = 60_000;

async function setUp(basePath: string, jobs: number) {
  const adapter = new LocalAdapter({ basePath, name: "lab" });
  await uploadConfig(adapter, configOf(DISPLAY));
  const ids = await submitJobs(adapter, { ...OWNER, count: jobs });
  return { adapter, ids };
}

/** Starts a worker process that claims `hold` jobs, then kills it with SIGKILL. */
async function killWorkerHolding(
  basePath: string,
  hold: number,
): Promise<string[]> {
  const worker = startScript("worker.ts", {
    basePath,
    displayName: DISPLAY,
    mode: "hold",
    hold,
  });
  const line = await worker.line();
  worker.child.kill("SIGKILL");
  const run = await worker.finish();
  assert.equal(run.stderr, "", `the holding worker failed: ${run.stderr}`);
  assert.equal(run.code, 137, "the worker should have died by SIGKILL");
  assert(line !== undefined, "the worker printed nothing");
  return (JSON.parse(line) as { held: string[] }).held;
}

/** A clock just past the point where every lease of the backend is stale. */
async function pastEveryLease(adapter: LocalAdapter): Promise<() => number> {
  let latest = 0;
  for (const id of await getFileQueue(adapter, leasesPath(DISPLAY))) {
    const lease = Lease.parse(await adapter.get(leasesPath(DISPLAY), id));
    latest = Math.max(latest, Date.parse(lease.expires_at));
  }
  assert(latest > 0, "the killed worker left no lease");
  // Past every lease's end, and the margin that the recovery is given.
  const fakeTime = latest + OLDER_THAN_MS + 1;
  return () => fakeTime;
}

async function attemptsOf(adapter: LocalAdapter, jobId: string) {
  return JobMeta.parse(await adapter.get(metaPath(DISPLAY), jobId)).attempts;
}

Deno.test("recoverStaleJobs() gives the jobs of a worker killed by SIGKILL to the next worker", async () => {
  await withTempDir(async (basePath) => {
    const { adapter, ids } = await setUp(basePath, 6);
    const held = await killWorkerHolding(basePath, 3);
    // The killed worker took the three oldest jobs.
    assert.deepEqual(held, ids.slice(0, 3));
    assert.deepEqual(await getFileQueue(adapter, RUNNING), held);
    assert.deepEqual(await getFileQueue(adapter, leasesPath(DISPLAY)), held);

    // With the real clock, the leases are good: nothing is taken away.
    const early = await recoverStaleJobs(adapter, {
      displayName: DISPLAY,
      olderThanMs: OLDER_THAN_MS,
    });
    assert.deepEqual(early.alive, held);
    assert.deepEqual(early.requeued, []);

    const report = await recoverStaleJobs(adapter, {
      displayName: DISPLAY,
      olderThanMs: OLDER_THAN_MS,
      now: await pastEveryLease(adapter),
    });
    assert.deepEqual(report.requeued, held);
    assert.deepEqual(report.failed, []);
    assert.deepEqual(
      report.attempts,
      Object.fromEntries(held.map((id) => [id, 1])),
    );
    assert.deepEqual(await getFileQueue(adapter, RUNNING), []);
    assert.deepEqual(await getFileQueue(adapter, leasesPath(DISPLAY)), []);
    // Back at the head of the queue, in their order.
    assert.deepEqual(await getFileQueue(adapter, queuedPath(DISPLAY)), ids);

    // A second worker (a fresh adapter: no listing cached) completes every job.
    const second = new LocalAdapter({ basePath, name: "lab" });
    const claimed: string[] = [];
    for (;;) {
      const next = await getNextJobInQueue(second, DISPLAY);
      if (next.job_id === "None") break;
      const jobId = next.job_id;
      const job = await getJobContent(second, {
        storagePath: next.job_json_path,
        jobId,
      });
      assert("experiment_0" in job);
      await updateInDatabase(second, doneOutcome(DISPLAY, jobId));
      claimed.push(jobId);
    }
    assert.deepEqual(claimed, ids);
    for (const jobId of ids) {
      const status = await getStatus(adapter, { ...OWNER, jobId });
      assert.equal(status.status, "DONE");
      // Attempts count the workers that took the job and died.
      assert.equal(
        await attemptsOf(adapter, jobId),
        held.includes(jobId) ? 1 : 0,
      );
    }
    assert.deepEqual(await getFileQueue(adapter, finishedPath(DISPLAY)), ids);
    const stats = await getQueueStats(adapter, DISPLAY);
    assert.equal(stats.queued + stats.running + stats.failed, 0);
    assert.equal(stats.finished, ids.length);
  });
});

Deno.test("recoverStaleJobs() marks a job ERROR after maxAttempts workers were killed on it", async () => {
  await withTempDir(async (basePath) => {
    const { adapter, ids: [jobId] } = await setUp(basePath, 1);
    const maxAttempts = 3;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      assert.deepEqual(await killWorkerHolding(basePath, 1), [jobId]);
      const report = await recoverStaleJobs(adapter, {
        displayName: DISPLAY,
        olderThanMs: OLDER_THAN_MS,
        maxAttempts,
        now: await pastEveryLease(adapter),
      });
      assert.deepEqual(report.attempts, { [jobId]: attempt });
      assert.equal(await attemptsOf(adapter, jobId), attempt);
      if (attempt < maxAttempts) {
        assert.deepEqual(report.requeued, [jobId]);
        assert.deepEqual(await getFileQueue(adapter, queuedPath(DISPLAY)), [
          jobId,
        ]);
      } else {
        assert.deepEqual(report.requeued, []);
        assert.deepEqual(report.failed, [jobId]);
      }
    }
    const status = await getStatus(adapter, { ...OWNER, jobId });
    assert.equal(status.status, "ERROR");
    assert.match(
      status.error_message,
      new RegExp(
        `${jobId} failed 3 attempts; the last because its worker stopped before it recorded an outcome`,
      ),
    );
    assert.deepEqual(await getFileQueue(adapter, queuedPath(DISPLAY)), []);
    assert.deepEqual(await getFileQueue(adapter, RUNNING), []);
    assert.deepEqual(await getFileQueue(adapter, DELETED), [jobId]);
    assert.equal(
      (await getNextJobInQueue(adapter, DISPLAY)).job_id,
      "None",
      "a failed job is not handed out again",
    );
    assert.equal((await getQueueStats(adapter, DISPLAY)).failed, 1);
  });
});
