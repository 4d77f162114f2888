/**
 * `jobs <display>`: a backend's jobs, oldest first in each state, with their
 * owner, age, attempts and, for running ones, their lease.
 *
 * @module
 * @internal
 */

import type { StorageAdapter } from "../../adapter.ts";
import { getConfig } from "../../backends.ts";
import { type JobState, type JobSummary, listJobs } from "../../operations.ts";
import { transitionsOf } from "../../protocol.ts";
import { type Lease, parseStoredTime } from "../../schemas.ts";
import { DISPLAY } from "../args.ts";
import type { Command, Context } from "../command.ts";
import { formatDuration } from "../duration.ts";
import { EXIT } from "../errors.ts";
import { storedLeaseWords } from "../job_lookup.ts";
import { choiceValue, countValue } from "../parse.ts";
import { snakeKeys, table } from "../print.ts";

const STATES: readonly JobState[] = ["queued", "running", "finished", "failed"];

/** How many jobs are listed without `--limit`. */
const DEFAULT_LIMIT = 100;

/** The `jobs` command. */
export const jobsCommand: Command = {
  name: "jobs",
  args: [DISPLAY],
  summary: "List a backend's jobs: state, owner, age, attempts, lease",
  details:
    "Lists the jobs of backend <display>, oldest first within each state, in the order queued, running, finished, failed: each with its owner, its age (from its submission record, else from its file's time), its failed attempts and, for a running job, its lease (and whether it ran out). With --json, an array of objects with snake_case keys.",
  options: {
    state: {
      type: "string",
      value: "STATE",
      help: "Only jobs in this state: queued, running, finished or failed",
    },
    limit: {
      type: "string",
      value: "N",
      help: `At most this many jobs (default: ${DEFAULT_LIMIT})`,
    },
  },
  run,
};

/** A listed job and, when it runs, its lease. */
interface Listed {
  job: JobSummary;
  lease: Lease | undefined;
}

async function run(context: Context): Promise<number> {
  const [displayName] = context.args;
  const state = choiceValue(context.values, "state", STATES);
  const limit = countValue(context.values, "limit") ?? DEFAULT_LIMIT;
  const { adapter } = await context.storage();
  await getConfig(adapter, displayName);
  // One more than asked, to tell whether there are more.
  const found = await listJobs(adapter, {
    displayName,
    state,
    limit: limit + 1,
  });
  const listed = await withLeases(
    adapter,
    displayName,
    found.slice(0, limit),
  );
  const now = Date.now();
  context.out.answer(
    listed.map(({ job, lease }) => ({
      ...snakeKeys(job),
      lease: lease === undefined ? null : {
        claimed_at: lease.claimed_at,
        expires_at: lease.expires_at,
        expired: parseStoredTime(lease.expires_at) < now,
        cancel_requested: lease.cancel_requested,
      },
    })),
    () => text(listed, { displayName, state, limit, now }, found.length),
  );
  return EXIT.ok;
}

async function withLeases(
  adapter: StorageAdapter,
  displayName: string,
  jobs: JobSummary[],
): Promise<Listed[]> {
  const transitions = transitionsOf(adapter);
  const listed: Listed[] = [];
  for (const job of jobs) {
    const lease = job.state === "running"
      ? await transitions.lease(displayName, job.jobId).catch(() => undefined)
      : undefined;
    listed.push({ job, lease });
  }
  return listed;
}

function text(
  listed: Listed[],
  asked: {
    displayName: string;
    state: JobState | undefined;
    limit: number;
    now: number;
  },
  found: number,
): string[] {
  const { displayName, state, limit, now } = asked;
  const which = state === undefined ? "jobs" : `${state} jobs`;
  if (listed.length === 0) return [`No ${which} of ${displayName}.`];
  const rows = listed.map(({ job, lease }) => [
    job.jobId,
    job.state,
    job.username ?? "-",
    job.ageMs === null ? "-" : formatDuration(job.ageMs),
    String(job.attempts),
    job.state !== "running" ? "" : storedLeaseWords(lease, now),
  ]);
  return [
    `${which[0].toUpperCase()}${
      which.slice(1)
    } of ${displayName}, oldest first:`,
    ...table([["JOB", "STATE", "OWNER", "AGE", "ATTEMPTS", "LEASE"], ...rows]),
    ...(found > limit
      ? [
        `… and more; show them with --limit ${Math.min(limit * 10, 1_000_000)}`,
      ]
      : []),
  ];
}
