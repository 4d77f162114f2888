// Hostile input: every public function of mod.ts gets names, ids and paths
// that try to leave the storage or look like valid names, values of the wrong
// type, and a store full of corrupt files. Each call must end in one of this
// library's errors (or the documented ERROR answer), read and write nothing
// outside basePath, and change nothing stored.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertDisplayName,
  assertJobId,
  assertRecordId,
  assertStoragePath,
  assertUsername,
  BackendConfigIn,
  BackendConfigOut,
  backendDictToQiskit,
  backendDictToQiskitStatus,
  BackendStatusOut,
  CorruptRecordError,
  Experiment,
  ExperimentData,
  extendLease,
  finishedPath,
  Gate,
  GateConfig,
  getBackendDict,
  getBackends,
  getBackendStatus,
  getConfig,
  getFileQueue,
  getJobContent,
  getNextJobInQueue,
  getQueueStats,
  getResult,
  getStatus,
  InvalidNameError,
  InvalidRecordError,
  Job,
  JobMeta,
  Lease,
  leasesPath,
  LocalAdapter,
  LocalLoginInformation,
  longBackendName,
  MeasurementData,
  MemoryAdapter,
  metaPath,
  newJobId,
  NextJob,
  normalizeProviderName,
  NotFoundError,
  queuedPath,
  recoverStaleJobs,
  Result,
  resultsPath,
  RUNNING,
  runWorker,
  type Schema,
  SqoolerError,
  StatusMsg,
  statusPath,
  type StorageAdapter,
  timestampQueue,
  updateInDatabase,
  uploadConfig,
  uploadJob,
  uploadStatus,
  validateJob,
} from "../mod.ts";
import {
  configOf,
  doneOutcome,
  doneResult,
  doneStatus,
  jobOf,
} from "./support/fixtures.ts";
import { walkTree, withTempDir } from "./support/folders.ts";
import { backendFolders, recordsIn, submitJobs } from "./support/store.ts";
import { prng } from "./support/random.ts";

const schemas: Record<string, Schema<unknown>> = {
  BackendConfigIn,
  BackendConfigOut,
  BackendStatusOut,
  Experiment,
  ExperimentData,
  Gate,
  GateConfig,
  Job,
  JobMeta,
  Lease,
  LocalLoginInformation,
  MeasurementData,
  NextJob,
  Result,
  StatusMsg,
};

// ---------------------------------------------------------------- inputs

/** Names refused in every name slot: display name, job id, record id, storage path, provider name. */
const HOSTILE_NAMES: string[] = [
  "",
  ".",
  "..",
  "../",
  "/..",
  "../..",
  "../../outside",
  "../secret",
  "../../secret",
  "../../outside/secret",
  "..%2f..%2fsecret",
  "%2e%2e",
  "/",
  "//",
  "/etc/passwd",
  "/tmp",
  "fermions/",
  "/fermions",
  "fermions//x",
  "jobs/running/",
  "/jobs/running",
  "a/../b",
  "a/./b",
  "\\",
  "..\\..\\secret",
  "fermions\\x",
  "C:\\Windows",
  "\0",
  "fermions\0",
  "\0/../secret",
  "fermions\0.json",
  "ｆermions", // fullwidth f
  "fermions\u200b", // zero-width space
  "\u200bfermions",
  "f\u0435rmions", // Cyrillic е
  "\u2024\u2024", // one-dot leaders
  "\u2024\u2024/secret",
  "\uff0e\uff0e/secret", // fullwidth full stops
  "..\u2215secret", // division slash
  "fermions\u202e", // right-to-left override
  "\ud800", // lone surrogate
  "🧪",
  "fermions ",
  " fermions",
  "fermions\n",
  "fermions\r\nX: 1",
  "fermions\t",
  "fermions.json",
  "secret.json",
  "~",
  "~/secret",
  "$HOME",
  "*",
  "fermions?",
  "x".repeat(10_000),
  "a".repeat(129),
  "a/".repeat(5_000),
  "../".repeat(3_000),
  Array(9).fill("a").join("/"),
];

/** User names that must be refused (user names are stored, never a path, so `..` is fine). */
const HOSTILE_USERS: string[] = [
  "",
  "\0",
  "alice\0",
  "\n",
  "alice\r\nX-Admin: 1",
  "\u001b[31malice",
  "\u007f",
  "\u0085",
  "x".repeat(257),
  "x".repeat(10_000),
];

/** Values of the wrong type for a name. */
const WRONG_TYPES: unknown[] = [
  0,
  42,
  -1,
  NaN,
  Infinity,
  null,
  undefined,
  true,
  1n,
  Symbol("fermions"),
  {},
  [],
  ["fermions"],
  { toString: () => "fermions" },
  new String("fermions"),
  () => "fermions",
  new Date(0),
  new Map([["fermions", 1]]),
];

/** Values of the wrong type for an argument that should be an object. */
const WRONG_OBJECTS: unknown[] = [
  null,
  undefined,
  0,
  NaN,
  "fermions",
  "",
  true,
  1n,
  Symbol("x"),
  [],
  [{}],
  () => ({}),
];

