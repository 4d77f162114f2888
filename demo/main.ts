/**
 * The whole flow in a few seconds: a worker runs a small spin simulator while
 * an "API" submits jobs the way qlued does and follows them to DONE or ERROR.
 *
 * ```sh
 * deno task demo                       # on ./storage, left for the CLI to inspect
 * deno task demo --memory              # in memory, nothing left behind
 * deno task demo --base-path /tmp/lab  # on another folder
 * ```
 *
 * @module
 */

import { isAbsolute, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  getResult,
  getStatus,
  type JobRef,
  LocalAdapter,
  MemoryAdapter,
  runWorker,
  type StatusMsg,
  type StorageAdapter,
  uploadJob,
  uploadStatus,
  type WorkerSummary,
} from "@sqooler/storage";
import { denoCommand, shellQuote } from "../src/cli/invocation.ts";
import { createSpinsBackend, spinsConfig } from "./spins.ts";

/** How long the simulated atoms take per job, so that a job's way shows. */
const JOB_TIME_MS = 150;
/** How often the "API" asks for a status while it follows a job. */
const FOLLOW_EVERY_MS = 20;

const PI = Math.PI;
type Instruction = [string, number[], number[]];

function experiment(instructions: Instruction[], shots: number, seed: number) {
  return { instructions, num_wires: 3, shots, wire_order: "interleaved", seed };
}

const measureAll: Instruction[] = [
  ["measure", [0], []],
  ["measure", [1], []],
  ["measure", [2], []],
];

/** The demo's jobs: what each one shows, who submits it, and the job itself. */
const JOBS: { title: string; username: string; job: object }[] = [
  {
    title: "A π pulse flips spin 0",
    username: "alice",
    job: {
      experiment_0: experiment([["rx", [0], [PI]], ...measureAll], 50, 1),
    },
  },
  {
    title: "A π/2 pulse on every spin: all 8 outcomes alike",
    username: "alice",
    job: {
      experiment_0: experiment(
        [
          ["rx", [0], [PI / 2]],
          ["rx", [1], [PI / 2]],
          ["rx", [2], [PI / 2]],
          ...measureAll,
        ],
        400,
        2,
      ),
    },
  },
  {
    title: "Ramsey fringe on spin 0: rx(π/2), rz(φ), rx(π/2) for φ = 0, π/2, π",
    username: "bob",
    job: Object.fromEntries(
      [0, PI / 2, PI].map((phi, i) => [
        `experiment_${i}`,
        experiment(
          [
            ["rx", [0], [PI / 2]],
            ["rz", [0], [phi]],
            ["rx", [0], [PI / 2]],
            ["measure", [0], []],
          ],
          100,
          10 + i,
        ),
      ]),
    ),
  },
  {
    title: "Two spins entangled by their Ising interaction (rzz)",
    username: "bob",
    job: {
      experiment_0: experiment(
        [
          ["rx", [0], [PI / 2]],
          ["rx", [1], [PI / 2]],
          ["rzz", [0, 1], [PI / 2]],
          ["rx", [0], [PI / 2]],
          ["rx", [1], [PI / 2]],
          ["measure", [0], []],
          ["measure", [1], []],
        ],
        200,
        3,
      ),
    },
  },
  {
    title: "Invalid on purpose: a pulse on spin 7 of 3",
    username: "carol",
    job: {
      experiment_0: experiment([["rx", [7], [PI]], ...measureAll], 10, 4),
    },
  },
];

const USAGE = `Usage: deno task demo [--memory | --base-path PATH]

Runs a worker with a small spin simulator, submits a few jobs the way the web
API does, and follows each to DONE or ERROR.

  --memory          Keep everything in memory (nothing is left behind)
  --base-path PATH  The storage folder (default: ./storage)
  -h, --help        Show this help`;

/**
 * Runs the demo.
 *
 * @param args The command line: `--memory`, `--base-path PATH`, `--help`.
 * @returns The exit code.
 */
