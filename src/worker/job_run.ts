/**
 * One claimed job, from its claim to its recorded outcome: read the job and
 * its status, check it against the backend, run it while its lease is kept,
 * and record DONE or ERROR under the lease. The worker loop (`loop.ts`) takes
 * the jobs and counts what became of them.
 *
 * @module
 * @internal
 */

import type { StorageAdapter } from "../adapter.ts";
import {
  CorruptRecordError,
  InvalidRecordError,
  JobStateError,
  LeaseLostError,
} from "../errors.ts";
import { getJobContent, updateInDatabase } from "../jobs.ts";
import { metaPath, RUNNING, statusPath } from "../layout.ts";
import { experimentCount } from "../protocol.ts";
import { releaseJob } from "../queue.ts";
import { readIfReadable } from "../records.ts";
import {
  type ExperimentData,
  type Job,
  JobMeta,
  type Result,
  StatusMsg,
} from "../schemas.ts";
import { LeaseKeeper } from "./lease_keeper.ts";
import type { Entry, Settings } from "./options.ts";
import { resultsProblem, validateJob } from "./validate.ts";

/** A job in hand. */
export interface Held {
  /** Its backend. */
  entry: Entry;
  /** The job and the claim's fencing token. */
  ref: { displayName: string; jobId: string; token: string };
  /** When it was claimed, by the worker's clock. */
  claimedAt: number;
}

/** What became of a job in hand. */
export type RunOutcome =
  | {
    /** DONE with its result. */
    kind: "done";
  }
  | {
    /** ERROR with a message for its user. */
    kind: "failed";
    /** The message. */
    message: string;
  }
  | {
    /** Back at the head of its queue: the worker stops, or an attempt failed. */
    kind: "released";
  }
  | {
    /** Left in its queue for now: another tool seems to be still writing it. */
    kind: "waiting";
  }
  | {
    /** The lease was lost: another worker may have the job now. Nothing was recorded. */
    kind: "lost";
    /** Why. */
    reason: unknown;
  };

/** What a job run needs from its worker. */
export interface RunContext {
  /** The storage. */
  adapter: StorageAdapter;
  /** The worker's checked options. */
  settings: Settings;
  /** Job files that other tools may still be writing. */
  watch: Watchlist;
  /** Reports a failure that is not the job's, and counts it. */
  error(
    what: string,
    error: unknown,
    about: { displayName?: string; jobId?: string },
  ): void;
}

/**
 * Handles a claimed job to its end.
 *
 * @param context The storage, the options and the reporting.
 * @param held The job and its claim.
 * @returns What became of it.
 * @throws {LeaseLostError} When the lease was lost while its outcome was recorded.
 * @throws {StorageError} When the storage failed; the job's attempt then counts as failed.
 */
export async function runJob(
  context: RunContext,
  held: Held,
): Promise<RunOutcome> {
  const { adapter, settings } = context;
  const { entry, ref } = held;
  if (settings.signal.aborted) return await release(context, held);
  const current = await readIfReadable(
    adapter,
    { path: statusPath(ref.displayName), id: ref.jobId },
    StatusMsg,
  );
  const steps = [current?.detail ?? "Got your json."];
  let content: unknown;
  try {
    content = await getJobContent(adapter, {
      storagePath: RUNNING,
      jobId: ref.jobId,
    });
  } catch (error) {
    if (!(error instanceof CorruptRecordError)) throw error;
    if (await waitForWriter(context, held, "unreadable")) {
      return { kind: "waiting" };
    }
    steps.push("Could not read the job file. File will be deleted.");
    return await fail(context, held, steps, error.message);
  }
  if (current === undefined && await submittedByAnotherTool(context, held)) {
    // sqooler's web API writes the job, then its status: a job run before
    // its status is written would have its DONE overwritten.
    if (await waitForWriter(context, held, "no status")) {
      return { kind: "waiting" };
    }
  }
  context.watch.forget(ref.jobId);
  const checked = validateJob(content, entry.config);
  if (!checked.ok) {
    steps.push("Failed json sanity check. File will be deleted.");
    return await fail(context, held, steps, checked.problems.join("; "));
  }
  steps.push(
    "Passed json sanity check",
    "Compilation done. Shots sent to solver.",
  );
  try {
    await updateInDatabase(adapter, {
      ...ref,
      status: {
        job_id: ref.jobId,
        status: current?.status === "QUEUED" ? "QUEUED" : "INITIALIZING",
        detail: steps.join("; "),
        error_message: "None",
      },
    });
  } catch (error) {
    // A final status that another tool wrote stays; the job still runs.
    if (!(error instanceof JobStateError)) throw error;
  }
  const ran = await execute(context, held, checked.job);
  if (ran.kind === "failed") {
    steps.push("Failed while running the job.");
    return await fail(context, held, steps, ran.message);
  }
  if (ran.kind !== "returned") return ran;
  steps.push("All done");
  const result: Result = {
    backend_name: null,
    display_name: ref.displayName,
    backend_version: entry.config.version,
    job_id: ref.jobId,
    qobj_id: null,
    success: true,
    status: "DONE",
    header: {},
    results: ran.results,
  };
  let recorded;
  try {
    recorded = await record(context, held, {
      job_id: ref.jobId,
      status: "DONE",
      detail: steps.join("; "),
      error_message: "None",
    }, { result, experiments: experimentCount(checked.job) });
  } catch (error) {
    // A result that cannot be written (a cycle, a toJSON that throws) fails
    // the job, before anything was decided.
    if (!(error instanceof InvalidRecordError)) throw error;
    steps.push("Failed while running the job.");
    return await fail(
      context,
      held,
      steps,
      `The backend returned a result that cannot be stored: ${oneLine(error)}`,
    );
  }
  if (recorded === "DONE") return { kind: "done" };
  // Cancelled while it ran: the protocol recorded ERROR with the message.
  const stored = await readIfReadable(
    adapter,
    { path: statusPath(ref.displayName), id: ref.jobId },
    StatusMsg,
  );
  return { kind: "failed", message: stored?.error_message ?? "ERROR" };
}

