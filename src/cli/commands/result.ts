/**
 * `result <display> <job>`: a job's result as counts of the measured bit
 * strings per experiment, or why it has none.
 *
 * @module
 * @internal
 */

import { getResult } from "../../jobs.ts";
import { resultsPath } from "../../layout.ts";
import { readRecord } from "../../records.ts";
import { Result } from "../../schemas.ts";
import { DISPLAY, JOB } from "../args.ts";
import type { Command, Context } from "../command.ts";
import { CommandFailure, EXIT } from "../errors.ts";
import { jobInfo, unknownJob } from "../job_lookup.ts";
import { plural } from "../print.ts";

/** The most outcomes shown per experiment; the rest are counted. */
const MAX_OUTCOMES = 16;

/** The `result` command. */
export const resultCommand: Command = {
  name: "result",
  args: [DISPLAY, JOB],
  summary: "Show a job's result: counts of bit strings",
  details:
    "Shows the result of job <job> on backend <display>, as counts of the measured bit strings per experiment, most frequent first. With --json, the result as the web API returns it (backend_name filled in).",
  options: {},
  run,
};

async function run(context: Context): Promise<number> {
  const [displayName, jobId] = context.args;
  const { adapter } = await context.storage();
  const info = await jobInfo(adapter, displayName, jobId);
  const stored = await readRecord(
    adapter,
    { path: resultsPath(displayName), id: jobId },
    Result,
  );
  if (stored === undefined) {
    if (info.status === undefined) throw unknownJob(displayName, jobId);
    const why = info.status.status === "ERROR"
      ? `it failed: ${info.status.error_message}`
      : `its status is ${info.status.status}; it has not run yet`;
    throw new CommandFailure(
      `Job ${jobId} of backend ${displayName} has no result: ${why}`,
    );
  }
  // As the owner reads it from the API, with backend_name filled in.
  const result = await getResult(adapter, {
    displayName,
    username: info.meta?.username ?? "operator",
    jobId,
  });
  context.out.answer(result, () => [
    `Result of job ${jobId} on ${result.backend_name} ${result.backend_version}: ${result.status}${
      result.success ? "" : " (not successful)"
    }`,
    ...result.results.flatMap((experiment) => [
      `  ${String(experiment.header.name ?? "experiment")}: ${
        plural(experiment.shots, "shot")
      }${experiment.success ? "" : " (failed)"}`,
      ...histogram(experiment.data.memory).map((line) => `    ${line}`),
    ]),
  ]);
  return EXIT.ok;
}

/**
 * Counts of bit strings, most frequent first, as `1 0 1  ████  12`.
 *
 * @param memory The measured bit strings, one per shot.
 * @param width The longest bar.
 * @returns The lines.
 */
function histogram(memory: readonly string[], width = 24): string[] {
  const counts = new Map<string, number>();
  for (const outcome of memory) {
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  }
  const sorted = [...counts].sort((a, b) =>
    b[1] - a[1] || (a[0] < b[0] ? -1 : 1)
  );
  const top = sorted.slice(0, MAX_OUTCOMES);
  const max = top[0]?.[1] ?? 0;
  const label = Math.max(0, ...top.map(([outcome]) => outcome.length));
  const digits = String(max).length;
  const lines = top.map(([outcome, count]) =>
    `${(outcome || "(nothing measured)").padEnd(label)}  ${
      "█".repeat(Math.max(1, Math.round((count / max) * width))).padEnd(width)
    }  ${String(count).padStart(digits)}`
  );
  if (sorted.length > top.length) {
    lines.push(`… and ${sorted.length - top.length} more outcomes`);
  }
  return lines;
}