export async function demo(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        memory: { type: "boolean" },
        "base-path": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    console.error(`error: ${(error as Error).message.split(". ")[0]}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const basePath = values["base-path"] ?? "./storage";
  const adapter: StorageAdapter = values.memory
    ? new MemoryAdapter()
    : new LocalAdapter({ basePath });

  console.log(bold("sqooler storage demo"));
  console.log(
    `  storage  ${
      values.memory
        ? "MemoryAdapter (in memory)"
        : `LocalAdapter in ${basePath}`
    }`,
  );
  console.log(
    `  backend  ${spinsConfig.display_name}: ${spinsConfig.description}`,
  );
  console.log(
    `           instructions ${
      spinsConfig.supported_instructions.join(", ")
    }; wires 0 to ${
      spinsConfig.num_wires - 1
    }; at most ${spinsConfig.max_shots} shots\n`,
  );

  // The lab's side: a worker for the simulator.
  const controller = new AbortController();
  const started = Promise.withResolvers<void>();
  const worker = runWorker(adapter, {
    backends: { spins: createSpinsBackend({ delayMs: JOB_TIME_MS }) },
    signal: controller.signal,
    pollIntervalMs: 25,
    onEvent: (event) => {
      if (event.type === "started") started.resolve();
      if (event.type === "error") console.error(`  worker: ${event.message}`);
    },
  });
  let summary: WorkerSummary;
  const refs: JobRef[] = [];
  const submitted: StatusMsg[] = [];
  try {
    await Promise.race([started.promise, worker]);
    console.log(
      `${
        bold("Worker started")
      } for "spins" (config uploaded, stale jobs recovered)\n`,
    );

    // The API's side: each job, then its status, as qlued does.
    console.log(bold("Submitting jobs") + " (uploadJob, then uploadStatus):");
    for (const [index, { title, username, job }] of JOBS.entries()) {
      const ref = { displayName: "spins", username, jobId: "" };
      ref.jobId = await uploadJob(adapter, { job, ...ref });
      const status = await uploadStatus(adapter, ref);
      refs.push(ref);
      submitted.push(status);
      console.log(
        `  #${index + 1} ${ref.jobId}  ${
          username.padEnd(5)
        }  ${status.status}  ${dim(title)}`,
      );
    }
    console.log();

    for (const [index, ref] of refs.entries()) {
      console.log(`${bold(`#${index + 1} ${JOBS[index].title}`)}`);
      const status = await follow(adapter, ref, submitted[index]);
      if (status.status === "DONE") {
        const result = await getResult(adapter, ref);
        console.log(
          dim(
            `     result from ${result.backend_name} ${result.backend_version}`,
          ),
        );
        for (const experiment of result.results) {
          console.log(
            `     ${experiment.header.name}, ${experiment.shots} shots:`,
          );
          for (const line of counts(experiment.data.memory)) {
            console.log(`       ${line}`);
          }
        }
      }
      console.log();
    }
  } finally {
    controller.abort();
    summary = await worker;
  }

  console.log(
    `${
      bold("Worker stopped")
    }: ${summary.done} done, ${summary.failed} failed, ${summary.released} released, ${summary.errors} storage errors.`,
  );
  if (values.memory) {
    console.log("Everything was in memory; nothing is left behind.");
  } else {
    const cli = `${denoCommand()} task cli`;
    const flag = storageFlag(basePath);
    console.log(`\nThe storage is in ${basePath}. Look around with the CLI:`);
    for (const command of ["backends", "queue spins", "jobs spins"]) {
      console.log(`  ${cli} ${command}${flag}`);
    }
    const [done, failed] = [refs[2], refs[refs.length - 1]];
    if (done) console.log(`  ${cli} result spins ${done.jobId}${flag}`);
    if (failed) console.log(`  ${cli} status spins ${failed.jobId}${flag}`);
    console.log(`  ${cli} --help`);
  }
  return 0;
}

/**
 * The `--base-path` that the CLI hints need to find the demo's storage: none
 * when it is `./storage` of the folder the user is in (the CLI's default, as
 * `deno task` passes that folder in `INIT_CWD`), else the folder, relative
 * to the user's folder when it lies inside it.
 */
function storageFlag(basePath: string): string {
  const storage = resolve(basePath);
  let userFolder = Deno.cwd();
  try {
    userFolder = Deno.env.get("INIT_CWD") || userFolder;
  } catch {
    // No --allow-env: the demo's own folder.
  }
  if (storage === resolve(userFolder, "storage")) return "";
  const inside = relative(userFolder, storage);
  const shown = inside === "" || inside.startsWith("..") || isAbsolute(inside)
    ? storage
    : inside;
  return ` --base-path ${shellQuote(shown)}`;
}

/**
 * Asks for the job's status until it is DONE or ERROR, as a user of the API
 * would, and prints each change: the status and the steps added to `detail`.
 */
async function follow(
  adapter: StorageAdapter,
  ref: JobRef,
  submitted: StatusMsg,
): Promise<StatusMsg> {
  let shown = submitted.detail.split("; ");
  let last = `${submitted.status}|${submitted.detail}`;
  console.log(`     ${paint(submitted.status)}  ${submitted.detail}`);
  for (;;) {
    const status = await getStatus(adapter, ref);
    const steps = status.detail.split("; ");
    const key = `${status.status}|${status.detail}`;
    if (key !== last) {
      last = key;
      const added = steps.slice(shown.length);
      shown = steps;
      console.log(`     ${paint(status.status)}  ${added.join("; ")}`);
    }
    if (status.status === "DONE" || status.status === "ERROR") {
      if (status.status === "ERROR") {
        console.log(`     ${" ".repeat(12)}  ${red(status.error_message)}`);
      }
      return status;
    }
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
  }
}

/** Counts of bit strings as a small bar chart, in the order of the bit strings. */
function counts(memory: string[]): string[] {
  const tally = new Map<string, number>();
  for (const outcome of memory) {
    tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  }
  const sorted = [...tally].sort(([a], [b]) => (a < b ? -1 : 1));
  const max = Math.max(...tally.values());
  return sorted.map(([outcome, count]) =>
    `${outcome}  ${
      "█".repeat(Math.max(1, Math.round((count / max) * 30)))
    } ${count}`
  );
}

const color = !Deno.noColor && Deno.stdout.isTerminal();
const style = (code: string) => (text: string) =>
  color ? `\x1b[${code}m${text}\x1b[0m` : text;
const bold = style("1");
const dim = style("2");
const red = style("31");
const green = style("32");
const yellow = style("33");

function paint(status: string): string {
  const padded = status.padEnd(12);
  if (status === "DONE") return green(padded);
  if (status === "ERROR") return red(padded);
  return yellow(padded);
}

if (import.meta.main) {
  Deno.exit(await demo(Deno.args));
}
