/**
 * The job protocol: one state machine for every job, with one atomic,
 * decisive step per transition. This module implements
 * {@linkcode JobTransitions} over the document operations of any
 * {@linkcode StorageAdapter}; an adapter with transactions offers its own as
 * `adapter.transitions`, and {@linkcode transitionsOf} picks it.
 *
 * ## States
 *
 * | state    | where the job file is       | lease (`leases/<d>/<id>`)        |
 * | -------- | --------------------------- | -------------------------------- |
 * | queued   | `jobs/queued/<d>`           | none                             |
 * | running  | `jobs/running`              | `running`, with a fencing token  |
 * | finished | `jobs/finished/<d>` (DONE)  | none                             |
 * | failed   | `jobs/deleted` (ERROR)      | none                             |
 *
 * A job in `jobs/running` without a lease is held by another tool's worker
 * (sqooler's Python worker writes none): this library never takes it away
 * unless asked to (`requeueUnleased`).
 *
 * ## Transitions, who makes them, and the step that decides each
 *
 * | transition                 | who                | decided by                                            |
 * | -------------------------- | ------------------ | ----------------------------------------------------- |
 * | submit → queued            | the API            | creating the job file (after the owner record)        |
 * | queued → running (claim)   | a worker           | the rename out of the queue (after creating a lease)  |
 * | running → running (extend) | the lease's holder | compare-and-swap of the lease on its token            |
 * | running → finished/failed  | the lease's holder | compare-and-swap of the lease: `running` → `done`/`error` |
 * | running → queued (release) | the lease's holder | compare-and-swap of the lease: `running` → `requeue`  |
 * | running → queued/failed (recover) | anyone, once the lease is stale | compare-and-swap of the stale lease |
 *
 * A claim creates the lease before it moves the job, so that a worker that
 * dies at any point leaves a lease that recovery finds; of several claimers
 * (also sqooler's Python worker), the rename decides. Every later step proves
 * the token in the compare-and-swap that makes the change, so a worker whose
 * lease was taken away changes nothing and gets {@linkcode LeaseLostError}.
 * After a decision, the rest is idempotent clean-up in a fixed order (result,
 * status, job file, lease last); a process that dies during it leaves the
 * decided lease, and once that lease's time has run out, the next recovery
 * finishes the clean-up. A failed attempt (a worker that died, a storage that
 * refused the result) is counted in the job's `meta/` record; after
 * `maxAttempts` of them the job ends ERROR with a message that says why, so no
 * job runs more than `maxAttempts` times.
 *
 * @module
 */

import type { JsonObject, StorageAdapter } from "./adapter.ts";
import {
  AlreadyExistsError,
  CorruptRecordError,
  JobStateError,
  LeaseLostError,
  NotFoundError,
  StorageError,
} from "./errors.ts";
import {
  DELETED,
  finishedPath,
  leasesPath,
  metaPath,
  queuedPath,
  resultsPath,
  RUNNING,
  statusPath,
} from "./layout.ts";
import { newJobId } from "./names.ts";
import {
  deleteIfExists,
  moveIfExists,
  putRecord,
  readIfReadable,
  readRecord,
  unwrapSigned,
} from "./records.ts";
import {
  formatTime,
  JobMeta,
  Lease,
  type LeaseState,
  parseStoredTime,
  type Result,
  StatusMsg,
} from "./schemas.ts";
import type {
  AttemptTerms,
  Claim,
  ClaimTerms,
  Clock,
  JobTransitions,
  LeaseRef,
  LeaseTerms,
  Outcome,
  RecoverTerms,
  RecoveryReport,
  ReleaseOutcome,
  ReleaseTerms,
  SubmitInput,
} from "./transitions.ts";

/**
 * The job transitions of an adapter: its native ones when it has them, else
 * the generic implementation over its document operations.
 *
 * @param adapter The storage.
 * @returns The transitions to use.
 */
export function transitionsOf(adapter: StorageAdapter): JobTransitions {
  return adapter.transitions ?? new DocumentTransitions(adapter);
}

/** Each byte's two hex digits, `00` to `ff`. */
const HEX_BYTES = Array.from(
  { length: 256 },
  (_, byte) => byte.toString(16).padStart(2, "0"),
);

/** A fresh fencing token: 128 random bits as 32 hex characters. */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let token = "";
  for (let i = 0; i < bytes.length; i++) token += HEX_BYTES[bytes[i]];
  return token;
}

/** Whether a status is final. */
export function isFinal(status: { status?: unknown } | undefined): boolean {
  return status?.status === "DONE" || status?.status === "ERROR";
}

/**
 * How many experiments a job has: its keys `experiment_<n>` (other keys are
 * not experiments; the worker's checks refuse a job that has them).
 */
export function experimentCount(job: JsonObject): number {
  let count = 0;
  for (const key in job) if (EXPERIMENT_KEY.test(key)) count++;
  return count;
}

/**
 * Why a result does not fit a job of `experiments` experiments (it needs one
 * entry per experiment), or `undefined`.
 */
export function countProblem(
  experiments: number,
  result: Result,
): string | undefined {
  const got = result.results.length;
  if (got === experiments) return undefined;
  return `The backend returned ${got} result${
    got === 1 ? "" : "s"
  } for a job of ${experiments} experiment${
    experiments === 1 ? "" : "s"
  }; every experiment needs exactly one.`;
}