/** Values that are not a time in milliseconds. */
const TIMES: unknown[] = [
  NaN,
  Infinity,
  -Infinity,
  "1700000000000",
  null,
  true,
  1n,
  {},
  [],
  new Date(0),
];

/** Which rule a slot's values must break, written here again from the documentation. */
type Slot =
  | "display"
  | "job"
  | "record"
  | "path"
  | "provider"
  | "user"
  | "basePath"
  | "object"
  | "options"
  | "time";

const RECORD_ID = /^[A-Za-z0-9_-]{1,128}$/;
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Whether a value is acceptable in a slot, by the documented rules. */
function acceptable(slot: Slot, value: unknown): boolean {
  if (slot === "object" || slot === "options") {
    return typeof value === "object" && value !== null &&
      !Array.isArray(value);
  }
  if (slot === "time") {
    return value === undefined ||
      (typeof value === "number" && Number.isFinite(value));
  }
  if (typeof value !== "string") return false;
  switch (slot) {
    case "display":
      return /^[a-z0-9]{1,64}$/.test(value);
    case "provider":
      return /^[a-z0-9]{1,64}$/.test(value.toLowerCase());
    case "job":
      return /^[A-Za-z0-9_-]{1,64}$/.test(value);
    case "record":
      return RECORD_ID.test(value);
    case "path": {
      const segments = value.split("/");
      return segments.length <= 8 && segments.every((s) => RECORD_ID.test(s));
    }
    case "user":
      return value.length >= 1 && value.length <= 256 && !CONTROL.test(value);
    case "basePath":
      return value.length > 0 && !value.includes("\0");
  }
}

function valuesFor(slot: Slot): unknown[] {
  switch (slot) {
    case "user":
      return [...HOSTILE_USERS, ...WRONG_TYPES];
    case "basePath":
      return ["", "\0", "store\0", ...WRONG_TYPES];
    case "object":
      return WRONG_OBJECTS;
    case "options":
      return [null];
    case "time":
      return TIMES;
    default:
      return [...HOSTILE_NAMES, ...WRONG_TYPES];
  }
}

// ---------------------------------------------------------------- a world to attack

const DISPLAY = "fermions";
const CONFIG = configOf(DISPLAY);
const JOB = jobOf();
const done = (jobId: string) => doneStatus(jobId);
const resultOf = (jobId: string) => doneResult(DISPLAY, jobId);

/** What the attacks aim at: jobs in every state, owned by alice and bob. */
interface World {
  adapter: StorageAdapter;
  /** A finished job of alice, with status and result. */
  finished: string;
  /** A running job of bob, with a lease. */
  running: string;
  /** A queued job of alice. */
  queued: string;
}

async function populate(adapter: StorageAdapter): Promise<World> {
  await uploadConfig(adapter, CONFIG);
  const submit = async (username: string) => {
    const [jobId] = await submitJobs(adapter, {
      displayName: DISPLAY,
      username,
      job: JOB,
    });
    return jobId;
  };
  const finished = await submit("alice");
  assert.equal((await getNextJobInQueue(adapter, DISPLAY)).job_id, finished);
  await updateInDatabase(adapter, doneOutcome(DISPLAY, finished));
  const running = await submit("bob");
  assert.equal((await getNextJobInQueue(adapter, DISPLAY)).job_id, running);
  const queued = await submit("alice");
  return { adapter, finished, running, queued };
}

type ErrorClass = new (...args: never[]) => SqoolerError;

/** A call with one slot open for the hostile value. */
interface Target {
  name: string;
  slot: Slot;
  /** `refuse`: must throw this error class. `lenient`: may also succeed. */
  expect: ErrorClass | "lenient";
  call(value: unknown): unknown;
  /** Values of the right type that must be refused all the same. */
  extra?: unknown[];
  /** Values that mean "the default" here, such as `undefined` for an optional name. */
  omit?: unknown[];
}

/** Functions called with values of any type, which is the point of this suite. */
type Loose = Record<string, (...args: unknown[]) => unknown>;

