/**
 * sqooler's JSON wire format: a TypeScript type and a zod schema for every
 * record, with sqooler's snake_case field names, so that files written by
 * sqooler's Python tools and by this library can be read by both.
 *
 * Each record has a type and a schema of the same name (`StatusMsg` is both).
 * Records that this library rewrites (configs, results) keep fields they do not
 * know, so that rewriting a newer sqooler's file loses nothing.
 *
 * ## Two versions of sqooler, one rule
 *
 * A store may be shared with the sqooler this library was first written
 * against (0.5/0.6, "the seed") and with sqooler 0.9, whose pydantic schemas
 * are stricter in places. The rule, field by field:
 *
 * - **Reading** accepts everything either version wrote: `wire_order` any
 *   string (the seed wrote `"linear"`), configs with or without
 *   `operational`, `sign`, `kid`, `last_queue_check`, signed records (read
 *   from their payload).
 * - **Writing** (what {@linkcode BackendConfigInput} and the functions that
 *   store configs and results accept) uses only values that both versions
 *   read: `wire_order` `"sequential"` or `"interleaved"` (sqooler 0.9's
 *   `WireOrderStr`), `kid` a valid record id or `null`, `operational` always
 *   written (the seed requires it; 0.9 reads it, deprecated), and a result's
 *   `backend_name` `null` or `<provider>_<display>_<kind>` (the one spelling
 *   that both versions' patterns accept).
 *
 * Jobs are the user's: `uploadJob` stores them exactly as given, as sqooler's
 * `upload_job` does, and {@linkcode Experiment} reads any `wire_order`.
 *
 * @module
 */

import { z } from "zod";
import {
  createPacer,
  isLargeJson,
  safeParseInSlices,
  type SlicedParse,
} from "./slices.ts";

/**
 * A schema that checks unknown data and returns it typed. Every exported
 * schema of this library is a zod v4 schema behind this small interface.
 *
 * @typeParam T The type of the checked data.
 *
 * @example Check data
 * ```ts
 * import assert from "node:assert/strict";
 * import { StatusMsg } from "@sqooler/storage";
 *
 * const status = StatusMsg.parse({
 *   job_id: "abc",
 *   status: "DONE",
 *   detail: "All done",
 *   error_message: "None",
 * });
 * assert(status.status === "DONE");
 * assert(!StatusMsg.safeParse({ status: "LOST" }).success);
 * ```
 */
export interface Schema<T> {
  /**
   * Checks the data.
   *
   * @param data The data to check.
   * @returns The data, typed, with defaults filled in.
   * @throws {Error} A zod error when the data does not match.
   */
  parse(data: unknown): T;
  /**
   * Checks the data without throwing.
   *
   * @param data The data to check.
   * @returns `{ success: true, data }` or `{ success: false, error }`.
   */
  safeParse(data: unknown): SafeParseResult<T>;
}

/**
 * What {@linkcode Schema.safeParse} returns.
 *
 * @typeParam T The type of the checked data.
 */
export type SafeParseResult<T> =
  | { success: true; data: T }
  | { success: false; error: Error };

/** The state of a job, as sqooler names it. */
export type JobStatus = "INITIALIZING" | "QUEUED" | "DONE" | "ERROR";

/** The kind of atoms a backend works with. */
export type ColdAtomType = "fermion" | "boson" | "spin" | "mixed";

/**
 * The order of a backend's wires, as sqooler 0.9 allows it (its
 * `WireOrderStr`). The seed version also wrote `"linear"`, which is read but
 * never written.
 */
export type WireOrder = "sequential" | "interleaved";

/**
 * The status of a job (sqooler's `StatusMsgDict`), stored as
 * `status/<display>/<id>.json`.
 */
export interface StatusMsg {
  /** The job's id. */
  job_id: string;
  /** Where the job is. */
  status: JobStatus;
  /** What happened so far, for the user. */
  detail: string;
  /** What went wrong, or the string `"None"`. */
  error_message: string;
}

/** A gate as the results report it (sqooler's `GateDict`). */
export interface Gate {
  /** The gate's name, e.g. `"rlx"`. */
  name: string;
  /** The wires it acts on. */
  wires: number[];
  /** Its parameters. */
  params: number[];
}

/** One instruction of an experiment: `[name, wires, params]`. */
export type Instruction = [name: string, wires: number[], params: number[]];

/**
 * One experiment of a job, as the user sends it (sqooler's
 * `ExperimentalInputDict`, with instructions as `[name, wires, params]`).
 */
export interface Experiment {
  /** The instructions, in order. */
  instructions: Instruction[];
  /** How many wires the experiment uses. */
  num_wires: number;
  /** How many times it is repeated. */
  shots: number;
  /**
   * `"interleaved"` or `"sequential"`; the seed version of sqooler also
   * knew `"linear"`. Read as any string.
   */
  wire_order: string;
  /** The seed of a simulator's random numbers, if any. */
  seed?: number | null;
}

/** A job: experiments under the keys `experiment_0`, `experiment_1`, … */
export type Job = Record<string, Experiment>;

/** What one experiment measured (sqooler's `DataDict`). */
export interface MeasurementData {
  /** One bit string per shot, e.g. `"1 0 1"`. */
  memory: string[];
  /** The instructions that were run, if reported. */
  instructions?: Gate[] | null;
}

/**
 * The result of one experiment (sqooler's `ExperimentDict`, after qiskit's
 * `ExperimentData`).
 */
