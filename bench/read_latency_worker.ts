/**
 * The worker process of `read_latency.ts`: drains the benchmark backend's
 * queue with `runWorker`, answering each job with a result of `shots` shots,
 * and prints `{ stallMs, done }`: its longest event-loop stall and its count.
 *
 * @module
 */

import { type Job, LocalAdapter, runWorker } from "../mod.ts";
import { stallMeter } from "./read_latency.ts";
import { CONFIG, DISPLAY } from "./throughput.ts";

const { basePath, shots } = JSON.parse(Deno.args[0]);
const adapter = new LocalAdapter({ basePath, name: "bench" });
const meter = stallMeter();
const summary = await runWorker(adapter, {
  untilIdle: true,
  backends: {
    [DISPLAY]: {
      config: { ...CONFIG, max_shots: 10_000_000 },
      execute: (job: Job) =>
        Object.keys(job).map((name) => ({
          header: { name },
          shots,
          success: true,
          data: { memory: Array(shots).fill("0 1 0 1 1") },
        })),
    },
  },
});
console.log(JSON.stringify({ stallMs: meter.stop(), done: summary.done }));
