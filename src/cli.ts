/**
 * The command line for the people who run a lab's backends: look at backends,
 * queues, statuses and results in a storage folder, submit a job, recover the
 * jobs of dead workers, and run a worker.
 *
 * ```sh
 * deno task cli backends
 * deno task cli queue fermions --json
 * deno run --allow-read --allow-write --allow-env jsr:@sqooler/storage/cli --help
 * ```
 *
 * The storage folder is `--base-path`, else `$SQOOLER_BASE_PATH`, else
 * `./storage`. Errors print one line, `error: …`, on stderr; the exit code is
 * 2 for a usage mistake, 1 for a failure, 0 otherwise.
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  backendDictToQiskitStatus,
  getBackends,
  getConfig,
} from "./backends.ts";
import { InvalidNameError, NotFoundError, SqoolerError } from "./errors.ts";
import { getResult, uploadJob, uploadStatus } from "./jobs.ts";
import {
  DELETED,
  finishedPath,
  metaPath,
  queuedPath,
  resultsPath,
  RUNNING,
  statusPath,
} from "./layout.ts";
import { LocalAdapter } from "./local_adapter.ts";
import { assertDisplayName, assertJobId, assertUsername } from "./names.ts";
import { getQueueStats, recoverStaleJobs } from "./queue.ts";
import { readRecord } from "./records.ts";
import { type BackendConfigIn, JobMeta, Result, StatusMsg } from "./schemas.ts";
import { oneLine, runWorker } from "./worker/loop.ts";
import type { Backends, WorkerEvent } from "./worker/types.ts";
import { validateJob } from "./worker/validate.ts";

/** A mistake in the command line: exit code 2. */
class UsageError extends Error {}

/** A failure that the CLI found itself (a missing file, …): exit code 1. */
class Failure extends Error {}

const TOOL = "deno task cli";

interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** The value's placeholder in help, for string options. */
  value?: string;
  help: string;
}

type Values = Record<string, string | boolean | undefined>;

interface Context {
  adapter: LocalAdapter;
  basePath: string;
  json: boolean;
  values: Values;
}

interface Command {
  name: string;
  args: string[];
  summary: string;
  details: string;
  options: Record<string, OptionSpec>;
  /** Whether the storage folder may be missing (the command creates it). */
  createsStorage?: boolean;
  run(context: Context, args: string[]): Promise<number>;
}

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  "base-path": {
    type: "string",
    value: "PATH",
    help: "The storage folder (default: $SQOOLER_BASE_PATH, else ./storage)",
  },
  provider: {
    type: "string",
    value: "NAME",
    help:
      "The storage provider's name, for long backend names (default: default)",
  },
  json: { type: "boolean", help: "Print JSON instead of text" },
  help: { type: "boolean", short: "h", help: "Show help" },
};

