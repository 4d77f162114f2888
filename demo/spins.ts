/**
 * A small simulator backend for the demo: a few spins in optical tweezers,
 * simulated exactly as a state vector (2^n complex amplitudes), measured shot
 * by shot with a seedable random number generator.
 *
 * Instructions (sqooler's `[name, wires, params]`):
 * - `rx` `[w]` `[θ]`: rotates spin `w` about x by θ, `exp(-iθX/2)`;
 * - `rz` `[w]` `[φ]`: rotates spin `w` about z by φ, `exp(-iφZ/2)`;
 * - `rzz` `[v, w]` `[θ]`: the Ising interaction `exp(-iθ Z_v Z_w / 2)`;
 * - `measure` `[w]`: reads spin `w` out at the end; `barrier`: nothing.
 *
 * Each shot's bit string lists the measured spins in the order of their
 * `measure` instructions, e.g. `"1 0 1"` (sqooler's format).
 *
 * The default export is a backends map, so that this module also serves the
 * CLI: `deno task cli work demo/spins.ts`.
 *
 * @module
 */

import type {
  Backend,
  BackendConfigInput,
  Backends,
  Experiment,
  ExperimentData,
  Job,
} from "@sqooler/storage";

/** The simulator's config: 3 spins, at most 10 experiments of 1,000 shots. */
export const spinsConfig: BackendConfigInput = {
  description: "Three spins in optical tweezers, simulated exactly",
  version: "0.1.0",
  display_name: "spins",
  cold_atom_type: "spin",
  gates: [
    {
      name: "rx",
      parameters: ["theta"],
      qasm_def: "gate rx(theta) {}",
      coupling_map: [[0], [1], [2]],
      description: "Rotation of one spin about x",
    },
    {
      name: "rz",
      parameters: ["phi"],
      qasm_def: "gate rz(phi) {}",
      coupling_map: [[0], [1], [2]],
      description: "Rotation of one spin about z",
    },
    {
      name: "rzz",
      parameters: ["theta"],
      qasm_def: "gate rzz(theta) {}",
      coupling_map: [[0, 1], [1, 2], [0, 2]],
      description: "Ising interaction between two spins",
    },
  ],
  max_experiments: 10,
  max_shots: 1000,
  simulator: true,
  supported_instructions: ["rx", "rz", "rzz", "measure", "barrier"],
  num_wires: 3,
  wire_order: "interleaved",
  num_species: 1,
};

/** Options of {@linkcode createSpinsBackend}. */
export interface SpinsBackendOptions {
  /**
   * How long each job takes, as the atoms would: the demo uses it to show a
   * job's status on its way. Aborts with the worker's signal.
   *
   * @default {0}
   */
  delayMs?: number;
}

/**
 * The spins simulator as a backend for `runWorker`.
 *
 * @param options How long a job takes.
 * @returns The backend: {@linkcode spinsConfig} and its `execute`.
 */
export function createSpinsBackend(options: SpinsBackendOptions = {}): Backend {
  const delayMs = options.delayMs ?? 0;
  return {
    config: spinsConfig,
    async execute(job: Job, { jobId, signal }): Promise<ExperimentData[]> {
      if (delayMs > 0) await delay(delayMs, signal);
      return Object.entries(job).map(([name, experiment]) => ({
        header: { name },
        shots: experiment.shots,
        success: true,
        data: {
          memory: simulate(experiment, {
            name,
            seed: experiment.seed ?? hash(`${jobId}/${name}`),
          }),
        },
      }));
    },
  };
}

/** Options of {@linkcode simulate}. */
export interface SimulateOptions {
  /** The experiment's name, for error messages. */
  name: string;
  /** The seed of the shots' random numbers. */
  seed: number;
}

/**
 * Runs one experiment: evolves the state vector, then draws a bit string per
 * shot from the final probabilities.
 *
 * @param experiment The experiment (already checked against the config).
 * @param options Its name and the seed.
 * @returns One bit string per shot.
 * @throws {Error} When an instruction acts on a spin that was already measured.
 */
export function simulate(
  experiment: Experiment,
  options: SimulateOptions,
): string[] {
  const size = 2 ** experiment.num_wires;
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  re[0] = 1;
  const measured: number[] = [];
  experiment.instructions.forEach(([name, wires, params], index) => {
    if (name === "barrier") return;
    const late = wires.find((wire) => measured.includes(wire));
    if (late !== undefined) {
      throw new Error(
        `${options.name}: instruction ${index} (${
          JSON.stringify(name)
        }) acts on spin ${late} after it was measured`,
      );
    }
    const angle = params[0] ?? 0;
    if (name === "measure") measured.push(...wires);
    else if (name === "rx") rotateX(re, im, wires[0], angle);
    else if (name === "rz") rotateZ(re, im, wires[0], angle);
    else if (name === "rzz") ising(re, im, wires, angle);
  });
  const cumulative = new Float64Array(size);
  let total = 0;
  for (let i = 0; i < size; i++) {
    total += re[i] * re[i] + im[i] * im[i];
    cumulative[i] = total;
  }
  const random = mulberry32(options.seed);
  const memory: string[] = [];
  for (let shot = 0; shot < experiment.shots; shot++) {
    const r = random() * total;
    let state = 0;
    while (state < size - 1 && cumulative[state] <= r) state++;
    memory.push(measured.map((wire) => (state >> wire) & 1).join(" "));
  }
  return memory;
}

/** Applies `exp(-iθX/2)` to one spin. */
function rotateX(
  re: Float64Array,
  im: Float64Array,
  wire: number,
  theta: number,
) {
  const c = Math.cos(theta / 2), s = Math.sin(theta / 2);
  const bit = 1 << wire;
  for (let i = 0; i < re.length; i++) {
    if (i & bit) continue;
    const j = i | bit;
    const [r0, i0, r1, i1] = [re[i], im[i], re[j], im[j]];
    // [c, -is; -is, c]
    re[i] = c * r0 + s * i1;
    im[i] = c * i0 - s * r1;
    re[j] = s * i0 + c * r1;
    im[j] = -s * r0 + c * i1;
  }
}

/** Applies `exp(-iφZ/2)` to one spin. */
function rotateZ(
  re: Float64Array,
  im: Float64Array,
  wire: number,
  phi: number,
) {
  for (let i = 0; i < re.length; i++) {
    phase(re, im, i, (i >> wire) & 1 ? phi / 2 : -phi / 2);
  }
}

/** Applies `exp(-iθ Z_v Z_w / 2)`. */
function ising(
  re: Float64Array,
  im: Float64Array,
  wires: number[],
  theta: number,
) {
  const [v, w] = wires;
  for (let i = 0; i < re.length; i++) {
    const parallel = ((i >> v) & 1) === ((i >> w) & 1);
    phase(re, im, i, parallel ? -theta / 2 : theta / 2);
  }
}

/** Multiplies amplitude `i` by `exp(i·angle)`. */
function phase(re: Float64Array, im: Float64Array, i: number, angle: number) {
  const c = Math.cos(angle), s = Math.sin(angle);
  const [r, m] = [re[i], im[i]];
  re[i] = c * r - s * m;
  im[i] = s * r + c * m;
}

/** A small, fast, seedable generator of numbers in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A 32-bit FNV-1a hash, to seed experiments that bring no seed. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

/** Waits, or throws the signal's reason when it aborts first. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const abort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", abort);
      resolve();
    }, ms);
    signal.addEventListener("abort", abort, { once: true });
  });
}

/** The backends that `deno task cli work demo/spins.ts` runs. */
const backends: Backends = { spins: createSpinsBackend() };
export default backends;