/** Every public function of mod.ts, each slot of it that takes a name, an id or an object. */
function targets(world: World, basePath: string): Target[] {
  const a = world.adapter;
  const f = {
    assertDisplayName,
    assertJobId,
    assertRecordId,
    assertStoragePath,
    assertUsername,
    normalizeProviderName,
    queuedPath,
    finishedPath,
    statusPath,
    resultsPath,
    metaPath,
    leasesPath,
    getConfig,
    getBackendDict,
    getBackendStatus,
    timestampQueue,
    getNextJobInQueue,
    getQueueStats,
    getFileQueue,
    longBackendName,
    backendDictToQiskit,
    backendDictToQiskitStatus,
  } as unknown as Loose;
  const adapter = a as unknown as Loose;
  const QUEUE = queuedPath(DISPLAY);
  const list: Target[] = [];
  const add = (
    name: string,
    slot: Slot,
    call: (v: unknown) => unknown,
    expect: Target["expect"] = slot === "object"
      ? SqoolerError
      : InvalidNameError,
  ) => {
    const target: Target = { name, slot, expect, call };
    list.push(target);
    return target;
  };

  // Name checks and the layout.
  add("assertDisplayName(v)", "display", (v) => f.assertDisplayName(v));
  add("assertJobId(v)", "job", (v) => f.assertJobId(v));
  add("assertRecordId(v)", "record", (v) => f.assertRecordId(v));
  add("assertStoragePath(v)", "path", (v) => f.assertStoragePath(v));
  add("assertUsername(v)", "user", (v) => f.assertUsername(v));
  add(
    "normalizeProviderName(v)",
    "provider",
    (v) => f.normalizeProviderName(v),
  );
  for (
    const layout of [
      "queuedPath",
      "finishedPath",
      "statusPath",
      "resultsPath",
      "metaPath",
      "leasesPath",
    ]
  ) {
    add(`${layout}(v)`, "display", (v) => f[layout](v));
  }
  add("newJobId(v)", "time", (v) => newJobId(v as number), SqoolerError);

  // Adapters.
  add(
    "new LocalAdapter({ basePath: v })",
    "basePath",
    (v) => new LocalAdapter({ basePath: v as string }),
  );
  add("new LocalAdapter(v)", "object", (v) => new LocalAdapter(v as never));
  add(
    "new LocalAdapter({ name: v })",
    "provider",
    (v) => new LocalAdapter({ basePath, name: v as string }),
  ).omit = [null, undefined];
  add(
    "new MemoryAdapter({ name: v })",
    "provider",
    (v) => new MemoryAdapter({ name: v as string }),
  ).omit = [null, undefined];
  add(
    "new MemoryAdapter(v)",
    "options",
    (v) => new MemoryAdapter(v as never),
    "lenient",
  );
  add("upload(v, id, {})", "path", (v) => adapter.upload(v, world.queued, {}));
  add("upload(path, v, {})", "record", (v) => adapter.upload(QUEUE, v, {}));
  add(
    "upload(path, id, v)",
    "object",
    (v) => adapter.upload(QUEUE, "fresh", v),
  );
  add("get(v, id)", "path", (v) => adapter.get(v, world.queued));
  add("get(path, v)", "record", (v) => adapter.get(QUEUE, v));
  add("update(v, id, {})", "path", (v) => adapter.update(v, world.queued, {}));
  add("update(path, v, {})", "record", (v) => adapter.update(QUEUE, v, {}));
  add(
    "update(path, id, v)",
    "object",
    (v) => adapter.update(QUEUE, world.queued, v),
  );
  add("move(v, to, id)", "path", (v) => adapter.move(v, RUNNING, world.queued));
  add("move(from, v, id)", "path", (v) => adapter.move(QUEUE, v, world.queued));
  add("move(from, to, v)", "record", (v) => adapter.move(QUEUE, RUNNING, v));
  add("moveOldest(v, to)", "path", (v) => adapter.moveOldest(v, RUNNING));
  add("moveOldest(from, v)", "path", (v) => adapter.moveOldest(QUEUE, v));
  add("delete(v, id)", "path", (v) => adapter.delete(v, world.queued));
  add("delete(path, v)", "record", (v) => adapter.delete(QUEUE, v));
  add("list(v)", "path", (v) => adapter.list(v));

  // Backends.
  add(
    "uploadConfig(a, { display_name: v })",
    "display",
    (v) => uploadConfig(a, { ...CONFIG, display_name: v as string }),
    InvalidRecordError,
  );
  add("uploadConfig(a, v)", "object", (v) => uploadConfig(a, v as never));
  add("getConfig(a, v)", "display", (v) => f.getConfig(a, v));
  add("getBackendDict(a, v)", "display", (v) => f.getBackendDict(a, v));
  add("getBackendStatus(a, v)", "display", (v) => f.getBackendStatus(a, v));
  add(
    "getBackendStatus(a, unknown, v)",
    "options",
    (v) => f.getBackendStatus(a, "nothere", v),
    NotFoundError,
  );
  add("timestampQueue(a, v)", "display", (v) => f.timestampQueue(a, v));
  add(
    "timestampQueue(a, unknown, v)",
    "options",
    (v) => f.timestampQueue(a, "nothere", v),
    NotFoundError,
  );
  add(
    "longBackendName(v, config)",
    "provider",
    (v) => f.longBackendName(v, CONFIG),
  );
  add(
    "longBackendName(p, { display_name: v })",
    "display",
    (v) => f.longBackendName("lab", { display_name: v, simulator: true }),
    SqoolerError,
  );
  add("longBackendName(p, v)", "object", (v) => f.longBackendName("lab", v));
  for (const qiskit of ["backendDictToQiskit", "backendDictToQiskitStatus"]) {
    add(`${qiskit}(v, config)`, "provider", (v) => f[qiskit](v, CONFIG));
    add(
      `${qiskit}(p, { display_name: v })`,
      "display",
      (v) => f[qiskit]("lab", { ...CONFIG, display_name: v }),
      SqoolerError,
    );
    add(`${qiskit}(p, v)`, "object", (v) => f[qiskit]("lab", v));
  }
  add(
    "backendDictToQiskitStatus(p, config, v)",
    "options",
    (v) => f.backendDictToQiskitStatus("lab", CONFIG, v),
    "lenient",
  );

  // Jobs.
  const ref = (over: Record<string, unknown>) => ({
    displayName: DISPLAY,
    username: "alice",
    jobId: world.finished,
    ...over,
  });
  add(
    "uploadJob(a, { displayName: v })",
    "display",
    (v) =>
      uploadJob(a, { job: JOB, displayName: v as string, username: "alice" }),
  );
  add(
    "uploadJob(a, { username: v })",
    "user",
    (v) =>
      uploadJob(a, { job: JOB, displayName: DISPLAY, username: v as string }),
  );
  add(
    "uploadJob(a, { job: v })",
    "object",
    (v) =>
      uploadJob(a, {
        job: v as object,
        displayName: DISPLAY,
        username: "alice",
      }),
  ).extra = unstorableJobs();
  add("uploadJob(a, v)", "object", (v) => uploadJob(a, v as never));
  for (
    const [fnName, fn] of [["uploadStatus", uploadStatus], [
      "getStatus",
      getStatus,
    ], ["getResult", getResult]] as const
  ) {
    add(
      `${fnName}(a, { displayName: v })`,
      "display",
      (v) => fn(a, ref({ displayName: v }) as never),
    );
    add(
      `${fnName}(a, { username: v })`,
      "user",
      (v) => fn(a, ref({ username: v }) as never),
    );
    add(
      `${fnName}(a, { jobId: v })`,
      "job",
      (v) => fn(a, ref({ jobId: v }) as never),
    );
    add(`${fnName}(a, v)`, "object", (v) => fn(a, v as never));
  }
  add(
    "getJobContent(a, { storagePath: v })",
    "path",
    (v) => getJobContent(a, { storagePath: v as string, jobId: world.running }),
  );
  add(
    "getJobContent(a, { jobId: v })",
    "job",
    (v) => getJobContent(a, { storagePath: RUNNING, jobId: v as string }),
  );
  add("getJobContent(a, v)", "object", (v) => getJobContent(a, v as never));
  add("getNextJobInQueue(a, v)", "display", (v) => f.getNextJobInQueue(a, v));
  add(
    "getNextJobInQueue(a, unknown, v)",
    "options",
    (v) => f.getNextJobInQueue(a, "nothere", v),
    NotFoundError,
  );
  const outcome = (over: Record<string, unknown>) => ({
    ...doneOutcome(DISPLAY, world.running),
    ...over,
  });
  for (
    const [key, slot] of [
      ["displayName", "display"],
      ["jobId", "job"],
      ["status", "object"],
      ["result", "object"],
    ] as const
  ) {
    add(
      `updateInDatabase(a, { ${key}: v })`,
      slot,
      (v) => updateInDatabase(a, outcome({ [key]: v }) as never),
    );
  }
  add(
    "updateInDatabase(a, v)",
    "object",
    (v) => updateInDatabase(a, v as never),
  );
  add("getFileQueue(a, v)", "path", (v) => f.getFileQueue(a, v));

  // Queue health.
  add(
    "recoverStaleJobs(a, { displayName: v })",
    "display",
    (v) => recoverStaleJobs(a, { displayName: v as string, olderThanMs: 0 }),
  );
  add(
    "recoverStaleJobs(a, v)",
    "object",
    (v) => recoverStaleJobs(a, v as never),
  );
  add(
    "extendLease(a, { displayName: v })",
    "display",
    (v) => extendLease(a, { displayName: v as string, jobId: world.running }),
  );
  add(
    "extendLease(a, { jobId: v })",
    "job",
    (v) => extendLease(a, { displayName: DISPLAY, jobId: v as string }),
  );
  add("extendLease(a, v)", "object", (v) => extendLease(a, v as never));
  add("getQueueStats(a, v)", "display", (v) => f.getQueueStats(a, v));
  add(
    "getQueueStats(a, name, v)",
    "options",
    (v) => f.getQueueStats(a, DISPLAY, v),
    "lenient",
  );

  // The worker. Its backend is named zzz with a config for fermions, so that
  // a key that slipped through would still be refused, not run.
  const backend = {
    config: { ...CONFIG, display_name: "zzz" },
    execute: () => [],
  };
  add(
    "runWorker(a, { backends: { [v]: backend } })",
    "display",
    (v) =>
      runWorker(a, {
        backends: { [String(v)]: backend },
        untilIdle: true,
      }),
    SqoolerError,
  );
  add(
    "runWorker(a, { backends: { fermions: { config: { display_name: v } } } })",
    "display",
    (v) =>
      runWorker(a, {
        backends: {
          fermions: {
            ...backend,
            config: { ...CONFIG, display_name: v as string },
          },
        },
        untilIdle: true,
      }),
    InvalidRecordError,
  );
  add(
    "runWorker(a, { backends: { fermions: v } })",
    "object",
    (v) =>
      runWorker(a, { backends: { fermions: v as never }, untilIdle: true }),
  );
  add(
    "runWorker(a, { backends: v })",
    "object",
    (v) => runWorker(a, { backends: v as never, untilIdle: true }),
  ).extra = [{}];
  add("runWorker(a, v)", "object", (v) => runWorker(a, v as never));
  add("validateJob(v, limits)", "object", (v) => {
    const check = validateJob(v, CONFIG);
    if (check.ok) throw new Error("validateJob() accepted a non-job");
    return check;
  }, "lenient");
  add("validateJob(job, v)", "object", (v) => validateJob(JOB, v as never));
  return list;
}

