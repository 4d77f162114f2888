/**
 * Checking a job against a backend before it runs: its shape by the wire
 * schemas ({@linkcode Experiment}, {@linkcode Instruction}), then the
 * backend's limits, each problem as a sentence for the user.
 *
 * @module
 */

import { InvalidRecordError } from "../errors.ts";
import { describeValue } from "../names.ts";
import {
  type BackendConfigIn,
  Experiment,
  ExperimentData,
  Instruction,
  type Job,
  problemsInSlices,
  problemsOf,
} from "../schemas.ts";

/** The limits of a backend that {@linkcode validateJob} checks a job against. */
export type JobLimits = Pick<
  BackendConfigIn,
  "max_experiments" | "max_shots" | "num_wires" | "supported_instructions"
>;

/** What {@linkcode validateJob} found. */
export type JobCheck =
  | {
    /** The job fits the backend. */
    ok: true;
    /** The job, typed. */
    job: Job;
  }
  | {
    /** The job does not fit the backend. */
    ok: false;
    /** What is wrong, one sentence each, for the user. */
    problems: string[];
  };

const MAX_PROBLEMS = 5;
const EXPERIMENT_KEY = /^experiment_(0|[1-9]\d{0,8})$/;
/** The fields of an experiment, in the order their problems are told. */
const FIELDS = [
  ["shots", "a whole number ≥ 0"],
  ["num_wires", "a whole number ≥ 0"],
  ["wire_order", "a string"],
  ["seed", "a whole number or null"],
  ["instructions", "a list of [name, wires, params]"],
] as const;

/**
 * Checks a job against a backend's limits before it runs, the way sqooler's
 * worker does: keys `experiment_<n>`, each experiment as the
 * {@linkcode Experiment} schema has it, at most `max_experiments`
 * experiments, `shots` at most `max_shots`, `num_wires` at most the
 * backend's, every wire within range and every instruction one the backend
 * supports. Parameters may be any number Python's JSON holds, `NaN` and
 * infinities included, as sqooler accepts them. Each problem is a sentence
 * that says where and what, e.g. `experiment_0: instruction 2 ("rlx") acts
 * on wire 7, but the backend has wires 0 to 2`; at most five are listed.
 *
 * @param job The job, as read from the storage.
 * @param limits The backend's config, or the part of it that holds the limits.
 * @returns `{ ok: true, job }`, or `{ ok: false, problems }`.
 * @throws {InvalidRecordError} When `limits` lacks one of the limits.
 *
 * @example Find a wire out of range
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateJob } from "@sqooler/storage";
 *
 * const limits = { max_experiments: 10, max_shots: 100, num_wires: 3, supported_instructions: ["rx", "measure"] };
 * const job = {
 *   experiment_0: {
 *     instructions: [["rx", [0], [1.5]], ["rx", [7], [1.5]], ["measure", [0], []]],
 *     num_wires: 3, shots: 10, wire_order: "sequential",
 *   },
 * };
 * const check = validateJob(job, limits);
 * assert(!check.ok);
 * assert.deepEqual(check.problems, [
 *   'experiment_0: instruction 1 ("rx") acts on wire 7, but the backend has wires 0 to 2',
 * ]);
 * ```
 */
export function validateJob(job: unknown, limits: JobLimits): JobCheck {
  checkLimits(limits);
  if (typeof job !== "object" || job === null || Array.isArray(job)) {
    return {
      ok: false,
      problems: [
        `the job must be a JSON object with keys experiment_0, experiment_1, …; got ${
          Array.isArray(job) ? "an array" : describeValue(job)
        }`,
      ],
    };
  }
  const problems: string[] = [];
  const keys = Object.keys(job);
  if (keys.length === 0) {
    problems.push(
      "the job has no experiments; expected keys experiment_0, experiment_1, …",
    );
  }
  if (keys.length > limits.max_experiments) {
    problems.push(
      `the job has ${keys.length} experiments, but the backend allows at most ${limits.max_experiments}`,
    );
  }
  for (const key of keys) {
    if (!EXPERIMENT_KEY.test(key)) {
      problems.push(
        `unexpected key ${
          describeValue(key)
        }: expected experiment_0, experiment_1, …`,
      );
      continue;
    }
    const value = (job as Record<string, unknown>)[key];
    for (const problem of experimentProblems(value, limits)) {
      problems.push(`${key}: ${problem}`);
    }
  }
  if (problems.length === 0) return { ok: true, job: job as Job };
  const more = problems.length - MAX_PROBLEMS;
  return {
    ok: false,
    problems: more > 0
      ? [
        ...problems.slice(0, MAX_PROBLEMS),
        `and ${more} more problem${more === 1 ? "" : "s"}`,
      ]
      : problems,
  };
}

/**
 * Why the results that `execute` returned are not one valid
 * {@linkcode ExperimentData} per experiment, or `undefined`.
 *
 * @internal
 */
