/**
 * The worker's vocabulary: the backends it runs, the options it takes and the
 * events it reports.
 *
 * @module
 */

import type { RecoveryReport } from "../transitions.ts";
import type { Clock } from "../records.ts";
import type { BackendConfigInput, ExperimentData, Job } from "../schemas.ts";
import type { JwkPrivate } from "../signing.ts";

/** What {@linkcode Backend.execute} gets besides the job. */
export interface ExecuteContext {
  /** The job's id. */
  jobId: string;
  /** The backend's display name. */
  displayName: string;
  /**
   * Aborted when the worker is asked to stop, or when the worker lost its
   * lease on the job (then the job may already run elsewhere, and whatever
   * `execute` returns is not recorded). An `execute` that gives up on it
   * should throw; a job given up because the worker stops goes back to the
   * head of its queue.
   */
  signal: AbortSignal;
}

/** A backend as the worker runs it: its config, and how to run a job on it. */
export interface Backend {
  /**
   * The config, uploaded when the worker starts; its limits check every job.
   * It is checked against the schema {@linkcode BackendConfigInput}: a config
   * read from a store of the seed version needs a `wire_order` that sqooler
   * 0.9 reads.
   */
  config: BackendConfigInput;
  /**
   * Runs a job that passed the checks against {@linkcode Backend.config}.
   * Throwing marks the job ERROR with the error's message.
   *
   * @param job The job, with experiments under `experiment_0`, `experiment_1`, …
   * @param context The job's id, the backend, and the abort signal.
   * @returns One result per experiment, in the order of their keys.
   */
  execute(
    job: Job,
    context: ExecuteContext,
  ): Promise<ExperimentData[]> | ExperimentData[];
}

/** Backends by display name; each name must equal its config's `display_name`. */
export type Backends = Record<string, Backend>;

/** What the worker did, counted. */
export interface WorkerSummary {
  /** Jobs written DONE. */
  done: number;
  /** Jobs written ERROR for what their run found (the backend failed, the job or its result was invalid, it was cancelled). */
  failed: number;
  /** Jobs put back in their queue: the worker stopped, or the job was still being written. */
  released: number;
  /**
   * Failures that the worker reported and went on after: lost leases, and
   * storage errors, among them attempts that failed on the storage (their
   * job went back to its queue, or ended ERROR after its last attempt).
   */
  errors: number;
}

/**
 * What {@linkcode runWorker} reports through `onEvent`, one object per event,
 * told apart by `type`.
 */
export type WorkerEvent =
  | {
    /** The backends' configs are uploaded and their stale jobs recovered. */
    type: "started";
    /** The display names of the backends, in polling order. */
    backends: string[];
  }
  | {
    /**
     * {@linkcode recoverStaleJobs} requeued, failed or completed jobs of
     * stopped workers, or found running jobs of another tool's worker.
     */
    type: "recovered";
    /** The backend. */
    displayName: string;
    /** What it did. */
    report: RecoveryReport;
  }
  | {
    /** The worker took a job from the queue. */
    type: "claimed";
    /** The backend. */
    displayName: string;
    /** The job. */
    jobId: string;
  }
  | {
    /** The worker extended its lease on a job that runs long. */
    type: "lease";
    /** The backend. */
    displayName: string;
    /** The job. */
    jobId: string;
    /** When the lease now runs out, as ISO 8601. */
    expiresAt: string;
  }
  | {
    /** A job ran and its result and status DONE were written. */
    type: "done";
    /** The backend. */
    displayName: string;
    /** The job. */
    jobId: string;
    /** How long the job took, from claim to DONE, by the worker's clock. */
    durationMs: number;
  }
  | {
    /** A job was written ERROR: it did not pass the checks, or could not run. */
    type: "failed";
    /** The backend. */
    displayName: string;
    /** The job. */
    jobId: string;
    /** The job's `error_message`, as the user reads it. */
    message: string;
  }
  | {
    /** The worker put a job back at the head of its queue. */
    type: "released";
    /** The backend. */
    displayName: string;
    /** The job. */
    jobId: string;
  }
  | {
    /** Something failed that is not the job's fault, e.g. the storage; the worker goes on. */
    type: "error";
    /** The backend, when it concerns one. */
    displayName?: string;
    /** The job, when it concerns one. */
    jobId?: string;
    /** What failed, in one line. */
    message: string;
    /** The error itself. */
    error: unknown;
  }
  | {
    /** Every queue was empty; sent once per stretch of empty polls. */
    type: "idle";
  }
  | {
    /** The worker stopped; {@linkcode runWorker}'s promise resolves with the same summary. */
    type: "stopped";
    /** What it did. */
    summary: WorkerSummary;
  };

/** Options of {@linkcode runWorker}. Every one is checked before the worker touches the storage. */
export interface WorkerOptions {
  /** The backends to run, by display name. */
  backends: Backends;
  /**
   * The private key of the backends whose config says `sign: true` (for a
   * command line, {@linkcode privateJwkFromEnv} reads it from
   * `SQOOLER_PRIVATE_JWK`): their configs and results are stored signed with
   * it, and their signed configs stamped. Without it such a backend is
   * refused when the worker starts. A config's `kid` becomes the key's.
   */
  privateJwk?: JwkPrivate;
  /** Stops the worker: it finishes or releases the job in hand, then resolves. */
  signal?: AbortSignal;
  /**
   * How long to wait after every queue was found empty, in milliseconds. On
   * a storage that wakes idle workers when jobs arrive (`waitForJobs`, as
   * PostgreSQL's does), the worker waits for that instead, and looks anyway
   * after at most this or 30 s, whichever is longer.
   *
   * @default {1000}
   */
  pollIntervalMs?: number;
  /**
   * Stop once every queue was found empty, instead of waiting for new jobs:
   * for draining queues in a batch run or a test.
   *
   * @default {false}
   */
  untilIdle?: boolean;
  /**
   * How long the worker's lease on a job lasts, in milliseconds; it is
   * extended every third of that while the job runs.
   *
   * @default {600000}
   */
  leaseMs?: number;
  /**
   * How often to look for jobs of stopped workers, in milliseconds (also
   * once at the start).
   *
   * @default {60000}
   */
  recoverIntervalMs?: number;
  /**
   * Passed to {@linkcode recoverStaleJobs}: a running job counts as stale
   * once its lease ran out more than this many milliseconds ago, a margin
   * for clocks that disagree (a lease that its holder renews never runs out).
   *
   * @default {0}
   */
  recoverOlderThanMs?: number;
  /**
   * After this many failed attempts (workers that stopped, results the
   * storage refused), a job ends ERROR instead of running again.
   *
   * @default {3}
   */
  maxAttempts?: number;
  /**
   * A job file that cannot be read (or whose status is not written yet) is
   * taken for one that another tool (such as sqooler's web API, which writes
   * job files in place) is still writing, in milliseconds: it goes back to its
   * queue, unharmed, and is looked at again a second later, until this worker
   * has seen it unchanged for this long (by its own monotonic clock; a file
   * whose time is already older than this needs one look). Then the job ends
   * ERROR.
   *
   * @default {60000}
   */
  unreadableGraceMs?: number;
  /**
   * The longest wait between polls after storage errors, in milliseconds;
   * the wait doubles from `pollIntervalMs` with each failed round.
   *
   * @default {30000}
   */
  maxBackoffMs?: number;
  /**
   * Called with every event. What it throws, and a promise it returns that
   * rejects, are ignored, so that a broken listener cannot stop the worker.
   */
  onEvent?: (event: WorkerEvent) => unknown;
  /**
   * The clock, in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: Clock;
}
