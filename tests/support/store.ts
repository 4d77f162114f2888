// Submitting jobs to a store and reading all of it back, through the library,
// for the tests of jobs, queues, crashes and hostile input.

import { type StorageAdapter, uploadJob, uploadStatus } from "../../mod.ts";
import * as layout from "../../src/layout.ts";
import { jobOf } from "./fixtures.ts";

/** What {@linkcode submitJobs} submits. */
export interface Submission {
  displayName: string;
  username: string;
  /** @default {jobOf()} */
  job?: object;
  /** @default {1} */
  count?: number;
  /** The clock for the submission times. */
  now?: () => number;
}

/**
 * Submits jobs as the web API does, uploadJob() then uploadStatus() (which
 * writes INITIALIZING), for one user of one backend.
 *
 * @returns The jobs' ids, in submission order.
 */
export async function submitJobs(
  adapter: StorageAdapter,
  submission: Submission,
): Promise<string[]> {
  const { displayName, username, now } = submission;
  const job = submission.job ?? jobOf();
  const ids: string[] = [];
  for (let i = 0; i < (submission.count ?? 1); i++) {
    const jobId = await uploadJob(adapter, { job, displayName, username, now });
    await uploadStatus(adapter, { displayName, username, jobId });
    ids.push(jobId);
  }
  return ids;
}

/** Every folder in which the library keeps records of a backend and its jobs. */
export function backendFolders(displayName: string): string[] {
  return [
    layout.CONFIGS,
    layout.queuedPath(displayName),
    layout.RUNNING,
    layout.finishedPath(displayName),
    layout.DELETED,
    layout.statusPath(displayName),
    layout.resultsPath(displayName),
    layout.metaPath(displayName),
    layout.leasesPath(displayName),
  ];
}

/**
 * Every record in the given folders, keyed `<folder>/<id>`: taken before and
 * after a call, it shows that the call changed nothing.
 */
export async function recordsIn(
  adapter: StorageAdapter,
  folders: string[],
): Promise<Record<string, unknown>> {
  const records: Record<string, unknown> = {};
  for (const folder of folders) {
    for (const id of await adapter.list(folder)) {
      records[`${folder}/${id}`] = await adapter.get(folder, id);
    }
  }
  return records;
}
