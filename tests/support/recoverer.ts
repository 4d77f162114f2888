// A process that recovers stale jobs in a loop, as `cli recover` run by a
// cron job or a second worker would. Argument: JSON { basePath, displayName }.
// Runs until stdin closes; prints one JSON line { rounds, requeued, failed }.

import { LocalAdapter, recoverStaleJobs } from "../../mod.ts";

const { basePath, displayName } = JSON.parse(Deno.args[0]);
const adapter = new LocalAdapter({ basePath });
let closed = false;
Deno.stdin.readable.pipeTo(new WritableStream()).then(() => closed = true);
let rounds = 0, requeued = 0, failed = 0;
while (!closed) {
  const report = await recoverStaleJobs(adapter, { displayName });
  requeued += report.requeued.length;
  failed += report.failed.length;
  rounds++;
  // Let the event loop see stdin close.
  await new Promise((resolve) => setTimeout(resolve, 0));
}
console.log(JSON.stringify({ rounds, requeued, failed }));
