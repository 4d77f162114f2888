/**
 * A `runWorker` process of the PostgreSQL benchmark (the server from
 * `DATABASE_URL`). Argument: JSON `{ schema, displayName }`.
 *
 * Prints one line per event the benchmark waits for: `idle` when the worker
 * has nothing to do, and `start <epoch ms>` when an `execute` starts
 * (`performance.timeOrigin + performance.now()`, comparable across processes
 * on one machine). When stdin closes it stops and prints its summary as JSON.
 *
 * @module
 */

import { runWorker } from "../mod.ts";
import { PostgresAdapter } from "../postgres.ts";
import { testBackendConfig } from "../testing.ts";

const { schema, displayName } = JSON.parse(Deno.args[0]);
const adapter = new PostgresAdapter({ schema, name: "bench" });
const controller = new AbortController();
Deno.stdin.readable.pipeTo(new WritableStream()).finally(() =>
  controller.abort()
);
const encoder = new TextEncoder();
const say = (line: string) =>
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));

const summary = await runWorker(adapter, {
  signal: controller.signal,
  pollIntervalMs: 5,
  onEvent: (event) => {
    if (event.type === "idle") say("idle");
  },
  backends: {
    [displayName]: {
      config: testBackendConfig(displayName, { num_wires: 1 }),
      execute: (job, { jobId }) => {
        say(`start ${performance.timeOrigin + performance.now()} ${jobId}`);
        return Object.keys(job).map((name) => ({
          header: { name },
          shots: 1,
          success: true,
          data: { memory: ["0"] },
        }));
      },
    },
  },
});
await adapter.close();
say(JSON.stringify(summary));
