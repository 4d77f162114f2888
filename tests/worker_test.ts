// runWorker() and validateJob(): the lab's loop, on the sqooler fixtures, in
// memory, and with storage that fails. No test sleeps: they wait for the
// worker's events, stop it with an AbortController, or drain with untilIdle.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Backend,
  type BackendConfigInput,
  type ExperimentData,
  getConfig,
  getNextJobInQueue,
  getStatus,
  InvalidNameError,
  InvalidRecordError,
  type Job,
  leasesPath,
  LocalAdapter,
  MemoryAdapter,
  type MoveOldestOptions,
  queuedPath,
  Result,
  RUNNING,
  runWorker,
  StatusMsg,
  type StorageAdapter,
  uploadConfig,
  validateJob,
  type WorkerEvent,
} from "@sqooler/storage";
import {
  createTestAdapter,
  FaultyAdapter,
  testBackendConfig,
} from "@sqooler/storage/testing";
import { LOCAL_STORE, withStoreCopy, withTempDir } from "./support/folders.ts";
import { submitJobs } from "./support/store.ts";

const FIXTURE_QUEUED = ["03da11d0eb784d9da378e393", "ce3ae930895f449583162da3"];
const FIXTURE_RUNNING = "5b4625859f0440c2af154efb";

/** An execute that measures every wire as 0, once per shot. */
function zeros(job: Job): ExperimentData[] {
  return Object.entries(job).map(([name, experiment]) => ({
    header: { name },
    shots: experiment.shots,
    success: true,
    data: {
      memory: Array(experiment.shots).fill(
        Array(experiment.num_wires).fill("0").join(" "),
      ),
    },
  }));
}

function job(shots = 2, wire = 0): Job {
  return {
    experiment_0: {
      instructions: [["rx", [wire], [1.5]], ["measure", [0], []]],
      num_wires: 3,
      shots,
      wire_order: "linear",
    },
  };
}

const SPINS = testBackendConfig("spins");

/** A store with the "spins" backend and `count` of alice's jobs in its queue. */
function queued(count: number) {
  return createTestAdapter({
    backends: [SPINS],
    jobs: Array.from({ length: count }, () => ({
      displayName: "spins",
      username: "alice",
      job: job(),
    })),
  });
}

async function readStatus(adapter: StorageAdapter, jobId: string) {
  return StatusMsg.parse(await adapter.get("status/spins", jobId));
}

Deno.test("runWorker() finishes the queued jobs of the sqooler fixture store", async () => {
  await withStoreCopy(LOCAL_STORE, async (basePath) => {
    const adapter = new LocalAdapter({ basePath, name: "fixture" });
    const config = await getConfig(adapter, "fermions");
    const seen: string[] = [];
    const summary = await runWorker(adapter, {
      untilIdle: true,
      backends: {
        fermions: {
          config,
          execute: (job, { jobId }) => {
            seen.push(jobId);
            return zeros(job);
          },
        },
      },
    });
    assert.deepEqual(summary, { done: 2, failed: 0, released: 0, errors: 0 });
    assert.deepEqual(seen.toSorted(), FIXTURE_QUEUED);
    for (const jobId of FIXTURE_QUEUED) {
      const status = StatusMsg.parse(
        await adapter.get("status/fermions", jobId),
      );
      assert.equal(status.status, "DONE");
      assert.equal(
        status.detail,
        "Got your json.; Passed json sanity check; Compilation done. Shots sent to solver.; All done",
      );
      const result = Result.parse(await adapter.get("results/fermions", jobId));
      assert.equal(result.backend_version, "0.1.2");
      assert.equal(result.backend_name, null);
      assert.equal(result.results[0].data.memory[0], "0 0 0");
      // The job file is where sqooler expects a finished job.
      await adapter.get("jobs/finished/fermions", jobId);
    }
    assert.deepEqual(await adapter.list(queuedPath("fermions")), []);
    // The job a Python worker left running is left to it: no lease, not run here.
    assert.deepEqual(await adapter.list(RUNNING), [FIXTURE_RUNNING]);
    assert.deepEqual(await adapter.list(leasesPath("fermions")), []);
  });
});