const EXPERIMENT_KEY = /^experiment_\d+$/;

const iso = formatTime;

/** How records with a fresh id are uploaded: see {@linkcode DocumentTransitions.submit}. */
const FRESH = { overwrite: true } as const;

/** How many times a compare-and-swap is tried when others keep changing the record. */
const CAS_ROUNDS = 8;

/**
 * {@linkcode JobTransitions} over the document operations of a
 * {@linkcode StorageAdapter}, in sqooler's layout. It keeps no state of its
 * own: any number of instances, in any number of processes, may work on one
 * storage.
 */
export class DocumentTransitions implements JobTransitions {
  #adapter: StorageAdapter;

  /**
   * Wraps an adapter.
   *
   * @param adapter The storage.
   */
  constructor(adapter: StorageAdapter) {
    this.#adapter = adapter;
  }

  /** Records the owner, then queues the job; the job's upload decides. */
  async submit(input: SubmitInput): Promise<string> {
    const { displayName, username, job } = input;
    const now = input.now();
    for (let attempt = 0;; attempt++) {
      const jobId = newJobId(now);
      const meta: JobMeta = {
        job_id: jobId,
        username,
        submitted_at: iso(now),
        attempts: 0,
      };
      // The id was made just now, with 48 random bits per millisecond (and
      // counting up within this process): no record can have it, so both
      // records are placed without the check that none exists, which saves
      // a filesystem operation each (one rename instead of link and unlink).
      // An adapter that does not know `overwrite` still creates them.
      try {
        // The owner is on record before the job can be taken or asked for.
        await this.#adapter.upload(metaPath(displayName), jobId, meta, FRESH);
      } catch (error) {
        if (error instanceof AlreadyExistsError && attempt < 3) continue;
        throw error;
      }
      try {
        await this.#adapter.upload(queuedPath(displayName), jobId, job, FRESH);
        return jobId;
      } catch (error) {
        // No owner record without its job, and no job without its owner: a
        // job that is queued all the same (an upload that failed after its
        // file was in place, such as a folder sync) is taken out again, and
        // the owner record is removed only when the job is surely nowhere.
        // A job that a worker took meanwhile is submitted: its id is the
        // answer, so that the caller knows the job that will run.
        const where = error instanceof AlreadyExistsError
          ? "nowhere"
          : await this.#withdraw(displayName, jobId);
        if (where === "taken") return jobId;
        if (where === "nowhere") {
          await dropOwner(this.#adapter, displayName, jobId);
        }
        if (error instanceof AlreadyExistsError && attempt < 3) continue;
        throw error;
      }
    }
  }

  /**
   * After a failed upload of a job: takes the job out of its queue if it got
   * there, and tells where it is now: `nowhere` (surely), `taken` (a worker
   * took it meanwhile: it has a lease, or is in a later folder or back in its
   * queue), or `unknown` when the storage cannot tell. The places are looked
   * at in the order a job moves, and its lease and queue again last, so that
   * a job moving meanwhile is seen.
   */
  async #withdraw(
    displayName: string,
    jobId: string,
  ): Promise<"nowhere" | "taken" | "unknown"> {
    return await retrying<"nowhere" | "taken" | "unknown">(async () => {
      const key = { path: queuedPath(displayName), id: jobId };
      if (await deleteIfExists(this.#adapter, key)) return "nowhere";
      for (
        const path of [
          leasesPath(displayName),
          RUNNING,
          finishedPath(displayName),
          DELETED,
          queuedPath(displayName),
          leasesPath(displayName),
        ]
      ) {
        if (await exists(this.#adapter, path, jobId)) return "taken";
      }
      return "nowhere";
    }, "unknown");
  }

  /** Creates a lease for the oldest free job, then moves the job; the move decides. */
  async claim(
    displayName: string,
    terms: ClaimTerms,
  ): Promise<Claim | undefined> {
    const token = newToken();
    const leases = leasesPath(displayName);
    const queue = queuedPath(displayName);
    let lease: Lease | undefined;
    const prepare = async (id: string) => {
      if (terms.skip?.has(id)) return false;
      const now = terms.now();
      const at = iso(now);
      const fresh: Lease = {
        job_id: id,
        token,
        state: "running",
        claimed_at: at,
        expires_at: iso(now + terms.leaseMs),
        renewed_at: at,
        attempts: null,
        error_message: null,
        cancel_requested: null,
      };
      try {
        await this.#adapter.upload(leases, id, fresh);
      } catch (error) {
        // A lease on a queued job: a claim in progress, or the remains of a
        // claimer that died, which recovery removes once stale.
        if (error instanceof AlreadyExistsError) return false;
        throw error;
      }
      lease = fresh;
      return true;
    };
    const rollback = (id: string) => this.#dropLease(displayName, id, token);
    // A job must be able to leave jobs/running for every place it may go
    // with one atomic move: refused before any job is taken, not after.
    await this.#adapter.checkMoves?.([
      [queue, RUNNING],
      [RUNNING, finishedPath(displayName)],
      [RUNNING, DELETED],
      [RUNNING, queue],
    ]);
    let jobId: string | undefined;
    if (terms.jobId === undefined) {
      jobId = await this.#adapter.moveOldest(queue, RUNNING, {
        prepare,
        rollback,
      });
    } else if (await prepare(terms.jobId)) {
      const move = { from: queue, to: RUNNING, id: terms.jobId };
      if (await moveIfExists(this.#adapter, move)) jobId = terms.jobId;
      else await rollback(terms.jobId);
    }
    if (jobId === undefined) return undefined;
    if (lease?.job_id !== jobId) {
      // The adapter moved a job without calling `prepare` for it.
      await moveIfExists(this.#adapter, {
        from: RUNNING,
        to: queue,
        id: jobId,
      });
      throw new TypeError(
        `Cannot claim job ${jobId} of ${displayName}: the adapter's moveOldest moved it without calling options.prepare, so it has no lease; an adapter (or a wrapper) must pass the options on`,
      );
    }
    // A claimer that stalled between its lease and its move for longer than
    // the lease may find its lease removed by a recovery (the job was still
    // queued then): the job is in hand now, so its lease is made again.
    // The lease that this claim wrote, when it is still stored as written,
    // is not checked again (its times are, for a clock past the year 9999).
    const held = await this.#readLease(
      displayName,
      jobId,
      Number.isNaN(parseStoredTime(lease.expires_at)) ? undefined : lease,
    );
    if (held?.token !== token) {
      if (held !== undefined) {
        // Another's lease on a job that this claimer moved: it cannot be, but
        // if it is, the job is not this claimer's to run.
        return undefined;
      }
      const now = terms.now();
      lease = {
        ...lease,
        claimed_at: iso(now),
        renewed_at: iso(now),
        expires_at: iso(now + terms.leaseMs),
      };
      try {
        await this.#adapter.upload(leases, jobId, lease);
      } catch (error) {
        if (!(error instanceof AlreadyExistsError)) throw error;
        return undefined;
      }
    }
    return { jobId, token, lease };
  }

