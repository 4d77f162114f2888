import assert from "node:assert/strict";
import {
  getNextJobInQueue,
  LocalAdapter,
  updateInDatabase,
  uploadConfig,
} from "../mod.ts";
import { configOf, doneOutcome } from "./support/fixtures.ts";
import { withTempDir } from "./support/folders.ts";
import { startScript } from "./support/processes.ts";
import { submitJobs } from "./support/store.ts";

const DISPLAY = "spins";
const USER = "alice";
const ITERATIONS = 1500;

Deno.test("a reader process never sees a torn config, status or result while other processes rewrite them", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath, name: "lab" });
    await uploadConfig(adapter, configOf(DISPLAY));
    const [jobId] = await submitJobs(adapter, {
      displayName: DISPLAY,
      username: USER,
    });
    assert.equal((await getNextJobInQueue(adapter, DISPLAY)).job_id, jobId);
    await updateInDatabase(adapter, doneOutcome(DISPLAY, jobId));

    const args = { basePath, displayName: DISPLAY, username: USER, jobId };
    const started = performance.now();
    const reader = startScript("reader.ts", args);
    assert.equal(await reader.line(), "ready");
    const writers = ["config", "job"].map((role) =>
      startScript("writer.ts", { ...args, role, iterations: ITERATIONS })
    );
    const written = await Promise.all(writers.map((w) => w.finish()));
    const read = await reader.finish();
    const ms = Math.round(performance.now() - started);

    for (const run of [...written, read]) {
      assert.equal(run.stderr, "", `a process wrote to stderr: ${run.stderr}`);
      assert.equal(run.code, 0);
    }
    for (const run of written) {
      assert.deepEqual(JSON.parse(run.stdout), { writes: ITERATIONS });
    }
    const counts = JSON.parse(read.stdout);
    console.log(
      `  ${counts.rounds} reader rounds (${counts.libraryReads} library reads, ` +
        `${counts.rawReads} raw JSON.parse) against 2 × ${ITERATIONS} rewrites ` +
        `in ${ms} ms; parse errors ${counts.parseErrors}, missing ${counts.missing}, ` +
        `library errors ${counts.libraryErrors.length}; versions seen ${
          JSON.stringify(counts.versions)
        }`,
    );
    assert.equal(counts.parseErrors, 0);
    assert.equal(counts.missing, 0);
    assert.deepEqual(counts.libraryErrors, []);
    // The reads overlapped the writes: the reader saw many versions of each.
    assert(counts.versions.config > 1, "the reader saw only one config");
    assert(counts.versions.status > 1, "the reader saw only one status");
    assert(counts.versions.result > 1, "the reader saw only one result");
  });
});
