// A worker process. Argument: JSON { basePath, displayName, mode, hold? }.
//
// mode "drain": getNextJobInQueue → getJobContent → updateInDatabase(DONE)
// until the parent closes stdin (the producers are done) and the queue is
// empty; then prints one JSON line { finished, emptyPolls, ms }, the ids in
// the order this worker claimed them.
//
// mode "hold": claims `hold` jobs, prints one JSON line { held }, and then
// keeps them without finishing until it is killed.

import {
  getJobContent,
  getNextJobInQueue,
  LocalAdapter,
  updateInDatabase,
} from "../../mod.ts";
import { doneOutcome, experimentOf } from "./fixtures.ts";

const { basePath, displayName, mode, hold } = JSON.parse(Deno.args[0]);
const adapter = new LocalAdapter({ basePath });
// The worker's poll interval when the queue is empty.
const POLL_MS = 2;

if (mode === "hold") {
  const held: string[] = [];
  while (held.length < hold) {
    const next = await getNextJobInQueue(adapter, displayName);
    if (next.job_id === "None") throw new Error("the queue ran empty");
    held.push(next.job_id);
  }
  console.log(JSON.stringify({ held }));
  // Stays alive as long as stdin is open; the parent kills it first.
  await Deno.stdin.readable.pipeTo(new WritableStream());
  throw new Error("stdin closed: a holding worker should have been killed");
}

let stopping = false;
const stopped = Deno.stdin.readable.pipeTo(new WritableStream()).then(() => {
  stopping = true;
});
const started = performance.now();
const finished: string[] = [];
let emptyPolls = 0;
for (;;) {
  // Read the flag before polling: an empty poll after the producers are done
  // means the queue is empty for good.
  const done = stopping;
  const next = await getNextJobInQueue(adapter, displayName);
  const jobId = next.job_id;
  if (jobId === "None") {
    if (done) break;
    emptyPolls++;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    continue;
  }
  const job = await getJobContent(adapter, {
    storagePath: next.job_json_path,
    jobId,
  });
  const shots = (job.experiment_0 as { shots: number }).shots;
  await updateInDatabase(
    adapter,
    doneOutcome(displayName, jobId, [experimentOf(shots)]),
  );
  finished.push(jobId);
}
await stopped;
console.log(JSON.stringify({
  finished,
  emptyPolls,
  ms: Math.round(performance.now() - started),
}));