Deno.test("runWorker() reads each job once: recording its result does not read it again", async () => {
  const { adapter } = await queued(3);
  const reads: string[] = [];
  const counted = new FaultyAdapter(adapter, {
    before: (op) =>
      void (op.method === "get" && reads.push(`${op.path}/${op.id}`)),
  });
  const summary = await runWorker(counted, {
    backends: { spins: { config: SPINS, execute: zeros } },
    untilIdle: true,
    pollIntervalMs: 1,
  });
  assert.equal(summary.done, 3);
  const jobReads = reads.filter((read) => read.startsWith("jobs/"));
  assert.equal(jobReads.length, 3);
  assert.equal(new Set(jobReads).size, 3);
});

Deno.test("runWorker() marks a job ERROR when execute throws, and goes on with the next", async () => {
  const { adapter, jobIds } = await queued(2);
  const failed: WorkerEvent[] = [];
  const summary = await runWorker(adapter, {
    untilIdle: true,
    onEvent: (event) => event.type === "failed" && failed.push(event),
    backends: {
      spins: {
        config: SPINS,
        execute: (job, { jobId }) => {
          if (jobId === jobIds[0]) throw new Error("the laser is off");
          return zeros(job);
        },
      },
    },
  });
  assert.deepEqual(summary, { done: 1, failed: 1, released: 0, errors: 0 });
  const first = await getStatus(adapter, {
    displayName: "spins",
    username: "alice",
    jobId: jobIds[0],
  });
  assert.equal(first.status, "ERROR");
  assert.equal(first.error_message, "The backend failed: the laser is off");
  assert.match(first.detail, /Passed json sanity check.*Failed while running/);
  assert.deepEqual(await adapter.list("jobs/deleted"), [jobIds[0]]);
  assert.equal((await readStatus(adapter, jobIds[1])).status, "DONE");
  assert.deepEqual(failed, [{
    type: "failed",
    displayName: "spins",
    jobId: jobIds[0],
    message: "The backend failed: the laser is off",
  }]);
});

Deno.test("runWorker() marks a corrupt job file ERROR once no writer can be at it, and goes on with the next", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { jobIds } = await seedInto(adapter, job());
      ids.push(...jobIds);
    }
    await Deno.writeTextFile(
      join(basePath, "jobs/queued/spins", `${ids[0]}.json`),
      '{"experiment_0": {',
    );
    await Deno.writeTextFile(
      join(basePath, "jobs/queued/spins", `${ids[1]}.json`),
      "[1, 2, 3]",
    );
    // Written an hour ago: no writer is still at them.
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const id of ids.slice(0, 2)) {
      await Deno.utime(
        join(basePath, "jobs/queued/spins", `${id}.json`),
        hourAgo,
        hourAgo,
      );
    }
    const summary = await runWorker(adapter, {
      untilIdle: true,
      backends: { spins: { config: SPINS, execute: zeros } },
    });
    // Each unreadable file is looked at twice (unchanged the second time)
    // before its job is failed: it goes back to its queue in between.
    assert.deepEqual(summary, { done: 1, failed: 2, released: 2, errors: 0 });
    const [broken, array, fine] = await Promise.all(
      ids.map((id) => readStatus(adapter, id)),
    );
    assert.equal(broken.status, "ERROR");
    assert.equal(
      broken.error_message,
      `Cannot read jobs/running/${ids[0]}.json: not valid JSON`,
    );
    assert.equal(array.status, "ERROR");
    assert.equal(
      array.error_message,
      `Cannot read jobs/running/${ids[1]}.json: not a JSON object`,
    );
    assert.equal(fine.status, "DONE");
    assert.deepEqual(await adapter.list(RUNNING), []);
  });
});

/** Submits a job to "spins" on an adapter, as the API does. */
async function seedInto(adapter: StorageAdapter, content: Job) {
  await uploadConfig(adapter, SPINS);
  const jobIds = await submitJobs(adapter, {
    displayName: "spins",
    username: "alice",
    job: content,
  });
  return { jobIds };
}

Deno.test("runWorker() checks each job before it runs it, and writes what is wrong", async () => {
  const { adapter, jobIds } = await createTestAdapter({
    backends: [SPINS],
    jobs: [
      { displayName: "spins", username: "alice", job: job(2, 7) },
      { displayName: "spins", username: "alice", job: job(5000) },
    ],
  });
  let ran = 0;
  const summary = await runWorker(adapter, {
    untilIdle: true,
    backends: {
      spins: { config: SPINS, execute: (job) => (ran++, zeros(job)) },
    },
  });
  assert.equal(ran, 0);
  assert.equal(summary.failed, 2);
  const [wire, shots] = await Promise.all(
    jobIds.map((id) => readStatus(adapter, id)),
  );
  assert.equal(wire.status, "ERROR");
  assert.equal(
    wire.error_message,
    'experiment_0: instruction 0 ("rx") acts on wire 7, but the backend has wires 0 to 2',
  );
  assert.equal(
    wire.detail,
    "Got your json.; Failed json sanity check. File will be deleted.",
  );
  assert.equal(
    shots.error_message,
    "experiment_0: 5000 shots, but the backend allows at most 1000",
  );
});