/** A job that cannot be stored: refused before its owner is recorded. */
function unstorableJobs(): unknown[] {
  const cyclic: Record<string, unknown> = { experiment_0: JOB.experiment_0 };
  cyclic.self = cyclic;
  // (A bigint is stored: it is an exact integer, as Python writes them.)
  return [cyclic, { experiment_0: { shots: Symbol("shots") }, [Symbol()]: 1 }]
    .slice(0, 1);
}

// ---------------------------------------------------------------- checking one call

function show(value: unknown): string {
  if (typeof value === "string") {
    const text = JSON.stringify(
      value.length > 60 ? value.slice(0, 60) + "…" : value,
    );
    return value.length > 60 ? `${text} (${value.length} chars)` : text;
  }
  if (typeof value === "symbol" || typeof value === "bigint") {
    return String(value);
  }
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

// A message that names a hostile value must not carry it raw: no control,
// format (bidi, zero-width) or lone surrogate characters, and a bounded length.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}]/u;
const MAX_MESSAGE = 400;

/** Runs one call; returns what is wrong with its outcome, or undefined. */
async function judge(
  target: Target,
  value: unknown,
): Promise<string | undefined> {
  let outcome: unknown;
  let threw = false;
  try {
    const returned = target.call(value);
    // A function that returns a promise reports errors by rejecting it.
    if (returned instanceof Promise) {
      try {
        outcome = await returned;
      } catch (error) {
        outcome = error;
        threw = true;
      }
    } else outcome = returned;
  } catch (error) {
    outcome = error;
    threw = true;
  }
  if (!threw) {
    return target.expect === "lenient"
      ? undefined
      : `succeeded with ${show(outcome)}`;
  }
  const error = outcome;
  if (!(error instanceof SqoolerError)) {
    return `threw a raw ${(error as Error)?.name ?? typeof error}: ${
      String((error as Error)?.message ?? error).slice(0, 200)
    }`;
  }
  const { name, message } = error;
  if (target.expect !== "lenient" && !(error instanceof target.expect)) {
    return `threw ${name} instead of ${target.expect.name}: ${
      message.slice(0, 200)
    }`;
  }
  if (message.length > MAX_MESSAGE) {
    return `a message of ${message.length} characters`;
  }
  if (UNPRINTABLE.test(message)) {
    return `an unprintable message: ${JSON.stringify(message.slice(0, 200))}`;
  }
  return undefined;
}

// ---------------------------------------------------------------- the file system as evidence

/** Every file and folder under root: kind, inode, mtime, and a file's bytes. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const entries: Record<string, string> = {};
  for await (const { path, name, isDirectory } of walkTree(root)) {
    const info = await Deno.lstat(path);
    // The adapter's scratch folder may see a temp file come and go.
    const stamp = name === ".tmp" ? "" : `${info.ino} ${info.mtime?.getTime()}`;
    if (isDirectory) entries[path] = `dir ${stamp}`;
    else {
      const bytes = await Deno.readFile(path);
      entries[path] = `file ${stamp} ${new TextDecoder().decode(bytes)}`;
    }
  }
  return entries;
}

/** The stored records of a MemoryAdapter, as far as the folders of the world go. */
function memorySnapshot(
  adapter: StorageAdapter,
): Promise<Record<string, unknown>> {
  return recordsIn(adapter, [
    ...backendFolders(DISPLAY),
    "jobs/queued/nothere",
  ]);
}

/**
 * Puts the store at `<root>/lab/store` and sentinels beside and above it,
 * where `..` would lead: a valid config, status and secret.
 *
 * @returns The store's base path.
 */
async function makeTree(root: string): Promise<string> {
  const basePath = join(root, "lab", "store");
  await Deno.mkdir(basePath, { recursive: true });
  const sentinels: Record<string, string> = {
    "secret.json": `{"secret":"root"}`,
    "lab/secret.json": `{"secret":"lab"}`,
    "outside/secret.json": `{"secret":"outside"}`,
    "outside/backends/configs/fermions.json": JSON.stringify(CONFIG),
    "lab/backends/configs/fermions.json": JSON.stringify(CONFIG),
    "lab/jobs/queued/fermions/0000000000000000000000aa.json": JSON.stringify(
      JOB,
    ),
  };
  for (const [path, text] of Object.entries(sentinels)) {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, path), text);
  }
  return basePath;
}