  async extend(ref: LeaseRef, terms: LeaseTerms): Promise<Lease> {
    return await this.#swapLease(ref, "extend the lease on", (current) => {
      const now = terms.now();
      return {
        ...current,
        expires_at: iso(now + terms.leaseMs),
        renewed_at: iso(now),
      };
    });
  }

  async report(ref: LeaseRef, status: StatusMsg): Promise<void> {
    const { displayName, jobId } = ref;
    if (ref.token !== undefined) {
      const lease = await this.lease(displayName, jobId);
      if (lease?.state !== "running" || lease.token !== ref.token) {
        throw lost(ref, "report the status of");
      }
    } else if (
      !await this.#holds(RUNNING, jobId) &&
      !await this.#holds(queuedPath(displayName), jobId)
    ) {
      throw new JobStateError(
        `Cannot report status ${status.status} of job ${jobId} of ${displayName}: it is neither queued nor running`,
      );
    }
    await this.#writeStatus(displayName, jobId, status, { final: false });
  }

  async complete(
    ref: LeaseRef,
    outcome: Outcome,
    terms: AttemptTerms,
  ): Promise<"done" | "error"> {
    const { displayName, jobId } = ref;
    const lease = await this.lease(displayName, jobId);
    if (lease === undefined && ref.token === undefined) {
      await this.#completeUnleased(ref, outcome);
      return outcome.status.status === "DONE" ? "done" : "error";
    }
    let { status, result, record } = outcome;
    if (result !== undefined) {
      const problem = await this.#resultProblem(
        jobId,
        result,
        outcome.experiments,
      );
      if (problem !== undefined) {
        status = {
          ...status,
          status: "ERROR",
          error_message: problem,
        };
        result = undefined;
        record = undefined;
      }
    }
    const decided = await this.#swapLease(ref, "record the outcome of", (
      current,
    ) => {
      // A job that was asked to stop ends ERROR, whatever it returned.
      const cancelled = current.cancel_requested;
      const state: LeaseState = cancelled === null && status.status === "DONE"
        ? "done"
        : "error";
      return {
        ...current,
        state,
        expires_at: iso(terms.now() + terms.leaseMs),
        error_message: cancelled ??
          (state === "error" ? status.error_message : null),
      };
    }, { state: "running", read: lease });
    const decidedAt = terms.now();
    let held = decided;
    if (decided.state === "error") result = record = undefined;
    if (result !== undefined) {
      try {
        await putRecord(
          this.#adapter,
          { path: resultsPath(displayName), id: jobId },
          record ?? result,
        );
      } catch (error) {
        if (!(error instanceof StorageError)) throw error;
        // The storage refused the result: a failed attempt, not a lost job.
        await this.#failAttempt(displayName, decided, error.message, terms)
          .catch(() => {});
        throw error;
      }
      // A result that took half the lease to write (many shots, a slow
      // disk): a recovery may have taken the decided lease over meanwhile,
      // found no result and put the job back. The decision is renewed, or
      // this call stops here and leaves the job to that recovery.
      if (terms.now() - decidedAt > terms.leaseMs / 2) {
        held = await this.#swapLease(
          { ...ref, token: decided.token },
          "record the outcome of",
          (current) => {
            if (!sameLease(current, decided)) {
              throw lost(ref, "record the outcome of");
            }
            return { ...current, expires_at: iso(terms.now() + terms.leaseMs) };
          },
          { state: decided.state },
        );
      }
    }
    await this.#cleanUp(displayName, held, status);
    return decided.state === "done" ? "done" : "error";
  }

  async cancel(
    ref: LeaseRef,
    terms: { message: string; now: Clock },
  ): Promise<"cancelled" | "requested"> {
    return await this.#cancel(ref, terms, 0);
  }

  /** {@linkcode DocumentTransitions.cancel}, looking again after a lease that changed (`round` times so far). */
  async #cancel(
    ref: LeaseRef,
    terms: { message: string; now: Clock },
    round: number,
  ): Promise<"cancelled" | "requested"> {
    const { displayName, jobId } = ref;
    // A queued job: its move out of the queue decides, against any claim.
    if (
      await moveIfExists(this.#adapter, {
        from: queuedPath(displayName),
        to: DELETED,
        id: jobId,
      })
    ) {
      await this.#writeStatus(displayName, jobId, {
        job_id: jobId,
        status: "ERROR",
        detail: await this.#detailOf(displayName, jobId),
        error_message: terms.message,
      }, { final: true });
      return "cancelled";
    }
    const lease = await this.lease(displayName, jobId);
    if (lease?.state === "running") {
      try {
        await this.#swapLease(
          { displayName, jobId, token: lease.token },
          "cancel",
          (current) => ({
            ...current,
            cancel_requested: current.cancel_requested ?? terms.message,
          }),
        );
        return "requested";
      } catch (error) {
        // Decided meanwhile: the job is final, or queued again.
        if (!(error instanceof LeaseLostError)) throw error;
        if (round >= CAS_ROUNDS) {
          throw new JobStateError(
            `Cannot cancel job ${jobId} of ${displayName}: its lease changed ${
              round + 1
            } times while the cancel was being recorded`,
          );
        }
        return await this.#cancel(ref, terms, round + 1);
      }
    }
    if (lease !== undefined) {
      throw new JobStateError(
        `Cannot cancel job ${jobId} of ${displayName}: its outcome is being recorded`,
      );
    }
    if (await this.#holds(RUNNING, jobId)) {
      throw new JobStateError(
        `Cannot cancel job ${jobId} of ${displayName}: another tool's worker (without a lease) is running it`,
      );
    }
    for (
      const [path, state] of [[finishedPath(displayName), "DONE"], [
        DELETED,
        "ERROR",
      ]]
    ) {
      if (
        await this.#holds(path, jobId) &&
        await this.#isBackends(displayName, jobId)
      ) {
        throw new JobStateError(
          `Cannot cancel job ${jobId} of ${displayName}: it ended ${state} already`,
        );
      }
    }
    throw new NotFoundError(
      `Cannot cancel job ${jobId} of ${displayName}: there is no such job`,
    );
  }

  async retry(
    ref: LeaseRef,
    terms: { detail: string; now: Clock },
  ): Promise<void> {
    const { displayName, jobId } = ref;
    // jobs/deleted is shared by all backends: the status says whose it is.
    const status = await readIfReadable(
      this.#adapter,
      { path: statusPath(displayName), id: jobId },
      StatusMsg,
    );
    if (status?.status !== "ERROR" || !await this.#holds(DELETED, jobId)) {
      throw new NotFoundError(
        `Cannot retry job ${jobId} of ${displayName}: it is not a failed job of this backend`,
      );
    }
    // Attempts first: the run that follows has all of them.
    await this.#setAttempts(displayName, jobId, 0);
    if (
      !await moveIfExists(this.#adapter, {
        from: DELETED,
        to: queuedPath(displayName),
        id: jobId,
      })
    ) {
      throw new NotFoundError(
        `Cannot retry job ${jobId} of ${displayName}: it left jobs/deleted meanwhile`,
      );
    }
    // Only the ERROR that was retried is replaced: a worker may have taken
    // the job and recorded its outcome already.
    try {
      await this.#adapter.update(statusPath(displayName), jobId, {
        job_id: jobId,
        status: "INITIALIZING",
        detail: terms.detail,
        error_message: "None",
      }, {
        check: (stored) => {
          if (stored.status !== "ERROR") throw new ChangedMeanwhile();
        },
      });
    } catch (error) {
      if (!(error instanceof ChangedMeanwhile)) throw error;
    }
  }

  async release(
    ref: LeaseRef,
    terms: ReleaseTerms,
  ): Promise<ReleaseOutcome> {
    const { displayName, jobId } = ref;
    const next = terms.failure === undefined
      ? { state: "requeue" as const, attempts: null, error_message: null }
      : this.#afterFailure(
        jobId,
        await this.#attemptsAfterFailure(displayName, jobId),
        terms,
        terms.failure,
      );
    const decided = await this.#swapLease(ref, "release", (current) => ({
      ...current,
      // A job that was asked to stop does not go back to its queue.
      ...(current.cancel_requested === null ? next : {
        state: "error" as const,
        attempts: null,
        error_message: current.cancel_requested,
      }),
      expires_at: iso(terms.now() + terms.leaseMs),
    }));
    await this.#cleanUp(displayName, decided);
    return decided.state === "error" ? "failed" : "requeued";
  }

  async recover(
    displayName: string,
    terms: RecoverTerms,
  ): Promise<RecoveryReport> {
    const report: RecoveryReport = {
      requeued: [],
      failed: [],
      completed: [],
      unleased: [],
      alive: [],
      attempts: {},
      errors: {},
    };
    // Running first, leases second: a job that a claimer moved into
    // jobs/running had its lease before, so no lease is missed.
    const running = await this.#adapter.list(RUNNING);
    const leaseIds = await this.#adapter.list(leasesPath(displayName));
    const leased = new Set(leaseIds);
    for (const jobId of leaseIds) {
      // One job that cannot be recovered does not keep the others waiting.
      try {
        const removed = await this.#recoverLeased(
          displayName,
          jobId,
          terms,
          report,
        );
        if (removed) leased.delete(jobId);
      } catch (error) {
        report.errors[jobId] = error instanceof Error
          ? error.message
          : String(error);
      }
    }
    for (const jobId of running) {
      if (leased.has(jobId) || !await this.#isBackends(displayName, jobId)) {
        continue;
      }
      // Leased since the listing, or finished meanwhile.
      if (
        await this.#holds(leasesPath(displayName), jobId) ||
        !await this.#holds(RUNNING, jobId)
      ) continue;
      report.unleased.push(jobId);
      if (!terms.requeueUnleased) continue;
      const attempts = await this.#attemptsAfterFailure(displayName, jobId);
      if (
        !await moveIfExists(this.#adapter, {
          from: RUNNING,
          to: queuedPath(displayName),
          id: jobId,
        })
      ) continue;
      if (attempts.unreadable === undefined) {
        await this.#recordAttempts(displayName, jobId, attempts.count);
      }
      report.requeued.push(jobId);
      report.attempts[jobId] = attempts.count;
    }
    return report;
  }

  /**
   * A job's lease; one that cannot be read counts as none. `written` is a
   * lease that the caller wrote (see {@linkcode readRecord}).
   */
  async #readLease(
    displayName: string,
    jobId: string,
    written?: Lease,
  ): Promise<Lease | undefined> {
    try {
      return await readRecord(
        this.#adapter,
        { path: leasesPath(displayName), id: jobId },
        Lease,
        written,
      );
    } catch (error) {
      if (error instanceof CorruptRecordError) return undefined;
      throw error;
    }
  }

  async lease(displayName: string, jobId: string): Promise<Lease | undefined> {
    return await readRecord(
      this.#adapter,
      { path: leasesPath(displayName), id: jobId },
      Lease,
    );
  }

  /** Recovers one leased job, if its lease is stale; see {@linkcode recover}. */
  async #recoverLeased(
    displayName: string,
    jobId: string,
    terms: RecoverTerms,
    report: RecoveryReport,
  ): Promise<boolean> {
    let lease: Lease | undefined;
    try {
      lease = await this.lease(displayName, jobId);
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
      return await this.#unreadableLease(
        displayName,
        jobId,
        error,
        terms,
        report,
      );
    }
    if (lease === undefined) return false;
    // A lease is stale once its time has run out (and, with olderThanMs,
    // for that much longer): a lease that its holder keeps renewing never is.
    const stale = terms.now() >
      parseStoredTime(lease.expires_at) + (terms.olderThanMs ?? 0);
    if (!stale) {
      report.alive.push(jobId);
      return false;
    }
    const ref = { displayName, jobId, token: lease.token };
    if (lease.state !== "running") {
      // A decided transition whose process stopped during its clean-up.
      const taken = await this.#takeOver(ref, lease, terms);
      if (taken === undefined) return false;
      const became = await this.#cleanUp(displayName, taken);
      this.#note(report, jobId, became, taken, taken.attempts !== null);
      return false;
    }
    if (!await this.#holds(RUNNING, jobId)) {
      // Its claimer died between the lease and the move, or lost the move
      // and died before it dropped the lease: the job never ran under it.
      await this.#dropLease(displayName, jobId, lease.token, lease);
      return true;
    }
    const next = this.#afterFailure(
      jobId,
      await this.#attemptsAfterFailure(displayName, jobId),
      terms,
      "its worker stopped before it recorded an outcome",
    );
    let decided: Lease;
    try {
      decided = await this.#swapLease(ref, "recover", (current) => {
        if (!sameLease(current, lease)) throw lost(ref, "recover");
        return {
          ...current,
          ...(current.cancel_requested === null ? next : {
            state: "error" as const,
            attempts: null,
            error_message: current.cancel_requested,
          }),
          expires_at: iso(terms.now() + terms.leaseMs),
        };
      });
    } catch (error) {
      // Extended, finished or recovered by someone else meanwhile.
      if (error instanceof LeaseLostError) return false;
      throw error;
    }
    const became = await this.#cleanUp(displayName, decided);
    this.#note(report, jobId, became, decided, true);
    return false;
  }

  /**
   * A lease that cannot be read (a power cut left it empty): reported, and,
   * once its file is older than a lease, removed, so that its job is taken
   * (queued) or reported as running without a lease (running).
   *
   * @returns Whether the lease was removed.
   */
  async #unreadableLease(
    displayName: string,
    jobId: string,
    error: CorruptRecordError,
    terms: RecoverTerms,
    report: RecoveryReport,
  ): Promise<boolean> {
    const written = await this.#adapter.writtenAt?.(
      leasesPath(displayName),
      jobId,
    );
    if (written === undefined || terms.now() - written <= terms.leaseMs) {
      report.errors[jobId] =
        `${error.message}; it is removed once it is older than a lease`;
      return false;
    }
    await deleteIfExists(this.#adapter, {
      path: leasesPath(displayName),
      id: jobId,
    });
    report.errors[jobId] = `${error.message}; it was removed`;
    return true;
  }

  #note(
    report: RecoveryReport,
    jobId: string,
    became: LeaseState,
    lease: Lease,
    failedAttempt: boolean,
  ): void {
    if (became === "requeue") report.requeued.push(jobId);
    else if (became === "error" && failedAttempt) report.failed.push(jobId);
    else report.completed.push(jobId);
    if (lease.attempts !== null && became !== "done") {
      report.attempts[jobId] = lease.attempts;
    }
  }

  /** Takes over a decided lease whose clean-up was abandoned, so that one process finishes it. */
  async #takeOver(
    ref: LeaseRef,
    lease: Lease,
    terms: AttemptTerms,
  ): Promise<Lease | undefined> {
    try {
      let taken = await this.#swapLease(ref, "recover", (current) => {
        if (!sameLease(current, lease)) throw lost(ref, "recover");
        return { ...current, expires_at: iso(terms.now() + terms.leaseMs) };
      }, { state: lease.state });
      if (
        taken.state === "done" &&
        !await this.#holds(resultsPath(ref.displayName), ref.jobId)
      ) {
        // The worker stopped before it stored the result: the run is lost.
        const next = this.#afterFailure(
          ref.jobId,
          await this.#attemptsAfterFailure(ref.displayName, ref.jobId),
          terms,
          "its worker stopped before it stored the result",
        );
        taken = await this.#swapLease(ref, "recover", (current) => ({
          ...current,
          ...next,
        }), { state: "done" });
      }
      return taken;
    } catch (error) {
      if (error instanceof LeaseLostError) return undefined;
      throw error;
    }
  }

  /**
   * Records a decided transition: the status, the job file's move, the
   * attempts, and the lease's removal last. Every step may be repeated.
   */
  async #cleanUp(
    displayName: string,
    lease: Lease,
    status?: StatusMsg,
  ): Promise<LeaseState> {
    const jobId = lease.job_id;
    const current = status === undefined
      ? await readIfReadable(
        this.#adapter,
        { path: statusPath(displayName), id: jobId },
        StatusMsg,
      )
      : undefined;
    const detail = status?.detail ?? current?.detail ?? "Got your json.";
    switch (lease.state) {
      case "done":
        await this.#writeStatus(
          displayName,
          jobId,
          status ?? {
            job_id: jobId,
            status: "DONE",
            detail: `${detail}; All done`,
            error_message: "None",
          },
          { final: true },
        );
        await this.#moveJob(jobId, finishedPath(displayName));
        break;
      case "error":
        if (lease.attempts !== null) {
          await this.#recordAttempts(displayName, jobId, lease.attempts);
        }
        await this.#writeStatus(displayName, jobId, {
          job_id: jobId,
          status: "ERROR",
          detail,
          error_message: lease.error_message ??
            status?.error_message ??
            `The worker of job ${jobId} stopped while it recorded why the job failed.`,
        }, { final: true });
        await this.#moveJob(jobId, DELETED);
        break;
      case "requeue":
        if (lease.attempts !== null) {
          await this.#recordAttempts(displayName, jobId, lease.attempts);
        }
        await this.#moveJob(jobId, queuedPath(displayName));
        break;
      case "running":
        throw new JobStateError(
          `Cannot clean up job ${jobId} of ${displayName}: its lease is still running`,
        );
    }
    await this.#dropLease(displayName, jobId, lease.token, lease);
    return lease.state;
  }

  /**
   * Turns a decided `done` whose result could not be stored into a failed
   * attempt: back to the queue, or ERROR once the attempts are used up.
   */
  async #failAttempt(
    displayName: string,
    lease: Lease,
    reason: string,
    terms: AttemptTerms,
  ): Promise<void> {
    const jobId = lease.job_id;
    const next = this.#afterFailure(
      jobId,
      await this.#attemptsAfterFailure(displayName, jobId),
      terms,
      reason,
    );
    const ref = { displayName, jobId, token: lease.token };
    const decided = await this.#swapLease(ref, "record the failure of", (
      current,
    ) => ({ ...current, ...next }), { state: "done" });
    await this.#cleanUp(displayName, decided);
  }

  /** An unfenced outcome for a running job without a lease: the job's move decides. */
  async #completeUnleased(ref: LeaseRef, outcome: Outcome): Promise<void> {
    const { displayName, jobId } = ref;
    const { status, result, record } = outcome;
    const target = status.status === "DONE"
      ? finishedPath(displayName)
      : DELETED;
    if (
      !await moveIfExists(this.#adapter, {
        from: RUNNING,
        to: target,
        id: jobId,
      })
    ) {
      throw new JobStateError(
        `Cannot record the outcome of job ${jobId} of ${displayName}: it is not running, so another worker or a recovery decided it`,
      );
    }
    if (result !== undefined) {
      await putRecord(
        this.#adapter,
        { path: resultsPath(displayName), id: jobId },
        record ?? result,
      );
    }
    await this.#writeStatus(displayName, jobId, status, { final: true });
  }

  /**
   * Why a result does not fit its job, or `undefined`. The job is read from
   * `jobs/running` unless the caller, who read it, said how many experiments
   * it has.
   */
  async #resultProblem(
    jobId: string,
    result: Result,
    experiments: number | undefined,
  ): Promise<string | undefined> {
    if (experiments !== undefined) return countProblem(experiments, result);
    let job: JsonObject;
    try {
      job = await this.#adapter.get(RUNNING, jobId);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      if (error instanceof CorruptRecordError) return undefined;
      throw error;
    }
    return countProblem(experimentCount(job), result);
  }

  /**
   * A compare-and-swap of a job's lease: reads it, lets `change` compute the
   * new lease, and writes it only if the stored lease is still the one read
   * (else tries again with the new one). The lease must be in `state`
   * (default `running`) and carry the ref's token, when one is given.
   */
  async #swapLease(
    ref: LeaseRef,
    action: string,
    change: (current: Lease) => Lease,
    expect: { state: LeaseState; read?: Lease } = { state: "running" },
  ): Promise<Lease> {
    const { displayName, jobId } = ref;
    // A lease that the caller just read saves the first read.
    let known = expect.read;
    for (let round = 0;; round++) {
      let read: Lease | undefined = known;
      known = undefined;
      if (read === undefined) {
        try {
          read = await this.lease(displayName, jobId);
        } catch (error) {
          if (error instanceof CorruptRecordError) throw lost(ref, action);
          throw error;
        }
      }
      if (
        read === undefined || read.state !== expect.state ||
        (ref.token !== undefined && read.token !== ref.token)
      ) {
        throw ref.token === undefined && read === undefined
          ? new JobStateError(
            `Cannot ${action} job ${jobId} of ${displayName}: it is not running under a lease`,
          )
          : lost(ref, action);
      }
      const next = change(read);
      try {
        await this.#adapter.update(leasesPath(displayName), jobId, next, {
          check: (stored) => {
            if (!sameLease(stored, read)) throw new ChangedMeanwhile();
          },
        });
        return next;
      } catch (error) {
        if (error instanceof NotFoundError) throw lost(ref, action);
        if (!(error instanceof ChangedMeanwhile) || round >= CAS_ROUNDS) {
          throw error instanceof ChangedMeanwhile ? lost(ref, action) : error;
        }
      }
    }
  }

  /** Deletes a lease if it is still the one with this token (and content, when given). */
  async #dropLease(
    displayName: string,
    jobId: string,
    token: string,
    expected?: Lease,
  ): Promise<void> {
    try {
      await this.#adapter.delete(leasesPath(displayName), jobId, {
        check: (stored) => {
          const ok = expected === undefined
            ? stored.token === token
            : sameLease(stored, expected);
          if (!ok) throw new ChangedMeanwhile();
        },
      });
    } catch (error) {
      if (error instanceof NotFoundError) return;
      if (error instanceof ChangedMeanwhile) return;
      throw error;
    }
  }

  /**
   * The job's failed attempts once one more is counted, and, when its
   * `meta/` record cannot be read, why: then attempts cannot be counted, and
   * the job must not run again (rewriting the record would lose its owner).
   */
  async #attemptsAfterFailure(
    displayName: string,
    jobId: string,
  ): Promise<{ count: number; unreadable?: string }> {
    try {
      const meta = await readRecord(
        this.#adapter,
        { path: metaPath(displayName), id: jobId },
        JobMeta,
      );
      return { count: (meta?.attempts ?? 0) + 1 };
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
      return { count: 1, unreadable: error.message };
    }
  }

  /** What a failed attempt leads to: the queue again, or ERROR with why. */
  #afterFailure(
    jobId: string,
    attempts: { count: number; unreadable?: string },
    terms: { maxAttempts: number },
    reason: string,
  ): Pick<Lease, "state" | "attempts" | "error_message"> {
    if (attempts.unreadable !== undefined) {
      return {
        state: "error",
        attempts: null,
        error_message:
          `Job ${jobId} is not run again: ${reason}, and ${attempts.unreadable}, so its attempts cannot be counted.`,
      };
    }
    if (attempts.count < terms.maxAttempts) {
      return {
        state: "requeue",
        attempts: attempts.count,
        error_message: null,
      };
    }
    return {
      state: "error",
      attempts: attempts.count,
      error_message: `Job ${jobId} failed ${attempts.count} attempt${
        attempts.count === 1 ? "" : "s"
      }; the last because ${reason}. It is not run again.`,
    };
  }

  /** Records a job's failed attempts (never fewer than recorded). */
  async #recordAttempts(
    displayName: string,
    jobId: string,
    attempts: number,
  ): Promise<void> {
    const key = { path: metaPath(displayName), id: jobId };
    let meta: JobMeta | undefined;
    try {
      meta = await readRecord(this.#adapter, key, JobMeta);
    } catch (error) {
      // Rewriting an unreadable record would lose its owner.
      if (error instanceof CorruptRecordError) return;
      throw error;
    }
    if (meta !== undefined && meta.attempts >= attempts) return;
    await putRecord(this.#adapter, key, {
      ...(meta ?? { job_id: jobId, username: null, submitted_at: null }),
      attempts,
    });
  }

  /** Sets a job's failed attempts, e.g. to 0 when it is retried. */
  async #setAttempts(
    displayName: string,
    jobId: string,
    attempts: number,
  ): Promise<void> {
    const key = { path: metaPath(displayName), id: jobId };
    const meta = await readRecord(this.#adapter, key, JobMeta);
    if (meta === undefined || meta.attempts === attempts) return;
    await putRecord(this.#adapter, key, { ...meta, attempts });
  }

  /** The detail of a job's status, to keep when the status is rewritten. */
  async #detailOf(displayName: string, jobId: string): Promise<string> {
    const status = await readIfReadable(
      this.#adapter,
      { path: statusPath(displayName), id: jobId },
      StatusMsg,
    );
    return status?.detail ?? "Got your json.";
  }

  /** Writes a status; one that is not final never replaces a final one. */
  async #writeStatus(
    displayName: string,
    jobId: string,
    status: StatusMsg,
    options: { final: boolean },
  ): Promise<void> {
    const path = statusPath(displayName);
    if (options.final) {
      await putRecord(this.#adapter, { path, id: jobId }, status);
      return;
    }
    const check = (stored: JsonObject) => {
      if (isFinal(stored)) {
        throw new JobStateError(
          `Cannot set the status of job ${jobId} of ${displayName} to ${status.status}: it is ${stored.status} already, which is final`,
        );
      }
    };
    for (let round = 0;; round++) {
      try {
        await this.#adapter.update(path, jobId, status, { check });
        return;
      } catch (error) {
        if (!(error instanceof NotFoundError) || round > 2) throw error;
      }
      try {
        await this.#adapter.upload(path, jobId, status);
        return;
      } catch (error) {
        if (!(error instanceof AlreadyExistsError) || round > 2) throw error;
      }
    }
  }

  /** Moves a job file out of `jobs/running`, unless it has left already. */
  async #moveJob(jobId: string, to: string): Promise<void> {
    await moveIfExists(this.#adapter, { from: RUNNING, to, id: jobId });
  }

  /** Whether a folder holds a record (an unreadable one counts). */
  async #holds(path: string, id: string): Promise<boolean> {
    try {
      await this.#adapter.get(path, id);
      return true;
    } catch (error) {
      if (error instanceof NotFoundError) return false;
      if (error instanceof CorruptRecordError) return true;
      throw error;
    }
  }

  /** Whether a job in the shared `jobs/running` is this backend's. */
  async #isBackends(displayName: string, jobId: string): Promise<boolean> {
    return await this.#holds(statusPath(displayName), jobId) ||
      await this.#holds(metaPath(displayName), jobId);
  }
}