Deno.test("runWorker() marks a job ERROR when execute returns no valid results", async () => {
  const { adapter, jobIds } = await queued(1);
  await runWorker(adapter, {
    untilIdle: true,
    backends: {
      spins: {
        config: SPINS,
        execute: () => [{ shots: 2 }] as unknown as ExperimentData[],
      },
    },
  });
  const status = await readStatus(adapter, jobIds[0]);
  assert.equal(status.status, "ERROR");
  assert.match(
    status.error_message,
    /^The backend returned an invalid result: results\[0\]: header: /,
  );
});

Deno.test("runWorker() puts the job in hand back at the head of its queue when execute aborts", async () => {
  const { adapter, jobIds } = await queued(2);
  const controller = new AbortController();
  const events: string[] = [];
  const summary = await runWorker(adapter, {
    signal: controller.signal,
    onEvent: (event) => events.push(event.type),
    backends: {
      spins: {
        config: SPINS,
        execute: (_job, { signal }) => {
          controller.abort(); // the operator presses Ctrl-C while the job runs
          return new Promise((_, reject) =>
            signal.aborted
              ? reject(signal.reason)
              : signal.addEventListener("abort", () => reject(signal.reason))
          );
        },
      },
    },
  });
  assert.deepEqual(summary, { done: 0, failed: 0, released: 1, errors: 0 });
  assert.deepEqual(events, ["started", "claimed", "released", "stopped"]);
  assert.deepEqual(await adapter.list(RUNNING), []);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
  assert.deepEqual(await adapter.list(queuedPath("spins")), jobIds);
  assert.equal((await readStatus(adapter, jobIds[0])).status, "INITIALIZING");
  // The released job is the next one taken.
  const next = await getNextJobInQueue(adapter, "spins");
  assert.equal(next.job_id, jobIds[0]);
});

Deno.test("runWorker() writes the result of a job that finishes after the stop signal", async () => {
  const { adapter, jobIds } = await queued(2);
  const controller = new AbortController();
  const summary = await runWorker(adapter, {
    signal: controller.signal,
    backends: {
      spins: {
        config: SPINS,
        execute: (job) => {
          controller.abort();
          return zeros(job);
        },
      },
    },
  });
  assert.deepEqual(summary, { done: 1, failed: 0, released: 0, errors: 0 });
  assert.equal((await readStatus(adapter, jobIds[0])).status, "DONE");
  assert.deepEqual(await adapter.list(RUNNING), []);
  assert.deepEqual(await adapter.list(queuedPath("spins")), [jobIds[1]]);
});

Deno.test("runWorker() releases a job it claimed after the stop signal without running it", async () => {
  const { adapter, jobIds } = await queued(1);
  const controller = new AbortController();
  let ran = false;
  const summary = await runWorker(adapter, {
    signal: controller.signal,
    onEvent: (event) => event.type === "claimed" && controller.abort(),
    backends: {
      spins: { config: SPINS, execute: (job) => (ran = true, zeros(job)) },
    },
  });
  assert.equal(ran, false);
  assert.equal(summary.released, 1);
  assert.deepEqual(await adapter.list(RUNNING), []);
  assert.deepEqual(await adapter.list(queuedPath("spins")), jobIds);
});

/** A MemoryAdapter whose `moveOldest` fails a given number of times. */
class FlakyAdapter extends MemoryAdapter {
  failures: number;
  constructor(failures: number) {
    super();
    this.failures = failures;
  }
  override moveOldest(from: string, to: string, options?: MoveOldestOptions) {
    if (this.failures-- > 0) {
      return Promise.reject(new Error("EIO: the disk hiccupped"));
    }
    return super.moveOldest(from, to, options);
  }
}