// ---------------------------------------------------------------- the tests

Deno.test("every public function refuses hostile names, ids and wrong types with a typed error, touching nothing", async (t) => {
  await withTempDir(async (root) => {
    const basePath = await makeTree(root);
    const local = await populate(new LocalAdapter({ basePath, name: "lab" }));
    const memory = await populate(new MemoryAdapter({ name: "lab" }));
    const before = await snapshot(root);
    const memoryBefore = await memorySnapshot(memory.adapter);
    let calls = 0;
    const worlds = { LocalAdapter: local, MemoryAdapter: memory };
    for (const [label, world] of Object.entries(worlds)) {
      await t.step(label, async () => {
        const failures: string[] = [];
        for (const target of targets(world, basePath)) {
          const values = valuesFor(target.slot).filter((value) =>
            !target.omit?.includes(value)
          );
          for (const value of values) {
            assert(
              !acceptable(target.slot, value),
              `${show(value)} is acceptable in ${target.slot}`,
            );
          }
          for (
            const value of [...values, ...target.extra ?? []]
          ) {
            const wrong = await judge(target, value);
            calls++;
            if (wrong !== undefined) {
              failures.push(`${target.name} with v = ${show(value)}: ${wrong}`);
            }
          }
        }
        assert.deepEqual(failures, []);
      });
    }
    console.log(`  ${calls} hostile calls`);
    assert.deepEqual(
      await snapshot(root),
      before,
      "a refused call changed a file",
    );
    assert.deepEqual(await memorySnapshot(memory.adapter), memoryBefore);
  });
});

