/**
 * `verify <display> <job>`: whether a job's signed result holds its
 * backend's signature (sqooler 0.9's `verify_result`), checked against the
 * public key that the backend's config names.
 *
 * @module
 * @internal
 */

import { UnsignedRecordError } from "../../errors.ts";
import { verifyResult } from "../../results.ts";
import { DISPLAY, JOB } from "../args.ts";
import type { Command, Context } from "../command.ts";
import { CommandFailure, errorLine, EXIT } from "../errors.ts";

/** The `verify` command. */
export const verifyCommand: Command = {
  name: "verify",
  args: [DISPLAY, JOB],
  summary: "Check the signature of a job's result",
  details:
    "Checks that the result of job <job> on backend <display> was signed by the backend's key (the public key at backends/public_keys/<kid>.json, <kid> from the backend's config) and not changed since, as sqooler 0.9's verify_result does. Exits 0 when the signature holds and 1 when it does not, or when the result is not signed. With --json: { display_name, job_id, verified }.",
  options: {},
  run,
};

async function run(context: Context): Promise<number> {
  const [displayName, jobId] = context.args;
  const { adapter } = await context.storage();
  let verified: boolean;
  try {
    verified = await verifyResult(adapter, { displayName, jobId });
  } catch (error) {
    if (error instanceof UnsignedRecordError) {
      throw new CommandFailure(errorLine(error));
    }
    throw error;
  }
  context.out.answer(
    { display_name: displayName, job_id: jobId, verified },
    () => [
      verified
        ? `The signature of the result of job ${jobId} on ${displayName} holds.`
        : `The signature of the result of job ${jobId} on ${displayName} does NOT hold: it was changed, or signed with another key.`,
    ],
  );
  return verified ? EXIT.ok : EXIT.failure;
}
