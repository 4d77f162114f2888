/**
 * The conformance suite of the job protocol: the behaviours of the job state
 * machine (claims, fencing tokens, leases, outcomes, recovery, attempts), run
 * through the public functions against any {@linkcode StorageAdapter}, so
 * that the generic implementation over document operations and an adapter's
 * native transitions are held to the same rules.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { StorageAdapter } from "../adapter.ts";
import { uploadConfig } from "../backends.ts";
import { JobStateError, LeaseLostError } from "../errors.ts";
import {
  getNextJobInQueue,
  getResult,
  getStatus,
  updateInDatabase,
  uploadJob,
  uploadStatus,
} from "../jobs.ts";
import {
  DELETED,
  finishedPath,
  leasesPath,
  metaPath,
  queuedPath,
  RUNNING,
  statusPath,
} from "../layout.ts";
import { extendLease, recoverStaleJobs, releaseJob } from "../queue.ts";
import type { ExperimentData, Result, StatusMsg } from "../schemas.ts";
import { testBackendConfig } from "./seed.ts";

/** How {@linkcode testJobProtocol} gets adapters. */
export interface ProtocolConformanceOptions<
  A extends StorageAdapter = StorageAdapter,
> {
  /**
   * Makes an adapter over a fresh, empty storage; every step calls it once.
   *
   * @returns The adapter.
   */
  create(): A | Promise<A>;
  /**
   * Frees what `create` made; called at the end of each step.
   *
   * @param adapter An adapter that `create` returned.
   * @returns Nothing, or a promise that settles when it is done.
   */
  dispose?(adapter: A): void | Promise<void>;
  /**
   * How many jobs the concurrent steps share out among their callers.
   *
   * @default {40}
   */
  jobs?: number;
}

const DISPLAY = "spins";
const T0 = Date.parse("2026-11-28T10:00:00Z");
const ALICE = { displayName: DISPLAY, username: "alice" };

/** A clock that a step moves by hand. */
class Clock {
  time = T0;
  readonly now = (): number => this.time;
  at(ms: number): () => number {
    return () => T0 + ms;
  }
}

interface Scope {
  adapter: StorageAdapter;
  clock: Clock;
  jobs: number;
  /** Submits jobs as the web API does (the job, then its status), oldest first. */
  submit(count: number): Promise<string[]>;
  /** Takes the next job at `ms` after the start, with a lease of `leaseMs`. */
  take(ms: number, leaseMs?: number): Promise<{ jobId: string; token: string }>;
}

function experiment(): ExperimentData {
  return {
    header: { name: "experiment_0" },
    shots: 1,
    success: true,
    data: { memory: ["0"] },
  };
}

function done(jobId: string): { status: StatusMsg; result: Result } {
  return {
    status: {
      job_id: jobId,
      status: "DONE",
      detail: "All done",
      error_message: "None",
    },
    result: {
      backend_name: null,
      display_name: DISPLAY,
      backend_version: "0.1.0",
      job_id: jobId,
      qobj_id: null,
      success: true,
      status: "DONE",
      header: {},
      results: [experiment()],
    },
  };
}

const JOB = {
  experiment_0: {
    instructions: [["measure", [0], []]],
    num_wires: 1,
    shots: 1,
    wire_order: "sequential",
  },
};

interface Case {
  name: string;
  fn(scope: Scope): Promise<void>;
}

