/**
 * `queue <display>`: how many jobs of a backend are queued (with the oldest
 * one's waiting time), running (each with its lease), finished and failed.
 *
 * @module
 * @internal
 */

import type { StorageAdapter } from "../../adapter.ts";
import { backendDictToQiskitStatus, getConfig } from "../../backends.ts";
import { listJobs } from "../../operations.ts";
import { getQueueStats, type QueueStats } from "../../queue.ts";
import { DISPLAY } from "../args.ts";
import type { Command, Context } from "../command.ts";
import { formatDuration } from "../duration.ts";
import { EXIT } from "../errors.ts";
import { leaseExpired, leaseWords } from "../job_lookup.ts";
import { snakeKeys } from "../print.ts";

/** The `queue` command. */
export const queueCommand: Command = {
  name: "queue",
  args: [DISPLAY],
  summary: "Count queued, running, finished and failed jobs",
  details:
    "Counts the jobs of backend <display>: queued (with how long the oldest one waits: from its submission record, else from its file's time), running (each with the age of its lease, and whether the lease ran out), finished and failed.",
  options: {},
  run,
};

async function run(context: Context): Promise<number> {
  const [displayName] = context.args;
  const { adapter } = await context.storage();
  const config = await getConfig(adapter, displayName);
  const stats = await getQueueStats(adapter, displayName);
  const now = Date.now();
  const oldest = stats.oldestQueuedAgeMs ??
    await oldestByFileTime(adapter, displayName, stats);
  const json = {
    ...snakeKeys(stats),
    oldest_queued_age_ms: oldest,
    running_jobs: stats.runningJobs.map((job) => ({
      ...snakeKeys(job),
      expired: leaseExpired(job, now),
    })),
  };
  const status = backendDictToQiskitStatus(adapter.name, config);
  context.out.answer(json, () => [
    `Queue of ${displayName} (${status.backend_name}, ${
      status.operational ? "operational" : "not operational"
    })`,
    `  queued    ${stats.queued}${
      oldest === null ? "" : ` (oldest waiting ${formatDuration(oldest)})`
    }`,
    `  running   ${stats.running}`,
    ...stats.runningJobs.map((job) =>
      `            ${job.jobId}  ${leaseWords(job, now)}`
    ),
    `  finished  ${stats.finished}`,
    `  failed    ${stats.failed}`,
  ]);
  return EXIT.ok;
}

/**
 * The oldest queued job's age when it has no submission record (another tool
 * submitted it): `listJobs` falls back to the file's time.
 */
async function oldestByFileTime(
  adapter: StorageAdapter,
  displayName: string,
  stats: QueueStats,
): Promise<number | null> {
  if (stats.queued === 0) return null;
  const [oldest] = await listJobs(adapter, {
    displayName,
    state: "queued",
    limit: 1,
  });
  return oldest?.ageMs ?? null;
}
