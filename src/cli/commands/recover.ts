/**
 * `recover <display>`: puts the jobs of workers that stopped back at the head
 * of their queue, or ends them ERROR after too many attempts.
 *
 * @module
 * @internal
 */

import { getConfig } from "../../backends.ts";
import { recoverStaleJobs } from "../../queue.ts";
import { DISPLAY } from "../args.ts";
import type { Command, Context } from "../command.ts";
import { EXIT } from "../errors.ts";
import { countValue, durationValue } from "../parse.ts";

/** The `recover` command. */
export const recoverCommand: Command = {
  name: "recover",
  args: [DISPLAY],
  summary: "Put the jobs of dead workers back in their queue",
  details:
    "Finds running jobs of backend <display> whose worker stopped (their lease ran out, and with --older-than longer ago than that) and puts them back at the head of the queue, or marks them ERROR after --max-attempts failed attempts. Running jobs without a lease (taken by another tool's worker, such as sqooler's Python worker) are listed and left alone, unless --requeue-unleased is given.",
  options: {
    "older-than": {
      type: "string",
      value: "DURATION",
      help:
        "Only leases that ran out longer ago than this, e.g. 90s, 10m, 1h: a margin for clocks that disagree (default: as soon as a lease runs out)",
    },
    "max-attempts": {
      type: "string",
      value: "N",
      help: "Mark a job ERROR after this many failed attempts (default: 3)",
    },
    "requeue-unleased": {
      type: "boolean",
      help:
        "Also requeue running jobs that have no lease (another tool's worker may still run them)",
    },
  },
  run,
};

async function run(context: Context): Promise<number> {
  const [displayName] = context.args;
  const olderThanMs = durationValue(context.values, "older-than");
  const maxAttempts = countValue(context.values, "max-attempts");
  const { adapter } = await context.storage();
  await getConfig(adapter, displayName);
  const report = await recoverStaleJobs(adapter, {
    displayName,
    olderThanMs,
    maxAttempts,
    requeueUnleased: context.values["requeue-unleased"] === true,
  });
  const { requeued, failed, completed, unleased, alive, attempts } = report;
  context.out.answer(report, () => [
    `Recovery of ${displayName}: ${requeued.length} requeued, ${failed.length} failed, ${completed.length} completed, ${unleased.length} without a lease, ${alive.length} still alive`,
    ...requeued.map((id) => `  requeued   ${id}  (attempt ${attempts[id]})`),
    ...failed.map((id) =>
      `  failed     ${id}  (${attempts[id]} failed attempts)`
    ),
    ...completed.map((id) => `  completed  ${id}  (had a final status)`),
    ...unleased.filter((id) => !requeued.includes(id)).map((id) =>
      `  unleased   ${id}  (another tool's worker holds it; --requeue-unleased puts it back)`
    ),
  ]);
  return EXIT.ok;
}