/** How `execute` ended: it returned results, or what became of the job. */
type Ran = { kind: "returned"; results: ExperimentData[] } | RunOutcome;

/** Runs `execute` while the lease is kept. */
async function execute(
  context: RunContext,
  held: Held,
  job: Job,
): Promise<Ran> {
  const { adapter, settings } = context;
  const { entry, ref } = held;
  const { displayName, jobId } = ref;
  const keeper = new LeaseKeeper(adapter, {
    ref,
    expiresAt: held.claimedAt + settings.leaseMs,
    leaseMs: settings.leaseMs,
    now: settings.now,
    onExtended: (lease) =>
      settings.emit({
        type: "lease",
        displayName,
        jobId,
        expiresAt: lease.expires_at,
      }),
    onError: (error) =>
      context.error(
        `Could not extend the lease on job ${jobId} of ${displayName}`,
        error,
        { displayName, jobId },
      ),
  });
  const signal = AbortSignal.any([settings.signal, keeper.signal]);
  // A cancelled job is recorded as usual: the protocol makes it ERROR.
  const lost = () =>
    keeper.signal.aborted && keeper.signal.reason instanceof LeaseLostError;
  let returned: unknown;
  try {
    returned = await entry.execute(job, { jobId, displayName, signal });
  } catch (error) {
    await keeper.stop();
    if (lost()) return { kind: "lost", reason: keeper.signal.reason };
    if (settings.signal.aborted) {
      // It ran, and was stopped: that counts, so that no job runs more than
      // maxAttempts times however often its workers are stopped.
      return await release(
        context,
        held,
        "its worker was stopped while the job ran",
      );
    }
    return { kind: "failed", message: `The backend failed: ${oneLine(error)}` };
  }
  await keeper.stop();
  if (lost()) return { kind: "lost", reason: keeper.signal.reason };
  const problem = await resultsProblem(returned, Object.keys(job).length);
  if (problem !== undefined) {
    return {
      kind: "failed",
      message: `The backend returned an invalid result: ${problem}`,
    };
  }
  return { kind: "returned", results: returned as ExperimentData[] };
}

/** Whether a job has no owner record here: another tool (sqooler's web API) submitted it. */
async function submittedByAnotherTool(
  context: RunContext,
  held: Held,
): Promise<boolean> {
  const meta = await readIfReadable(
    context.adapter,
    { path: metaPath(held.ref.displayName), id: held.ref.jobId },
    JobMeta,
  );
  return meta === undefined;
}

/**
 * Whether to leave a job for its writer a little longer (its file cannot be
 * read yet, or its status is not written yet): then it goes back to its queue,
 * unharmed, for a second. Decided by what this worker saw, never by comparing
 * clocks: until the job's file stays unchanged for `unreadableGraceMs`.
 */
async function waitForWriter(
  context: RunContext,
  held: Held,
  why: string,
): Promise<boolean> {
  const { adapter, settings, watch } = context;
  const { jobId } = held.ref;
  const written = await adapter.writtenAt?.(RUNNING, jobId);
  // A file that, by its time, no writer has touched for the grace need not
  // be watched for all of it: once seen unchanged is enough.
  const old = written !== undefined &&
    settings.now() - written >= settings.unreadableGraceMs;
  const mark = `${why} ${written ?? ""}`;
  if (!watch.wait(jobId, mark, old ? 0 : settings.unreadableGraceMs)) {
    watch.forget(jobId);
    return false;
  }
  await releaseJob(adapter, {
    ...held.ref,
    maxAttempts: settings.maxAttempts,
    leaseMs: settings.leaseMs,
    now: settings.now,
  });
  return true;
}

