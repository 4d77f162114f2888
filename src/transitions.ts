/**
 * The job state machine's interface: the transitions that move a job from its
 * queue to a worker and on to its outcome, each decided by one atomic step.
 * `protocol.ts` implements it over any {@linkcode StorageAdapter}'s document
 * operations; an adapter with transactions (PostgreSQL) implements it natively
 * and offers it as {@linkcode StorageAdapter.transitions}.
 *
 * Only types live here, so that adapters and the protocol can both know them.
 *
 * @module
 */

import type { Lease, Result, StatusMsg } from "./schemas.ts";
import type { JwsDict } from "./signing.ts";

/** A clock: milliseconds since the epoch. */
export type Clock = () => number;

/** A job on a backend, and the fencing token of its caller's lease, if any. */
export interface LeaseRef {
  /** The backend's display name. */
  displayName: string;
  /** The job's id. */
  jobId: string;
  /**
   * The fencing token that the claim returned. Without it the call is
   * unfenced: it acts on the job's current lease, whoever holds it.
   */
  token?: string;
}

/** What a claim gives the worker that made it. */
export interface Claim {
  /** The job's id. */
  jobId: string;
  /** The fencing token; every later step of this worker on the job proves it. */
  token: string;
  /** The lease as recorded. */
  lease: Lease;
}

/** Options of {@linkcode JobTransitions.submit}. */
export interface SubmitInput {
  /** The backend's display name (checked). */
  displayName: string;
  /** Who submits (checked). */
  username: string;
  /** The job (checked to be a JSON object). */
  job: object;
  /** The clock. */
  now: Clock;
}

/** Options of {@linkcode JobTransitions.claim} and {@linkcode JobTransitions.extend}. */
export interface LeaseTerms {
  /** How long the lease lasts from now, in milliseconds. */
  leaseMs: number;
  /** The clock. */
  now: Clock;
}

/** Options of {@linkcode JobTransitions.claim}. */
export interface ClaimTerms extends LeaseTerms {
  /** Take this job, if it is queued and free, instead of the oldest. */
  jobId?: string;
  /** Leave these queued jobs for now (e.g. job files still being written). */
  skip?: ReadonlySet<string>;
}

/** What {@linkcode JobTransitions.complete} records. */
export interface Outcome {
  /** The final status: DONE or ERROR (checked against the job). */
  status: StatusMsg;
  /** The result, with DONE (checked against the job and backend). */
  result?: Result;
  /**
   * What to store in place of `result`, when given: the result signed, as a
   * JWS dict whose payload is `result` (for a backend whose config says
   * `sign: true`). The checks look at `result`; the storage gets
   * `record ?? result`, and neither when the outcome ends ERROR.
   */
  record?: JwsDict;
  /**
   * How many experiments the job has, when the caller read the job (a
   * worker); else the job is read again to check that `result` has one entry
   * per experiment.
   */
  experiments?: number;
}

/** Options of the transitions that may end a job for good. */
export interface AttemptTerms {
  /** After this many failed attempts a job ends ERROR instead of running again. */
  maxAttempts: number;
  /** How long the clean-up of a decided transition may take before others finish it, in milliseconds. */
  leaseMs: number;
  /** The clock. */
  now: Clock;
}

/** Options of {@linkcode JobTransitions.release}. */
export interface ReleaseTerms extends AttemptTerms {
  /**
   * Why the attempt failed, when it did (e.g. the storage refused to store the
   * result): then the release counts as a failed attempt, and once the job
   * has `maxAttempts` of them it ends ERROR with this message. Without it the
   * release is a worker giving a job back unharmed, which counts nothing.
   */
  failure?: string;
}

/** How a release ended. */
export type ReleaseOutcome =
  /** The job is back at the head of its queue. */
  | "requeued"
  /** The failed attempt was the last allowed: the job ended ERROR. */
  | "failed";

/** Options of {@linkcode JobTransitions.recover}. */
export interface RecoverTerms extends AttemptTerms {
  /**
   * A running job is stale once its lease's `expires_at` is more than this
   * many milliseconds in the past: a margin against clocks that disagree. A
   * lease that its holder keeps renewing is never stale.
   */
  olderThanMs?: number;
  /**
   * Put running jobs that have no lease (taken by another tool's worker, such
   * as sqooler's Python worker, which writes none) back in their queue. Off
   * by default, because such a job may still be running.
   */
  requeueUnleased: boolean;
}

/** What {@linkcode JobTransitions.recover} did. */
export interface RecoveryReport {
  /** Jobs put back at the head of their queue, each after a failed attempt. */
  requeued: string[];
  /** Jobs that ended ERROR because they reached the most attempts allowed. */
  failed: string[];
  /** Jobs whose outcome was decided but whose worker stopped before it was fully recorded; recorded now. */
  completed: string[];
  /**
   * Running jobs without a lease: held by another tool's worker, which writes
   * none. They are left alone unless `requeueUnleased` is set (then they are
   * in `requeued` too).
   */
  unleased: string[];
  /** Jobs whose lease is still good. */
  alive: string[];
  /** For each requeued or failed job: its failed attempts so far. */
  attempts: Record<string, number>;
  /**
   * Jobs that could not be recovered in this pass, with why (e.g. the
   * storage refused, or a lease could not be read); the others were.
   */
  errors: Record<string, string>;
}

