// Records that Python sqooler writes are read without loss, rewritten without
// changing what is not meant to change, and a folder shared with Python keeps
// working: NaN and big integers, every time spelling pydantic accepts, job
// files written in place, configs that cannot be read.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CONFIGS,
  getBackendStatus,
  getConfig,
  getNextJobInQueue,
  getResult,
  getStatus,
  type Job,
  LocalAdapter,
  queuedPath,
  runWorker,
  timestampQueue,
  uploadConfig,
  uploadJob,
  uploadStatus,
  type WorkerEvent,
} from "@sqooler/storage";
import { testBackendConfig } from "@sqooler/storage/testing";
import { parseExactJson, stringifyJson } from "../src/json.ts";
import { copyTree, FIXTURES, withTempDir } from "./support/folders.ts";

const PYTHON_STORE = join(FIXTURES, "python-written", "store");

function withPythonStore(
  work: (adapter: LocalAdapter, basePath: string) => Promise<void>,
) {
  return withTempDir(async (root) => {
    const basePath = join(root, "store");
    await copyTree(PYTHON_STORE, basePath);
    await work(new LocalAdapter({ basePath, name: "lab" }), basePath);
  });
}

async function python(script: string, input = ""): Promise<string> {
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const output = await child.output();
  const text = new TextDecoder();
  assert.equal(output.code, 0, text.decode(output.stderr));
  return text.decode(output.stdout);
}

Deno.test("a result with NaN that Python wrote reads, with NaN", async () => {
  await withPythonStore(async (adapter) => {
    // An owner record is not needed: Python's API keeps none.
    const result = await getResult(adapter, {
      displayName: "nanres",
      username: "anyone",
      jobId: "4a6f6e4e614e000000000001",
    });
    assert.equal(result.status, "DONE");
    assert(
      Number.isNaN(result.header.fidelity),
      String(result.header.fidelity),
    );
  });
});

Deno.test("configs with every time spelling that pydantic accepts read, and tell liveness right", async () => {
  await withPythonStore(async (adapter) => {
    // When each config says its queue was last polled, in UTC.
    const polledAt: Record<string, string> = {
      lqcspace: "2024-05-01T10:00:00Z",
      lqcminutes: "2024-05-01T10:00:00Z",
      lqcnanos: "2024-05-01T10:00:00.123Z",
      lqcoffset: "2024-05-01T13:30:00.5Z",
      nanres: "2024-05-01T10:00:00Z",
    };
    for (const [display, time] of Object.entries(polledAt)) {
      await getConfig(adapter, display);
      const polled = Date.parse(time);
      const status = (ms: number) =>
        getBackendStatus(adapter, display, { now: () => polled + ms });
      assert.equal((await status(300_000)).operational, true, display);
      assert.equal((await status(300_001)).operational, false, display);
    }
  });
});

Deno.test("a config with a 2^64 integer and 1.0 reads, and a stamp changes nothing but last_queue_check", async () => {
  await withPythonStore(async (adapter, basePath) => {
    const file = join(basePath, CONFIGS, "bigint.json");
    const before = await Deno.readTextFile(file);
    const config = await getConfig(adapter, "bigint");
    assert.equal(config.max_shots, 10);
    assert(
      await timestampQueue(adapter, "bigint", {
        now: () => Date.parse("2026-11-28T10:00:00Z"),
      }),
    );
    const after = await Deno.readTextFile(file);
    const was = parseExactJson(before) as Record<string, unknown>;
    const is = parseExactJson(after) as Record<string, unknown>;
    assert.equal(is.last_queue_check, "2026-11-28T10:00:00.000Z");
    assert.deepEqual(
      Object.keys(is),
      Object.keys(was),
      "same keys, same order",
    );
    for (const key of Object.keys(was)) {
      if (key === "last_queue_check") continue;
      assert.equal(stringifyJson(is[key]), stringifyJson(was[key]), key);
    }
    assert.match(after, /"omega_max":1\.0/);
    assert.match(after, /"calibration_id":18446744073709551616/);
    // Python reads the stamped file back with the same values.
    const check = await python(
      "import json,sys; c=json.load(sys.stdin); g=c['gates'][0]; print(repr(g['omega_max']), g['calibration_id'], c['last_queue_check'])",
      after,
    );
    assert.equal(
      check.trim(),
      "1.0 18446744073709551616 2026-11-28T10:00:00.000Z",
    );
  });
});

Deno.test("a job with NaN and Infinity parameters is stored as Python writes them, and runs", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    await uploadConfig(adapter, testBackendConfig("spins", { num_wires: 1 }));
    const job = {
      experiment_0: {
        instructions: [["rx", [0], [NaN]], ["rz", [0], [Infinity]], [
          "measure",
          [0],
          [],
        ]],
        num_wires: 1,
        shots: 1,
        wire_order: "sequential",
      },
    };
    const ref = { displayName: "spins", username: "alice", jobId: "" };
    ref.jobId = await uploadJob(adapter, { job, ...ref });
    await uploadStatus(adapter, ref);
    const text = await Deno.readTextFile(
      join(basePath, queuedPath("spins"), `${ref.jobId}.json`),
    );
    const params = await python(
      "import json,sys; j=json.load(sys.stdin); print([i[2] for i in j['experiment_0']['instructions']])",
      text,
    );
    assert.equal(params.trim(), "[[nan], [inf], []]");
    let seen: unknown[] = [];
    const summary = await runWorker(adapter, {
      untilIdle: true,
      backends: {
        spins: {
          config: testBackendConfig("spins", { num_wires: 1 }),
          execute: (run: Job) => {
            seen = run.experiment_0.instructions.map((i) => i[2][0]);
            return [{
              header: {},
              shots: 1,
              success: true,
              data: { memory: ["0"] },
            }];
          },
        },
      },
    });
    assert.equal(summary.done, 1);
    assert(Number.isNaN(seen[0]) && seen[1] === Infinity, String(seen));
    assert.equal((await getStatus(adapter, ref)).status, "DONE");
  });
});