Deno.test("every exported schema's safeParse() answers hostile data without throwing", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const values = [
    ...WRONG_TYPES,
    ...WRONG_OBJECTS,
    ...HOSTILE_NAMES.slice(0, 10),
    cyclic,
    { __proto__: { job_id: "x" } },
    JSON.parse('{"__proto__": {"status": "DONE"}}'),
  ];
  for (const [name, schema] of Object.entries(schemas)) {
    for (const value of values) {
      const result = schema.safeParse(value);
      assert.equal(
        typeof result.success,
        "boolean",
        `${name}.safeParse(${show(value)})`,
      );
    }
  }
});

Deno.test("names that look like valid ones are shown escaped in error messages", () => {
  for (
    const [name, shown] of [
      ["ｆermions", "\\uff46ermions"],
      ["f\u0435rmions", "f\\u0435rmions"],
      ["fermions\u200b", "fermions\\u200b"],
      ["fermions\u202e", "fermions\\u202e"],
    ]
  ) {
    assert.throws(
      () => assertDisplayName(name),
      (error) =>
        error instanceof InvalidNameError && error.message.includes(shown),
    );
  }
});

Deno.test("a reference whose fields change between reads cannot reach another user's job", async () => {
  const adapter = new MemoryAdapter({ name: "lab" });
  const world = await populate(adapter);
  const before = await memorySnapshot(adapter);
  // First read: alice's finished job; every later read: an unknown id.
  const shifty = () => {
    let reads = 0;
    return {
      displayName: DISPLAY,
      username: "eve",
      get jobId() {
        return reads++ === 0 ? world.finished : "ffffffffffffffffffffffff";
      },
    };
  };
  const status = await uploadStatus(adapter, shifty());
  assert.equal(status.status, "INITIALIZING", "eve got alice's status");
  assert.equal((await getStatus(adapter, shifty())).status, "ERROR");
  assert.equal((await getResult(adapter, shifty())).status, "ERROR");
  assert.deepEqual(await memorySnapshot(adapter), before);
});

