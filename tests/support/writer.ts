// A writer process that rewrites a backend's config (role "config": as the
// lab and a worker polling an empty queue do) or a job's status, result and
// metadata (role "job": as a worker does), `iterations` times. Argument: JSON
// { basePath, displayName, username, jobId, role, iterations }. Prints one
// JSON line { writes }.

import {
  getNextJobInQueue,
  LocalAdapter,
  metaPath,
  resultsPath,
  statusPath,
  timestampQueue,
  uploadConfig,
} from "../../mod.ts";
import { putRecord } from "../../src/records.ts";
import { configOf, doneResult, doneStatus, experimentOf } from "./fixtures.ts";

const { basePath, displayName, username, jobId, role, iterations } = JSON
  .parse(Deno.args[0]);
const adapter = new LocalAdapter({ basePath, name: "lab" });

let writes = 0;
for (let i = 0; i < iterations; i++) {
  if (role === "config") {
    if (i % 3 === 0) {
      await uploadConfig(
        adapter,
        configOf(displayName, `Spins ${"x".repeat((i * 37) % 4000)}`),
      );
    } else if (i % 3 === 1) {
      await timestampQueue(adapter, displayName, { minIntervalMs: 0 });
    } else {
      // A worker polling an empty queue stamps the config every time.
      await getNextJobInQueue(adapter, displayName, { stampIntervalMs: 0 });
    }
  } else if (i % 2 === 0) {
    // Results of varying size; every 50th one beyond 256 KiB, which the
    // adapter writes through a file handle rather than in one call.
    const shots = i % 50 === 0 ? 60_000 : 1 + (i * 97) % 2000;
    const experiments = Array.from(
      { length: 1 + (i % 5) },
      () => experimentOf(shots, "1 0"),
    );
    // As a worker records a job's outcome: the result, then the status.
    await putRecord(
      adapter,
      { path: resultsPath(displayName), id: jobId },
      doneResult(displayName, jobId, experiments),
    );
    await putRecord(
      adapter,
      { path: statusPath(displayName), id: jobId },
      doneStatus(jobId, `Done ${"y".repeat(i % 300)}`),
    );
  } else {
    await putRecord(
      adapter,
      { path: statusPath(displayName), id: jobId },
      doneStatus(jobId, `Rewritten ${"z".repeat((i * 13) % 700)}`),
    );
    await putRecord(adapter, { path: metaPath(displayName), id: jobId }, {
      job_id: jobId,
      username,
      submitted_at: new Date().toISOString(),
      attempts: 0,
      note: "w".repeat(i % 500),
    });
  }
  writes++;
}
console.log(JSON.stringify({ writes }));