/** Thrown by a compare-and-swap's check when the record changed since it was read. */
class ChangedMeanwhile extends Error {}

function sameLease(stored: unknown, expected: Lease | undefined): boolean {
  if (expected === undefined || typeof stored !== "object" || stored === null) {
    return false;
  }
  // Every field that a swap may change or that a decision reads: a lease
  // written by an earlier version (no token, state, renewed_at or
  // cancel_requested) compares with its parsed form, and a cancel request
  // that came in since the lease was read makes the swap read it again.
  // A lease that someone stored signed is compared by its payload, as it
  // was read.
  const lease = unwrapSigned(stored as JsonObject) as Partial<Lease>;
  return (lease.token ?? "") === expected.token &&
    (lease.state ?? "running") === expected.state &&
    lease.claimed_at === expected.claimed_at &&
    lease.expires_at === expected.expires_at &&
    (lease.renewed_at ?? lease.claimed_at) ===
      (expected.renewed_at ?? expected.claimed_at) &&
    (lease.cancel_requested ?? null) === (expected.cancel_requested ?? null) &&
    (lease.attempts ?? null) === (expected.attempts ?? null) &&
    (lease.error_message ?? null) === (expected.error_message ?? null);
}

function lost(ref: LeaseRef, action: string): LeaseLostError {
  return new LeaseLostError(
    `Cannot ${action} job ${ref.jobId} of ${ref.displayName}: ${
      ref.token === undefined
        ? "its lease"
        : `the lease with token ${ref.token}`
    } is no longer current; it ran out and was recovered, or the job was finished or released`,
  );
}