export interface ExperimentData {
  /** Free-form information, e.g. `{ name: "experiment_0" }`. */
  header: Record<string, unknown>;
  /** How many shots were taken. */
  shots: number;
  /** Whether the experiment ran. */
  success: boolean;
  /** What was measured. */
  data: MeasurementData;
}

/**
 * The result of a job (sqooler's `ResultDict`, after qiskit's `Result`),
 * stored as `results/<display>/<id>.json`.
 */
export interface Result {
  /** `<provider>_<display>_<simulator|hardware>`; stored as `null`, filled in on read. */
  backend_name: string | null;
  /** The backend's display name. */
  display_name: string;
  /** The backend's version. */
  backend_version: string;
  /** The job's id. */
  job_id: string;
  /** The user's id of the job, if any. */
  qobj_id: string | null;
  /** Whether the whole job ran. */
  success: boolean;
  /** Where the job is. */
  status: JobStatus;
  /** Free-form information about the job. */
  header: Record<string, unknown>;
  /** One entry per experiment. */
  results: ExperimentData[];
}

/** A gate that a backend offers, as its config lists it. */
export interface GateConfig {
  /** The gate's name, e.g. `"rlx"`. */
  name: string;
  /** Its parameters' names. */
  parameters?: string[];
  /** Its definition in OpenQASM. */
  qasm_def?: string;
  /** The wire groups it may act on. */
  coupling_map?: unknown[];
  /** What it does. */
  description?: string;
}

/**
 * A backend's configuration as it is stored (sqooler's
 * `BackendConfigSchemaIn`), in `backends/configs/<display>.json`, as read
 * from any version of sqooler. Fields that this library does not know are
 * kept as they are. What this library writes is a
 * {@linkcode BackendConfigInput}, which is stricter.
 */
export interface BackendConfigIn {
  /** What the backend is. */
  description: string;
  /** Its version, `X.Y.Z`. */
  version: string;
  /** Its short name, 1 to 64 lowercase letters and digits. */
  display_name: string;
  /** The kind of atoms. */
  cold_atom_type: ColdAtomType;
  /** The gates it offers. */
  gates: GateConfig[];
  /** How many experiments one job may hold. */
  max_experiments: number;
  /** How many shots one experiment may take. */
  max_shots: number;
  /** Whether it is a simulator (else hardware). */
  simulator: boolean;
  /** The instruction names that jobs may use. */
  supported_instructions: string[];
  /** How many wires it has. */
  num_wires: number;
  /**
   * `"interleaved"` or `"sequential"`; configs of the seed version may hold
   * `"linear"`, which is read but never written.
   */
  wire_order: string;
  /** How many species of atoms. */
  num_species: number;
  /** Whether the lab says it works (sqooler < 0.9; newer versions look at `last_queue_check`). */
  operational: boolean;
  /** Jobs waiting, as the lab reports it. */
  pending_jobs: number | null;
  /** A message from the lab. */
  status_msg: string | null;
  /**
   * When a worker last looked at the queue: ISO 8601 as this library and
   * sqooler write it (`…Z`, `…+00:00`), or any spelling that pydantic
   * accepts, kept as it was written.
   */
  last_queue_check: string | number | null;
  /**
   * Whether the backend signs its config and results (sqooler ≥ 0.9); the
   * schema fills in `false`.
   */
  sign?: boolean;
  /**
   * The id of the backend's key (sqooler ≥ 0.9), which names its public key
   * `backends/public_keys/<kid>.json`; the schema fills in `null`.
   */
  kid?: string | null;
}

/**
 * A config as this library writes it ({@linkcode uploadConfig},
 * {@linkcode updateConfig}, `runWorker`): a {@linkcode BackendConfigIn} whose
 * fields with defaults may be left out. The schema of the same name checks
 * it, and is stricter than the type where sqooler 0.9 is: `wire_order` must
 * be a {@linkcode WireOrder} (`"sequential"` or `"interleaved"`), and `kid` a
 * valid record id. The type keeps `wire_order` a string, so that a config
 * read from a store of any version type-checks; a value that sqooler 0.9
 * cannot read is refused when it is written.
 */
export type BackendConfigInput =
  & Omit<
    BackendConfigIn,
    | "operational"
    | "pending_jobs"
    | "status_msg"
    | "last_queue_check"
    | "sign"
    | "kid"
  >
  & Partial<
    Pick<
      BackendConfigIn,
      | "operational"
      | "pending_jobs"
      | "status_msg"
      | "last_queue_check"
      | "sign"
      | "kid"
    >
  >;

/**
 * A backend's configuration in qiskit's form, as the API sends it to users
 * (sqooler's `BackendConfigSchemaOut`).
 */
export interface BackendConfigOut {
  /** What the backend is. */
  description: string;
  /** Its short name. */
  display_name: string;
  /** Always `false`. */
  conditional: boolean;
  /** Always `"linear"`. */
  coupling_map: string;
  /** Always `false`. */
  dynamic_reprate_enabled: boolean;
  /** Always `false`. */
  local: boolean;
  /** Always `true`. */
  memory: boolean;
  /** Always `false`. */
  open_pulse: boolean;
  /** The config's `version`. */
  backend_version: string;
  /** The config's `num_wires`. */
  n_qubits: number;
  /** `<provider>_<display>_<simulator|hardware>`. */
  backend_name: string;
  /** The names of the config's gates. */
  basis_gates: string[];
  /** How many experiments one job may hold. */
  max_experiments: number;
  /** How many shots one experiment may take. */
  max_shots: number;
  /** Whether it is a simulator. */
  simulator: boolean;
  /** The gates it offers. */
  gates: GateConfig[];
  /** The instruction names that jobs may use. */
  supported_instructions: string[];
  /** The kind of atoms. */
  cold_atom_type: ColdAtomType;
  /** The wire order, as the stored config has it. */
  wire_order: string;
  /** How many species of atoms. */
  num_species: number;
  /** The backend's web page, if any. */
  url: string | null;
}

