/**
 * `submit <display> <job.json>`: submits a job from a file, or from standard
 * input with `-`, as the web API does: the job, then its status.
 *
 * @module
 * @internal
 */

import { getConfig } from "../../backends.ts";
import { uploadJob, uploadStatus } from "../../jobs.ts";
import { assertUsername } from "../../names.ts";
import { validateJob } from "../../worker/validate.ts";
import { DISPLAY } from "../args.ts";
import type { Command, Context } from "../command.ts";
import { userPath } from "../environment.ts";
import { CommandFailure, errorLine, EXIT } from "../errors.ts";
import { checkedValue } from "../parse.ts";

/** The `submit` command. */
export const submitCommand: Command = {
  name: "submit",
  args: [DISPLAY, { name: "job.json" }],
  summary: "Submit a job from a file (- for standard input), as the API does",
  details:
    "Reads a job (keys experiment_0, experiment_1, …) from <job.json>, or from standard input when it is -, checks it against backend <display>'s limits, and submits it as the web API does: the job, then its status INITIALIZING. Prints the new job's id.",
  options: {
    user: {
      type: "string",
      value: "NAME",
      help: "Who submits the job (default: $USER, else cli)",
    },
    "no-validate": {
      type: "boolean",
      help: "Submit without checking the job against the backend's limits",
    },
  },
  run,
};

async function run(context: Context): Promise<number> {
  const [displayName, file] = context.args;
  const { environment, values } = context;
  const username = checkedValue(values, "user", assertUsername) ??
    environment.env("USER") ?? "cli";
  const source: JobSource = file === "-"
    ? { name: "The job on standard input", read: readStdin }
    : jobFile(userPath(environment, file));
  if (file === "-" && Deno.stdin.isTerminal()) {
    context.out.note(
      "Reading the job from standard input; end it with Ctrl-D.",
    );
  }
  const job = parseJob(await source.read(), source.name);
  const { adapter } = await context.storage();
  const config = await getConfig(adapter, displayName);
  if (values["no-validate"] !== true) {
    const check = validateJob(job, config);
    if (!check.ok) {
      throw new CommandFailure(
        `${source.name} does not fit backend ${displayName}: ${
          check.problems.join("; ")
        }`,
      );
    }
  }
  const jobId = await uploadJob(adapter, { job, displayName, username });
  const status = await uploadStatus(adapter, { displayName, username, jobId });
  context.out.answer({ job_id: jobId, status }, () => [
    `Submitted job ${jobId} to ${displayName} as ${username}: ${status.status}.`,
    `Follow it with: ${context.tool} status ${displayName} ${jobId} --watch${context.storageFlags}`,
  ]);
  return EXIT.ok;
}

/** Where a job comes from: its name in messages, and how to read its text. */
interface JobSource {
  name: string;
  read(): Promise<string>;
}

function jobFile(path: string): JobSource {
  const shown = JSON.stringify(path);
  return {
    name: `Job file ${shown}`,
    read: async () => {
      try {
        return await Deno.readTextFile(path);
      } catch (error) {
        const why = error instanceof Deno.errors.NotFound
          ? "no such file"
          : error instanceof Deno.errors.IsADirectory
          ? "it is a folder"
          : errorLine(error);
        throw new CommandFailure(`Cannot read job file ${shown}: ${why}`);
      }
    },
  };
}

async function readStdin(): Promise<string> {
  try {
    return await new Response(Deno.stdin.readable).text();
  } catch (error) {
    throw new CommandFailure(
      `Cannot read the job from standard input: ${errorLine(error)}`,
    );
  }
}

function parseJob(text: string, name: string): object {
  if (text.trim() === "") {
    throw new CommandFailure(
      `${name} is empty: expected a JSON object with keys experiment_0, experiment_1, …`,
    );
  }
  let job: unknown;
  try {
    job = JSON.parse(text);
  } catch (error) {
    throw new CommandFailure(`${name} is not valid JSON: ${errorLine(error)}`);
  }
  if (typeof job !== "object" || job === null || Array.isArray(job)) {
    throw new CommandFailure(
      `${name} must hold a JSON object with keys experiment_0, experiment_1, …`,
    );
  }
  return job;
}
