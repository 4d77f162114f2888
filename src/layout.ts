/**
 * The one place that knows where sqooler keeps its records. Every storage path
 * that the job and backend functions use comes from here.
 *
 * sqooler's own folders: `backends/configs`, `jobs/queued/<display>`,
 * `jobs/running`, `jobs/finished/<display>`, `jobs/deleted`,
 * `status/<display>`, `results/<display>`. This library adds two that
 * sqooler's Python tools never look at: `meta/<display>` (who submitted a job,
 * how often it was attempted) and `leases/<display>` (who holds a running job
 * since when).
 *
 * @module
 */

import { assertDisplayName } from "./names.ts";

/** The folder of the backends' configs; a config's id is its display name. */
export const CONFIGS = "backends/configs";
/** The folder of the jobs that a worker holds, for all backends. */
export const RUNNING = "jobs/running";
/** The folder of the jobs that failed, for all backends. */
export const DELETED = "jobs/deleted";

/** The folder of a backend's waiting jobs. */
export function queuedPath(displayName: string): string {
  return `jobs/queued/${assertDisplayName(displayName)}`;
}

/** The folder of a backend's finished jobs. */
export function finishedPath(displayName: string): string {
  return `jobs/finished/${assertDisplayName(displayName)}`;
}

/** The folder of a backend's job statuses. */
export function statusPath(displayName: string): string {
  return `status/${assertDisplayName(displayName)}`;
}

/** The folder of a backend's job results. */
export function resultsPath(displayName: string): string {
  return `results/${assertDisplayName(displayName)}`;
}

/** The folder of a backend's job metadata (owner, attempts). */
export function metaPath(displayName: string): string {
  return `meta/${assertDisplayName(displayName)}`;
}

/** The folder of a backend's leases on running jobs. */
export function leasesPath(displayName: string): string {
  return `leases/${assertDisplayName(displayName)}`;
}

/** Where a lease waits while one process recovers its job, so that no other does. */
export function recoveringPath(displayName: string): string {
  return `${leasesPath(displayName)}/recovering`;
}