/**
 * A backend's status in qiskit's form (sqooler's `BackendStatusSchemaOut`).
 */
export interface BackendStatusOut {
  /** `<provider>_<display>_<simulator|hardware>`. */
  backend_name: string;
  /** The config's `version`. */
  backend_version: string;
  /** Whether jobs get run: the lab says so and a worker polled recently. */
  operational: boolean;
  /** Jobs waiting, as the lab reports it, else 0. */
  pending_jobs: number;
  /** A message from the lab, else `""`. */
  status_msg: string;
}

/**
 * What {@linkcode getNextJobInQueue} returns (sqooler's `NextJobSchema`):
 * the job's id and folder, or `"None"` twice when the queue is empty.
 */
export interface NextJob {
  /** The job's id, or `"None"`. */
  job_id: string;
  /** `"jobs/running"`, or `"None"`. */
  job_json_path: string;
  /** This library's addition: the claim's fencing token; absent when the queue was empty. */
  token?: string;
}

/** How to reach a local storage (sqooler's `LocalLoginInformation`). */
export interface LocalLoginInformation {
  /** The folder that holds the storage. */
  base_path: string;
}

/**
 * What this library records about a job beside sqooler's files, as
 * `meta/<display>/<id>.json`: who submitted it and how often a worker took it
 * and died. sqooler's Python tools never read or rewrite it.
 */
export interface JobMeta {
  /** The job's id. */
  job_id: string;
  /** Who submitted it; `null` for a job that another tool submitted. */
  username: string | null;
  /** When it was submitted, as ISO 8601, if known. */
  submitted_at: string | null;
  /** How many workers took it and stopped without finishing it. */
  attempts: number;
}

/**
 * Where a job's lease stands: `running` while its worker holds it; any other
 * value means that the job's next state was decided (`done`, `error`, or back
 * to the queue with `requeue`) and the clean-up that records it may still be
 * in progress.
 */
export type LeaseState = "running" | "done" | "error" | "requeue";

/**
 * A worker's claim on a job, as `leases/<display>/<id>.json`: this library's
 * record, which sqooler's Python tools never read. It exists while the job is
 * in flight: from the claim until its outcome is fully recorded. Every change
 * to it is a compare-and-swap on `token` and `state`, which is how a worker
 * whose lease was taken away is fenced out.
 */
export interface Lease {
  /** The job's id. */
  job_id: string;
  /** The fencing token: fresh random hex for every claim. */
  token: string;
  /** Where the lease stands. */
  state: LeaseState;
  /** When the worker took the job, as ISO 8601. */
  claimed_at: string;
  /**
   * When the lease runs out unless it is extended, as ISO 8601; for a decided
   * transition, when others may finish its clean-up.
   */
  expires_at: string;
  /**
   * When the lease was last taken or extended, as ISO 8601; absent in a lease
   * that an earlier version of this library wrote (then `claimed_at`).
   */
  renewed_at?: string;
  /** For a decided transition: the job's failed attempts once it is recorded. */
  attempts: number | null;
  /** For a decided `error`: the message the job's status gets. */
  error_message: string | null;
  /**
   * Set on a running job that was asked to stop (`cancelJob`): the message
   * its status gets. Its worker stops it and records ERROR with it.
   */
  cancel_requested: string | null;
}

// Python's json writes integers of any size, NaN and infinities, and pydantic
// takes them as int and float; a JS number holds them all (big integers
// rounded), so these schemas accept every number Python would.
const number = z.custom<number>((value) => typeof value === "number", {
  error: "expected a number",
});
const int = z.custom<number>(
  (value) => typeof value === "number" && Number.isInteger(value),
  { error: "expected a whole number" },
);
const count = z.custom<number>(
  (value) => typeof value === "number" && Number.isInteger(value) && value >= 0,
  { error: "expected a whole number ≥ 0" },
);
const status = z.enum(["INITIALIZING", "QUEUED", "DONE", "ERROR"]);
const displayName = z.string().regex(/^[a-z0-9]{1,64}$/, {
  error: "expected 1 to 64 lowercase letters and digits",
});
// Every spelling of a time that pydantic (which sqooler uses) accepts for a
// datetime: see parseStoredTime. A number is Unix time, as pydantic reads it.
const anyTime = z.union([z.string(), z.number()]).refine(
  (value) => !Number.isNaN(parseStoredTime(value)),
  { error: "expected a date and time, such as 2024-05-01T10:00:00Z" },
);
// This library's own records hold the times it wrote: ISO 8601 strings.
const isoTime = z.string().refine(
  (value) => !Number.isNaN(parseStoredTime(value)),
  { error: "expected a date and time, such as 2024-05-01T10:00:00Z" },
);

/**
 * Schema of {@linkcode StatusMsg}.
 *
 * @example Refuse a status that sqooler does not know
 * ```ts
 * import assert from "node:assert/strict";
 * import { StatusMsg } from "@sqooler/storage";
 *
 * const status = { job_id: "abc", status: "QUEUED", detail: "Waiting", error_message: "None" };
 * assert(StatusMsg.parse(status).status === "QUEUED");
 * assert(!StatusMsg.safeParse({ ...status, status: "LOST" }).success);
 * ```
 */
