// A process that recovers stale jobs in a loop on a PostgresAdapter, as a
// cron job or a second worker would. Argument: JSON { schema, displayName }.
// Runs until stdin closes; prints one JSON line { rounds, requeued, failed }.

import { recoverStaleJobs } from "../../mod.ts";
import { PostgresAdapter } from "../../postgres.ts";

const { schema, displayName } = JSON.parse(Deno.args[0]);
const adapter = new PostgresAdapter({ schema, name: "lab" });
let closed = false;
Deno.stdin.readable.pipeTo(new WritableStream()).finally(() => closed = true);
let rounds = 0, requeued = 0, failed = 0;
while (!closed) {
  const report = await recoverStaleJobs(adapter, { displayName });
  requeued += report.requeued.length;
  failed += report.failed.length;
  rounds++;
  // Let the event loop see stdin close.
  await new Promise((resolve) => setTimeout(resolve, 0));
}
await adapter.close();
console.log(JSON.stringify({ rounds, requeued, failed }));
