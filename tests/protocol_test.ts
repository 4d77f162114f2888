// The job protocol: its conformance suite on both adapters, and each race and
// fault of the protocol issue reproduced deterministically, with pause points
// and injected storage faults instead of sleeps.

import assert from "node:assert/strict";
import {
  extendLease,
  finishedPath,
  getNextJobInQueue,
  getStatus,
  leasesPath,
  LocalAdapter,
  MemoryAdapter,
  metaPath,
  queuedPath,
  recoverStaleJobs,
  RUNNING,
  runWorker,
  type StorageAdapter,
  updateInDatabase,
  uploadConfig,
  type WorkerEvent,
} from "@sqooler/storage";
import {
  FaultyAdapter,
  PausePoint,
  storageFault,
  testBackendConfig,
  testJobProtocol,
} from "@sqooler/storage/testing";
import { doneOutcome, zeros } from "./support/fixtures.ts";
import { withTempDir } from "./support/folders.ts";
import { submitJobs } from "./support/store.ts";

const DISPLAY = "spins";
const ALICE = { displayName: DISPLAY, username: "alice" };
const T0 = Date.parse("2026-11-28T10:00:00Z");
const at = (ms: number) => () => T0 + ms;
const SPINS = testBackendConfig(DISPLAY, { num_wires: 1 });

Deno.test("MemoryAdapter keeps the job protocol", (t) =>
  testJobProtocol(t, { create: () => new MemoryAdapter() }));

Deno.test("LocalAdapter keeps the job protocol", async (t) => {
  const folders: string[] = [];
  await testJobProtocol(t, {
    create: async () => {
      const basePath = await Deno.makeTempDir({ prefix: "sqooler_test_" });
      folders.push(basePath);
      return new LocalAdapter({ basePath });
    },
    dispose: (adapter) => Deno.remove(adapter.basePath, { recursive: true }),
  });
});

async function store(
  count: number,
  adapter: StorageAdapter = new MemoryAdapter(),
) {
  await uploadConfig(adapter, SPINS);
  const ids = await submitJobs(adapter, { ...ALICE, count, now: at(0) });
  return { adapter, ids };
}

Deno.test("recovery never requeues a job whose worker has decided its outcome and is writing the result", async () => {
  const { adapter, ids: [jobId] } = await store(1);
  const next = await getNextJobInQueue(adapter, DISPLAY, { now: at(0) });
  // The worker decided DONE and is about to write the result.
  const pause = new PausePoint((op) => op.path.startsWith("results/"));
  const finishing = updateInDatabase(new FaultyAdapter(adapter, pause), {
    ...doneOutcome(DISPLAY, jobId),
    token: next.token,
    now: at(1_000),
  });
  await pause.reached;
  for (const olderThanMs of [undefined, 0]) {
    const report = await recoverStaleJobs(adapter, {
      displayName: DISPLAY,
      olderThanMs,
      now: at(2_000),
    });
    assert.deepEqual(report.requeued, []);
    assert.deepEqual(report.alive, [jobId]);
  }
  pause.resume();
  await finishing;
  assert.equal((await getStatus(adapter, { ...ALICE, jobId })).status, "DONE");
  assert.deepEqual(await adapter.list(queuedPath(DISPLAY)), []);
  assert.deepEqual(await adapter.list(finishedPath(DISPLAY)), [jobId]);
});