Deno.test("corrupt and schema-violating files give CorruptRecordError, and nothing stored changes", async () => {
  await withTempDir(async (root) => {
    const basePath = await makeTree(root);
    const adapter = new LocalAdapter({ basePath, name: "lab" });
    const world = await populate(adapter);
    const config = JSON.stringify(CONFIG);
    const job = (n: number) => n.toString(16).padStart(24, "0");
    const files: Record<string, string> = {
      // Configs of backends that each have a queued job, which must stay queued.
      "backends/configs/notjson.json": "{not json",
      "backends/configs/truncated.json": config.slice(0, config.length / 2),
      "backends/configs/array.json": "[1, 2, 3]",
      "backends/configs/empty.json": "",
      "backends/configs/nul.json": "\0\0\0\0",
      "backends/configs/bom.json": `\ufeff${
        config.replace('"fermions"', '"bom"')
      }`,
      "backends/configs/partial.json": `{"display_name": "partial"}`,
      "backends/configs/wrongtype.json": config.replace(
        '"num_wires":1',
        '"num_wires":"one"',
      ).replace('"fermions"', '"wrongtype"'),
      "backends/configs/badtime.json": JSON.stringify({
        ...CONFIG,
        display_name: "badtime",
        last_queue_check: "yesterday",
      }),
      // Statuses, results, metadata and job files of fermions.
      [`status/fermions/${job(1)}.json`]: JSON.stringify({
        job_id: job(1),
        status: "LOST",
        detail: "",
        error_message: "None",
      }),
      [`status/fermions/${job(2)}.json`]: `{"job_id": "${
        job(2)
      }", "status": "DONE"`,
      [`status/fermions/${job(3)}.json`]: "null",
      [`results/fermions/${job(3)}.json`]: JSON.stringify({
        ...resultOf(job(3)),
        results: "oops",
      }),
      [`results/fermions/${job(4)}.json`]: JSON.stringify({
        ...resultOf(job(4)),
        status: 7,
      }),
      [`meta/fermions/${job(5)}.json`]: '{"job_id":',
      [`status/fermions/${job(5)}.json`]: JSON.stringify(done(job(5))),
      [`meta/fermions/${job(6)}.json`]: JSON.stringify({
        job_id: job(6),
        username: 5,
        attempts: -1,
      }),
      [`status/fermions/${job(6)}.json`]: JSON.stringify(done(job(6))),
      [`jobs/running/${job(7)}.json`]: "<html>",
      [`jobs/running/${job(8)}.json`]: "[]",
    };
    for (
      const display of [
        "notjson",
        "truncated",
        "array",
        "empty",
        "nul",
        "bom",
        "partial",
        "wrongtype",
        "badtime",
      ]
    ) {
      files[`jobs/queued/${display}/${job(9)}.json`] = JSON.stringify(JOB);
    }
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(join(basePath, path, ".."), { recursive: true });
      await Deno.writeTextFile(join(basePath, path), text);
    }
    await Deno.mkdir(join(basePath, "backends/configs/folder.json"));
    const before = await snapshot(root);

    const corrupt: [string, () => Promise<unknown>][] = [];
    for (
      const display of [
        "notjson",
        "truncated",
        "array",
        "empty",
        "nul",
        "bom",
        "partial",
        "wrongtype",
        "badtime",
        "folder",
      ]
    ) {
      corrupt.push(
        [`getConfig(${display})`, () => getConfig(adapter, display)],
        [`getBackendDict(${display})`, () => getBackendDict(adapter, display)],
        [
          `getBackendStatus(${display})`,
          () => getBackendStatus(adapter, display),
        ],
        [`timestampQueue(${display})`, () => timestampQueue(adapter, display)],
      );
      // getResult reads only what it needs of the config (display_name and
      // simulator give backend_name): a wrong num_wires does not concern it.
      if (display === "wrongtype") continue;
      corrupt.push([
        `getResult(${display})`,
        () =>
          getResult(adapter, {
            displayName: display,
            username: "alice",
            jobId: job(9),
          }),
      ]);
    }
    const ref = (n: number) => ({
      displayName: DISPLAY,
      username: "alice",
      jobId: job(n),
    });
    corrupt.push(
      ["getStatus(unknown status)", () => getStatus(adapter, ref(1))],
      ["getStatus(truncated)", () => getStatus(adapter, ref(2))],
      ["getStatus(null)", () => getStatus(adapter, ref(3))],
      ["getResult(results of wrong type)", () => getResult(adapter, ref(3))],
      ["getResult(status of wrong type)", () => getResult(adapter, ref(4))],
      ["getStatus(truncated meta)", () => getStatus(adapter, ref(5))],
      ["getResult(truncated meta)", () => getResult(adapter, ref(5))],
      ["uploadStatus(truncated meta)", () => uploadStatus(adapter, ref(5))],
      ["getStatus(meta of wrong types)", () => getStatus(adapter, ref(6))],
      [
        "getJobContent(html)",
        () => getJobContent(adapter, { storagePath: RUNNING, jobId: job(7) }),
      ],
      [
        "getJobContent(array)",
        () => getJobContent(adapter, { storagePath: RUNNING, jobId: job(8) }),
      ],
    );
    const failures: string[] = [];
    for (const [name, call] of corrupt) {
      const wrong = await judge({
        name,
        slot: "object",
        expect: CorruptRecordError,
        call,
      }, undefined);
      if (wrong !== undefined) failures.push(`${name}: ${wrong}`);
    }
    // Read-only calls that tolerate the corrupt files.
    for (
      const [name, call] of [
        ["getBackends", () => getBackends(adapter)],
        ["getQueueStats", () => getQueueStats(adapter, DISPLAY)],
        ["getFileQueue", () => getFileQueue(adapter, RUNNING)],
        ["getStatus(own job)", () =>
          getStatus(adapter, {
            displayName: DISPLAY,
            username: "alice",
            jobId: world.finished,
          })],
      ] as const
    ) {
      const wrong = await judge({
        name,
        slot: "object",
        expect: "lenient",
        call,
      }, undefined);
      if (wrong !== undefined) failures.push(`${name}: ${wrong}`);
    }
    assert.deepEqual(failures, []);
    assert.deepEqual(await snapshot(root), before, "a call changed a file");
  });
});