async function fail(
  context: RunContext,
  held: Held,
  steps: string[],
  message: string,
): Promise<RunOutcome> {
  const recorded = await record(context, held, {
    job_id: held.ref.jobId,
    status: "ERROR",
    detail: steps.join("; "),
    error_message: message,
  });
  return recorded === "ERROR" ? { kind: "failed", message } : { kind: "done" };
}

/** Gives the job back: unharmed, or as a failed attempt when `failure` says why. */
async function release(
  context: RunContext,
  held: Held,
  failure?: string,
): Promise<RunOutcome> {
  const { adapter, settings } = context;
  const requeued = await releaseJob(adapter, {
    ...held.ref,
    failure,
    maxAttempts: settings.maxAttempts,
    leaseMs: settings.leaseMs,
    now: settings.now,
  });
  if (requeued) return { kind: "released" };
  const stored = await readIfReadable(
    adapter,
    { path: statusPath(held.ref.displayName), id: held.ref.jobId },
    StatusMsg,
  );
  return { kind: "failed", message: stored?.error_message ?? "ERROR" };
}

/** Records the outcome under the lease; says what was recorded. */
function record(
  context: RunContext,
  held: Held,
  status: StatusMsg,
  done?: { result: Result; experiments: number },
): Promise<"DONE" | "ERROR" | "INITIALIZING" | "QUEUED"> {
  const { settings } = context;
  return updateInDatabase(context.adapter, {
    ...held.ref,
    status,
    // The job in hand says how many experiments it has: not read again.
    ...done,
    // Only a backend that signs signs its results.
    privateJwk: held.entry.config.sign ? settings.privateJwk : undefined,
    maxAttempts: settings.maxAttempts,
    leaseMs: settings.leaseMs,
    now: settings.now,
  });
}

/**
 * The jobs that this worker leaves to their writers for now: what it saw of
 * each (a mark, such as the file's time) and since when, by its own
 * monotonic clock, so that no two clocks are ever compared.
 */
export class Watchlist {
  #seen = new Map<
    string,
    { mark: string; since: number; retryAt: number; graceMs: number }
  >();
  #retryMs: number;

  /**
   * Makes an empty watch list.
   *
   * @param retryMs How long a job that is waited for is left alone, in milliseconds.
   */
  constructor(retryMs: number) {
    this.#retryMs = retryMs;
  }

  /**
   * Whether to wait longer for a job: yes when it is new to the list or its
   * mark changed (its writer is at work), and until it stayed unchanged for
   * `graceMs` (at least one look later).
   *
   * @param jobId The job.
   * @param mark What the worker sees of it now.
   * @param graceMs How long an unchanged job is waited for, in milliseconds.
   * @returns Whether to leave it for now.
   */
  wait(jobId: string, mark: string, graceMs: number): boolean {
    const now = performance.now();
    const seen = this.#seen.get(jobId);
    if (seen === undefined || seen.mark !== mark) {
      // New, or changed since: its writer may be at work. Always look again.
      this.#seen.set(jobId, {
        mark,
        since: now,
        retryAt: now + this.#retryMs,
        graceMs,
      });
      return true;
    }
    if (now - seen.since >= graceMs) return false;
    seen.retryAt = now + this.#retryMs;
    return true;
  }

  /**
   * Whether some job is waited for; a worker that drains its queues
   * (`untilIdle`) looks at them again before it stops.
   *
   * @returns Whether the list holds a job.
   */
  waiting(): boolean {
    this.skipped();
    return this.#seen.size > 0;
  }

  /**
   * Forgets a job: it was read, or given up on.
   *
   * @param jobId The job.
   */
  forget(jobId: string): void {
    this.#seen.delete(jobId);
  }

  /**
   * The jobs to leave in their queue for now.
   *
   * @returns Their ids.
   */
  skipped(): string[] {
    const now = performance.now();
    const ids: string[] = [];
    for (const [jobId, seen] of this.#seen) {
      if (seen.retryAt > now) ids.push(jobId);
      // Not seen again for longer than its grace: another worker took it.
      else if (
        now - seen.retryAt > Math.max(seen.graceMs, 10 * this.#retryMs)
      ) {
        this.#seen.delete(jobId);
      }
    }
    return ids;
  }
}

/**
 * An error's message on one line.
 *
 * @param error Anything thrown.
 * @returns Its message's first line.
 */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0].trim() || "(no message)";
}