export async function resultsProblem(
  value: unknown,
  experiments: number,
): Promise<string | undefined> {
  if (!Array.isArray(value)) {
    return `expected an array of experiment results, got ${
      describeValue(value)
    }`;
  }
  for (const [index, item] of value.entries()) {
    const [first] = await problemsInSlices(ExperimentData, item);
    if (first !== undefined) {
      const where = first.path.map(String).join(".");
      return `results[${index}]: ${where ? `${where}: ` : ""}${first.message}`;
    }
  }
  if (value.length !== experiments) {
    return `${value.length} result${
      value.length === 1 ? "" : "s"
    } for a job of ${experiments} experiment${
      experiments === 1 ? "" : "s"
    }; every experiment needs exactly one`;
  }
  return undefined;
}

function checkLimits(limits: JobLimits): void {
  const counts = [
    limits?.max_experiments,
    limits?.max_shots,
    limits?.num_wires,
  ];
  if (
    !counts.every((n) => typeof n === "number") ||
    !Array.isArray(limits.supported_instructions)
  ) {
    throw new InvalidRecordError(
      `Invalid limits ${
        describeValue(limits)
      }: expected max_experiments, max_shots, num_wires and supported_instructions`,
    );
  }
}

/** The problems of one experiment: its shape by the schema, then the limits. */
function experimentProblems(value: unknown, limits: JobLimits): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return [
      "expected an object with instructions, num_wires, shots and wire_order",
    ];
  }
  const experiment = value as Record<string, unknown>;
  const broken = new Set<string>();
  for (const issue of problemsOf(Experiment, experiment)) {
    // Instructions are checked one by one below, to say which is wrong.
    if (issue.path[0] === "instructions" && issue.path.length > 1) continue;
    broken.add(String(issue.path[0]));
  }
  const problems: string[] = [];
  for (const [field, expected] of FIELDS) {
    if (!broken.has(field)) continue;
    const got = experiment[field];
    problems.push(
      got === undefined
        ? `${field} is missing`
        : `${field} must be ${expected}, got ${show(got)}`,
    );
  }
  const shots = experiment.shots as number;
  if (!broken.has("shots") && shots > limits.max_shots) {
    problems.push(
      `${shots} shots, but the backend allows at most ${limits.max_shots}`,
    );
  }
  let wires = limits.num_wires;
  if (!broken.has("num_wires")) {
    const numWires = experiment.num_wires as number;
    if (numWires > limits.num_wires) {
      problems.push(
        `num_wires is ${numWires}, but the backend has ${limits.num_wires} wires`,
      );
    } else wires = numWires;
  }
  if (!broken.has("instructions")) {
    const supported = new Set(limits.supported_instructions);
    (experiment.instructions as unknown[]).forEach((instruction, index) => {
      problems.push(
        ...instructionProblems(instruction, {
          index,
          wires,
          supported,
          limits,
        }),
      );
    });
  }
  return problems;
}

function instructionProblems(
  instruction: unknown,
  at: {
    index: number;
    wires: number;
    supported: ReadonlySet<string>;
    limits: JobLimits;
  },
): string[] {
  const where = `instruction ${at.index}`;
  const issues = problemsOf(Instruction, instruction);
  const shaped = Array.isArray(instruction) && instruction.length === 3 &&
    typeof instruction[0] === "string" && Array.isArray(instruction[1]) &&
    Array.isArray(instruction[2]);
  if (!shaped) return [`${where} must be [name, wires, params]`];
  const [name, onWires] = instruction as [string, unknown[], unknown[]];
  const named = `${where} (${JSON.stringify(name)})`;
  const problems: string[] = [];
  if (!at.supported.has(name)) {
    problems.push(
      `${named} is not supported; the backend supports ${
        at.limits.supported_instructions.join(", ") || "no instructions"
      }`,
    );
  }
  const badWires = new Set(
    issues.filter((issue) => issue.path[0] === 1).map((issue) => issue.path[1]),
  );
  onWires.forEach((wire, position) => {
    if (badWires.has(position)) {
      problems.push(`${named} has wire ${show(wire)}; wires are whole numbers`);
    } else if (
      (wire as number) < 0 || (wire as number) >= at.limits.num_wires
    ) {
      problems.push(
        `${named} acts on wire ${wire}, but the backend has ${
          wireRange(at.limits.num_wires)
        }`,
      );
    } else if ((wire as number) >= at.wires) {
      problems.push(
        `${named} acts on wire ${wire}, but the experiment has num_wires ${at.wires} (${
          wireRange(at.wires)
        })`,
      );
    }
  });
  if (issues.some((issue) => issue.path[0] === 2)) {
    problems.push(`${named} has parameters that are not all numbers`);
  }
  return problems;
}

/** How a value looks in a problem: numbers as they are, strings quoted. */
function show(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  return typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : describeValue(value);
}

function wireRange(count: number): string {
  if (count === 0) return "no wires";
  if (count === 1) return "only wire 0";
  return `wires 0 to ${count - 1}`;
}
