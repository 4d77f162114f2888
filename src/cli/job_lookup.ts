/**
 * What the commands that show one job (`status`, `result`) read about it, as
 * an operator sees it (whatever its owner): its backend's config, status,
 * owner record and the folder its file is in; and how a lease reads in words.
 *
 * @module
 * @internal
 */

import type { StorageAdapter } from "../adapter.ts";
import { getConfig } from "../backends.ts";
import { NotFoundError } from "../errors.ts";
import {
  DELETED,
  finishedPath,
  metaPath,
  queuedPath,
  RUNNING,
  statusPath,
} from "../layout.ts";
import { readIfReadable, readRecord } from "../records.ts";
import {
  type BackendConfigIn,
  JobMeta,
  type Lease,
  parseStoredTime,
  StatusMsg,
} from "../schemas.ts";
import { formatDuration } from "./duration.ts";
import { CommandFailure } from "./errors.ts";

/** A job as an operator sees it. */
export interface JobInfo {
  /** The backend. */
  displayName: string;
  /** The job. */
  jobId: string;
  /** The backend's config. */
  config: BackendConfigIn;
  /** The job's status; `undefined` when it has none. */
  status: StatusMsg | undefined;
  /** The job's owner record; `undefined` when another tool submitted it. */
  meta: JobMeta | undefined;
}

/**
 * Reads a job's config, status and owner record.
 *
 * @param adapter The storage.
 * @param displayName The backend.
 * @param jobId The job.
 * @returns What is known.
 * @throws {NotFoundError} When the backend has no config.
 * @throws {CorruptRecordError} When the config or the status cannot be read.
 */
export async function jobInfo(
  adapter: StorageAdapter,
  displayName: string,
  jobId: string,
): Promise<JobInfo> {
  const config = await getConfig(adapter, displayName);
  const status = await readStatus(adapter, displayName, jobId);
  const meta = await readIfReadable(
    adapter,
    { path: metaPath(displayName), id: jobId },
    JobMeta,
  );
  return { displayName, jobId, config, status, meta };
}

/**
 * Reads a job's status, whoever owns it.
 *
 * @param adapter The storage.
 * @param displayName The backend.
 * @param jobId The job.
 * @returns The status, or `undefined` when it has none.
 * @throws {CorruptRecordError} When the status cannot be read.
 */
export async function readStatus(
  adapter: StorageAdapter,
  displayName: string,
  jobId: string,
): Promise<StatusMsg | undefined> {
  return await readRecord(
    adapter,
    { path: statusPath(displayName), id: jobId },
    StatusMsg,
  );
}

/**
 * The failure for a job without a status.
 *
 * @param displayName The backend.
 * @param jobId The job.
 * @returns The error, to throw.
 */
export function unknownJob(displayName: string, jobId: string): Error {
  return new CommandFailure(
    `Job ${jobId} of backend ${displayName} does not exist: it has no status`,
  );
}

/**
 * Where a job's file is, in words, e.g. `jobs/running/<id>.json (running)`.
 *
 * @param adapter The storage.
 * @param displayName The backend.
 * @param jobId The job.
 * @returns The words.
 */
export async function locate(
  adapter: StorageAdapter,
  displayName: string,
  jobId: string,
): Promise<string> {
  const places: [string, string][] = [
    [queuedPath(displayName), "queued"],
    [RUNNING, "running"],
    [finishedPath(displayName), "finished"],
    [DELETED, "failed"],
  ];
  for (const [path, word] of places) {
    try {
      await adapter.get(path, jobId);
    } catch (error) {
      // Only a missing file is not there; an unreadable one is.
      if (error instanceof NotFoundError) continue;
    }
    return `${path}/${jobId}.json (${word})`;
  }
  return "none (the job file is gone)";
}

/** A running job's lease, as far as it is known. */
export interface LeaseView {
  /** How long ago it was taken or extended, in milliseconds; `null` without a lease. */
  leaseAgeMs: number | null;
  /** When it runs out, as ISO 8601; `null` without a lease. */
  expiresAt: string | null;
}

/**
 * Whether a lease ran out.
 *
 * @param lease The lease.
 * @param now The time, in milliseconds since the epoch.
 * @returns `true` when its `expires_at` has passed, `null` without a lease.
 */
export function leaseExpired(lease: LeaseView, now: number): boolean | null {
  if (lease.expiresAt === null) return null;
  return parseStoredTime(lease.expiresAt) < now;
}

/**
 * A running job's lease in words: `lease taken 3s ago, runs out in 9m 57s`,
 * `lease taken 3s ago, expired 1s ago`, or `no lease (taken by another tool)`.
 *
 * @param lease The lease.
 * @param now The time, in milliseconds since the epoch.
 * @returns The words.
 *
 * @example A lease that ran out a second ago
 * ```ts
 * import assert from "node:assert/strict";
 * import { leaseWords } from "./job_lookup.ts";
 *
 * const now = Date.parse("2026-11-28T10:00:03Z");
 * const lease = { leaseAgeMs: 3000, expiresAt: "2026-11-28T10:00:02Z" };
 * assert.equal(leaseWords(lease, now), "lease taken 3s ago, expired 1s ago");
 * ```
 */
export function leaseWords(lease: LeaseView, now: number): string {
  if (lease.expiresAt === null || lease.leaseAgeMs === null) {
    return "no lease (taken by another tool)";
  }
  const left = parseStoredTime(lease.expiresAt) - now;
  const taken = `lease taken ${formatDuration(lease.leaseAgeMs)} ago`;
  return left < 0
    ? `${taken}, expired ${formatDuration(-left)} ago`
    : `${taken}, runs out in ${formatDuration(left)}`;
}

/**
 * A stored lease of a running job in words, as {@linkcode leaseWords} says
 * it, and whether its job was asked to stop.
 *
 * @param lease The lease; `undefined` when the job has none.
 * @param now The time, in milliseconds since the epoch.
 * @returns The words.
 */
export function storedLeaseWords(
  lease: Lease | undefined,
  now: number,
): string {
  const words = leaseWords({
    leaseAgeMs: lease === undefined
      ? null
      : now - parseStoredTime(lease.claimed_at),
    expiresAt: lease?.expires_at ?? null,
  }, now);
  return lease?.cancel_requested ? `${words}; cancel requested` : words;
}