export const StatusMsg: Schema<StatusMsg> = z.object({
  job_id: z.string(),
  status,
  detail: z.string(),
  error_message: z.string(),
});

const gate = z.object({
  name: z.string(),
  wires: z.array(int),
  params: z.array(number),
}).loose();

/**
 * Schema of {@linkcode Gate}.
 *
 * @example Refuse a gate on a wire that is not a whole number
 * ```ts
 * import assert from "node:assert/strict";
 * import { Gate } from "@sqooler/storage";
 *
 * assert.deepEqual(Gate.parse({ name: "rlx", wires: [0], params: [0.5] }).wires, [0]);
 * assert(!Gate.safeParse({ name: "rlx", wires: [0.5], params: [] }).success);
 * ```
 */
export const Gate: Schema<Gate> = gate;

const instruction = z.tuple([z.string(), z.array(int), z.array(number)]);

/**
 * Schema of {@linkcode Instruction}: `[name, wires, params]`.
 *
 * @example Refuse an instruction without parameters
 * ```ts
 * import assert from "node:assert/strict";
 * import { Instruction } from "@sqooler/storage";
 *
 * assert.deepEqual(Instruction.parse(["rx", [0], [1.5]]), ["rx", [0], [1.5]]);
 * assert(!Instruction.safeParse(["rx", [0]]).success);
 * ```
 */
export const Instruction: Schema<Instruction> = instruction;

const experiment = z.object({
  instructions: z.array(instruction),
  num_wires: count,
  shots: count,
  wire_order: z.string(),
  seed: int.nullable().optional(),
}).loose();

/**
 * Schema of {@linkcode Experiment}. It reads any `wire_order` string, also
 * the seed version's `"linear"`: a job is stored exactly as its user sent it.
 *
 * @example Refuse a negative number of shots
 * ```ts
 * import assert from "node:assert/strict";
 * import { Experiment } from "@sqooler/storage";
 *
 * const experiment = { instructions: [["rx", [0], [1.5]]], num_wires: 1, shots: 10, wire_order: "sequential" };
 * assert(Experiment.parse(experiment).instructions[0][0] === "rx");
 * assert(!Experiment.safeParse({ ...experiment, shots: -1 }).success);
 * ```
 */
export const Experiment: Schema<Experiment> = experiment;

/**
 * Schema of {@linkcode Job}: keys `experiment_<n>`.
 *
 * @example Refuse a key that is not `experiment_<n>`
 * ```ts
 * import assert from "node:assert/strict";
 * import { Job } from "@sqooler/storage";
 *
 * const experiment = { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" };
 * assert(Job.safeParse({ experiment_0: experiment, experiment_1: experiment }).success);
 * assert(!Job.safeParse({ first: experiment }).success);
 * ```
 */
export const Job: Schema<Job> = z.record(
  z.string().regex(/^experiment_\d+$/, {
    error: "expected keys experiment_0, experiment_1, …",
  }),
  experiment,
);

const measurementData = z.object({
  memory: z.array(z.string()),
  instructions: z.array(gate).nullable().optional(),
}).loose();

/**
 * Schema of {@linkcode MeasurementData}.
 *
 * @example Read one bit string per shot
 * ```ts
 * import assert from "node:assert/strict";
 * import { MeasurementData } from "@sqooler/storage";
 *
 * const data = MeasurementData.parse({ memory: ["1 0", "0 1"] });
 * assert.deepEqual(data.memory, ["1 0", "0 1"]);
 * assert(!MeasurementData.safeParse({ memory: [[1, 0]] }).success);
 * ```
 */
export const MeasurementData: Schema<MeasurementData> = measurementData;

const experimentData = z.object({
  header: z.record(z.string(), z.unknown()),
  shots: count,
  success: z.boolean(),
  data: measurementData,
}).loose();

/**
 * Schema of {@linkcode ExperimentData}.
 *
 * @example Read the result of one experiment
 * ```ts
 * import assert from "node:assert/strict";
 * import { ExperimentData } from "@sqooler/storage";
 *
 * const data = ExperimentData.parse({
 *   header: { name: "experiment_0" }, shots: 2, success: true, data: { memory: ["0", "1"] },
 * });
 * assert(data.header.name === "experiment_0" && data.data.memory[1] === "1");
 * ```
 */
export const ExperimentData: Schema<ExperimentData> = experimentData;

const result = z.object({
  backend_name: z.string().nullable().default(null),
  display_name: z.string(),
  backend_version: z.string(),
  job_id: z.string(),
  qobj_id: z.string().nullable().default(null),
  success: z.boolean().default(true),
  status,
  header: z.record(z.string(), z.unknown()).default({}),
  results: z.array(experimentData).default([]),
}).loose();

/**
 * Schema of {@linkcode Result}; fills in the defaults. It reads results of
 * either sqooler version, with any `backend_name`; what
 * `updateInDatabase` and `uploadResult` store must have `backend_name`
 * `null` or `<provider>_<display>_<kind>`, the spelling that the patterns of
 * both versions accept, and the backend's `display_name`.
 *
 * @example Fill in what a sparse result leaves out
 * ```ts
 * import assert from "node:assert/strict";
 * import { Result } from "@sqooler/storage";
 *
 * const result = Result.parse({ display_name: "spins", backend_version: "0.1.0", job_id: "abc", status: "DONE" });
 * assert(result.backend_name === null && result.success === true);
 * assert.deepEqual(result.results, []);
 * ```
 */
