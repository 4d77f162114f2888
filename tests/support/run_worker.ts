// A runWorker process. Argument: JSON { basePath, displayName, log, recoverIntervalMs }.
//
// Runs the backend until stdin closes and its queue is then empty. Its
// execute appends "<job id>\n" to `log` (O_APPEND, one write per line), so
// that the parent counts how often each job ran, whichever process ran it.
// Prints one JSON line: the worker's summary, added up over its drains.

import { type Job, LocalAdapter, runWorker } from "../../mod.ts";
import { configOf } from "./fixtures.ts";

const { basePath, displayName, log, recoverIntervalMs } = JSON.parse(
  Deno.args[0],
);
const adapter = new LocalAdapter({ basePath });
const file = await Deno.open(log, { append: true, create: true });
const encoder = new TextEncoder();
let closed = false;
Deno.stdin.readable.pipeTo(new WritableStream()).then(() => closed = true);

const total = { done: 0, failed: 0, released: 0, errors: 0 };
for (;;) {
  // An empty queue after stdin closed is empty for good.
  const last = closed;
  const summary = await runWorker(adapter, {
    untilIdle: true,
    pollIntervalMs: 1,
    recoverIntervalMs,
    backends: {
      [displayName]: {
        config: configOf(displayName),
        execute: (job: Job, { jobId }) => {
          file.writeSync(encoder.encode(`${jobId}\n`));
          return Object.entries(job).map(([name, experiment]) => ({
            header: { name },
            shots: experiment.shots,
            success: true,
            data: { memory: Array(experiment.shots).fill("1") },
          }));
        },
      },
    },
  });
  for (const key of Object.keys(total) as (keyof typeof total)[]) {
    total[key] += summary[key];
  }
  if (last) break;
  // The queue is empty for now: look again in a moment.
  await new Promise((resolve) => setTimeout(resolve, 2));
}
file.close();
console.log(JSON.stringify(total));