const COMMANDS: Command[] = [
  {
    name: "backends",
    args: [],
    summary: "List the backends: version, liveness, queue length",
    details:
      "Lists every backend that has a config in the storage, with its long name, version, whether it is operational (its queue was polled in the last 5 minutes) and how many jobs wait.",
    options: {},
    run: backendsCommand,
  },
  {
    name: "config",
    args: ["display"],
    summary: "Show a backend's config",
    details:
      "Shows the config of backend <display>: limits, instructions, liveness. With --json, the stored config.",
    options: {},
    run: configCommand,
  },
  {
    name: "status",
    args: ["display", "job"],
    summary: "Show a job's status, owner and place",
    details:
      "Shows the status of job <job> on backend <display>: the status, the steps so far, the error message, who submitted it, where its file is and how often workers died on it. With --json, the stored status.",
    options: {},
    run: statusCommand,
  },
  {
    name: "result",
    args: ["display", "job"],
    summary: "Show a job's result: counts of bit strings",
    details:
      "Shows the result of job <job> on backend <display>, as counts of the measured bit strings per experiment. With --json, the result as the API returns it.",
    options: {},
    run: resultCommand,
  },
  {
    name: "submit",
    args: ["display", "job.json"],
    summary: "Submit a job from a file, as the web API does",
    details:
      "Reads a job (keys experiment_0, experiment_1, …) from <job.json>, checks it against backend <display>'s limits, and submits it: the job, then its status INITIALIZING. Prints the new job's id.",
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
    run: submitCommand,
  },
  {
    name: "queue",
    args: ["display"],
    summary: "Count queued, running, finished and failed jobs",
    details:
      "Counts the jobs of backend <display>: queued (with the oldest one's age), running (each with the age of its lease), finished and failed.",
    options: {},
    run: queueCommand,
  },
  {
    name: "recover",
    args: ["display"],
    summary: "Put the jobs of dead workers back in their queue",
    details:
      "Finds running jobs of backend <display> whose worker stopped (their lease ran out, or is older than --older-than) and puts them back at the head of the queue, or marks them ERROR after --max-attempts failed attempts. Running jobs without a lease (taken by another tool's worker, such as sqooler's Python worker) are listed and left alone, unless --requeue-unleased is given.",
    options: {
      "older-than": {
        type: "string",
        value: "DURATION",
        help:
          "A lease older than this is stale, e.g. 90s, 10m, 1h (default: when it runs out)",
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
    run: recoverCommand,
  },
  {
    name: "work",
    args: ["module"],
    summary: "Run the backends that a module exports, until Ctrl-C",
    details:
      'Imports <module> (a path or URL) whose default export, or export named "backends", maps display names to { config, execute }, and runs a worker for them until SIGINT or SIGTERM: it finishes or releases the job in hand, then exits. Try: work demo/spins.ts',
    createsStorage: true,
    options: {
      "poll-interval": {
        type: "string",
        value: "DURATION",
        help: "How long to wait when every queue is empty (default: 1s)",
      },
      lease: {
        type: "string",
        value: "DURATION",
        help: "How long a claim on a job lasts unless extended (default: 10m)",
      },
      "until-idle": {
        type: "boolean",
        help: "Stop once every queue is empty",
      },
    },
    run: workCommand,
  },
];

/**
 * Runs the command line with the given arguments, as `deno task cli` does.
 * Output goes to stdout; errors print one line on stderr.
 *
 * @param args The arguments, e.g. `["queue", "fermions", "--json"]`.
 * @returns The exit code: 0 on success, 1 on a failure, 2 on a usage mistake.
 *
 * @example Count the jobs of a backend
 * ```ts
 * import assert from "node:assert/strict";
 * import { LocalAdapter, uploadConfig } from "@sqooler/storage";
 * import { main } from "./cli.ts";
 *
 * const basePath = await Deno.makeTempDir();
 * try {
 *   await uploadConfig(new LocalAdapter({ basePath }), {
 *     description: "d", version: "1.0.0", display_name: "spins", cold_atom_type: "spin",
 *     gates: [], max_experiments: 10, max_shots: 100, simulator: true,
 *     supported_instructions: ["measure"], num_wires: 3, wire_order: "linear", num_species: 1,
 *   });
 *   assert((await main(["queue", "spins", "--base-path", basePath])) === 0);
 *   assert((await main(["queue", "Spins!", "--base-path", basePath])) === 2);
 * } finally {
 *   await Deno.remove(basePath, { recursive: true });
 * }
 * ```
 */
export async function main(args: string[]): Promise<number> {
  try {
    return await dispatch(args);
  } catch (error) {
    console.error(`error: ${oneLine(error)}`);
    if (error instanceof UsageError || error instanceof InvalidNameError) {
      return 2;
    }
    return 1;
  }
}

async function dispatch(args: string[]): Promise<number> {
  const name = findCommand(args);
  if (name === undefined || name === "help") {
    // Parsed only to refuse unknown options; `help <command>` names a topic.
    const topic = parse(args, GLOBAL_OPTIONS).positionals[1];
    console.log(
      topic === undefined ? toolHelp() : commandHelp(commandNamed(topic)),
    );
    return 0;
  }
  const command = commandNamed(name);
  const { values, positionals } = parse(args, {
    ...GLOBAL_OPTIONS,
    ...command.options,
  });
  if (values.help) {
    console.log(commandHelp(command));
    return 0;
  }
  const rest = positionals.slice(1);
  if (rest.length !== command.args.length) {
    const expected = command.args.map((arg) => `<${arg}>`).join(" ");
    throw new UsageError(
      rest.length < command.args.length
        ? `${name} needs ${
          command.args.slice(rest.length).map((arg) => `<${arg}>`).join(" ")
        } (usage: ${name} ${expected})`
        : `${name} takes ${command.args.length || "no"} argument${
          command.args.length === 1 ? "" : "s"
        }, got ${rest.length} (usage: ${name} ${expected})`.trimEnd(),
    );
  }
  const basePath = stringOption(values, "base-path") ||
    Deno.env.get("SQOOLER_BASE_PATH") || "./storage";
  if (!command.createsStorage) await assertStorageFolder(basePath);
  const adapter = new LocalAdapter({
    basePath,
    name: stringOption(values, "provider") ?? "default",
  });
  return await command.run(
    { adapter, basePath, json: values.json === true, values },
    rest,
  );
}

/** The command's name: the first argument that is neither an option nor an option's value. */
function findCommand(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") return args[i + 1];
    if (arg.startsWith("-")) {
      const name = arg.replace(/^--?/, "").split("=")[0];
      if (!arg.includes("=") && GLOBAL_OPTIONS[name]?.type === "string") i++;
      continue;
    }
    return arg;
  }
  return undefined;
}

function commandNamed(name: string): Command {
  const command = COMMANDS.find((command) => command.name === name);
  if (command === undefined) {
    throw new UsageError(
      `Unknown command ${JSON.stringify(name)}; the commands are ${
        COMMANDS.map((command) => command.name).join(", ")
      } (see --help)`,
    );
  }
  return command;
}

/** Parses `--name value`, `--name=value`, `--flag`, `-h` and positionals. */
function parse(
  args: string[],
  spec: Record<string, OptionSpec>,
): { values: Values; positionals: string[] } {
  const values: Values = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const equals = arg.indexOf("=");
      name = equals < 0 ? arg.slice(2) : arg.slice(2, equals);
      inline = equals < 0 ? undefined : arg.slice(equals + 1);
    } else {
      const short = arg.slice(1);
      name = Object.keys(spec).find((key) => spec[key].short === short) ??
        short;
    }
    const option = spec[name];
    if (option === undefined) {
      throw new UsageError(`Unknown option ${arg.split("=")[0]} (see --help)`);
    }
    if (option.type === "boolean") {
      if (inline !== undefined) {
        throw new UsageError(`Option --${name} takes no value`);
      }
      values[name] = true;
      continue;
    }
    const value = inline ?? args[++i];
    if (
      value === undefined || (inline === undefined && value.startsWith("--"))
    ) {
      throw new UsageError(
        `Option --${name} needs a value: --${name} ${option.value ?? "VALUE"}`,
      );
    }
    values[name] = value;
  }
  return { values, positionals };
}

