/**
 * The job transitions of the PostgreSQL adapter, done natively: the same
 * state machine as the generic implementation in `protocol.ts` (same
 * records in the same folders, same errors, same attempts), but each
 * transition is one transaction of the server instead of a series of steps
 * with clean-up.
 *
 * | transition                 | how                                                                |
 * | -------------------------- | ------------------------------------------------------------------ |
 * | submit → queued            | one `INSERT` of the owner record and the job                      |
 * | queued → running (claim)   | one statement: `FOR UPDATE SKIP LOCKED` on the oldest queued job without a lease, its move to `jobs/running`, and the lease with a fresh token |
 * | extend, report             | read, then one transaction that checks the lease's text (compare-and-swap) and writes |
 * | complete, release          | read, then one transaction that checks the lease's text and writes the result, status, attempts and the job's move, and deletes the lease |
 * | recover                    | one read of the backend's leases and lease-less running jobs, then one such transaction per stale job |
 *
 * The transactions are `apply_ops` calls (see `schema.ts`): expectations on
 * records' exact texts, locked, then the writes. A transaction whose
 * expectation fails changed nothing, and the transition reads again and
 * decides again, as the generic implementation's compare-and-swap does. Since
 * decision and clean-up are one transaction, a lease is never left in a
 * decided state (`done`, `error`, `requeue`) here; recovery still finishes
 * such leases when it meets them (written by the generic implementation over
 * the same records).
 *
 * @module
 * @internal
 */

import { records, type StorageAdapter } from "../adapter.ts";
import {
  AlreadyExistsError,
  CorruptRecordError,
  JobStateError,
  LeaseLostError,
  NotFoundError,
} from "../errors.ts";
import {
  DELETED,
  finishedPath,
  leasesPath,
  metaPath,
  queuedPath,
  resultsPath,
  RUNNING,
  statusPath,
} from "../layout.ts";
import { newJobId } from "../names.ts";
import {
  countProblem,
  experimentCount,
  isFinal,
  newToken,
} from "../protocol.ts";
import { parseStored, unwrapSigned } from "../records.ts";
import {
  JobMeta,
  Lease,
  type LeaseState,
  parseStoredTime,
  type Result,
  type Schema,
  StatusMsg,
} from "../schemas.ts";
import { stringifyJson } from "../json.ts";
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
} from "../transitions.ts";
import { type Database, type Op, textArray } from "./database.ts";
import { isConnectionLost, isUniqueViolation } from "./errors.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/** How many times a transition reads and decides again when others keep changing the job. */
const CAS_ROUNDS = 8;

/** The texts of one job's records, by folder. */
type Snapshot = Map<string, string>;

/** The writes of one transition, expectations first. */
class Plan {
  readonly expects: Op[] = [];
  readonly writes: Op[] = [];

  /** The record must hold exactly `text` (absent for `undefined`). */
  expect(path: string, id: string, text: string | undefined): this {
    this.expects.push({ op: "expect", path, id, text: text ?? null });
    return this;
  }

  put(path: string, id: string, content: object): this {
    return this.putText(
      path,
      id,
      records.serialize(content, records.name(path, id)),
    );
  }

  /** Writes a record's text, serialized beforehand (a large result, in slices). */
  putText(path: string, id: string, text: string): this {
    this.writes.push({ op: "put", path, id, text });
    return this;
  }

  move(path: string, to: string, id: string): this {
    this.writes.push({ op: "move", path, id, to });
    return this;
  }

  delete(path: string, id: string): this {
    this.writes.push({ op: "delete", path, id });
    return this;
  }

  get ops(): Op[] {
    return [...this.expects, ...this.writes];
  }
}

/**
 * {@linkcode JobTransitions} in one transaction each, over the adapter's
 * `records` table. A {@linkcode PostgresAdapter} makes one and offers it as
 * `adapter.transitions`; the free functions use it from there.
 *
 * @example The free functions use the adapter's native transitions
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { getNextJobInQueue, uploadJob } from "@sqooler/storage";
 * import { PostgresAdapter } from "@sqooler/storage/postgres";
 *
 * const adapter = new PostgresAdapter({ url: "postgres://postgres@127.0.0.1:5432/test" });
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * await uploadJob(adapter, { job, displayName: "spins", username: "alice" });
 * const claim = await adapter.transitions.claim("spins", { leaseMs: 60_000, now: Date.now });
 * assert(claim !== undefined && claim.lease.token === claim.token);
 * await adapter.close();
 * ```
 */
