/**
 * `purge <display> --older-than DURATION`: removes a backend's finished and
 * failed jobs that ended longer ago, with their status, result and records.
 * It refuses to run without `--older-than`; `--dry-run` only lists them.
 *
 * @module
 * @internal
 */

import { getConfig } from "../../backends.ts";
import { purgeJobs } from "../../operations.ts";
import { DISPLAY } from "../args.ts";
import type { Command, Context } from "../command.ts";
import { formatDuration } from "../duration.ts";
import { EXIT, UsageError } from "../errors.ts";
import { choiceValue, durationValue } from "../parse.ts";
import { plural, snakeKeys, table } from "../print.ts";

const STATES = ["finished", "failed"] as const;

/** The `purge` command. */
export const purgeCommand: Command = {
  name: "purge",
  args: [DISPLAY],
  summary: "Remove finished and failed jobs older than --older-than",
  details:
    "Removes the jobs of backend <display> that finished (DONE) or failed (ERROR) longer ago than --older-than, each with its status, result, owner record and lease, so that jobs/finished, results/ and status/ do not grow forever. Queued and running jobs are never touched, nor a job that is retried meanwhile. It needs --older-than; with --dry-run it only lists what it would remove.",
  options: {
    "older-than": {
      type: "string",
      value: "DURATION",
      help: "Only jobs that ended longer ago than this, e.g. 30d (required)",
    },
    state: {
      type: "string",
      value: "STATE",
      help: "Only finished or only failed jobs (default: both)",
    },
    "dry-run": {
      type: "boolean",
      help: "List what would be removed, and remove nothing",
    },
  },
  run,
};

async function run(context: Context): Promise<number> {
  const [displayName] = context.args;
  const olderThanMs = durationValue(context.values, "older-than");
  if (olderThanMs === undefined) {
    throw new UsageError(
      "purge needs --older-than DURATION, e.g. --older-than 30d: it removes the jobs that ended longer ago than that",
    );
  }
  const state = choiceValue(context.values, "state", STATES);
  const dryRun = context.values["dry-run"] === true;
  const { adapter } = await context.storage();
  await getConfig(adapter, displayName);
  const removed = await purgeJobs(adapter, {
    displayName,
    olderThanMs,
    states: state === undefined ? undefined : [state],
    dryRun,
  });
  const age = formatDuration(olderThanMs);
  context.out.answer(
    {
      display_name: displayName,
      older_than_ms: olderThanMs,
      dry_run: dryRun,
      removed: removed.map((job) => snakeKeys(job)),
    },
    () => [
      `${dryRun ? "Would remove" : "Removed"} ${
        plural(removed.length, state === undefined ? "job" : `${state} job`)
      } of ${displayName} that ended more than ${age} ago${
        dryRun ? " (dry run: nothing was removed)" : ""
      }${removed.length === 0 ? "." : ":"}`,
      ...(removed.length === 0 ? [] : table([
        ["JOB", "STATE", "OWNER", "ENDED"],
        ...removed.map((job) => [
          job.jobId,
          job.state,
          job.username ?? "-",
          job.ageMs === null ? "-" : `${formatDuration(job.ageMs)} ago`,
        ]),
      ])),
    ],
  );
  return EXIT.ok;
}