Deno.test("an extension and a recovery race on a lease: whichever swaps first stands", async (t) => {
  await t.step(
    "the extension first: the recovery finds a fresh lease and leaves it",
    async () => {
      const { adapter, ids: [jobId] } = await store(1);
      const next = await getNextJobInQueue(adapter, DISPLAY, {
        now: at(0),
        leaseMs: 1_000,
      });
      const pause = new PausePoint((op) =>
        op.method === "update" && op.path.startsWith("leases/")
      );
      const recovering = recoverStaleJobs(new FaultyAdapter(adapter, pause), {
        displayName: DISPLAY,
        now: at(5_000),
      });
      await pause.reached; // the recovery read a stale lease and is about to swap it
      await extendLease(adapter, {
        displayName: DISPLAY,
        jobId,
        token: next.token,
        now: at(5_000),
      });
      pause.resume();
      const report = await recovering;
      assert.deepEqual(report.requeued, []);
      assert.deepEqual(await adapter.list(RUNNING), [jobId]);
      assert.equal(
        (await adapter.get(leasesPath(DISPLAY), jobId)).token,
        next.token,
      );
    },
  );
  await t.step(
    "the recovery first: the extension fails with LeaseLostError and the lease does not reappear",
    async () => {
      const { adapter, ids: [jobId] } = await store(1);
      const next = await getNextJobInQueue(adapter, DISPLAY, {
        now: at(0),
        leaseMs: 1_000,
      });
      const pause = new PausePoint((op) =>
        op.method === "update" && op.path.startsWith("leases/")
      );
      const extending = extendLease(new FaultyAdapter(adapter, pause), {
        displayName: DISPLAY,
        jobId,
        token: next.token,
        now: at(5_000),
      });
      await pause.reached;
      await recoverStaleJobs(adapter, { displayName: DISPLAY, now: at(5_000) });
      pause.resume();
      await assert.rejects(extending, /no longer current/);
      assert.deepEqual(await adapter.list(leasesPath(DISPLAY)), []);
      assert.deepEqual(await adapter.list(queuedPath(DISPLAY)), [jobId]);
    },
  );
});

Deno.test("a result that the storage refuses every time ends the job ERROR after maxAttempts runs, with the storage's message", async () => {
  const inner = new MemoryAdapter();
  const { ids: [jobId] } = await store(1, inner);
  const adapter = new FaultyAdapter(inner, {
    before: (op) => {
      if (
        op.path.startsWith("results/") && op.method !== "get" &&
        op.method !== "list"
      ) {
        throw storageFault("EXDEV", op);
      }
    },
  });
  let runs = 0;
  const summary = await runWorker(adapter, {
    untilIdle: true,
    pollIntervalMs: 0,
    maxBackoffMs: 0,
    maxAttempts: 3,
    backends: {
      [DISPLAY]: {
        config: SPINS,
        execute: (job) => {
          runs++;
          return zeros(job);
        },
      },
    },
  });
  assert.equal(runs, 3);
  assert.equal(summary.done, 0);
  const status = await getStatus(inner, { ...ALICE, jobId });
  assert.equal(status.status, "ERROR");
  assert.equal(
    status.error_message,
    `Job ${jobId} failed 3 attempts; the last because Cannot write results/${DISPLAY}/${jobId}.json: the move would cross filesystems, so it cannot be atomic. It is not run again.`,
  );
  assert.equal((await inner.get(metaPath(DISPLAY), jobId)).attempts, 3);
  assert.deepEqual(await inner.list(leasesPath(DISPLAY)), []);
  assert.deepEqual(await inner.list(RUNNING), []);
});

Deno.test("a failed job upload leaves no owner record behind", async () => {
  const inner = new MemoryAdapter();
  await uploadConfig(inner, SPINS);
  const adapter = new FaultyAdapter(inner, {
    before: (op) => {
      if (op.method === "upload" && op.path === queuedPath(DISPLAY)) {
        throw storageFault("EMFILE", op);
      }
    },
  });
  for (let i = 0; i < 10; i++) {
    await assert.rejects(
      submitJobs(adapter, { ...ALICE }),
      (error: Error) => error.name === "StorageError",
    );
  }
  assert.deepEqual(await inner.list(metaPath(DISPLAY)), []);
  assert.deepEqual(await inner.list(queuedPath(DISPLAY)), []);
});

Deno.test("runWorker() aborts execute's signal when it loses its lease, and does not record that run", async () => {
  const { adapter, ids: [jobId] } = await store(1);
  const lost = Promise.withResolvers<unknown>();
  const events: WorkerEvent[] = [];
  let runs = 0;
  const summary = await runWorker(adapter, {
    untilIdle: true,
    leaseMs: 3,
    onEvent: (event) => void events.push(event),
    backends: {
      [DISPLAY]: {
        config: SPINS,
        execute: async (job, { signal }) => {
          if (++runs > 1) return zeros(job);
          // Another process recovers the job: from its clock, the lease is stale.
          await recoverStaleJobs(adapter, {
            displayName: DISPLAY,
            now: () => Date.now() + 60_000,
          });
          signal.addEventListener("abort", () => lost.resolve(signal.reason), {
            once: true,
          });
          await lost.promise;
          // What a backend returns after its lease was lost is not recorded.
          return [];
        },
      },
    },
  });
  assert.equal(((await lost.promise) as Error).name, "LeaseLostError");
  assert.equal(runs, 2);
  assert.deepEqual(summary, { done: 1, failed: 0, released: 0, errors: 1 });
  assert(
    events.some((e) => e.type === "error" && /Lost the lease/.test(e.message)),
  );
  assert.equal((await getStatus(adapter, { ...ALICE, jobId })).status, "DONE");
  assert.equal((await adapter.get(metaPath(DISPLAY), jobId)).attempts, 1);
});

