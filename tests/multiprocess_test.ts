import assert from "node:assert/strict";
import {
  finishedPath,
  getFileQueue,
  getResult,
  getStatus,
  leasesPath,
  LocalAdapter,
  queuedPath,
  RUNNING,
  uploadConfig,
} from "../mod.ts";
import { configOf } from "./support/fixtures.ts";
import { withTempDir } from "./support/folders.ts";
import { startScript } from "./support/processes.ts";

const DISPLAY = "fermions";
const PRODUCERS = ["alice", "bob"];
const WORKERS = 4;
const JOBS_PER_PRODUCER = 1000;

Deno.test("2 producer and 4 worker processes on one folder finish 2,000 jobs exactly once", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath, name: "lab" });
    await uploadConfig(adapter, configOf(DISPLAY));
    const started = performance.now();
    const workers = Array.from(
      { length: WORKERS },
      () =>
        startScript("worker.ts", {
          basePath,
          displayName: DISPLAY,
          mode: "drain",
        }),
    );
    const producers = PRODUCERS.map((username) =>
      startScript("producer.ts", {
        basePath,
        displayName: DISPLAY,
        username,
        count: JOBS_PER_PRODUCER,
      })
    );
    const produced = await Promise.all(producers.map((p) => p.finish()));
    const producedMs = performance.now() - started;
    // The producers are done: every worker stops once the queue is empty.
    const drained = await Promise.all(workers.map((w) => w.finish()));
    const totalMs = performance.now() - started;

    for (const run of [...produced, ...drained]) {
      assert.equal(run.stderr, "", `a process wrote to stderr: ${run.stderr}`);
      assert.equal(run.code, 0, `a process exited with ${run.code}`);
    }
    const owner = new Map<string, string>();
    const producerOf = new Map<string, number>();
    produced.forEach((run, p) => {
      const { ids } = JSON.parse(run.stdout) as { ids: string[] };
      assert.equal(ids.length, JOBS_PER_PRODUCER);
      for (const id of ids) {
        assert(!owner.has(id), `job id ${id} was handed out twice`);
        owner.set(id, PRODUCERS[p]);
        producerOf.set(id, p);
      }
    });
    const reports = drained.map((run) =>
      JSON.parse(run.stdout) as {
        finished: string[];
        emptyPolls: number;
        ms: number;
      }
    );

    // Exactly once: no id twice across workers, and the union is every job.
    const finishedBy = new Map<string, number>();
    reports.forEach((report, w) => {
      for (const id of report.finished) {
        assert(
          !finishedBy.has(id),
          `job ${id} was finished by worker ${
            finishedBy.get(id)
          } and worker ${w}`,
        );
        finishedBy.set(id, w);
      }
    });
    assert.equal(finishedBy.size, owner.size);
    for (const id of owner.keys()) {
      assert(finishedBy.has(id), `job ${id} was never finished`);
    }

    // Nothing left behind.
    assert.deepEqual(await getFileQueue(adapter, queuedPath(DISPLAY)), []);
    assert.deepEqual(await getFileQueue(adapter, RUNNING), []);
    assert.deepEqual(await getFileQueue(adapter, leasesPath(DISPLAY)), []);
    assert.equal(
      (await getFileQueue(adapter, finishedPath(DISPLAY))).length,
      owner.size,
    );

    // Every status DONE with its result, for the user who submitted the job;
    // the other user learns nothing.
    for (const [jobId, username] of owner) {
      const ref = { displayName: DISPLAY, username, jobId };
      const status = await getStatus(adapter, ref);
      assert.equal(status.status, "DONE", `job ${jobId}: ${status.detail}`);
      const result = await getResult(adapter, ref);
      assert.equal(result.status, "DONE");
      assert.equal(result.job_id, jobId);
      assert.equal(result.backend_name, "lab_fermions_simulator");
      const shots = result.results[0].shots;
      assert.deepEqual(result.results[0].data.memory, Array(shots).fill("1"));
    }
    const [someJob, someOwner] = owner.entries().next().value!;
    const stranger = PRODUCERS.find((name) => name !== someOwner)!;
    const peek = { displayName: DISPLAY, username: stranger, jobId: someJob };
    assert.equal((await getStatus(adapter, peek)).status, "ERROR");
    assert.equal((await getResult(adapter, peek)).results.length, 0);

    // Each worker's own claims, per producer, in submission order.
    const inversions = reports.map((report) => {
      const last = PRODUCERS.map(() => "");
      let count = 0;
      for (const id of report.finished) {
        const p = producerOf.get(id)!;
        if (id < last[p]) count++;
        last[p] = id;
      }
      return count;
    });
    console.log(
      `  ${owner.size} jobs, ${PRODUCERS.length} producers, ${WORKERS} workers: ` +
        `produced in ${Math.round(producedMs)} ms, all done in ${
          Math.round(totalMs)
        } ms; ` +
        `jobs per worker ${
          reports.map((r) => r.finished.length).join("/")
        }, empty polls ${
          reports.map((r) => r.emptyPolls).join("/")
        }, out-of-order claims ${inversions.join("/")}`,
    );
    // A listing can miss a file created while the folder is read, so a rare
    // inversion is possible; a broken order would show in half the claims.
    const outOfOrder = inversions.reduce((sum, n) => sum + n, 0);
    assert(outOfOrder <= owner.size / 100, `${outOfOrder} claims out of order`);
  });
});