Deno.test("a stored result with a __proto__ key pollutes no prototype", async () => {
  await withTempDir(async (root) => {
    const basePath = await makeTree(root);
    const adapter = new LocalAdapter({ basePath, name: "lab" });
    const world = await populate(adapter);
    const jobId = world.finished;
    const text = JSON.stringify(resultOf(jobId)).replace(
      "{",
      `{"__proto__":{"polluted":true,"status":"ERROR"},`,
    );
    await Deno.writeTextFile(
      join(basePath, resultsPath(DISPLAY), `${jobId}.json`),
      text,
    );
    const result = await getResult(adapter, {
      displayName: DISPLAY,
      username: "alice",
      jobId,
    });
    assert.equal(result.status, "DONE");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

// ---------------------------------------------------------------- randomized round

const VALID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789";
/** Pieces that make a name invalid in every name slot wherever they stand. */
const POISONS = [
  "..",
  ".",
  "\\",
  "\0",
  " ",
  "\t",
  "\n",
  "\r",
  "\u200b",
  "\u200d",
  "\ufeff",
  "ｆ",
  "\u0435",
  "\u0430",
  "\u2024",
  "\uff0e",
  "\u2215",
  "\u2044",
  "\u202e",
  "\u2066",
  "\ud800",
  "\udfff",
  "🧪",
  "İ",
  "\u00e9",
  "%",
  "%2e",
  "%2f",
  ":",
  "*",
  "?",
  "~",
  "$",
  "'",
  '"',
  "<",
  ">",
  "|",
  "\u007f",
  "\u0085",
  "\u00a0",
  "\u3000",
  "//",
  ".json",
];
const CONTROLS = [
  "\0",
  "\u0001",
  "\t",
  "\n",
  "\r",
  "\u001b",
  "\u007f",
  "\u0085",
  "\u009f",
];

function generators(random: () => number) {
  const int = (min: number, max: number) =>
    min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)];
  const valid = (min: number, max: number) => {
    let text = "";
    const length = int(min, max);
    for (let i = 0; i < length; i++) {
      text += VALID_CHARS[int(0, VALID_CHARS.length - 1)];
    }
    return text;
  };
  const name = (): string => {
    switch (int(0, 5)) {
      case 0:
        return pick(HOSTILE_NAMES);
      case 1: // poisons inside valid text
        return Array.from(
          { length: int(1, 3) },
          () => valid(0, 12) + pick(POISONS),
        ).join("") + valid(0, 12);
      case 2: // too long for every slot, maybe poisoned
        return valid(129, 12_000) + (random() < 0.5 ? pick(POISONS) : "");
      case 3: // slashes that leave an empty segment
        return pick(["/", "", "a//"]) + valid(1, 10) + "/" + valid(0, 10) +
          pick(["/", "//", "/..", "/."]);
      case 4: // too many segments, or a traversal of random depth
        return random() < 0.5
          ? Array.from({ length: int(9, 40) }, () => valid(1, 4)).join("/")
          : "../".repeat(int(1, 50)) + valid(1, 10);
      default: // random code points
        return Array.from(
          { length: int(1, 20) },
          () => String.fromCharCode(int(0, 0xffff)),
        ).join("") + pick(POISONS);
    }
  };
  const user = (): string => {
    switch (int(0, 2)) {
      case 0:
        return "";
      case 1:
        return valid(0, 20) + pick(CONTROLS) + valid(0, 20);
      default:
        return "x".repeat(int(257, 12_000));
    }
  };
  const wrong = (): unknown => {
    switch (int(0, 4)) {
      case 0:
        return pick(WRONG_TYPES);
      case 1:
        return pick([
          random() * 1e9,
          -random(),
          int(-1000, 1000),
          2 ** 53,
          -0,
          Number.MAX_VALUE,
        ]);
      case 2:
        return Array.from({ length: int(0, 3) }, () => valid(1, 8));
      case 3:
        return { [valid(1, 5)]: valid(0, 5) };
      default:
        return pick([
          new Uint8Array(3),
          new Error("x"),
          Promise.resolve("fermions"),
          new Set(["fermions"]),
        ]);
    }
  };
  return { int, pick, name, user, wrong };
}

Deno.test("a randomized round of hostile inputs across the public functions", async () => {
  const seed = Number(
    Deno.env.get("HOSTILE_SEED") ?? Math.floor(Math.random() * 2 ** 32),
  );
  const ROUNDS = Number(Deno.env.get("HOSTILE_ROUNDS") ?? 3_000);
  console.log(`  seed ${seed} (replay with HOSTILE_SEED=${seed})`);
  const random = prng(seed);
  const gen = generators(random);
  await withTempDir(async (root) => {
    const basePath = await makeTree(root);
    const local = await populate(new LocalAdapter({ basePath, name: "lab" }));
    const memory = await populate(new MemoryAdapter({ name: "lab" }));
    const pools = [targets(local, basePath), targets(memory, basePath)];
    const before = await snapshot(root);
    const memoryBefore = await memorySnapshot(memory.adapter);
    const failures: string[] = [];
    const perSlot: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const target = gen.pick(gen.pick(pools));
      let value: unknown;
      do {
        if (target.slot === "options") value = null;
        else if (target.slot === "time") {
          value = gen.pick([...TIMES, gen.wrong()]);
        } else if (target.slot === "object") {
          value = gen.pick([...WRONG_OBJECTS, gen.wrong()]);
        } else if (random() < 0.25) value = gen.wrong();
        else if (target.slot === "user") value = gen.user();
        else if (target.slot === "basePath") {
          value = gen.pick(["", "\0", `${gen.name()}\0`]);
        } else value = gen.name();
      } while (acceptable(target.slot, value) || target.omit?.includes(value));
      perSlot[target.slot] = (perSlot[target.slot] ?? 0) + 1;
      const wrong = await judge(target, value);
      if (wrong !== undefined) {
        failures.push(
          `round ${round}: ${target.name} with v = ${show(value)}: ${wrong}`,
        );
      }
    }
    const total = Object.values(perSlot).reduce((sum, n) => sum + n, 0);
    console.log(`  ${total} random inputs by slot: ${JSON.stringify(perSlot)}`);
    assert(total >= Math.min(ROUNDS, 1_000), `only ${total} inputs were tried`);
    assert.deepEqual(failures, [], `seed ${seed}`);
    assert.deepEqual(
      await snapshot(root),
      before,
      `seed ${seed}: a refused call changed a file`,
    );
    assert.deepEqual(
      await memorySnapshot(memory.adapter),
      memoryBefore,
      `seed ${seed}`,
    );
  });
});
