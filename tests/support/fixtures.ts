// Records for the multi-process, crash, torn-read and hostile-input tests
// and their child processes.

import type {
  BackendConfigIn,
  ExperimentData,
  Job,
  JobOutcome,
  Result,
  StatusMsg,
} from "../../mod.ts";

/** A valid config of a one-wire simulator. */
export function configOf(
  displayName: string,
  description = "A test backend",
): BackendConfigIn {
  return {
    description,
    version: "0.1.0",
    display_name: displayName,
    cold_atom_type: "spin",
    gates: [],
    max_experiments: 1,
    max_shots: 10,
    simulator: true,
    supported_instructions: ["load", "measure"],
    num_wires: 1,
    wire_order: "sequential",
    num_species: 1,
    operational: true,
    pending_jobs: null,
    status_msg: null,
    last_queue_check: null,
  };
}

/** A job of one experiment that the config of {@linkcode configOf} accepts. */
export function jobOf(shots = 1) {
  return {
    experiment_0: {
      instructions: [["load", [0], []], ["measure", [0], []]],
      num_wires: 1,
      shots,
      wire_order: "linear",
    },
  };
}

/** A DONE status. */
export function doneStatus(jobId: string, detail = "Done"): StatusMsg {
  return { job_id: jobId, status: "DONE", detail, error_message: "None" };
}

/** An ERROR status, as a worker writes it for a job it could not run. */
export function errorStatus(jobId: string, errorMessage: string): StatusMsg {
  return {
    job_id: jobId,
    status: "ERROR",
    detail: "Got your json.",
    error_message: errorMessage,
  };
}

/** The result of one experiment whose every shot measured `memory`. */
export function experimentOf(shots: number, memory = "1"): ExperimentData {
  return {
    header: { name: "experiment_0" },
    shots,
    success: true,
    data: { memory: Array(shots).fill(memory) },
  };
}

/** A DONE result. */
export function doneResult(
  displayName: string,
  jobId: string,
  results: ExperimentData[] = [],
): Result {
  return {
    backend_name: null,
    display_name: displayName,
    backend_version: "0.1.0",
    job_id: jobId,
    qobj_id: null,
    success: true,
    status: "DONE",
    header: {},
    results,
  };
}

/**
 * What a worker writes back with updateInDatabase() for a job that ran: a
 * {@linkcode doneStatus} and a {@linkcode doneResult}, by default with one
 * experiment's result, as for a job of {@linkcode jobOf}.
 */
export function doneOutcome(
  displayName: string,
  jobId: string,
  results: ExperimentData[] = [experimentOf(1)],
): JobOutcome {
  return {
    jobId,
    displayName,
    status: doneStatus(jobId),
    result: doneResult(displayName, jobId, results),
  };
}

/** What a backend returns that measures 0 on every shot: one result per experiment. */
export function zeros(job: Job): ExperimentData[] {
  return Object.entries(job).map(([name, experiment]) => ({
    header: { name },
    shots: experiment.shots,
    success: true,
    data: { memory: Array(experiment.shots).fill("0") },
  }));
}
