/**
 * `cancel <display> <job>`: cancels a job. A queued job ends ERROR at once; a
 * running one is marked, and its worker stops it and records ERROR.
 *
 * @module
 * @internal
 */

import { getConfig } from "../../backends.ts";
import { assertUsername } from "../../names.ts";
import { cancelJob } from "../../operations.ts";
import { transitionsOf } from "../../protocol.ts";
import { DISPLAY, JOB } from "../args.ts";
import type { Command, Context } from "../command.ts";
import { EXIT } from "../errors.ts";
import { readStatus } from "../job_lookup.ts";
import { checkedValue } from "../parse.ts";

/** The `cancel` command. */
export const cancelCommand: Command = {
  name: "cancel",
  args: [DISPLAY, JOB],
  summary: "Cancel a queued or running job",
  details:
    'Cancels job <job> of backend <display>, whoever submitted it. A queued job ends ERROR at once, with the message "Cancelled by <by>."; a running job is marked, and its worker (runWorker) aborts it and records ERROR with that message. A job that ended already, or that another tool\'s worker runs, cannot be cancelled.',
  options: {
    by: {
      type: "string",
      value: "NAME",
      help:
        'Who cancels, for the message the job\'s owner reads (default: "an operator")',
    },
  },
  run,
};

async function run(context: Context): Promise<number> {
  const [displayName, jobId] = context.args;
  const by = checkedValue(context.values, "by", assertUsername);
  const { adapter } = await context.storage();
  await getConfig(adapter, displayName);
  const outcome = await cancelJob(adapter, { displayName, jobId, by });
  const message = outcome === "cancelled"
    ? (await readStatus(adapter, displayName, jobId))?.error_message
    : (await transitionsOf(adapter).lease(displayName, jobId).catch(() =>
      undefined
    ))?.cancel_requested;
  const told = message ? ` with the message: ${message}` : "";
  context.out.answer(
    {
      job_id: jobId,
      display_name: displayName,
      outcome,
      message: message ?? null,
    },
    () =>
      outcome === "cancelled"
        ? [
          `Cancelled job ${jobId} of ${displayName}; its status is ERROR${told}`,
        ]
        : [
          `Job ${jobId} of ${displayName} is running; its worker was asked to stop it, and records ERROR${told}`,
          `Follow it with: ${context.tool} status ${displayName} ${jobId} --watch${context.storageFlags}`,
        ],
  );
  return EXIT.ok;
}