Deno.test("runWorker() reports a storage error as an event and goes on", async () => {
  const adapter = new FlakyAdapter(2);
  const { jobIds } = await seedInto(adapter, job());
  const errors: WorkerEvent[] = [];
  const summary = await runWorker(adapter, {
    untilIdle: true,
    pollIntervalMs: 0,
    onEvent: (event) => event.type === "error" && errors.push(event),
    backends: { spins: { config: SPINS, execute: zeros } },
  });
  assert.deepEqual(summary, { done: 1, failed: 0, released: 0, errors: 2 });
  assert.equal(errors.length, 2);
  const first = errors[0] as Extract<WorkerEvent, { type: "error" }>;
  assert.equal(
    first.message,
    "Could not poll the queue of spins: EIO: the disk hiccupped",
  );
  assert.equal(first.displayName, "spins");
  assert.equal((await readStatus(adapter, jobIds[0])).status, "DONE");
});

Deno.test("runWorker() extends the lease on a job while execute runs", async () => {
  const { adapter, jobIds } = await queued(1);
  let time = Date.parse("2026-11-28T10:00:00Z");
  const extended = Promise.withResolvers<string>();
  const summary = await runWorker(adapter, {
    untilIdle: true,
    leaseMs: 30,
    now: () => time,
    onEvent: (event) =>
      event.type === "lease" && extended.resolve(event.expiresAt),
    backends: {
      spins: {
        config: SPINS,
        execute: async (job) => {
          time += 60_000; // the job runs long by the worker's clock
          const expiresAt = await extended.promise;
          assert.equal(expiresAt, "2026-11-28T10:01:00.030Z");
          const lease = await adapter.get(leasesPath("spins"), jobIds[0]);
          assert.equal(lease.claimed_at, "2026-11-28T10:00:00.000Z");
          assert.equal(lease.renewed_at, "2026-11-28T10:01:00.000Z");
          return zeros(job);
        },
      },
    },
  });
  assert.equal(summary.done, 1);
  assert.deepEqual(await adapter.list(leasesPath("spins")), []);
});

Deno.test("runWorker() recovers a dead worker's job on start and runs it", async () => {
  const past = Date.parse("2020-01-01T00:00:00Z");
  const { adapter, jobIds } = await createTestAdapter({
    backends: [SPINS],
    now: () => past,
    jobs: [{
      displayName: "spins",
      username: "alice",
      job: job(),
      state: "running",
    }],
  });
  const events: WorkerEvent[] = [];
  const summary = await runWorker(adapter, {
    untilIdle: true,
    onEvent: (event) => events.push(event),
    backends: { spins: { config: SPINS, execute: zeros } },
  });
  assert.equal(summary.done, 1);
  const recovered = events.find((event) => event.type === "recovered");
  assert(recovered?.type === "recovered");
  assert.deepEqual(recovered.report.requeued, jobIds);
  assert.equal((await readStatus(adapter, jobIds[0])).status, "DONE");
});

Deno.test("runWorker() stops when idle and aborted, and says so", async () => {
  const controller = new AbortController();
  const events: string[] = [];
  const summary = await runWorker(new MemoryAdapter(), {
    signal: controller.signal,
    pollIntervalMs: 60_000,
    onEvent: (event) => {
      events.push(event.type);
      if (event.type === "idle") controller.abort();
    },
    backends: { spins: { config: SPINS, execute: zeros } },
  });
  assert.deepEqual(events, ["started", "idle", "stopped"]);
  assert.deepEqual(summary, { done: 0, failed: 0, released: 0, errors: 0 });
});

Deno.test("runWorker() takes the backends' jobs in turn", async () => {
  const other = testBackendConfig("other");
  const { adapter } = await createTestAdapter({
    backends: [SPINS, other],
    jobs: [
      { displayName: "spins", username: "a", job: job() },
      { displayName: "spins", username: "a", job: job() },
      { displayName: "other", username: "a", job: job() },
      { displayName: "other", username: "a", job: job() },
    ],
  });
  const order: string[] = [];
  const backend = (config: BackendConfigInput): Backend => ({
    config,
    execute: (job, { displayName }) => (order.push(displayName), zeros(job)),
  });
  await runWorker(adapter, {
    untilIdle: true,
    backends: { spins: backend(SPINS), other: backend(other) },
  });
  assert.deepEqual(order, ["spins", "other", "spins", "other"]);
});