const CASES: Case[] = [
  {
    name:
      "a claim takes the oldest job, records a lease with a fresh token, and moves the job to jobs/running",
    async fn({ adapter, submit, take }) {
      const [a, b] = await submit(2);
      const first = await take(0, 30_000);
      const second = await take(0, 30_000);
      assert.deepEqual([first.jobId, second.jobId], [a, b], "claim order");
      assert.notEqual(first.token, second.token, "tokens are fresh");
      const lease = await adapter.get(leasesPath(DISPLAY), a);
      assert.equal(lease.token, first.token, "the lease holds the token");
      assert.equal(lease.state, "running");
      assert.equal(lease.expires_at, new Date(T0 + 30_000).toISOString());
      assert.deepEqual((await adapter.list(RUNNING)).sort(), [a, b].sort());
      assert.deepEqual(await adapter.list(queuedPath(DISPLAY)), []);
      const empty = await getNextJobInQueue(adapter, DISPLAY);
      assert.deepEqual(empty, { job_id: "None", job_json_path: "None" });
    },
  },
  {
    name:
      "a result of 200,000 shots is recorded whole, with the token and without, and read back unchanged",
    async fn({ adapter, submit, take }) {
      const [a, b] = await submit(2);
      const memory = Array.from({ length: 200_000 }, (_, i) => `${i % 2} 1`);
      const large = (jobId: string) => {
        const outcome = done(jobId);
        outcome.result.results = [{
          ...experiment(),
          shots: 200_000,
          data: { memory },
        }];
        return outcome;
      };
      const first = await take(0);
      await updateInDatabase(adapter, {
        jobId: a,
        ...ALICE,
        ...large(a),
        token: first.token,
      });
      await take(0);
      await updateInDatabase(adapter, { jobId: b, ...ALICE, ...large(b) });
      for (const jobId of [a, b]) {
        const ref = { ...ALICE, jobId };
        assert.equal((await getStatus(adapter, ref)).status, "DONE");
        const result = await getResult(adapter, ref);
        assert.deepEqual(
          result.results[0].data.memory,
          memory,
          `memory of ${jobId}`,
        );
      }
    },
  },
  {
    name:
      "an outcome with the token is recorded: result, status, job file in its folder, lease gone",
    async fn({ adapter, submit, take }) {
      const [a, b] = await submit(2);
      const first = await take(0);
      await updateInDatabase(adapter, {
        jobId: a,
        ...ALICE,
        ...done(a),
        token: first.token,
      });
      const second = await take(0);
      await updateInDatabase(adapter, {
        jobId: b,
        displayName: DISPLAY,
        token: second.token,
        status: {
          job_id: b,
          status: "ERROR",
          detail: "Got your json.",
          error_message: "Wire 7 does not exist",
        },
      });
      const ref = (jobId: string) => ({ ...ALICE, jobId });
      assert.equal((await getStatus(adapter, ref(a))).status, "DONE");
      assert.deepEqual(
        (await getResult(adapter, ref(a))).results,
        [experiment()],
      );
      const failed = await getStatus(adapter, ref(b));
      assert.equal(failed.error_message, "Wire 7 does not exist");
      assert.deepEqual(await adapter.list(finishedPath(DISPLAY)), [a]);
      assert.deepEqual(await adapter.list(DELETED), [b]);
      assert.deepEqual(await adapter.list(RUNNING), []);
      assert.deepEqual(await adapter.list(leasesPath(DISPLAY)), []);
    },
  },
  {
    name:
      "a stale token is refused with LeaseLostError by every step, and changes nothing, also after the job was taken again",
    async fn({ adapter, submit, take, clock }) {
      const [a] = await submit(1);
      const slow = await take(0, 1_000);
      await recoverStaleJobs(adapter, {
        displayName: DISPLAY,
        now: clock.at(5_000),
      });
      const fresh = await take(6_000, 60_000);
      assert.equal(fresh.jobId, a, "the job is taken again");
      const lease = await adapter.get(leasesPath(DISPLAY), a);
      const ref = { displayName: DISPLAY, jobId: a, token: slow.token };
      await assert.rejects(
        updateInDatabase(adapter, { ...ref, ...done(a) }),
        LeaseLostError,
        "updateInDatabase",
      );
      await assert.rejects(
        extendLease(adapter, ref),
        LeaseLostError,
        "extendLease",
      );
      await assert.rejects(
        releaseJob(adapter, ref),
        LeaseLostError,
        "releaseJob",
      );
      assert.deepEqual(
        await adapter.get(leasesPath(DISPLAY), a),
        lease,
        "the new holder's lease is untouched",
      );
      assert.deepEqual(await adapter.list(RUNNING), [a]);
      assert.equal(
        (await getStatus(adapter, { ...ALICE, jobId: a })).status,
        "INITIALIZING",
      );
    },
  },
  {
    name:
      "recovery takes only stale leases: fresh and extended ones are left alone",
    async fn({ adapter, submit, take, clock }) {
      const [a, b] = await submit(2);
      const first = await take(0, 60_000);
      await take(0, 60_000);
      await extendLease(adapter, {
        displayName: DISPLAY,
        jobId: a,
        token: first.token,
        leaseMs: 60_000,
        now: clock.at(50_000),
      });
      const report = await recoverStaleJobs(adapter, {
        displayName: DISPLAY,
        now: clock.at(70_000),
      });
      assert.deepEqual(report.alive, [a], "the extended lease is alive");
      assert.deepEqual(report.requeued, [b], "the stale lease is recovered");
      assert.deepEqual(report.attempts, { [b]: 1 });
      const byAge = await recoverStaleJobs(adapter, {
        displayName: DISPLAY,
        olderThanMs: 30_000,
        now: clock.at(70_000),
      });
      assert.deepEqual(
        byAge.alive,
        [a],
        "renewed 20 s ago: not older than 30 s",
      );
      assert.deepEqual(await adapter.list(queuedPath(DISPLAY)), [b]);
      assert.equal((await adapter.get(metaPath(DISPLAY), b)).attempts, 1);
    },
  },
  {
    name:
      "a job ends ERROR after maxAttempts failed attempts, and runs no more than that",
    async fn({ adapter, submit, take, clock }) {
      const [a] = await submit(1);
      let runs = 0;
      for (let round = 0; round < 5; round++) {
        const start = round * 10_000;
        const next = await getNextJobInQueue(adapter, DISPLAY, {
          now: clock.at(start),
          leaseMs: 1_000,
        });
        if (next.job_id === "None") break;
        runs++;
        await recoverStaleJobs(adapter, {
          displayName: DISPLAY,
          maxAttempts: 3,
          now: clock.at(start + 5_000),
        });
      }
      assert.equal(runs, 3, "taken exactly maxAttempts times");
      const status = await getStatus(adapter, { ...ALICE, jobId: a });
      assert.equal(status.status, "ERROR");
      assert.match(status.error_message, /failed 3 attempts/);
      assert.deepEqual(await adapter.list(DELETED), [a]);
      assert.deepEqual(await adapter.list(leasesPath(DISPLAY)), []);
      void take;
    },
  },
  {
    name:
      "a release with a failure counts an attempt; without one it gives the job back unharmed, at the head of its queue",
    async fn({ adapter, submit, take }) {
      const [a, b] = await submit(2);
      const first = await take(0);
      assert.equal(
        await releaseJob(adapter, {
          displayName: DISPLAY,
          jobId: a,
          token: first.token,
        }),
        true,
      );
      assert.deepEqual(
        await adapter.list(queuedPath(DISPLAY)),
        [a, b],
        "head of the queue",
      );
      assert.equal((await adapter.get(metaPath(DISPLAY), a)).attempts, 0);
      for (let attempt = 1; attempt <= 2; attempt++) {
        const held = await take(0);
        assert.equal(held.jobId, a);
        const requeued = await releaseJob(adapter, {
          displayName: DISPLAY,
          jobId: a,
          token: held.token,
          failure: "the storage refused the result",
          maxAttempts: 2,
        });
        assert.equal(requeued, attempt < 2);
      }
      const status = await getStatus(adapter, { ...ALICE, jobId: a });
      assert.equal(status.status, "ERROR");
      assert.match(status.error_message, /the storage refused the result/);
    },
  },
  {
    name:
      "a final status is never replaced by one that is not, and no status is made for a job that does not exist",
    async fn({ adapter, submit, take }) {
      const [a] = await submit(1);
      const held = await take(0);
      const queued: StatusMsg = {
        job_id: a,
        status: "QUEUED",
        detail: "Compiling",
        error_message: "None",
      };
      await updateInDatabase(adapter, {
        jobId: a,
        displayName: DISPLAY,
        status: queued,
        token: held.token,
      });
      assert.equal(
        (await getStatus(adapter, { ...ALICE, jobId: a })).status,
        "QUEUED",
      );
      await updateInDatabase(adapter, {
        jobId: a,
        ...ALICE,
        ...done(a),
        token: held.token,
      });
      await assert.rejects(
        updateInDatabase(adapter, {
          jobId: a,
          displayName: DISPLAY,
          status: queued,
        }),
        JobStateError,
      );
      assert.equal(
        (await getStatus(adapter, { ...ALICE, jobId: a })).status,
        "DONE",
      );
      const unknown = "0123456789abcdef01234567";
      await assert.rejects(
        updateInDatabase(adapter, {
          jobId: unknown,
          displayName: DISPLAY,
          status: { ...queued, job_id: unknown },
        }),
        JobStateError,
      );
      assert.deepEqual(await adapter.list(statusPath(DISPLAY)), [a]);
    },
  },
  {
    name:
      "a result without one entry per experiment ends the job ERROR, saying so",
    async fn({ adapter, submit, take }) {
      const [a] = await submit(1);
      const held = await take(0);
      const outcome = done(a);
      await updateInDatabase(adapter, {
        jobId: a,
        displayName: DISPLAY,
        token: held.token,
        status: outcome.status,
        result: { ...outcome.result, results: [] },
      });
      const status = await getStatus(adapter, { ...ALICE, jobId: a });
      assert.equal(status.status, "ERROR");
      assert.match(status.error_message, /0 results for a job of 1 experiment/);
      assert.deepEqual(await adapter.list(DELETED), [a]);
    },
  },
  {
    name:
      "a running job without a lease (another tool's) is reported and left alone, even hours later, unless requeueUnleased",
    async fn({ adapter, clock }) {
      const jobId = "5b4625859f0440c2af154efb";
      await adapter.upload(RUNNING, jobId, JOB);
      await adapter.upload(statusPath(DISPLAY), jobId, {
        job_id: jobId,
        status: "INITIALIZING",
        detail: "Got your json.",
        error_message: "None",
      });
      for (const ms of [0, 10 * 3_600_000]) {
        const report = await recoverStaleJobs(adapter, {
          displayName: DISPLAY,
          olderThanMs: 1_000,
          now: clock.at(ms),
        });
        assert.deepEqual(report.unleased, [jobId]);
        assert.deepEqual(report.requeued, []);
      }
      assert.deepEqual(await adapter.list(RUNNING), [jobId]);
      const report = await recoverStaleJobs(adapter, {
        displayName: DISPLAY,
        requeueUnleased: true,
        now: clock.at(0),
      });
      assert.deepEqual(report.requeued, [jobId]);
      assert.deepEqual(await adapter.list(queuedPath(DISPLAY)), [jobId]);
    },
  },
  {
    name: "concurrent claims give every job to exactly one caller",
    async fn({ adapter, submit, jobs }) {
      const ids = await submit(jobs);
      const taken: string[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (;;) {
            const next = await getNextJobInQueue(adapter, DISPLAY, {
              stampIntervalMs: 60_000,
            });
            if (next.job_id === "None") return;
            taken.push(next.job_id);
          }
        }),
      );
      assert.deepEqual(taken.sort(), [...ids].sort());
    },
  },
  {
    name:
      "outcomes and recoveries racing on the same jobs: each job gets exactly one decision",
    async fn({ adapter, submit, jobs, clock }) {
      const ids = await submit(jobs);
      const held = [];
      for (let i = 0; i < ids.length; i++) {
        held.push(
          await (async () => {
            const next = await getNextJobInQueue(adapter, DISPLAY, {
              now: clock.at(0),
              leaseMs: 1_000,
              stampIntervalMs: 60_000,
            });
            return { jobId: next.job_id, token: next.token! };
          })(),
        );
      }
      const outcomes = await Promise.allSettled([
        ...held.map(({ jobId, token }) =>
          updateInDatabase(adapter, {
            jobId,
            ...ALICE,
            ...done(jobId),
            token,
            now: clock.at(2_000),
          })
        ),
        recoverStaleJobs(adapter, {
          displayName: DISPLAY,
          now: clock.at(2_000),
        }),
        recoverStaleJobs(adapter, {
          displayName: DISPLAY,
          now: clock.at(2_000),
        }),
      ]);
      const lost = outcomes.slice(0, held.length).filter((o) =>
        o.status === "rejected"
      );
      for (const outcome of lost) {
        assert(
          (outcome as PromiseRejectedResult).reason instanceof LeaseLostError,
          String((outcome as PromiseRejectedResult).reason),
        );
      }
      for (const outcome of outcomes.slice(held.length)) {
        assert.equal(
          outcome.status,
          "fulfilled",
          String((outcome as PromiseRejectedResult).reason),
        );
      }
      const finished = await adapter.list(finishedPath(DISPLAY));
      const requeued = await adapter.list(queuedPath(DISPLAY));
      assert.equal(
        finished.length,
        held.length - lost.length,
        "every winning DONE is recorded",
      );
      assert.deepEqual(
        [...finished, ...requeued].sort(),
        [...ids].sort(),
        "every job is finished or queued again, once",
      );
      assert.deepEqual(await adapter.list(RUNNING), []);
      assert.deepEqual(await adapter.list(leasesPath(DISPLAY)), []);
      for (const jobId of requeued) {
        assert.equal(
          (await getStatus(adapter, { ...ALICE, jobId })).status,
          "INITIALIZING",
        );
      }
    },
  },
];