/**
 * The job state machine. Each method makes one transition, decided by one
 * atomic step; anything else it does is idempotent clean-up that a later
 * call (or a recovery) can finish. See `protocol.ts` for the states and who
 * may make each transition.
 */
export interface JobTransitions {
  /**
   * submit → queued: records the owner, then queues the job.
   *
   * @param input The backend, the user, the job and the clock.
   * @returns The new job's id.
   */
  submit(input: SubmitInput): Promise<string>;

  /**
   * queued → running: takes the oldest job of a backend's queue that no one
   * holds, with a lease and a fresh fencing token.
   *
   * @param displayName The backend.
   * @param terms The lease's length, the clock, and which job, if a given one.
   * @returns The claim, or `undefined` when the queue has no job to take.
   */
  claim(displayName: string, terms: ClaimTerms): Promise<Claim | undefined>;

  /**
   * running → running: moves a lease's expiry.
   *
   * @param ref The job and the caller's token.
   * @param terms The new length from now and the clock.
   * @returns The lease as now recorded.
   * @throws {LeaseLostError} When the token is not the job's current one.
   */
  extend(ref: LeaseRef, terms: LeaseTerms): Promise<Lease>;

  /**
   * Writes a status that is not final, for a job that is queued or running.
   *
   * @param ref The job and the caller's token.
   * @param status The status: INITIALIZING or QUEUED.
   * @returns Nothing.
   * @throws {LeaseLostError} When a token is given and is not the job's current one.
   * @throws {JobStateError} When the job's status is final, or the job is neither queued nor running.
   */
  report(ref: LeaseRef, status: StatusMsg): Promise<void>;

  /**
   * running → finished (DONE) or failed (ERROR).
   *
   * @param ref The job and the caller's token.
   * @param outcome The final status, and the result with DONE.
   * @param terms The most attempts, the clean-up time and the clock.
   * @returns What was recorded: `"error"` also for a DONE whose result did
   * not fit the job, or for a job that was cancelled while it ran.
   * @throws {LeaseLostError} When the token is not the job's current one.
   * @throws {JobStateError} When the job is not running.
   */
  complete(
    ref: LeaseRef,
    outcome: Outcome,
    terms: AttemptTerms,
  ): Promise<"done" | "error">;

  /**
   * running → queued (or failed, after a failed attempt that was the last).
   *
   * @param ref The job and the caller's token.
   * @param terms Why the attempt failed (if it did), the most attempts, the clean-up time, the clock.
   * @returns What became of the job.
   * @throws {LeaseLostError} When the token is not the job's current one.
   * @throws {JobStateError} When the job is not running.
   */
  release(ref: LeaseRef, terms: ReleaseTerms): Promise<ReleaseOutcome>;

  /**
   * running (stale lease) → queued or failed, and completes what stopped
   * workers left half done.
   *
   * @param displayName The backend.
   * @param terms When a lease is stale, the most attempts, the clock.
   * @returns What was done, job by job.
   */
  recover(displayName: string, terms: RecoverTerms): Promise<RecoveryReport>;

  /**
   * Cancels a job: a queued one ends ERROR at once (its move to
   * `jobs/deleted` decides, against any claim); a running one under a lease
   * is marked, and its worker stops it and records ERROR.
   *
   * @param ref The job (its token is ignored).
   * @param terms The message its status gets, and the clock.
   * @returns `"cancelled"` (it is ERROR now) or `"requested"` (its worker stops it).
   * @throws {NotFoundError} When the backend has no such job.
   * @throws {JobStateError} When the job is final already, or held by another tool's worker.
   */
  cancel(
    ref: LeaseRef,
    terms: { message: string; now: Clock },
  ): Promise<"cancelled" | "requested">;

  /**
   * failed → queued: puts a job that ended ERROR back at the head of its
   * queue with its attempts reset and its status INITIALIZING (the move out
   * of `jobs/deleted` decides).
   *
   * @param ref The job (its token is ignored).
   * @param terms The detail its status gets, and the clock.
   * @returns Nothing.
   * @throws {NotFoundError} When the backend has no such failed job.
   */
  retry(ref: LeaseRef, terms: { detail: string; now: Clock }): Promise<void>;

  /**
   * Reads a job's lease.
   *
   * @param displayName The backend.
   * @param jobId The job.
   * @returns The lease, or `undefined` when the job has none.
   */
  lease(displayName: string, jobId: string): Promise<Lease | undefined>;
}
