/**
 * Micro-benchmarks of the hot single operations: schema checks, job ids, and
 * one claim (`getNextJobInQueue`) on a queue 10,000 jobs deep, for both
 * adapters. The queue is refilled after each claim, outside the timed part,
 * so that every claim sees the same depth.
 *
 * ```sh
 * deno bench --allow-read --allow-write --allow-env bench/
 * ```
 *
 * @module
 */

import {
  BackendConfigIn,
  getNextJobInQueue,
  LocalAdapter,
  MemoryAdapter,
  newJobId,
  Result,
  StatusMsg,
  type StorageAdapter,
  uploadConfig,
  uploadJob,
} from "../mod.ts";
import { CONFIG, DISPLAY, doneStatus, JOB, result } from "./throughput.ts";

const DEPTH = 10_000;
const STATUS = doneStatus("0123456789abcdef01234567");
const RESULT = result("0123456789abcdef01234567");
// As a worker stamped it: the longest form of a config to check.
const STORED_CONFIG = {
  ...CONFIG,
  operational: true,
  pending_jobs: null,
  status_msg: null,
  last_queue_check: "2026-11-28T10:00:00.123456Z",
};

Deno.bench("StatusMsg.parse", { group: "schema" }, () => {
  StatusMsg.parse(STATUS);
});

Deno.bench("Result.parse", { group: "schema" }, () => {
  Result.parse(RESULT);
});

Deno.bench("BackendConfigIn.parse", { group: "schema" }, () => {
  BackendConfigIn.parse(STORED_CONFIG);
});

Deno.bench("newJobId()", () => {
  newJobId();
});

async function fill(adapter: StorageAdapter): Promise<void> {
  await uploadConfig(adapter, CONFIG);
  for (let i = 0; i < DEPTH; i++) {
    await uploadJob(adapter, { job: JOB, displayName: DISPLAY, username: "b" });
  }
}

const memory = new MemoryAdapter({ name: "bench" });
const basePath = await Deno.makeTempDir({ prefix: "sqooler_micro_" });
// The run may end at any bench; the folder goes when the process does.
globalThis.addEventListener("unload", () => {
  Deno.removeSync(basePath, { recursive: true });
});
const local = new LocalAdapter({ basePath, name: "bench" });
await fill(memory);
await fill(local);

for (
  const [name, adapter] of [["MemoryAdapter", memory], [
    "LocalAdapter",
    local,
  ]] as const
) {
  Deno.bench(
    `getNextJobInQueue(), ${name}, ${DEPTH.toLocaleString("en-US")} queued`,
    { group: "claim" },
    async (b) => {
      b.start();
      const next = await getNextJobInQueue(adapter, DISPLAY);
      b.end();
      if (next.job_id === "None") throw new Error("The queue ran dry");
      // Keep the depth: one job in for each taken.
      await uploadJob(adapter, {
        job: JOB,
        displayName: DISPLAY,
        username: "b",
      });
    },
  );
}