export const Result: Schema<Result> = result;

/**
 * A result as this library stores it: {@linkcode Result} with a
 * `backend_name` that both sqooler versions read (the seed's pattern
 * `^[a-z0-9]*_[a-z0-9]*_[a-z0-9]*$` and 0.9's
 * `^$|^[a-z0-9]+_[a-z0-9]+_[a-z0-9]+$` share only this).
 *
 * @internal
 */
export const ResultToStore: Schema<Result> = result.extend({
  backend_name: z.string().regex(/^[a-z0-9]+_[a-z0-9]+_[a-z0-9]+$/, {
    error:
      "expected null or <provider>_<display>_<simulator|hardware> in lowercase letters and digits",
  }).nullable().default(null),
});

const gateConfig = z.object({ name: z.string() }).loose();

/**
 * Schema of {@linkcode GateConfig}.
 *
 * @example Keep the fields of a gate, refuse one without a name
 * ```ts
 * import assert from "node:assert/strict";
 * import { GateConfig } from "@sqooler/storage";
 *
 * const gate = GateConfig.parse({ name: "rlx", parameters: ["omega"], description: "A rotation" });
 * assert.deepEqual(gate.parameters, ["omega"]);
 * assert(!GateConfig.safeParse({ parameters: ["omega"] }).success);
 * ```
 */
export const GateConfig: Schema<GateConfig> = gateConfig;

const backendConfigIn = z.object({
  description: z.string(),
  version: z.string(),
  display_name: displayName,
  cold_atom_type: z.enum(["fermion", "boson", "spin", "mixed"]),
  gates: z.array(gateConfig),
  max_experiments: count,
  max_shots: count,
  simulator: z.boolean(),
  supported_instructions: z.array(z.string()),
  num_wires: count,
  wire_order: z.string(),
  num_species: count,
  operational: z.boolean().nullable().default(true).transform((v) => v ?? true),
  pending_jobs: count.nullable().default(null),
  status_msg: z.string().nullable().default(null),
  last_queue_check: anyTime.nullable().default(null),
  sign: z.boolean().default(false),
  kid: z.string().nullable().default(null),
}).loose();

/**
 * Schema of {@linkcode BackendConfigIn}; fills in the defaults. It reads the
 * configs of either sqooler version (any `wire_order`, any `kid`); what this
 * library writes is checked by the stricter {@linkcode BackendConfigInput}.
 *
 * @example Fill in a config's defaults, refuse a bad display name
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackendConfigIn } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const config = BackendConfigIn.parse(testBackendConfig("spins"));
 * assert(config.operational === true && config.last_queue_check === null);
 * assert(config.sign === false && config.kid === null);
 * assert(!BackendConfigIn.safeParse({ ...config, display_name: "Spins_1" }).success);
 * // A config of the seed version still reads.
 * assert(BackendConfigIn.safeParse({ ...config, wire_order: "linear" }).success);
 * ```
 */
export const BackendConfigIn: Schema<BackendConfigIn> = backendConfigIn;

const wireOrder = z.enum(["sequential", "interleaved"], {
  error: 'expected "sequential" or "interleaved" (sqooler 0.9 allows no other)',
});

/**
 * Schema of {@linkcode WireOrder}: `"sequential"` or `"interleaved"`.
 *
 * @example Refuse the seed version's "linear" for writing
 * ```ts
 * import assert from "node:assert/strict";
 * import { WireOrder } from "@sqooler/storage";
 *
 * assert(WireOrder.parse("interleaved") === "interleaved");
 * assert(!WireOrder.safeParse("linear").success);
 * ```
 */
export const WireOrder: Schema<WireOrder> = wireOrder;

/**
 * Schema of {@linkcode BackendConfigInput}: a config as this library writes
 * it, with its defaults filled in. Stricter than {@linkcode BackendConfigIn}
 * where sqooler 0.9 is: `wire_order` is `"sequential"` or `"interleaved"`,
 * and `kid`, which names the key's file, is a valid record id or `null`.
 *
 * @example Refuse a config that sqooler 0.9 could not read
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackendConfigInput } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const config = testBackendConfig("spins");
 * assert(BackendConfigInput.parse(config).wire_order === "sequential");
 * assert(!BackendConfigInput.safeParse({ ...config, wire_order: "linear" }).success);
 * assert(!BackendConfigInput.safeParse({ ...config, kid: "../keys" }).success);
 * ```
 */
export const BackendConfigInput: Schema<BackendConfigIn> = backendConfigIn
  .extend({
    wire_order: wireOrder,
    kid: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, {
      error: "expected 1 to 128 ASCII letters, digits, '_' or '-'",
    }).nullable().default(null),
  });

/**
 * Schema of {@linkcode BackendConfigOut}.
 *
 * @example Check what the API sends for a backend
 * ```ts
 * import assert from "node:assert/strict";
 * import { backendDictToQiskit, BackendConfigIn, BackendConfigOut } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 *
 * const config = BackendConfigIn.parse(testBackendConfig("spins"));
 * const out = BackendConfigOut.parse(backendDictToQiskit("lab", config));
 * assert(out.backend_name === "lab_spins_simulator");
 * assert(!BackendConfigOut.safeParse({ ...out, n_qubits: -1 }).success);
 * ```
 */