Deno.test("runWorker() refuses invalid backends before touching the storage", async () => {
  const adapter = new MemoryAdapter();
  await assert.rejects(
    runWorker(adapter, { backends: {} }),
    InvalidRecordError,
  );
  await assert.rejects(
    runWorker(adapter, {
      backends: { other: { config: SPINS, execute: zeros } },
    }),
    {
      name: "InvalidRecordError",
      message:
        'Invalid backend other: its config\'s display_name is "spins"; they must be the same',
    },
  );
  await assert.rejects(
    runWorker(adapter, {
      backends: {
        spins: {
          config: { ...SPINS, max_shots: -1 },
          execute: zeros,
        },
      },
    }),
    InvalidRecordError,
  );
  await assert.rejects(
    runWorker(adapter, {
      backends: { "Spins!": { config: SPINS, execute: zeros } },
    }),
    InvalidNameError,
  );
  await assert.rejects(
    runWorker(adapter, {
      backends: { spins: { config: SPINS, execute: zeros } },
      leaseMs: 0,
    }),
    {
      message:
        "Invalid lease length 0: expected a number from 1 to 1000000000000",
    },
  );
  assert.deepEqual(await adapter.list("backends/configs"), []);
});

const LIMITS = {
  max_experiments: 2,
  max_shots: 100,
  num_wires: 3,
  supported_instructions: ["rx", "measure"],
};

function problems(job: unknown): string[] {
  const check = validateJob(job, LIMITS);
  return check.ok ? [] : check.problems;
}

Deno.test("validateJob() accepts a job within the backend's limits", () => {
  const check = validateJob(job(100, 2), LIMITS);
  assert(check.ok);
  assert.equal(check.job.experiment_0.shots, 100);
});

Deno.test("validateJob() says which wire, instruction and limit a job breaks", () => {
  const experiment = (changes: object) => ({
    experiment_0: { ...job().experiment_0, ...changes },
  });
  assert.deepEqual(problems(job(2, 7)), [
    'experiment_0: instruction 0 ("rx") acts on wire 7, but the backend has wires 0 to 2',
  ]);
  assert.deepEqual(problems(job(101)), [
    "experiment_0: 101 shots, but the backend allows at most 100",
  ]);
  assert.deepEqual(problems(experiment({ num_wires: 4 })), [
    "experiment_0: num_wires is 4, but the backend has 3 wires",
  ]);
  // Wire 0 is within an experiment of one wire.
  assert.deepEqual(problems(experiment({ num_wires: 1 })), []);
  assert.deepEqual(
    problems(experiment({ num_wires: 1, instructions: [["rx", [2], [1]]] })),
    [
      'experiment_0: instruction 0 ("rx") acts on wire 2, but the experiment has num_wires 1 (only wire 0)',
    ],
  );
  assert.deepEqual(
    problems(experiment({ instructions: [["rlx", [0], [1]], ["rx", [0]]] })),
    [
      'experiment_0: instruction 0 ("rlx") is not supported; the backend supports rx, measure',
      "experiment_0: instruction 1 must be [name, wires, params]",
    ],
  );
  assert.deepEqual(
    problems({ ...job(), experiment_1: job().experiment_0, experiment_2: {} }),
    [
      "the job has 3 experiments, but the backend allows at most 2",
      "experiment_2: shots is missing",
      "experiment_2: num_wires is missing",
      "experiment_2: wire_order is missing",
      "experiment_2: instructions is missing",
    ],
  );
  assert.deepEqual(problems({ exp_0: job().experiment_0 }), [
    'unexpected key "exp_0": expected experiment_0, experiment_1, …',
  ]);
  assert.deepEqual(problems({}), [
    "the job has no experiments; expected keys experiment_0, experiment_1, …",
  ]);
  assert.deepEqual(problems({ experiment_0: [] }), [
    "experiment_0: expected an object with instructions, num_wires, shots and wire_order",
  ]);
  assert.deepEqual(problems([job()]), [
    "the job must be a JSON object with keys experiment_0, experiment_1, …; got an array",
  ]);
  assert.deepEqual(problems(experiment({ shots: 1.5, wire_order: 3 })), [
    "experiment_0: shots must be a whole number ≥ 0, got 1.5",
    "experiment_0: wire_order must be a string, got 3",
  ]);
});

Deno.test("validateJob() lists at most five problems", () => {
  const instructions = Array.from({ length: 9 }, () => ["rx", [9], [1]]);
  const check = validateJob({
    experiment_0: { instructions, num_wires: 3, shots: 1, wire_order: "x" },
  }, LIMITS);
  assert(!check.ok);
  assert.equal(check.problems.length, 6);
  assert.equal(check.problems[5], "and 4 more problems");
});
