/**
 * `retry <display> <job>`: puts a job that ended ERROR back at the head of
 * its queue, its attempts reset and its status INITIALIZING.
 *
 * @module
 * @internal
 */

import { getConfig } from "../../backends.ts";
import { assertUsername } from "../../names.ts";
import { retryJob } from "../../operations.ts";
import { DISPLAY, JOB } from "../args.ts";
import type { Command, Context } from "../command.ts";
import { EXIT } from "../errors.ts";
import { readStatus } from "../job_lookup.ts";
import { checkedValue } from "../parse.ts";

/** The `retry` command. */
export const retryCommand: Command = {
  name: "retry",
  args: [DISPLAY, JOB],
  summary: "Put a failed job back at the head of its queue",
  details:
    "Puts job <job> of backend <display>, which ended ERROR, back at the head of its queue, for a failure that has passed (a full disk, a machine that was down): its failed attempts are reset and its status is INITIALIZING again. Only a failed job can be retried.",
  options: {
    by: {
      type: "string",
      value: "NAME",
      help:
        'Who retries, for the steps the job\'s owner reads (default: "an operator")',
    },
  },
  run,
};

async function run(context: Context): Promise<number> {
  const [displayName, jobId] = context.args;
  const by = checkedValue(context.values, "by", assertUsername);
  const { adapter } = await context.storage();
  await getConfig(adapter, displayName);
  await retryJob(adapter, { displayName, jobId, by });
  const status = await readStatus(adapter, displayName, jobId);
  context.out.answer(
    { job_id: jobId, display_name: displayName, status: status ?? null },
    () => [
      `Job ${jobId} of ${displayName} is back at the head of its queue${
        status === undefined ? "" : `: ${status.status} (${status.detail})`
      }.`,
    ],
  );
  return EXIT.ok;
}