export const BackendConfigOut: Schema<BackendConfigOut> = z.object({
  description: z.string(),
  display_name: displayName,
  conditional: z.boolean(),
  coupling_map: z.string(),
  dynamic_reprate_enabled: z.boolean(),
  local: z.boolean(),
  memory: z.boolean(),
  open_pulse: z.boolean(),
  backend_version: z.string(),
  n_qubits: count,
  backend_name: z.string(),
  basis_gates: z.array(z.string()),
  max_experiments: count,
  max_shots: count,
  simulator: z.boolean(),
  gates: z.array(gateConfig),
  supported_instructions: z.array(z.string()),
  cold_atom_type: z.enum(["fermion", "boson", "spin", "mixed"]),
  wire_order: z.string(),
  num_species: count,
  url: z.string().nullable(),
});

/**
 * Schema of {@linkcode BackendStatusOut}.
 *
 * @example Refuse a negative number of pending jobs
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackendStatusOut } from "@sqooler/storage";
 *
 * const status = {
 *   backend_name: "lab_spins_simulator", backend_version: "0.1.0", operational: true,
 *   pending_jobs: 0, status_msg: "",
 * };
 * assert(BackendStatusOut.parse(status).operational);
 * assert(!BackendStatusOut.safeParse({ ...status, pending_jobs: -1 }).success);
 * ```
 */
export const BackendStatusOut: Schema<BackendStatusOut> = z.object({
  backend_name: z.string(),
  backend_version: z.string(),
  operational: z.boolean(),
  pending_jobs: count,
  status_msg: z.string(),
});

/**
 * Schema of {@linkcode NextJob}.
 *
 * @example Read the answer for an empty queue
 * ```ts
 * import assert from "node:assert/strict";
 * import { NextJob } from "@sqooler/storage";
 *
 * const next = NextJob.parse({ job_id: "None", job_json_path: "None" });
 * assert(next.job_id === "None");
 * assert(!NextJob.safeParse({ job_id: "abc" }).success);
 * ```
 */
export const NextJob: Schema<NextJob> = z.object({
  job_id: z.string(),
  job_json_path: z.string(),
  token: z.string().optional(),
});

/**
 * Schema of {@linkcode JobMeta}; fills in the defaults.
 *
 * @example Read a meta record that names no owner
 * ```ts
 * import assert from "node:assert/strict";
 * import { JobMeta } from "@sqooler/storage";
 *
 * const meta = JobMeta.parse({ job_id: "abc" });
 * assert(meta.username === null && meta.submitted_at === null && meta.attempts === 0);
 * assert(!JobMeta.safeParse({ job_id: "abc", attempts: -1 }).success);
 * ```
 */
export const JobMeta: Schema<JobMeta> = z.object({
  job_id: z.string(),
  username: z.string().nullable().default(null),
  submitted_at: isoTime.nullable().default(null),
  attempts: count.default(0),
}).loose();

/**
 * Schema of {@linkcode Lease}. A lease written by an earlier version of this
 * library (no token, no state, no `renewed_at`) reads as a running lease with
 * an empty token.
 *
 * @example Refuse a lease with a time that does not exist
 * ```ts
 * import assert from "node:assert/strict";
 * import { Lease } from "@sqooler/storage";
 *
 * const lease = { job_id: "abc", claimed_at: "2026-11-28T10:00:00Z", expires_at: "2026-11-28T10:10:00Z" };
 * const parsed = Lease.parse(lease);
 * assert(parsed.state === "running" && parsed.token === "" && parsed.renewed_at === undefined);
 * assert(!Lease.safeParse({ ...lease, expires_at: "2026-13-01T10:00:00Z" }).success);
 * ```
 */
export const Lease: Schema<Lease> = z.object({
  job_id: z.string(),
  token: z.string().default(""),
  state: z.enum(["running", "done", "error", "requeue"]).default("running"),
  claimed_at: isoTime,
  expires_at: isoTime,
  renewed_at: isoTime.optional(),
  attempts: count.nullable().default(null),
  error_message: z.string().nullable().default(null),
  cancel_requested: z.string().nullable().default(null),
}).loose();

/**
 * Schema of {@linkcode LocalLoginInformation}.
 *
 * @example Refuse an empty base path
 * ```ts
 * import assert from "node:assert/strict";
 * import { LocalLoginInformation } from "@sqooler/storage";
 *
 * assert(LocalLoginInformation.parse({ base_path: "/srv/sqooler" }).base_path === "/srv/sqooler");
 * assert(!LocalLoginInformation.safeParse({ base_path: "" }).success);
 * ```
 */
export const LocalLoginInformation: Schema<LocalLoginInformation> = z.object({
  base_path: z.string().min(1),
});

/**
 * Checks data against a schema and lists every problem with where it is.
 *
 * @internal
 * @returns `[]` when the data matches.
 */
export function problemsOf(
  schema: Schema<unknown>,
  data: unknown,
): { path: PropertyKey[]; message: string }[] {
  const result = schema.safeParse(data);
  if (result.success) return [];
  return ((result.error as z.ZodError).issues ?? []).map((issue) => ({
    path: issue.path,
    message: issue.message,
  }));
}

/**
 * {@linkcode problemsOf} in slices (`slices.ts`), for data that may be large.
 *
 * @internal
 * @returns `[]` when the data matches.
 */
export async function problemsInSlices(
  schema: Schema<unknown>,
  data: unknown,
): Promise<{ path: PropertyKey[]; message: string }[]> {
  const result = await safeParseInSlices(
    schema as unknown as z.ZodType,
    data,
    createPacer(),
  );
  if (result.success) return [];
  return ((result.error as z.ZodError).issues ?? []).map((issue) => ({
    path: issue.path,
    message: issue.message,
  }));
}

