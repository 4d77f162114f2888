// A runWorker process on a PostgresAdapter (the server from DATABASE_URL).
// Argument: JSON { schema, displayName, log, mode, leaseMs?, recoverIntervalMs? }.
//
// Every execute appends "<job id>\n" to `log` (O_APPEND, one write per line),
// so that the parent counts how often each job ran, whichever process ran it.
//
// mode "run": runs until stdin closes, then prints one JSON line: the
// worker's summary and how many storage errors it reported.
// mode "hold": prints {"holding": "<job id>"} when execute starts, and then
// never returns: the parent kills the process with SIGKILL mid-job.

import { type Job, runWorker } from "../../mod.ts";
import { PostgresAdapter } from "../../postgres.ts";
import { pgConfig } from "./postgres.ts";

const { schema, displayName, log, mode, leaseMs, recoverIntervalMs } = JSON
  .parse(Deno.args[0]);
const adapter = new PostgresAdapter({ schema, name: "lab" });
const file = await Deno.open(log, { append: true, create: true });
const encoder = new TextEncoder();
const controller = new AbortController();
Deno.stdin.readable.pipeTo(new WritableStream()).finally(() =>
  controller.abort()
);

const errors: string[] = [];
const summary = await runWorker(adapter, {
  signal: controller.signal,
  leaseMs,
  recoverIntervalMs,
  pollIntervalMs: 5,
  maxBackoffMs: 200,
  onEvent: (event) => {
    if (event.type === "error") errors.push(event.message);
  },
  backends: {
    [displayName]: {
      config: pgConfig(displayName),
      execute: async (job: Job, { jobId }) => {
        file.writeSync(encoder.encode(`${jobId}\n`));
        if (mode === "hold") {
          console.log(JSON.stringify({ holding: jobId }));
          await new Promise(() => {});
        }
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
file.close();
await adapter.close();
console.log(JSON.stringify({ ...summary, errorMessages: errors.slice(0, 5) }));