/**
 * Runs the job protocol's conformance suite as steps of a test: claims with
 * fresh fencing tokens in queue order, outcomes under the lease, refusal of
 * stale tokens by every step, recovery of stale leases only, attempts and
 * `maxAttempts`, final statuses, results checked against their job, jobs
 * held by other tools, and concurrent claims, outcomes and recoveries. Every
 * step works through the public functions on a fresh storage, so the suite
 * holds an adapter's native `transitions` and the generic implementation over
 * its document operations to the same rules.
 *
 * @param t The test context to add the steps to.
 * @param options How to make and free the adapters.
 * @returns A promise that resolves when every step has run.
 *
 * @example Run the suite against the MemoryAdapter
 * ```ts
 * import { MemoryAdapter } from "@sqooler/storage";
 * import { testJobProtocol } from "@sqooler/storage/testing";
 *
 * Deno.test("MemoryAdapter keeps the job protocol", (t) =>
 *   testJobProtocol(t, { create: () => new MemoryAdapter() }));
 * ```
 */
export async function testJobProtocol<A extends StorageAdapter>(
  t: Deno.TestContext,
  options: ProtocolConformanceOptions<A>,
): Promise<void> {
  for (const testCase of CASES) {
    await t.step(testCase.name, async () => {
      const adapter = await options.create();
      try {
        const clock = new Clock();
        await uploadConfig(
          adapter,
          testBackendConfig(DISPLAY, { num_wires: 1 }),
        );
        const scope: Scope = {
          adapter,
          clock,
          jobs: options.jobs ?? 40,
          async submit(count) {
            const ids = [];
            for (let i = 0; i < count; i++) {
              const jobId = await uploadJob(adapter, {
                job: JOB,
                ...ALICE,
                now: clock.at(i),
              });
              await uploadStatus(adapter, { ...ALICE, jobId });
              ids.push(jobId);
            }
            return ids;
          },
          async take(ms, leaseMs) {
            const next = await getNextJobInQueue(adapter, DISPLAY, {
              now: clock.at(ms),
              leaseMs,
              stampIntervalMs: 60_000,
            });
            assert.notEqual(next.job_id, "None", "a job to take");
            return { jobId: next.job_id, token: next.token! };
          },
        };
        await testCase.fn(scope);
      } finally {
        await options.dispose?.(adapter);
      }
    });
  }
}