Deno.test("runWorker() survives a listener that throws or returns a rejected promise", async () => {
  const { adapter } = await store(2);
  const summary = await runWorker(adapter, {
    untilIdle: true,
    onEvent: (event) =>
      event.type === "claimed"
        ? Promise.reject(new Error("listener broke"))
        : (() => {
          throw new Error("listener broke too");
        })(),
    backends: { [DISPLAY]: { config: SPINS, execute: zeros } },
  });
  assert.equal(summary.done, 2);
});

Deno.test("runWorker() refuses bad options before it touches the storage", async () => {
  const inner = new MemoryAdapter();
  const touched: string[] = [];
  const adapter = new FaultyAdapter(inner, {
    before: (op) => void touched.push(op.method),
  });
  const base = { backends: { [DISPLAY]: { config: SPINS, execute: zeros } } };
  for (
    const bad of [
      { maxAttempts: 0 },
      { maxAttempts: 1.5 },
      { recoverOlderThanMs: -1 },
      { recoverOlderThanMs: "10m" },
      { leaseMs: 0 },
      { pollIntervalMs: NaN },
      { untilIdle: "yes" },
      { onEvent: "log" },
      { signal: {} },
    ]
  ) {
    await assert.rejects(
      runWorker(adapter, { ...base, ...bad } as never),
      (error: Error) => error.name === "InvalidRecordError",
      JSON.stringify(bad),
    );
  }
  assert.deepEqual(touched, []);
});

Deno.test("runWorker() marks a job ERROR when execute returns fewer results than experiments", async () => {
  const { adapter, ids: [jobId] } = await store(1);
  const summary = await runWorker(adapter, {
    untilIdle: true,
    backends: { [DISPLAY]: { config: SPINS, execute: () => [] } },
  });
  assert.equal(summary.failed, 1);
  const status = await getStatus(adapter, { ...ALICE, jobId });
  assert.equal(status.status, "ERROR");
  assert.match(status.error_message, /0 results for a job of 1 experiment/);
});

Deno.test("an idle worker with a poll interval beyond setTimeout's range waits in steps, not in a loop", async () => {
  const delays: number[] = [];
  const original = globalThis.setTimeout;
  const controller = new AbortController();
  const { adapter } = await store(0);
  try {
    // Every timer fires at once, and the delays it was asked for are kept.
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      if (delays.length >= 2) controller.abort();
      return original(fn, 0);
    }) as typeof setTimeout;
    await runWorker(adapter, {
      pollIntervalMs: 3e9,
      signal: controller.signal,
      backends: { [DISPLAY]: { config: SPINS, execute: zeros } },
    });
  } finally {
    globalThis.setTimeout = original;
  }
  // One wait of 3e9 ms, in two steps that setTimeout can hold.
  assert.deepEqual(delays, [2 ** 31 - 1, 3e9 - (2 ** 31 - 1)]);
});

Deno.test("LocalAdapter: a job that another process takes while the claim's lease is written is never run twice", async () => {
  await withTempDir(async (basePath) => {
    const { ids: [jobId] } = await store(1, new LocalAdapter({ basePath }));
    const pause = new PausePoint((op) => op.method === "moveOldest");
    const slow = getNextJobInQueue(
      new FaultyAdapter(new LocalAdapter({ basePath }), pause),
      DISPLAY,
    );
    await pause.reached;
    const fast = await getNextJobInQueue(
      new LocalAdapter({ basePath }),
      DISPLAY,
    );
    assert.equal(fast.job_id, jobId);
    pause.resume();
    assert.equal((await slow).job_id, "None");
    const lease = await new LocalAdapter({ basePath }).get(
      leasesPath(DISPLAY),
      jobId,
    );
    assert.equal(lease.token, fast.token);
  });
});