Deno.test("uploadStatus() writes the status of a job that Python submitted, with no owner record", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const jobId = "9f1c2b3a4d5e6f708192a3b4";
    await Deno.mkdir(join(basePath, queuedPath("spins")), { recursive: true });
    await Deno.writeTextFile(
      join(basePath, queuedPath("spins"), `${jobId}.json`),
      '{"experiment_0": {"instructions": [], "num_wires": 1, "shots": 1, "wire_order": "sequential"}}',
    );
    const ref = { displayName: "spins", username: "alice", jobId };
    assert.equal((await uploadStatus(adapter, ref)).status, "INITIALIZING");
    assert.equal((await getStatus(adapter, ref)).status, "INITIALIZING");
  });
});

Deno.test("a config that cannot be read does not stop its queue: the worker reports it and goes on", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const config = testBackendConfig("spins", { num_wires: 1 });
    const controller = new AbortController();
    const events: WorkerEvent[] = [];
    let idle = 0;
    const job = {
      experiment_0: {
        instructions: [["measure", [0], []]],
        num_wires: 1,
        shots: 1,
        wire_order: "sequential",
      },
    };
    const worker = runWorker(adapter, {
      signal: controller.signal,
      pollIntervalMs: 1,
      recoverIntervalMs: 0,
      backends: {
        spins: {
          config,
          execute: () => [{
            header: {},
            shots: 1,
            success: true,
            data: { memory: ["0"] },
          }],
        },
      },
      onEvent: async (event) => {
        events.push(event);
        if (event.type === "idle" && ++idle === 1) {
          // Another tool ruins the config, then a job comes in.
          await Deno.writeTextFile(
            join(basePath, CONFIGS, "spins.json"),
            '{"description": "half',
          );
          await uploadJob(adapter, {
            job,
            displayName: "spins",
            username: "alice",
          });
        }
        if (event.type === "done") controller.abort();
      },
    });
    const summary = await worker;
    assert.equal(summary.done, 1);
    const problem = events.find((e) => e.type === "error");
    assert(problem?.type === "error");
    assert.match(problem.message, /stored config of spins cannot be read/);
    assert.match(problem.message, /not valid JSON/);
  });
});

Deno.test("a 400 KB job that Python writes in place, slowly, while a worker polls, runs once from the complete file", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const config = testBackendConfig("spins", {
      num_wires: 1,
      max_shots: 100_000,
    });
    await uploadConfig(adapter, config);
    const jobId = "0a1b2c3d4e5f60718293a4b5";
    const file = join(basePath, queuedPath("spins"), `${jobId}.json`);
    await Deno.mkdir(join(basePath, queuedPath("spins")), { recursive: true });
    await Deno.mkdir(join(basePath, "status/spins"), { recursive: true });
    const controller = new AbortController();
    const runs: number[] = [];
    const worker = runWorker(adapter, {
      signal: controller.signal,
      pollIntervalMs: 0,
      backends: {
        spins: {
          config,
          execute: (job: Job) => {
            runs.push(job.experiment_0.instructions.length);
            return [{
              header: {},
              shots: 1,
              success: true,
              data: { memory: ["0"] },
            }];
          },
        },
      },
      onEvent: (event) => {
        if (event.type === "done" || event.type === "failed") {
          controller.abort();
        }
      },
    });
    // sqooler's web API: json.dump into the open file, here in 40 pieces
    // with a pause after each, as a slow disk or a big job would write it.
    await python(
      `
import json, sys, time
job = {"experiment_0": {"instructions": [["measure", [0], []]] * 20000, "num_wires": 1, "shots": 1, "wire_order": "sequential"}}
text = json.dumps(job)
assert len(text) > 400_000
with open(sys.argv[1] if len(sys.argv) > 1 else ${
        JSON.stringify(file)
      }, "w") as f:
    step = len(text) // 40 + 1
    for i in range(0, len(text), step):
        f.write(text[i:i + step]); f.flush(); time.sleep(0.02)
# Then its status, as sqooler's upload_status writes it.
status = {"job_id": ${
        JSON.stringify(jobId)
      }, "status": "INITIALIZING", "detail": "Got your json.", "error_message": "None"}
with open(${
        JSON.stringify(join(basePath, "status/spins", `${jobId}.json`))
      }, "w") as f:
    json.dump(status, f)
`,
    );
    const summary = await worker;
    assert.deepEqual(runs, [20_000], "run once, from the complete file");
    assert.equal(summary.done, 1);
    assert(summary.released > 0, "the worker met the file half written");
    assert.equal(
      (await getStatus(adapter, { displayName: "spins", username: "x", jobId }))
        .status,
      "DONE",
    );
    assert.equal((await getNextJobInQueue(adapter, "spins")).job_id, "None");
  });
});