/**
 * Checks data against a schema and says what is wrong in one line.
 *
 * @internal
 */
export function check<T>(
  schema: Schema<T>,
  data: unknown,
): { ok: true; value: T } | { ok: false; reason: string } {
  const quick = QUICK_READS.get(schema)?.(data);
  if (quick !== undefined) return { ok: true, value: quick as T };
  return outcomeOf<T>(schema.safeParse(data));
}

/**
 * {@linkcode check} in slices (`slices.ts`): large data, such as a result of
 * many shots, is checked without holding the event loop for long, as a
 * promise; small data at once.
 *
 * @internal
 */
export function checkInSlices<T>(
  schema: Schema<T>,
  data: unknown,
):
  | { ok: true; value: T }
  | { ok: false; reason: string }
  | Promise<{ ok: true; value: T } | { ok: false; reason: string }> {
  const quick = QUICK_READS.get(schema)?.(data);
  if (quick !== undefined) return { ok: true, value: quick as T };
  if (!isLargeJson(data)) return outcomeOf<T>(schema.safeParse(data));
  return safeParseInSlices(schema as unknown as z.ZodType, data, createPacer())
    .then((result) => outcomeOf<T>(result));
}

/** A zod outcome as {@linkcode check} reports it: the value, or the first three issues. */
function outcomeOf<T>(
  result: SlicedParse,
): { ok: true; value: T } | { ok: false; reason: string } {
  if (result.success) return { ok: true, value: result.data as T };
  const error = result.error as z.ZodError;
  const issues = error.issues ?? [];
  const reason =
    issues.slice(0, 3).map((issue) =>
      issue.path.length > 0
        ? `${issue.path.map(String).join(".")}: ${issue.message}`
        : issue.message
    ).join("; ") || error.message;
  return { ok: false, reason };
}

/**
 * Hand-written readings of the records that every job reads (an owner
 * record, a lease) in the one form that this library writes them: every
 * field present with a valid value, and no other field. They return what
 * the schema returns for such a record (the same fields in the schema's
 * order), and `undefined` for any other data, which the schema then reads.
 */
const QUICK_READS = new Map<Schema<unknown>, (data: unknown) => unknown>([
  [JobMeta, quickJobMeta],
  [Lease, quickLease],
]);

/**
 * The fields of data in the order of `keys`, when data is an object whose
 * own keys are exactly these.
 */
function fieldsOf(
  data: unknown,
  keys: readonly string[],
): Record<string, unknown> | undefined {
  if (
    typeof data !== "object" || data === null || Array.isArray(data) ||
    Object.keys(data).length !== keys.length
  ) return undefined;
  const fields: Record<string, unknown> = {};
  for (const key of keys) {
    // Enumerable own keys only, as Object.keys counted them: anything else
    // (a hidden field beside an extra one) goes to the schema.
    if (!Object.prototype.propertyIsEnumerable.call(data, key)) {
      return undefined;
    }
    fields[key] = (data as Record<string, unknown>)[key];
  }
  return fields;
}

