/**
 * A {@linkcode MemoryAdapter} that already holds backends and jobs, for the
 * tests of code that uses this library (an API server, a dashboard, a worker).
 *
 * @module
 */

import { uploadConfig } from "../backends.ts";
import { InvalidRecordError } from "../errors.ts";
import {
  DEFAULT_LEASE_MS,
  updateInDatabase,
  uploadJob,
  uploadStatus,
} from "../jobs.ts";
import { MemoryAdapter } from "../memory_adapter.ts";
import { transitionsOf } from "../protocol.ts";
import { describeValue } from "../names.ts";
import type { Clock } from "../records.ts";
import type { BackendConfigInput, ExperimentData } from "../schemas.ts";
import type { JwkPrivate } from "../signing.ts";

/** Where a seeded job is. */
export type SeedState = "queued" | "running" | "done" | "error";

/** A job for {@linkcode createTestAdapter}. */
export interface SeedJob {
  /** The backend's display name. */
  displayName: string;
  /** Who submitted it. */
  username: string;
  /** The job, with keys `experiment_0`, `experiment_1`, … */
  job: object;
  /**
   * Where the job is: `queued` (status INITIALIZING), `running` (taken by a
   * worker, with a lease), `done` (status DONE, with a result) or `error`
   * (status ERROR).
   *
   * @default {"queued"}
   */
  state?: SeedState;
  /**
   * The result's experiments, for a `done` job. By default one per
   * experiment, with the experiment's shots and an empty `memory`.
   */
  results?: ExperimentData[];
  /**
   * The error message, for an `error` job.
   *
   * @default {"Seeded as failed"}
   */
  errorMessage?: string;
}