export class PostgresTransitions implements JobTransitions {
  #adapter: StorageAdapter;
  #db: Database;

  /**
   * @param adapter The adapter, for its checks (active, names).
   * @param db Its server.
   */
  constructor(adapter: StorageAdapter, db: Database) {
    this.#adapter = adapter;
    this.#db = db;
  }

  /** Records the owner and queues the job, in one statement. */
  async submit(input: SubmitInput): Promise<string> {
    const { displayName, username, job } = input;
    records.check(this.#adapter, queuedPath(displayName));
    const now = input.now();
    for (let attempt = 0;; attempt++) {
      const jobId = newJobId(now);
      const metaText = records.serialize(
        { job_id: jobId, username, submitted_at: iso(now), attempts: 0 },
        records.name(metaPath(displayName), jobId),
      );
      const jobText = records.serialize(
        job,
        records.name(queuedPath(displayName), jobId),
      );
      const what = `Cannot submit job ${jobId} to ${displayName}`;
      try {
        await this.#db.run(what, (sql) =>
          sql.unsafe(this.#db.sql.submit, [
            metaPath(displayName),
            queuedPath(displayName),
            jobId,
            metaText,
            jobText,
          ], { prepare: true }), { idempotent: false });
        return jobId;
      } catch (error) {
        const cause = (error as Error).cause ?? error;
        if (isUniqueViolation(cause)) {
          if (attempt < 3) continue;
          throw new AlreadyExistsError(
            `Cannot create ${
              records.name(metaPath(displayName), jobId)
            }: it exists`,
          );
        }
        if (!isConnectionLost(error)) throw error;
        // The connection broke in flight: the job is there if it was committed.
        const snapshot = await this.#read(displayName, jobId, [
          metaPath(displayName),
        ]).catch(() => undefined);
        if (snapshot?.get(metaPath(displayName)) === metaText) return jobId;
        throw error;
      }
    }
  }

  /**
   * Takes the oldest queued job of a backend that has no lease, moves it to
   * `jobs/running` and writes its lease with a fresh token, in one statement.
   */
  async claim(
    displayName: string,
    terms: ClaimTerms,
  ): Promise<Claim | undefined> {
    const queue = queuedPath(displayName);
    const leases = leasesPath(displayName);
    records.check(this.#adapter, queue);
    const token = newToken();
    const now = terms.now();
    const lease: Omit<Lease, "job_id"> = {
      token,
      state: "running",
      claimed_at: iso(now),
      expires_at: iso(now + terms.leaseMs),
      renewed_at: iso(now),
      attempts: null,
      error_message: null,
      cancel_requested: null,
    };
    // The lease's JSON after its first member, job_id, which the statement writes.
    const tail = `,${stringifyJson(lease).slice(1)}`;
    const one = terms.jobId !== undefined;
    if (one) records.check(this.#adapter, queue, terms.jobId);
    const skip = [...terms.skip ?? []];
    const what = `Cannot claim a job of ${displayName}`;
    let jobId: string | undefined;
    while (jobId === undefined) {
      const params = [queue, leases, tail, textArray(skip)];
      let rows: { id: string; claimed: boolean }[];
      try {
        rows = await this.#db.run(
          what,
          (sql) =>
            sql.unsafe(
              one ? this.#db.sql.claimOne : this.#db.sql.claim,
              one ? [...params, terms.jobId!] : params,
              { prepare: true },
            ),
          { idempotent: false },
        ) as unknown as { id: string; claimed: boolean }[];
      } catch (error) {
        if (!isConnectionLost(error)) throw error;
        // The connection broke in flight: the claim is ours if its token is
        // on record.
        const found = await this.#db.run(
          what,
          (sql) =>
            sql.unsafe(
              this.#db.sql.leaseWithToken,
              [leases, `"token":${JSON.stringify(token)}`],
              { prepare: true },
            ),
        ).catch(() => undefined);
        if (found === undefined || found.length === 0) throw error;
        rows = [{ id: found[0].id, claimed: true }];
      }
      if (rows.length === 0) return undefined;
      // A candidate with a lease (a claim of the generic implementation in
      // progress) or a twin in jobs/running is left for now.
      if (rows[0].claimed) jobId = rows[0].id;
      else skip.push(rows[0].id);
    }
    return { jobId, token, lease: { job_id: jobId, ...lease } };
  }

  async extend(ref: LeaseRef, terms: LeaseTerms): Promise<Lease> {
    let extended: Lease | undefined;
    await this.#decide(ref, "extend the lease on", [], (_, current) => {
      const now = terms.now();
      extended = {
        ...current,
        expires_at: iso(now + terms.leaseMs),
        renewed_at: iso(now),
      };
      return new Plan().put(leasesPath(ref.displayName), ref.jobId, extended);
    });
    return extended!;
  }

  async report(ref: LeaseRef, status: StatusMsg): Promise<void> {
    const { displayName, jobId } = ref;
    const leases = leasesPath(displayName);
    const queue = queuedPath(displayName);
    const path = statusPath(displayName);
    if (ref.token !== undefined) {
      // The common case in one statement: the worker's lease is current and
      // the status is not final.
      const token = ref.token;
      const text = records.serialize(status, records.name(path, jobId));
      const done = await this.#fast(
        ref,
        (sql) =>
          sql.unsafe(this.#db.sql.reportFast, [
            leases,
            path,
            jobId,
            token,
            text,
          ], { prepare: true }),
        async () =>
          (await this.#read(displayName, jobId, [path])).get(path) === text,
      );
      if (done) return;
    }
    for (let round = 0;; round++) {
      const snapshot = await this.#read(displayName, jobId, [
        leases,
        RUNNING,
        queue,
        path,
      ]);
      const plan = new Plan();
      if (ref.token !== undefined) {
        const lease = typed(snapshot, leases, jobId, Lease);
        if (lease?.state !== "running" || lease.token !== ref.token) {
          throw lost(ref, "report the status of");
        }
        plan.expect(leases, jobId, snapshot.get(leases));
      } else if (!snapshot.has(RUNNING) && !snapshot.has(queue)) {
        throw new JobStateError(
          `Cannot report status ${status.status} of job ${jobId} of ${displayName}: it is neither queued nor running`,
        );
      } else {
        plan.expect(RUNNING, jobId, snapshot.get(RUNNING))
          .expect(queue, jobId, snapshot.get(queue));
      }
      const stored = snapshot.get(path);
      const current = stored === undefined
        ? undefined
        : records.parse(stored, records.name(path, jobId));
      if (isFinal(current)) {
        throw new JobStateError(
          `Cannot set the status of job ${jobId} of ${displayName} to ${status.status}: it is ${
            current!.status
          } already, which is final`,
        );
      }
      plan.expect(path, jobId, stored).put(path, jobId, status);
      if (await this.#apply(ref, plan)) return;
      if (round >= CAS_ROUNDS) throw lost(ref, "report the status of");
    }
  }

  async complete(
    ref: LeaseRef,
    outcome: Outcome,
    terms: AttemptTerms,
  ): Promise<"done" | "error"> {
    const { displayName, jobId } = ref;
    const leases = leasesPath(displayName);
    const asGiven = outcome.status.status === "DONE" ? "done" : "error";
    // A result of many shots is serialized once, in slices, before any
    // statement: no round of a transaction holds the event loop with it.
    const resultText = outcome.result === undefined
      ? undefined
      : (await records.serializeInSlices(
        storedResult(outcome),
        records.name(resultsPath(displayName), jobId),
      )).join("");
    if (
      ref.token !== undefined &&
      await this.#completeFast(ref, outcome, resultText)
    ) {
      // The fast path takes only a running lease that was not cancelled.
      return asGiven;
    }
    const paths = [RUNNING, statusPath(displayName), metaPath(displayName)];
    const first = await this.#read(displayName, jobId, [leases, ...paths]);
    const lease = typed(first, leases, jobId, Lease);
    if (lease === undefined && ref.token === undefined) {
      await this.#completeUnleased(ref, outcome, first, resultText);
      return asGiven;
    }
    let { status, result } = outcome;
    let recorded: "done" | "error" = "error";
    if (result !== undefined) {
      const problem = resultProblem(
        first,
        jobId,
        result,
        outcome.experiments,
      );
      if (problem !== undefined) {
        status = { ...status, status: "ERROR", error_message: problem };
        result = undefined;
      }
    }
    await this.#decide(
      ref,
      "record the outcome of",
      paths,
      (snapshot, current) => {
        // A job that was asked to stop ends ERROR, whatever it returned.
        const cancelled = current.cancel_requested;
        const state: LeaseState = cancelled === null && status.status === "DONE"
          ? "done"
          : "error";
        const decided: Lease = {
          ...current,
          state,
          expires_at: iso(terms.now() + terms.leaseMs),
          error_message: cancelled ??
            (state === "error" ? status.error_message : null),
        };
        const plan = new Plan();
        if (state === "done" && result !== undefined) {
          plan.putText(resultsPath(displayName), jobId, resultText!);
        }
        this.#cleanUp(plan, displayName, snapshot, decided, status);
        recorded = state === "done" ? "done" : "error";
        return plan;
      },
      { first },
    );
    return recorded;
  }

  async cancel(
    ref: LeaseRef,
    terms: { message: string; now: Clock },
  ): Promise<"cancelled" | "requested"> {
    const { displayName, jobId } = ref;
    const queue = queuedPath(displayName);
    const leases = leasesPath(displayName);
    const status = statusPath(displayName);
    for (let round = 0;; round++) {
      const snapshot = await this.#read(displayName, jobId, [
        queue,
        leases,
        RUNNING,
        status,
        metaPath(displayName),
        finishedPath(displayName),
        DELETED,
      ]);
      const plan = new Plan();
      let outcome: "cancelled" | "requested";
      const lease = snapshot.has(queue)
        ? undefined
        : typed(snapshot, leases, jobId, Lease);
      if (snapshot.has(queue)) {
        // A queued job: its move out of the queue decides, against any claim.
        const current = readable(snapshot, status, jobId, StatusMsg);
        plan.expect(queue, jobId, snapshot.get(queue))
          .move(queue, DELETED, jobId)
          .put(status, jobId, {
            job_id: jobId,
            status: "ERROR",
            detail: current?.detail ?? "Got your json.",
            error_message: terms.message,
          });
        outcome = "cancelled";
      } else if (lease?.state === "running") {
        plan.expect(leases, jobId, snapshot.get(leases))
          .put(leases, jobId, {
            ...lease,
            cancel_requested: lease.cancel_requested ?? terms.message,
          });
        outcome = "requested";
      } else if (lease !== undefined) {
        throw new JobStateError(
          `Cannot cancel job ${jobId} of ${displayName}: its outcome is being recorded`,
        );
      } else if (snapshot.has(RUNNING)) {
        throw new JobStateError(
          `Cannot cancel job ${jobId} of ${displayName}: another tool's worker (without a lease) is running it`,
        );
      } else {
        const ours = snapshot.has(status) ||
          snapshot.has(metaPath(displayName));
        for (
          const [path, state] of [
            [finishedPath(displayName), "DONE"],
            [DELETED, "ERROR"],
          ]
        ) {
          if (snapshot.has(path) && ours) {
            throw new JobStateError(
              `Cannot cancel job ${jobId} of ${displayName}: it ended ${state} already`,
            );
          }
        }
        throw new NotFoundError(
          `Cannot cancel job ${jobId} of ${displayName}: there is no such job`,
        );
      }
      if (await this.#apply(ref, plan)) return outcome;
      if (round >= CAS_ROUNDS) throw lost(ref, "cancel");
    }
  }

  async retry(
    ref: LeaseRef,
    terms: { detail: string; now: Clock },
  ): Promise<void> {
    const { displayName, jobId } = ref;
    const status = statusPath(displayName);
    const meta = metaPath(displayName);
    for (let round = 0;; round++) {
      const snapshot = await this.#read(displayName, jobId, [
        status,
        DELETED,
        meta,
      ]);
      // jobs/deleted is shared by all backends: the status says whose it is.
      const current = readable(snapshot, status, jobId, StatusMsg);
      if (current?.status !== "ERROR" || !snapshot.has(DELETED)) {
        throw new NotFoundError(
          round === 0
            ? `Cannot retry job ${jobId} of ${displayName}: it is not a failed job of this backend`
            : `Cannot retry job ${jobId} of ${displayName}: it left jobs/deleted meanwhile`,
        );
      }
      const plan = new Plan()
        .expect(DELETED, jobId, snapshot.get(DELETED))
        .expect(status, jobId, snapshot.get(status));
      // Attempts reset: the run that follows has all of them.
      const recorded = typed(snapshot, meta, jobId, JobMeta);
      if (recorded !== undefined && recorded.attempts !== 0) {
        plan.put(meta, jobId, { ...recorded, attempts: 0 });
      }
      plan.move(DELETED, queuedPath(displayName), jobId)
        .put(status, jobId, {
          job_id: jobId,
          status: "INITIALIZING",
          detail: terms.detail,
          error_message: "None",
        });
      if (await this.#apply(ref, plan)) return;
      if (round >= CAS_ROUNDS) throw lost(ref, "retry");
    }
  }

  async release(ref: LeaseRef, terms: ReleaseTerms): Promise<ReleaseOutcome> {
    const { displayName, jobId } = ref;
    let became = "requeue" as LeaseState;
    await this.#decide(
      ref,
      "release",
      [RUNNING, statusPath(displayName), metaPath(displayName)],
      (snapshot, current) => {
        const next = terms.failure === undefined
          ? { state: "requeue" as const, attempts: null, error_message: null }
          : afterFailure(
            jobId,
            attemptsAfterFailure(snapshot, displayName, jobId),
            terms,
            terms.failure,
          );
        const decided: Lease = {
          ...current,
          // A job that was asked to stop does not go back to its queue.
          ...(current.cancel_requested === null ? next : cancelled(current)),
          expires_at: iso(terms.now() + terms.leaseMs),
        };
        const plan = new Plan();
        became = this.#cleanUp(plan, displayName, snapshot, decided);
        return plan;
      },
    );
    return became === "error" ? "failed" : "requeued";
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
    const leases = leasesPath(displayName);
    records.check(this.#adapter, leases);
    const what = `Cannot recover the jobs of ${displayName}`;
    // One snapshot: the backend's leases, and its running jobs without one.
    const [leased, unleased] = await this.#db.run(what, async (sql) => [
      await sql.unsafe(this.#db.sql.leases, [leases], { prepare: true }),
      await sql.unsafe(
        this.#db.sql.unleased,
        [leases, statusPath(displayName), metaPath(displayName)],
        { prepare: true },
      ),
    ]);
    for (const row of leased) {
      // One job that cannot be recovered does not keep the others waiting.
      try {
        await this.#recoverLeased(
          displayName,
          row.id,
          row.content,
          terms,
          report,
        );
      } catch (error) {
        report.errors[row.id] = error instanceof Error
          ? error.message
          : String(error);
      }
    }
    for (const { id: jobId } of unleased as unknown as { id: string }[]) {
      report.unleased.push(jobId);
      if (!terms.requeueUnleased) continue;
      const snapshot = await this.#read(displayName, jobId, [
        leases,
        RUNNING,
        metaPath(displayName),
      ]);
      if (snapshot.has(leases) || !snapshot.has(RUNNING)) continue;
      const attempts = attemptsAfterFailure(snapshot, displayName, jobId);
      const plan = new Plan()
        .expect(leases, jobId, undefined)
        .expect(RUNNING, jobId, snapshot.get(RUNNING))
        .move(RUNNING, queuedPath(displayName), jobId);
      if (attempts.unreadable === undefined) {
        this.#recordAttempts(
          plan,
          displayName,
          snapshot,
          jobId,
          attempts.count,
        );
      }
      if (!await this.#apply({ displayName, jobId }, plan)) continue;
      report.requeued.push(jobId);
      report.attempts[jobId] = attempts.count;
    }
    return report;
  }

  async lease(displayName: string, jobId: string): Promise<Lease | undefined> {
    const snapshot = await this.#read(displayName, jobId, [
      leasesPath(displayName),
    ]);
    return typed(snapshot, leasesPath(displayName), jobId, Lease);
  }

  /** Recovers one leased job, if its lease is stale; see {@linkcode recover}. */
  async #recoverLeased(
    displayName: string,
    jobId: string,
    text: string,
    terms: RecoverTerms,
    report: RecoveryReport,
  ): Promise<void> {
    const leases = leasesPath(displayName);
    let lease: Lease;
    try {
      lease = typed(new Map([[leases, text]]), leases, jobId, Lease)!;
    } catch (error) {
      // Leases are written by this library in one transaction; one that
      // cannot be read was not, and is left for an operator.
      if (error instanceof CorruptRecordError) {
        report.errors[jobId] = error.message;
        return;
      }
      throw error;
    }
    // A lease is stale once its time has run out (and, with olderThanMs,
    // for that much longer): a lease that its holder keeps renewing never is.
    const stale = terms.now() >
      parseStoredTime(lease.expires_at) + (terms.olderThanMs ?? 0);
    if (!stale) {
      report.alive.push(jobId);
      return;
    }
    const snapshot = await this.#read(displayName, jobId, [
      leases,
      RUNNING,
      statusPath(displayName),
      metaPath(displayName),
      resultsPath(displayName),
    ]);
    // Changed since the first read: extended, finished or recovered meanwhile.
    if (snapshot.get(leases) !== text) return;
    const ref = { displayName, jobId, token: lease.token };
    const plan = new Plan().expect(leases, jobId, text);
    if (lease.state !== "running") {
      // A decided transition (of the generic implementation) whose process
      // stopped during its clean-up.
      let taken: Lease = {
        ...lease,
        expires_at: iso(terms.now() + terms.leaseMs),
      };
      if (taken.state === "done" && !snapshot.has(resultsPath(displayName))) {
        taken = {
          ...taken,
          ...afterFailure(
            jobId,
            attemptsAfterFailure(snapshot, displayName, jobId),
            terms,
            "its worker stopped before it stored the result",
          ),
        };
      }
      const became = this.#cleanUp(plan, displayName, snapshot, taken);
      if (!await this.#apply(ref, plan)) return;
      note(report, jobId, became, taken, taken.attempts !== null);
      return;
    }
    if (!snapshot.has(RUNNING)) {
      // Its claimer (of the generic implementation) died between the lease
      // and the move: the job never ran under it.
      await this.#apply(ref, plan.delete(leases, jobId));
      return;
    }
    const decided: Lease = {
      ...lease,
      ...(lease.cancel_requested === null
        ? afterFailure(
          jobId,
          attemptsAfterFailure(snapshot, displayName, jobId),
          terms,
          "its worker stopped before it recorded an outcome",
        )
        : cancelled(lease)),
      expires_at: iso(terms.now() + terms.leaseMs),
    };
    const became = this.#cleanUp(plan, displayName, snapshot, decided);
    if (!await this.#apply(ref, plan)) return;
    note(report, jobId, became, decided, true);
  }

  /**
   * The generic compare-and-swap of a lease, as one transaction: reads the
   * job's lease and `paths`, checks the lease (state, token), lets `decide`
   * plan the writes, and applies them only if the lease is still the one
   * read; else reads and decides again.
   */
  async #decide(
    ref: LeaseRef,
    action: string,
    paths: string[],
    decide: (snapshot: Snapshot, current: Lease) => Plan,
    options: { first?: Snapshot } = {},
  ): Promise<void> {
    const { displayName, jobId } = ref;
    const leases = leasesPath(displayName);
    let snapshot = options.first;
    for (let round = 0;; round++) {
      snapshot ??= await this.#read(displayName, jobId, [leases, ...paths]);
      let current: Lease | undefined;
      try {
        current = typed(snapshot, leases, jobId, Lease);
      } catch (error) {
        if (error instanceof CorruptRecordError) throw lost(ref, action);
        throw error;
      }
      if (
        current === undefined || current.state !== "running" ||
        (ref.token !== undefined && current.token !== ref.token)
      ) {
        throw ref.token === undefined && current === undefined
          ? new JobStateError(
            `Cannot ${action} job ${jobId} of ${displayName}: it is not running under a lease`,
          )
          : lost(ref, action);
      }
      const plan = decide(snapshot, current);
      plan.expects.unshift({
        op: "expect",
        path: leases,
        id: jobId,
        text: snapshot.get(leases)!,
      });
      if (await this.#apply(ref, plan)) return;
      if (round >= CAS_ROUNDS) throw lost(ref, action);
      snapshot = undefined;
    }
  }

  /**
   * Plans what a decided lease leads to, as the generic clean-up does: the
   * status, the job file's move, the attempts, and the lease's removal.
   */
  #cleanUp(
    plan: Plan,
    displayName: string,
    snapshot: Snapshot,
    lease: Lease,
    status?: StatusMsg,
  ): LeaseState {
    const jobId = lease.job_id;
    const current = status === undefined
      ? readable(snapshot, statusPath(displayName), jobId, StatusMsg)
      : undefined;
    const detail = status?.detail ?? current?.detail ?? "Got your json.";
    switch (lease.state) {
      case "done":
        plan.put(
          statusPath(displayName),
          jobId,
          status ?? {
            job_id: jobId,
            status: "DONE",
            detail: `${detail}; All done`,
            error_message: "None",
          },
        );
        plan.move(RUNNING, finishedPath(displayName), jobId);
        break;
      case "error":
        if (lease.attempts !== null) {
          this.#recordAttempts(
            plan,
            displayName,
            snapshot,
            jobId,
            lease.attempts,
          );
        }
        plan.put(statusPath(displayName), jobId, {
          job_id: jobId,
          status: "ERROR",
          detail,
          error_message: lease.error_message ??
            status?.error_message ??
            `The worker of job ${jobId} stopped while it recorded why the job failed.`,
        });
        plan.move(RUNNING, DELETED, jobId);
        break;
      case "requeue":
        if (lease.attempts !== null) {
          this.#recordAttempts(
            plan,
            displayName,
            snapshot,
            jobId,
            lease.attempts,
          );
        }
        plan.move(RUNNING, queuedPath(displayName), jobId);
        break;
      case "running":
        throw new JobStateError(
          `Cannot clean up job ${jobId} of ${displayName}: its lease is still running`,
        );
    }
    plan.delete(leasesPath(displayName), jobId);
    return lease.state;
  }

  /**
   * The common outcome in one statement: the worker's lease is current, the
   * job was not cancelled, and the result has one entry per experiment.
   * False when the general path must decide (nothing was changed then).
   */
  async #completeFast(
    ref: LeaseRef,
    outcome: Outcome,
    resultText: string | undefined,
  ): Promise<boolean> {
    const { displayName, jobId } = ref;
    const token = ref.token!;
    const { status } = outcome;
    const done = status.status === "DONE";
    const path = statusPath(displayName);
    const target = done ? finishedPath(displayName) : DELETED;
    // What the general path's clean-up writes for this outcome.
    const statusText = records.serialize(
      done ? status : {
        job_id: jobId,
        status: "ERROR",
        detail: status.detail,
        error_message: status.error_message,
      },
      records.name(path, jobId),
    );
    const result = done ? outcome.result : undefined;
    return await this.#fast(
      ref,
      (sql) =>
        sql.unsafe(this.#db.sql.completeFast, [
          leasesPath(displayName),
          path,
          resultsPath(displayName),
          target,
          jobId,
          token,
          statusText,
          result === undefined ? null : resultText ?? null,
          result?.results.length ?? 0,
        ], { prepare: true }),
      async () => {
        const snapshot = await this.#read(displayName, jobId, [
          leasesPath(displayName),
          path,
          target,
        ]);
        return !snapshot.has(leasesPath(displayName)) &&
          snapshot.get(path) === statusText && snapshot.has(target);
      },
    );
  }

  /**
   * Runs a one-statement fast path that answers `ok`. When its connection
   * broke in flight, `committed` tells whether it took effect.
   */
  async #fast(
    ref: LeaseRef,
    statement: (sql: Parameters<Parameters<Database["run"]>[1]>[0]) => Promise<
      readonly { ok?: unknown }[]
    >,
    committed: () => Promise<boolean>,
  ): Promise<boolean> {
    try {
      const rows = await this.#db.run(
        `Cannot change job ${ref.jobId} of ${ref.displayName}`,
        statement,
        { idempotent: false },
      );
      return rows[0]?.ok === true;
    } catch (error) {
      if (!isConnectionLost(error)) throw error;
      return await committed().catch(() => false);
    }
  }

  /** An unfenced outcome for a running job without a lease: its move decides. */
  async #completeUnleased(
    ref: LeaseRef,
    outcome: Outcome,
    first: Snapshot,
    resultText: string | undefined,
  ): Promise<void> {
    const { displayName, jobId } = ref;
    const { status, result } = outcome;
    const target = status.status === "DONE"
      ? finishedPath(displayName)
      : DELETED;
    let snapshot: Snapshot | undefined = first;
    for (let round = 0;; round++) {
      snapshot ??= await this.#read(displayName, jobId, [
        leasesPath(displayName),
        RUNNING,
      ]);
      if (!snapshot.has(RUNNING)) {
        throw new JobStateError(
          `Cannot record the outcome of job ${jobId} of ${displayName}: it is not running, so another worker or a recovery decided it`,
        );
      }
      const plan = new Plan()
        .expect(leasesPath(displayName), jobId, undefined)
        .expect(RUNNING, jobId, snapshot.get(RUNNING))
        .move(RUNNING, target, jobId);
      if (result !== undefined) {
        plan.putText(resultsPath(displayName), jobId, resultText!);
      }
      plan.put(statusPath(displayName), jobId, status);
      if (await this.#apply(ref, plan)) return;
      if (round >= CAS_ROUNDS) {
        throw lost(ref, "record the outcome of");
      }
      snapshot = undefined;
    }
  }

  /** Plans a job's failed attempts (never fewer than recorded). */
  #recordAttempts(
    plan: Plan,
    displayName: string,
    snapshot: Snapshot,
    jobId: string,
    attempts: number,
  ): void {
    let meta: JobMeta | undefined;
    try {
      meta = typed(snapshot, metaPath(displayName), jobId, JobMeta);
    } catch (error) {
      // Rewriting an unreadable record would lose its owner.
      if (error instanceof CorruptRecordError) return;
      throw error;
    }
    if (meta !== undefined && meta.attempts >= attempts) return;
    plan.put(metaPath(displayName), jobId, {
      ...(meta ?? { job_id: jobId, username: null, submitted_at: null }),
      attempts,
    });
  }

  /** Reads one job's records in the given folders, in one statement. */
  async #read(
    displayName: string,
    jobId: string,
    paths: string[],
  ): Promise<Snapshot> {
    records.check(this.#adapter, leasesPath(displayName), jobId);
    const rows = await this.#db.run(
      `Cannot read the records of job ${jobId} of ${displayName}`,
      (sql) =>
        sql.unsafe(this.#db.sql.snapshot, [jobId, textArray(paths)], {
          prepare: true,
        }),
    );
    return new Map(rows.map((row) => [row.path, row.content]));
  }

  async #apply(ref: { displayName: string; jobId: string }, plan: Plan) {
    return await this.#db.apply(
      `Cannot change job ${ref.jobId} of ${ref.displayName}`,
      plan.ops,
    );
  }
}