/** Waits before each try of {@linkcode retrying}, in milliseconds. */
const RETRY_WAITS = [0, 20, 200, 1000];

/**
 * Runs a step of the clean-up after a failed upload, trying again a little
 * later when the storage refuses: the storage that refused the upload (too
 * many open files, no space) may refuse the next call too, for a moment.
 *
 * @returns What the step returns, or `fallback` when every try failed.
 */
async function retrying<T>(step: () => Promise<T>, fallback: T): Promise<T> {
  for (const wait of RETRY_WAITS) {
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    try {
      return await step();
    } catch {
      // Tried again, a little later.
    }
  }
  return fallback;
}

/**
 * Removes the owner record of a job whose upload failed, trying for about a
 * second. An owner record that stays behind all the same holds no job, and
 * no id is made twice: nothing reads it.
 */
async function dropOwner(
  adapter: StorageAdapter,
  displayName: string,
  jobId: string,
): Promise<void> {
  await retrying(
    () => deleteIfExists(adapter, { path: metaPath(displayName), id: jobId }),
    false,
  );
}

/** Whether a record exists (also when its content cannot be read). */
async function exists(
  adapter: StorageAdapter,
  path: string,
  id: string,
): Promise<boolean> {
  try {
    await adapter.get(path, id);
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    if (error instanceof CorruptRecordError) return true;
    throw error;
  }
}