/** Options of {@linkcode createTestAdapter}. */
export interface TestAdapterOptions {
  /**
   * The storage provider's name.
   *
   * @default {"default"}
   */
  name?: string;
  /** Backend configs to upload first. */
  backends?: BackendConfigInput[];
  /** Jobs to submit, in this order (which is their queue order). */
  jobs?: SeedJob[];
  /**
   * The private key of the backends whose config says `sign: true`: their
   * configs and the results of their `done` jobs are stored signed with it.
   */
  privateJwk?: JwkPrivate;
  /**
   * The clock for submission times and leases, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}

/** What {@linkcode createTestAdapter} returns. */
export interface TestAdapter {
  /** The storage, holding the backends and jobs. */
  adapter: MemoryAdapter;
  /** The jobs' ids, in the order of `jobs`. */
  jobIds: string[];
}

const STATES: readonly SeedState[] = ["queued", "running", "done", "error"];

/**
 * Makes a {@linkcode MemoryAdapter} that holds the given backends and jobs,
 * written through the library's own functions, so that it is in exactly the
 * state that an API and a worker would have left.
 *
 * @param options The provider's name, the backends, the jobs and the clock.
 * @returns The adapter and the jobs' ids.
 * @throws {InvalidRecordError} When a config, a job or a state is invalid.
 * @throws {InvalidNameError} When a name is not acceptable.
 *
 * @example Test an API handler against a store with a finished job
 * ```ts
 * import assert from "node:assert/strict";
 * import { getResult, getStatus } from "@sqooler/storage";
 * import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
 *
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 2, wire_order: "sequential" } };
 * const { adapter, jobIds } = await createTestAdapter({
 *   name: "lab",
 *   backends: [testBackendConfig("spins")],
 *   jobs: [
 *     { displayName: "spins", username: "alice", job },
 *     { displayName: "spins", username: "alice", job, state: "done" },
 *   ],
 * });
 * const ref = { displayName: "spins", username: "alice", jobId: jobIds[1] };
 * assert((await getStatus(adapter, { ...ref, jobId: jobIds[0] })).status === "INITIALIZING");
 * assert((await getStatus(adapter, ref)).status === "DONE");
 * assert((await getResult(adapter, ref)).backend_name === "lab_spins_simulator");
 * ```
 */
export async function createTestAdapter(
  options: TestAdapterOptions = {},
): Promise<TestAdapter> {
  const now = options.now ?? Date.now;
  const adapter = new MemoryAdapter({ name: options.name });
  const versions = new Map<string, string>();
  for (const config of options.backends ?? []) {
    const stored = await uploadConfig(adapter, config, {
      privateJwk: options.privateJwk,
    });
    versions.set(stored.display_name, stored.version);
  }
  const jobIds: string[] = [];
  for (const seed of options.jobs ?? []) {
    const state = seed.state ?? "queued";
    if (!STATES.includes(state)) {
      throw new InvalidRecordError(
        `Invalid job state ${describeValue(state)}: expected one of ${
          STATES.join(", ")
        }`,
      );
    }
    const { displayName, username } = seed;
    const jobId = await uploadJob(adapter, {
      job: seed.job,
      displayName,
      username,
      now,
    });
    await uploadStatus(adapter, { displayName, username, jobId });
    jobIds.push(jobId);
    if (state === "queued") continue;
    // Taken by a worker, exactly as getNextJobInQueue takes a job.
    const claim = await transitionsOf(adapter).claim(displayName, {
      jobId,
      leaseMs: DEFAULT_LEASE_MS,
      now,
    });
    if (state === "done") {
      await updateInDatabase(adapter, {
        jobId,
        displayName,
        token: claim?.token,
        privateJwk: options.privateJwk,
        status: {
          job_id: jobId,
          status: "DONE",
          detail:
            "Got your json.; Passed json sanity check; Compilation done. Shots sent to solver.; All done",
          error_message: "None",
        },
        result: {
          backend_name: null,
          display_name: displayName,
          backend_version: versions.get(displayName) ?? "0.0.0",
          job_id: jobId,
          qobj_id: null,
          success: true,
          status: "DONE",
          header: {},
          results: seed.results ?? emptyResults(seed.job),
        },
      });
    } else if (state === "error") {
      await updateInDatabase(adapter, {
        jobId,
        displayName,
        token: claim?.token,
        status: {
          job_id: jobId,
          status: "ERROR",
          detail: "Got your json.",
          error_message: seed.errorMessage ?? "Seeded as failed",
        },
      });
    }
  }
  return { adapter, jobIds };
}

function emptyResults(job: object): ExperimentData[] {
  return Object.entries(job).map(([name, experiment]) => ({
    header: { name },
    shots: Number.isSafeInteger(experiment?.shots) ? experiment.shots : 0,
    success: true,
    data: { memory: [] },
  }));
}

/**
 * A valid backend config for tests: a simulator with 3 wires
 * (`wire_order: "sequential"`, which every sqooler version reads), 10
 * experiments and 1,000 shots at most, and the instructions `rx`, `rz`,
 * `load`, `measure` and `barrier`; change what a test needs with
 * `overrides`.
 *
 * @param displayName The backend's display name.
 * @param overrides Fields to set.
 * @returns The config, as {@linkcode uploadConfig} takes it.
 *
 * @example A backend with one wire
 * ```ts
 * import assert from "node:assert/strict";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const config = testBackendConfig("tiny", { num_wires: 1 });
 * assert(config.display_name === "tiny" && config.num_wires === 1);
 * ```
 */
export function testBackendConfig(
  displayName: string,
  overrides: Partial<BackendConfigInput> = {},
): BackendConfigInput {
  return {
    description: `Test backend ${displayName}`,
    version: "0.1.0",
    display_name: displayName,
    cold_atom_type: "spin",
    gates: [],
    max_experiments: 10,
    max_shots: 1000,
    simulator: true,
    supported_instructions: ["rx", "rz", "load", "measure", "barrier"],
    num_wires: 3,
    wire_order: "sequential",
    num_species: 1,
    ...overrides,
  };
}