/**
 * What an outcome stores as its result: the result signed (`record`, a JWS
 * dict whose payload is the result), when the outcome has one, else the
 * result itself.
 */
function storedResult(outcome: Outcome): object {
  const { record } = outcome as Outcome & { record?: object };
  return record ?? outcome.result!;
}

/** A record of the snapshot, checked against its schema; `undefined` when absent. */
function typed<T>(
  snapshot: Snapshot,
  path: string,
  id: string,
  schema: Schema<T>,
): T | undefined {
  const text = snapshot.get(path);
  if (text === undefined) return undefined;
  const name = records.name(path, id);
  return parseStored(unwrapSigned(records.parse(text, name)), name, schema);
}

/** {@linkcode typed}, with an unreadable record counted as absent. */
function readable<T>(
  snapshot: Snapshot,
  path: string,
  id: string,
  schema: Schema<T>,
): T | undefined {
  try {
    return typed(snapshot, path, id, schema);
  } catch (error) {
    if (error instanceof CorruptRecordError) return undefined;
    throw error;
  }
}

/**
 * Why a result does not fit its job (read from `jobs/running`, unless the
 * caller said how many experiments it has), or `undefined`.
 */
function resultProblem(
  snapshot: Snapshot,
  jobId: string,
  result: Result,
  experiments: number | undefined,
): string | undefined {
  if (experiments !== undefined) return countProblem(experiments, result);
  const text = snapshot.get(RUNNING);
  if (text === undefined) return undefined;
  let job;
  try {
    job = records.parse(text, records.name(RUNNING, jobId));
  } catch (error) {
    if (error instanceof CorruptRecordError) return undefined;
    throw error;
  }
  return countProblem(experimentCount(job), result);
}

