/**
 * `status <display> <job>`: a job's status, steps, error, owner, folder and
 * lease; with `--watch`, each change until the job is DONE or ERROR.
 *
 * @module
 * @internal
 */

import type { StorageAdapter } from "../../adapter.ts";
import { getConfig } from "../../backends.ts";
import { transitionsOf } from "../../protocol.ts";
import type { StatusMsg } from "../../schemas.ts";
import { sleep } from "../../worker/timers.ts";
import { DISPLAY, JOB } from "../args.ts";
import type { Command, Context } from "../command.ts";
import { CommandFailure, EXIT, UsageError } from "../errors.ts";
import {
  type JobInfo,
  jobInfo,
  locate,
  readStatus,
  storedLeaseWords,
  unknownJob,
} from "../job_lookup.ts";
import { durationValue } from "../parse.ts";
import { clockTime } from "../print.ts";

/** How often `--watch` looks by default, in milliseconds. */
const WATCH_INTERVAL_MS = 1000;
/** The shortest `--interval`: no busy loop. */
const MIN_INTERVAL_MS = 100;

/** The `status` command. */
export const statusCommand: Command = {
  name: "status",
  args: [DISPLAY, JOB],
  summary: "Show a job's status, owner and place; --watch follows it",
  details:
    "Shows the status of job <job> on backend <display>: the status, the steps so far, the error message, who submitted it, where its file is, its worker's lease and how often workers stopped on it. With --json, the status as stored. With --watch, prints a line (with --json, a JSON object) for each change of the status until the job is DONE or ERROR, then exits 0.",
  options: {
    watch: {
      type: "boolean",
      help: "Print each change of the status until the job is DONE or ERROR",
    },
    interval: {
      type: "string",
      value: "DURATION",
      help: "With --watch: how often to look (default: 1s, at least 100ms)",
    },
  },
  run,
};

async function run(context: Context): Promise<number> {
  const [displayName, jobId] = context.args;
  const interval = durationValue(context.values, "interval", MIN_INTERVAL_MS);
  const watch = context.values.watch === true;
  if (interval !== undefined && !watch) {
    throw new UsageError("Option --interval works only with --watch");
  }
  const { adapter } = await context.storage();
  if (watch) {
    return await follow(context, adapter, {
      displayName,
      jobId,
      intervalMs: interval ?? WATCH_INTERVAL_MS,
    });
  }
  const info = await jobInfo(adapter, displayName, jobId);
  const { status } = info;
  if (status === undefined) throw unknownJob(displayName, jobId);
  const lines = await describe(adapter, info, status);
  context.out.answer(status, () => lines);
  return EXIT.ok;
}

async function describe(
  adapter: StorageAdapter,
  info: JobInfo,
  status: StatusMsg,
): Promise<string[]> {
  const { displayName, jobId, meta } = info;
  const place = await locate(adapter, displayName, jobId);
  const lease = place.endsWith("(running)")
    ? await transitionsOf(adapter).lease(displayName, jobId).catch(() =>
      undefined
    )
    : undefined;
  const now = Date.now();
  return [
    `Job ${jobId} on ${displayName}`,
    `  status    ${status.status}`,
    `  steps     ${status.detail.split("; ").join("\n            ")}`,
    ...(status.error_message !== "None"
      ? [`  error     ${status.error_message}`]
      : []),
    `  owner     ${
      meta?.username ?? "not recorded (submitted by another tool)"
    }${meta?.submitted_at ? `, submitted ${meta.submitted_at}` : ""}`,
    `  file      ${place}`,
    ...(place.endsWith("(running)")
      ? [`  lease     ${storedLeaseWords(lease, now)}`]
      : []),
    ...(meta && meta.attempts > 0
      ? [`  attempts  ${meta.attempts} worker(s) stopped on it`]
      : []),
  ];
}

/**
 * Prints each change of a job's status until it is DONE or ERROR. Between
 * looks it waits on the storage's change feed where it has one
 * (`waitForJobs`), at least a moment and at most `intervalMs`, else
 * `intervalMs`.
 */
async function follow(
  context: Context,
  adapter: StorageAdapter,
  job: { displayName: string; jobId: string; intervalMs: number },
): Promise<number> {
  const { displayName, jobId, intervalMs } = job;
  await getConfig(adapter, displayName);
  const signal = new AbortController().signal;
  let last: StatusMsg | undefined;
  for (;;) {
    const status = await readStatus(adapter, displayName, jobId);
    if (status === undefined) {
      if (last === undefined) throw unknownJob(displayName, jobId);
      throw new CommandFailure(
        `Job ${jobId} of backend ${displayName} lost its status while it was watched (was it purged?)`,
      );
    }
    if (last === undefined || changed(last, status)) {
      context.out.item(status, changeLine(last, status));
      last = status;
    }
    if (status.status === "DONE" || status.status === "ERROR") return EXIT.ok;
    const pause = sleep(Math.min(intervalMs, MIN_INTERVAL_MS * 2), signal);
    await Promise.all([
      adapter.waitForJobs?.([displayName], { timeoutMs: intervalMs, signal }) ??
        sleep(intervalMs, signal),
      pause,
    ]);
  }
}

function changed(before: StatusMsg, after: StatusMsg): boolean {
  return before.status !== after.status || before.detail !== after.detail ||
    before.error_message !== after.error_message;
}

/** A change as a line: the time, the status, the steps added, and the error. */
function changeLine(before: StatusMsg | undefined, after: StatusMsg): string {
  const steps = after.detail.split("; ");
  const seen = before?.detail.split("; ") ?? [];
  const added = seen.every((step, i) => steps[i] === step)
    ? steps.slice(seen.length)
    : steps;
  const error = after.status === "ERROR" && after.error_message !== "None"
    ? ` (${after.error_message})`
    : "";
  return `${clockTime()}  ${after.status.padEnd(12)}  ${
    added.join("; ")
  }${error}`.trimEnd();
}