function stringOption(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

function toolHelp(): string {
  const width = Math.max(
    ...COMMANDS.map((c) => usageOf(c).length),
  );
  return [
    "sqooler-storage: look after a sqooler storage folder, and run its backends",
    "",
    `Usage: ${TOOL} <command> [arguments] [options]`,
    "       deno run --allow-read --allow-write --allow-env jsr:@sqooler/storage/cli <command> …",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${usageOf(c).padEnd(width)}  ${c.summary}`),
    "",
    "Options for every command:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    `Help on one command: ${TOOL} <command> --help`,
  ].join("\n");
}

function commandHelp(command: Command): string {
  const options = Object.keys(command.options).length > 0
    ? ["", "Options:", ...optionLines(command.options)]
    : [];
  return [
    `Usage: ${TOOL} ${usageOf(command)}${
      Object.keys(command.options).length > 0 ? " [options]" : ""
    }`,
    "",
    wrap(command.details, 78),
    ...options,
    "",
    "Options for every command:",
    ...optionLines(GLOBAL_OPTIONS),
  ].join("\n");
}

function usageOf(command: Command): string {
  return [command.name, ...command.args.map((arg) => `<${arg}>`)].join(" ");
}

function optionLines(spec: Record<string, OptionSpec>): string[] {
  const names = Object.entries(spec).map(([name, option]) =>
    `${option.short ? `-${option.short}, ` : "    "}--${name}${
      option.value ? ` ${option.value}` : ""
    }`
  );
  const width = Math.max(...names.map((name) => name.length));
  return Object.values(spec).map((option, i) =>
    `  ${names[i].padEnd(width)}  ${option.help}`
  );
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line].join("\n");
}

async function assertStorageFolder(basePath: string): Promise<void> {
  try {
    const info = await Deno.stat(basePath);
    if (info.isDirectory) return;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  throw new Failure(
    `Storage folder ${
      JSON.stringify(basePath)
    } does not exist; pass --base-path or set SQOOLER_BASE_PATH`,
  );
}

function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

// --- backends, config ------------------------------------------------------

async function backendsCommand(context: Context): Promise<number> {
  const { adapter } = context;
  const rows: Record<string, unknown>[] = [];
  let broken = 0;
  for (const displayName of (await getBackends(adapter)).toSorted()) {
    try {
      const config = await getConfig(adapter, displayName);
      const status = backendDictToQiskitStatus(adapter.name, config);
      rows.push({
        display_name: displayName,
        backend_name: status.backend_name,
        version: config.version,
        simulator: config.simulator,
        operational: status.operational,
        last_queue_check: config.last_queue_check,
        queued: (await adapter.list(queuedPath(displayName))).length,
        status_msg: config.status_msg,
      });
    } catch (error) {
      if (!(error instanceof SqoolerError)) throw error;
      broken++;
      rows.push({ display_name: displayName, error: error.message });
    }
  }
  if (context.json) {
    printJson(rows);
  } else if (rows.length === 0) {
    console.log(`No backends in ${context.basePath}.`);
  } else {
    console.log(table([
      ["NAME", "BACKEND NAME", "VERSION", "OPERATIONAL", "QUEUED"],
      ...rows.map((row) =>
        row.error !== undefined
          ? [String(row.display_name), `unreadable: ${row.error}`, "", "", ""]
          : [
            String(row.display_name),
            String(row.backend_name),
            String(row.version),
            row.operational ? "yes" : `no${liveness(row)}`,
            String(row.queued),
          ]
      ),
    ]));
  }
  if (broken === 0) return 0;
  console.error(
    `error: ${broken} backend config${
      broken === 1 ? " is" : "s are"
    } unreadable; see above`,
  );
  return 1;
}

function liveness(row: Record<string, unknown>): string {
  const check = row.last_queue_check;
  if (typeof check !== "string") return " (never polled)";
  return ` (last polled ${formatDuration(Date.now() - Date.parse(check))} ago)`;
}

async function configCommand(context: Context, args: string[]) {
  const displayName = assertDisplayName(args[0]);
  const config = await getConfig(context.adapter, displayName);
  if (context.json) {
    printJson(config);
    return 0;
  }
  const status = backendDictToQiskitStatus(context.adapter.name, config);
  console.log(
    [
      `${config.display_name} (${status.backend_name}), version ${config.version}`,
      `  ${config.description}`,
      `  ${
        config.simulator ? "simulator" : "hardware"
      }, ${config.cold_atom_type}, ${config.num_wires} wires (${config.wire_order}), ${config.num_species} species`,
      `  limits        ${config.max_experiments} experiments per job, ${config.max_shots} shots per experiment`,
      `  instructions  ${config.supported_instructions.join(", ") || "none"}`,
      `  gates         ${
        config.gates.map((gate) => gate.name).join(", ") || "none"
      }`,
      `  operational   ${status.operational ? "yes" : "no"}${
        config.last_queue_check
          ? `, queue last polled ${config.last_queue_check}`
          : ", queue never polled"
      }`,
      ...(config.status_msg ? [`  message       ${config.status_msg}`] : []),
    ].join("\n"),
  );
  return 0;
}

// --- status, result ----------------------------------------------------------

interface JobInfo {
  displayName: string;
  jobId: string;
  config: BackendConfigIn;
  status: StatusMsg | undefined;
  meta: JobMeta | undefined;
}

async function jobInfo(context: Context, args: string[]): Promise<JobInfo> {
  const displayName = assertDisplayName(args[0]);
  const jobId = assertJobId(args[1]);
  const { adapter } = context;
  const config = await getConfig(adapter, displayName);
  const status = await readRecord(
    adapter,
    { path: statusPath(displayName), id: jobId },
    StatusMsg,
  );
  const meta = await readRecord(
    adapter,
    { path: metaPath(displayName), id: jobId },
    JobMeta,
  ).catch(() => undefined);
  return { displayName, jobId, config, status, meta };
}

function unknownJob(info: JobInfo): Failure {
  return new Failure(
    `Job ${info.jobId} of backend ${info.displayName} does not exist: it has no status`,
  );
}

async function statusCommand(context: Context, args: string[]) {
  const info = await jobInfo(context, args);
  const { status, meta } = info;
  if (status === undefined) throw unknownJob(info);
  if (context.json) {
    printJson(status);
    return 0;
  }
  const place = await locate(context, info);
  console.log(
    [
      `Job ${info.jobId} on ${info.displayName}`,
      `  status    ${status.status}`,
      `  steps     ${status.detail.split("; ").join("\n            ")}`,
      ...(status.error_message !== "None"
        ? [`  error     ${status.error_message}`]
        : []),
      `  owner     ${
        meta?.username ?? "not recorded (submitted by another tool)"
      }${meta?.submitted_at ? `, submitted ${meta.submitted_at}` : ""}`,
      `  file      ${place}`,
      ...(meta && meta.attempts > 0
        ? [`  attempts  ${meta.attempts} worker(s) stopped on it`]
        : []),
    ].join("\n"),
  );
  return 0;
}

/** Where a job's file is, in words. */
async function locate(context: Context, info: JobInfo): Promise<string> {
  const places: [string, string][] = [
    [queuedPath(info.displayName), "queued"],
    [RUNNING, "running"],
    [finishedPath(info.displayName), "finished"],
    [DELETED, "failed"],
  ];
  for (const [path, word] of places) {
    try {
      await context.adapter.get(path, info.jobId);
    } catch (error) {
      if (error instanceof NotFoundError) continue;
    }
    return `${path}/${info.jobId}.json (${word})`;
  }
  return "none (the job file is gone)";
}

async function resultCommand(context: Context, args: string[]) {
  const info = await jobInfo(context, args);
  const { adapter } = context;
  const stored = await readRecord(
    adapter,
    { path: resultsPath(info.displayName), id: info.jobId },
    Result,
  );
  if (stored === undefined) {
    if (info.status === undefined) throw unknownJob(info);
    const why = info.status.status === "ERROR"
      ? `it failed: ${info.status.error_message}`
      : `its status is ${info.status.status}; it has not run yet`;
    throw new Failure(
      `Job ${info.jobId} of backend ${info.displayName} has no result: ${why}`,
    );
  }
  // The owner reads it as the API would give it to them, with backend_name filled in.
  const result = await getResult(adapter, {
    displayName: info.displayName,
    username: info.meta?.username ?? "operator",
    jobId: info.jobId,
  });
  if (context.json) {
    printJson(result);
    return 0;
  }
  const lines = [
    `Result of job ${info.jobId} on ${result.backend_name} ${result.backend_version}: ${result.status}${
      result.success ? "" : " (not successful)"
    }`,
  ];
  for (const experiment of result.results) {
    const name = String(experiment.header.name ?? "experiment");
    lines.push(
      `  ${name}: ${experiment.shots} shot${experiment.shots === 1 ? "" : "s"}${
        experiment.success ? "" : " (failed)"
      }`,
      ...histogram(experiment.data.memory).map((line) => `    ${line}`),
    );
  }
  console.log(lines.join("\n"));
  return 0;
}

const MAX_OUTCOMES = 16;

/**
 * Counts of bit strings, most frequent first, as `"1 0 1  ████  12"`.
 */
function histogram(memory: string[], width = 24): string[] {
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

// --- submit ------------------------------------------------------------------

async function submitCommand(context: Context, args: string[]) {
  const displayName = assertDisplayName(args[0]);
  const file = args[1];
  const username = assertUsername(
    stringOption(context.values, "user") ?? Deno.env.get("USER") ?? "cli",
  );
  const job = await readJobFile(file);
  const config = await getConfig(context.adapter, displayName);
  if (!context.values["no-validate"]) {
    const check = validateJob(job, config);
    if (!check.ok) {
      throw new Failure(
        `Job file ${
          JSON.stringify(file)
        } does not fit backend ${displayName}: ${check.problems.join("; ")}`,
      );
    }
  }
  const jobId = await uploadJob(context.adapter, {
    job: job as object,
    displayName,
    username,
  });
  const status = await uploadStatus(context.adapter, {
    displayName,
    username,
    jobId,
  });
  if (context.json) {
    printJson({ job_id: jobId, status });
  } else {
    console.log(
      `Submitted job ${jobId} to ${displayName} as ${username}: ${status.status}.\nFollow it with: ${TOOL} status ${displayName} ${jobId}`,
    );
  }
  return 0;
}

async function readJobFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.IsADirectory
      ? "it is a folder"
      : oneLine(error);
    throw new Failure(`Cannot read job file ${JSON.stringify(file)}: ${why}`);
  }
  let job: unknown;
  try {
    job = JSON.parse(text);
  } catch (error) {
    throw new Failure(
      `Job file ${JSON.stringify(file)} is not valid JSON: ${oneLine(error)}`,
    );
  }
  if (typeof job !== "object" || job === null || Array.isArray(job)) {
    throw new Failure(
      `Job file ${
        JSON.stringify(file)
      } must hold a JSON object with keys experiment_0, experiment_1, …`,
    );
  }
  return job;
}

// --- queue, recover ----------------------------------------------------------

async function queueCommand(context: Context, args: string[]) {
  const displayName = assertDisplayName(args[0]);
  const config = await getConfig(context.adapter, displayName);
  const stats = await getQueueStats(context.adapter, displayName);
  if (context.json) {
    printJson(stats);
    return 0;
  }
  const status = backendDictToQiskitStatus(context.adapter.name, config);
  const lines = [
    `Queue of ${displayName} (${status.backend_name}, ${
      status.operational ? "operational" : "not operational"
    })`,
    `  queued    ${stats.queued}${
      stats.oldestQueuedAgeMs === null
        ? ""
        : ` (oldest waiting ${formatDuration(stats.oldestQueuedAgeMs)})`
    }`,
    `  running   ${stats.running}`,
    ...stats.runningJobs.map(({ jobId, leaseAgeMs }) =>
      `            ${jobId}  ${
        leaseAgeMs === null
          ? "no lease (taken by another tool)"
          : `lease taken ${formatDuration(leaseAgeMs)} ago`
      }`
    ),
    `  finished  ${stats.finished}`,
    `  failed    ${stats.failed}`,
  ];
  console.log(lines.join("\n"));
  return 0;
}

async function recoverCommand(context: Context, args: string[]) {
  const displayName = assertDisplayName(args[0]);
  const olderThan = stringOption(context.values, "older-than");
  const maxAttempts = stringOption(context.values, "max-attempts");
  const olderThanMs = olderThan === undefined
    ? undefined
    : parseDuration(olderThan, "older-than");
  let attempts: number | undefined;
  if (maxAttempts !== undefined) {
    attempts = Number(maxAttempts);
    if (!Number.isSafeInteger(attempts) || attempts < 1) {
      throw new UsageError(
        `Option --max-attempts needs a whole number ≥ 1, got ${
          JSON.stringify(maxAttempts)
        }`,
      );
    }
  }
  await getConfig(context.adapter, displayName);
  const report = await recoverStaleJobs(context.adapter, {
    displayName,
    olderThanMs,
    maxAttempts: attempts,
    requeueUnleased: context.values["requeue-unleased"] === true,
  });
  if (context.json) {
    printJson(report);
    return 0;
  }
  const { requeued, failed, completed, unleased, alive } = report;
  const lines = [
    `Recovery of ${displayName}: ${requeued.length} requeued, ${failed.length} failed, ${completed.length} completed, ${unleased.length} without a lease, ${alive.length} still alive`,
    ...requeued.map((id) =>
      `  requeued   ${id}  (attempt ${report.attempts[id]})`
    ),
    ...failed.map((id) =>
      `  failed     ${id}  (${report.attempts[id]} failed attempts)`
    ),
    ...completed.map((id) => `  completed  ${id}  (had a final status)`),
    ...unleased.map((id) =>
      `  unleased   ${id}  (another tool's worker holds it; --requeue-unleased puts it back)`
    ),
  ];
  console.log(lines.join("\n"));
  return 0;
}

// --- work --------------------------------------------------------------------

async function workCommand(context: Context, args: string[]) {
  const spec = args[0];
  const pollInterval = stringOption(context.values, "poll-interval");
  const lease = stringOption(context.values, "lease");
  const pollIntervalMs = pollInterval === undefined
    ? undefined
    : parseDuration(pollInterval, "poll-interval");
  const leaseMs = lease === undefined
    ? undefined
    : parseDuration(lease, "lease");
  if (leaseMs === 0) {
    throw new UsageError("Option --lease needs a duration > 0");
  }
  const backends = await loadBackends(spec);
  const controller = new AbortController();
  const log = new Log(context.json);
  const stop = () => {
    if (controller.signal.aborted) Deno.exit(130);
    controller.abort();
    log.note(
      "Stopping after the job in hand; press Ctrl-C again to quit at once.",
    );
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const listening = signals.filter((signal) => {
    try {
      Deno.addSignalListener(signal, stop);
      return true;
    } catch {
      return false; // Not every platform has every signal.
    }
  });
  try {
    await runWorker(context.adapter, {
      backends,
      signal: controller.signal,
      pollIntervalMs,
      leaseMs,
      untilIdle: context.values["until-idle"] === true,
      onEvent: (event) => log.event(event, context.basePath),
    });
  } finally {
    for (const signal of listening) Deno.removeSignalListener(signal, stop);
    log.close();
  }
  return 0;
}

async function loadBackends(spec: string): Promise<Backends> {
  let url: string;
  if (/^(jsr|npm|https?|file|data):/.test(spec)) {
    url = spec;
  } else {
    const path = resolve(spec);
    try {
      if (!(await Deno.stat(path)).isFile) {
        throw new Failure(
          `Cannot load backends from ${JSON.stringify(spec)}: not a file`,
        );
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Failure(
          `Cannot load backends from ${JSON.stringify(spec)}: no such file`,
        );
      }
      throw error;
    }
    url = pathToFileURL(path).href;
  }
  let module: Record<string, unknown>;
  try {
    module = await import(url);
  } catch (error) {
    throw new Failure(
      `Cannot load backends from ${JSON.stringify(spec)}: ${oneLine(error)}`,
    );
  }
  const backends = module.backends ?? module.default;
  if (
    typeof backends !== "object" || backends === null || Array.isArray(backends)
  ) {
    throw new Failure(
      `${
        JSON.stringify(spec)
      } exports no backends: expected a default export, or an export named "backends", that maps display names to { config, execute }`,
    );
  }
  return backends as Backends;
}

/** The worker's log: a line per job on stdout, warnings on stderr, and a live status line on a terminal. */
class Log {
  #json: boolean;
  #live: boolean;
  #status = "";
  #counts = { done: 0, failed: 0 };
  #encoder = new TextEncoder();

  constructor(json: boolean) {
    this.#json = json;
    this.#live = !json && Deno.stdout.isTerminal();
  }

  event(event: WorkerEvent, basePath: string): void {
    if (this.#json) {
      const { error: _error, ...rest } = event as WorkerEvent & {
        error?: unknown;
      };
      console.log(JSON.stringify({ time: new Date().toISOString(), ...rest }));
      return;
    }
    switch (event.type) {
      case "started":
        return this.line(
          `Worker started on ${basePath} for ${
            event.backends.join(", ")
          }; Ctrl-C stops it.`,
        );
      case "recovered": {
        const { requeued, failed, completed, unleased } = event.report;
        return this.line(
          `recovered ${event.displayName}: ${requeued.length} requeued, ${failed.length} failed, ${completed.length} completed, ${unleased.length} without a lease`,
        );
      }
      case "claimed":
        return this.#setStatus(`running ${event.displayName}/${event.jobId}`);
      case "lease":
        return;
      case "done":
        this.#counts.done++;
        return this.line(
          `DONE   ${event.displayName}/${event.jobId}  ${
            formatDuration(event.durationMs)
          }`,
        );
      case "failed":
        this.#counts.failed++;
        return this.line(
          `ERROR  ${event.displayName}/${event.jobId}  ${event.message}`,
        );
      case "released":
        return this.line(
          `back in queue  ${event.displayName}/${event.jobId}`,
        );
      case "error":
        return this.line(`warning: ${event.message}`, true);
      case "idle":
        if (!this.#live) this.line("idle: every queue is empty");
        return this.#setStatus("idle, waiting for jobs");
      case "stopped": {
        const { done, failed, released, errors } = event.summary;
        this.#setStatus("");
        return this.line(
          `Stopped: ${done} done, ${failed} failed, ${released} released, ${errors} storage errors.`,
        );
      }
    }
  }

  /** A message for the person at the terminal. */
  note(text: string): void {
    if (!this.#json) this.line(text, true);
  }

  line(text: string, toStderr = false): void {
    const time = new Date().toTimeString().slice(0, 8);
    this.#clear();
    if (toStderr) console.error(`${time} ${text}`);
    else console.log(`${time} ${text}`);
    this.#render();
  }

  close(): void {
    this.#clear();
  }

  #setStatus(text: string) {
    this.#status = text;
    this.#clear();
    this.#render();
  }

  #clear() {
    if (this.#live) Deno.stdout.writeSync(this.#encoder.encode("\r\x1b[K"));
  }

  #render() {
    if (!this.#live || this.#status === "") return;
    const { done, failed } = this.#counts;
    Deno.stdout.writeSync(
      this.#encoder.encode(
        `⏵ ${this.#status} · ${done} done, ${failed} failed`,
      ),
    );
  }
}

// --- small helpers -------------------------------------------------------------

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Reads a duration such as `500ms`, `90s`, `10m`, `1.5h` or `2d`.
 */
function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (match === null) {
    throw new UsageError(
      `Option --${option} needs a duration such as 500ms, 90s, 10m or 2h, got ${
        JSON.stringify(text)
      }`,
    );
  }
  return Math.round(Number(match[1]) * UNITS[match[2]]);
}

/**
 * Writes milliseconds for people: `850ms`, `12s`, `3m 12s`, `2h 5m`, `3d 4h`.
 */
function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  if (ms < 1000) return `${Math.max(Math.round(ms), 0)}ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const [d, h, m, s] = [
    Math.floor(seconds / 86_400),
    Math.floor(seconds / 3600) % 24,
    Math.floor(seconds / 60) % 60,
    seconds % 60,
  ];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return `${m}m ${s}s`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) =>
    Math.max(...rows.map((row) => row[column].length))
  );
  return rows.map((row) =>
    row.map((cell, column) =>
      column === row.length - 1 ? cell : cell.padEnd(widths[column])
    ).join("  ").trimEnd()
  ).join("\n");
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