/**
 * The job's failed attempts once one more is counted, and why they cannot
 * be counted when its `meta/` record is unreadable.
 */
function attemptsAfterFailure(
  snapshot: Snapshot,
  displayName: string,
  jobId: string,
): { count: number; unreadable?: string } {
  try {
    const meta = typed(snapshot, metaPath(displayName), jobId, JobMeta);
    return { count: (meta?.attempts ?? 0) + 1 };
  } catch (error) {
    if (!(error instanceof CorruptRecordError)) throw error;
    return { count: 1, unreadable: error.message };
  }
}

/** What a failed attempt leads to: the queue again, or ERROR with why. */
function afterFailure(
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
    return { state: "requeue", attempts: attempts.count, error_message: null };
  }
  return {
    state: "error",
    attempts: attempts.count,
    error_message: `Job ${jobId} failed ${attempts.count} attempt${
      attempts.count === 1 ? "" : "s"
    }; the last because ${reason}. It is not run again.`,
  };
}

/** What a job that was asked to stop leads to: ERROR with the cancellation's message. */
function cancelled(
  lease: Lease,
): Pick<Lease, "state" | "attempts" | "error_message"> {
  return {
    state: "error",
    attempts: null,
    error_message: lease.cancel_requested,
  };
}

function note(
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

function lost(ref: LeaseRef, action: string): LeaseLostError {
  return new LeaseLostError(
    `Cannot ${action} job ${ref.jobId} of ${ref.displayName}: ${
      ref.token === undefined
        ? "its lease"
        : `the lease with token ${ref.token}`
    } is no longer current; it ran out and was recovered, or the job was finished or released`,
  );
}