function isCount(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

function isTime(value: unknown): boolean {
  return typeof value === "string" && !Number.isNaN(parseStoredTime(value));
}

function isOptionalString(value: unknown): boolean {
  return value === null || typeof value === "string";
}

const META_KEYS = ["job_id", "username", "submitted_at", "attempts"];

function quickJobMeta(data: unknown): JobMeta | undefined {
  const meta = fieldsOf(data, META_KEYS);
  if (
    meta === undefined || typeof meta.job_id !== "string" ||
    !isOptionalString(meta.username) ||
    !(meta.submitted_at === null || isTime(meta.submitted_at)) ||
    !isCount(meta.attempts)
  ) return undefined;
  return meta as unknown as JobMeta;
}

const LEASE_KEYS = [
  "job_id",
  "token",
  "state",
  "claimed_at",
  "expires_at",
  "renewed_at",
  "attempts",
  "error_message",
  "cancel_requested",
];
const LEASE_STATES = new Set<unknown>(["running", "done", "error", "requeue"]);

function quickLease(data: unknown): Lease | undefined {
  const lease = fieldsOf(data, LEASE_KEYS);
  if (
    lease === undefined || typeof lease.job_id !== "string" ||
    typeof lease.token !== "string" || !LEASE_STATES.has(lease.state) ||
    !isTime(lease.claimed_at) || !isTime(lease.expires_at) ||
    !isTime(lease.renewed_at) ||
    !(lease.attempts === null || isCount(lease.attempts)) ||
    !isOptionalString(lease.error_message) ||
    !isOptionalString(lease.cancel_requested)
  ) return undefined;
  return lease as unknown as Lease;
}

const TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt _](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;
const DIGITS = /^[+-]?\d+(?:\.\d+)?$/;
/** Above this, pydantic reads a Unix time as milliseconds, not seconds. */
const MS_THRESHOLD = 2e10;

/**
 * Reads a time as sqooler and pydantic accept it: `YYYY-MM-DD`, then `T`,
 * `t`, `_` or a space and `HH:MM`, optional `:SS` and a fraction of any
 * length; then `Z`, an offset `±HH:MM`, `±HHMM` or `±HH`, or nothing (UTC);
 * or a Unix time as a number or a string of digits (seconds, or milliseconds
 * above 2·10¹⁰, as pydantic reads them).
 *
 * @internal
 * @returns Milliseconds since the epoch, or `NaN` for anything else.
 */
export function parseStoredTime(value: string | number): number {
  if (typeof value === "number") return unixTime(value);
  if (value.length === 24) {
    const canonical = canonicalTime(value);
    if (canonical !== undefined) return canonical;
  }
  const match = TIME.exec(value);
  if (match === null) {
    return DIGITS.test(value) ? unixTime(Number(value)) : NaN;
  }
  const year = +match[1], month = +match[2], day = +match[3];
  const hour = match[4] === undefined ? 0 : +match[4];
  const minute = match[5] === undefined ? 0 : +match[5];
  const second = match[6] === undefined ? 0 : +match[6];
  if (
    month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
    hour > 23 || minute > 59 || second > 59
  ) return NaN;
  let offset = 0;
  if (match[9] !== undefined) {
    const hours = +match[10],
      minutes = match[11] === undefined ? 0 : +match[11];
    if (hours > 23 || minutes > 59) return NaN;
    offset = (match[9] === "-" ? -1 : 1) * (hours * 60 + minutes) * 60_000;
  }
  // Milliseconds from the fraction's first three digits: the rest is finer
  // than a JavaScript time holds.
  const fraction = match[7] === undefined
    ? 0
    : +match[7].slice(0, 3).padEnd(3, "0");
  let utc = Date.UTC(year, month - 1, day, hour, minute, second, fraction);
  if (year < 100) {
    // Date.UTC reads the years 0 to 99 as 1900 to 1999.
    const date = new Date(utc);
    date.setUTCFullYear(year);
    utc = date.getTime();
  }
  return utc - offset;
}

/**
 * parseStoredTime() of the spelling this library writes,
 * `YYYY-MM-DDTHH:MM:SS.sssZ` (from the year 100 on), without the regular
 * expression: the same number, or `NaN` for a day or time that does not
 * exist; `undefined` for text of any other shape, which the full reading
 * takes.
 */
function canonicalTime(value: string): number | undefined {
  if (
    value.charCodeAt(4) !== 0x2d || value.charCodeAt(7) !== 0x2d ||
    value.charCodeAt(10) !== 0x54 || value.charCodeAt(13) !== 0x3a ||
    value.charCodeAt(16) !== 0x3a || value.charCodeAt(19) !== 0x2e ||
    value.charCodeAt(23) !== 0x5a
  ) return undefined;
  const year = digits(value, 0, 4), month = digits(value, 5, 2);
  const day = digits(value, 8, 2), hour = digits(value, 11, 2);
  const minute = digits(value, 14, 2), second = digits(value, 17, 2);
  const ms = digits(value, 20, 3);
  // Not digits (-1), or a year that Date.UTC reads otherwise.
  if (
    year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 ||
    second < 0 || ms < 0
  ) return undefined;
  if (
    month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
    hour > 23 || minute > 59 || second > 59
  ) return NaN;
  // Date.UTC's number, by arithmetic (H. Hinnant's days_from_civil), on a
  // calendar whose years begin on 1 March: Date.UTC costs ten times as much.
  const marchYear = month <= 2 ? year - 1 : year;
  const era = Math.floor(marchYear / 400);
  const yearOfEra = marchYear - era * 400;
  const dayOfYear =
    Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) +
    day - 1;
  const days = era * 146_097 + yearOfEra * 365 + Math.floor(yearOfEra / 4) -
    Math.floor(yearOfEra / 100) + dayOfYear - 719_468;
  return days * 86_400_000 + hour * 3_600_000 + minute * 60_000 +
    second * 1000 + ms;
}

/** The number that `count` ASCII digits from `start` spell, or -1. */
function digits(text: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** The first time whose year has five digits: 10000-01-01T00:00:00Z. */
const YEAR_10000_MS = 253_402_300_800_000;

/**
 * A time as `Date.prototype.toISOString()` writes it
 * (`YYYY-MM-DDTHH:MM:SS.sssZ`), without making a `Date`: the same text for
 * every time value.
 *
 * @internal
 * @param ms Milliseconds since the epoch.
 * @returns The time in ISO 8601.
 * @throws {RangeError} When `ms` is not a time that a `Date` can hold.
 */
export function formatTime(ms: number): string {
  if (!(ms >= 0 && ms < YEAR_10000_MS) || ms % 1 !== 0) {
    // Before 1970, fractions of a millisecond, years of five digits and
    // more: the Date object's own rules.
    return new Date(ms).toISOString();
  }
  // The civil date of a day count (H. Hinnant's days_from_civil, inverted),
  // on a calendar whose years begin on 1 March.
  const days = Math.floor(ms / 86_400_000);
  const shifted = days + 719_468;
  const era = Math.floor(shifted / 146_097);
  const dayOfEra = shifted - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra -
    (365 * yearOfEra + Math.floor(yearOfEra / 4) -
      Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const time = ms - days * 86_400_000;
  return padded(year, 4) + "-" + padded(month, 2) + "-" + padded(day, 2) +
    "T" + padded(Math.floor(time / 3_600_000), 2) + ":" +
    padded(Math.floor(time / 60_000) % 60, 2) + ":" +
    padded(Math.floor(time / 1000) % 60, 2) + "." + padded(time % 1000, 3) +
    "Z";
}

/** A whole number ≥ 0 with leading zeros to `width` digits. */
function padded(n: number, width: number): string {
  const text = String(n);
  return text.length >= width ? text : "000".slice(text.length - width) + text;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  if (month !== 2) return DAYS[month - 1];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return leap ? 29 : 28;
}

function unixTime(value: number): number {
  if (!Number.isFinite(value)) return NaN;
  return Math.abs(value) > MS_THRESHOLD ? value : value * 1000;
}
