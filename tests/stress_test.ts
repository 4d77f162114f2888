// The job protocol under load across processes: worker processes draining
// one folder while another process recovers in a loop. Every lease is fresh
// (ten minutes), so a recovery that touched a live job would show up as a job
// executed twice.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DELETED,
  finishedPath,
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
const WORKERS = 3;
const JOBS = 1_200;

Deno.test("3 runWorker processes and a process recovering in a loop run 1,200 jobs: each exactly once, all DONE with results", async () => {
  await withTempDir(async (root) => {
    const basePath = join(root, "store");
    const log = join(basePath, "executions.log");
    const adapter = new LocalAdapter({ basePath, name: "lab" });
    await uploadConfig(adapter, configOf(DISPLAY));
    const producer = startScript("producer.ts", {
      basePath,
      displayName: DISPLAY,
      username: "alice",
      count: JOBS,
    });
    const workers = Array.from(
      { length: WORKERS },
      () =>
        startScript("run_worker.ts", {
          basePath,
          displayName: DISPLAY,
          log,
          // Each worker recovers on every round too.
          recoverIntervalMs: 5,
        }),
    );
    const recoverer = startScript("recoverer.ts", {
      basePath,
      displayName: DISPLAY,
    });
    const produced = await producer.finish();
    assert.equal(produced.code, 0, produced.stderr);
    const { ids } = JSON.parse(produced.stdout) as { ids: string[] };
    const drained = await Promise.all(workers.map((w) => w.finish()));
    const recovered = await recoverer.finish();
    for (const run of [...drained, recovered]) {
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, "");
    }
    const rounds = JSON.parse(recovered.stdout);
    assert(rounds.rounds > 0, "the recovering process ran");
    assert.equal(
      rounds.requeued + rounds.failed,
      0,
      "no fresh lease was recovered",
    );

    const runs = new Map<string, number>();
    for (const line of (await Deno.readTextFile(log)).split("\n")) {
      if (line !== "") runs.set(line, (runs.get(line) ?? 0) + 1);
    }
    const twice = [...runs].filter(([, count]) => count > 1);
    assert.deepEqual(twice, [], "jobs executed more than once");
    assert.equal(runs.size, JOBS, "every job ran");
    const summaries = drained.map((run) => JSON.parse(run.stdout));
    assert.equal(
      summaries.reduce((sum, s) => sum + s.done, 0),
      JOBS,
      "DONE counted once per job",
    );

    assert.deepEqual(
      (await adapter.list(finishedPath(DISPLAY))).sort(),
      [...ids].sort(),
    );
    for (
      const folder of [
        queuedPath(DISPLAY),
        RUNNING,
        DELETED,
        leasesPath(DISPLAY),
      ]
    ) {
      assert.deepEqual(await adapter.list(folder), [], folder);
    }
    for (const jobId of ids) {
      const ref = { displayName: DISPLAY, username: "alice", jobId };
      assert.equal((await getStatus(adapter, ref)).status, "DONE");
      assert.equal((await getResult(adapter, ref)).results.length, 1);
    }
  });
});
