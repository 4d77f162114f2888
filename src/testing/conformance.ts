/**
 * The conformance suite of {@linkcode StorageAdapter}: one list of behaviours
 * that every adapter must show, run as test steps against a factory. Both
 * adapters of this library run it; an adapter written elsewhere proves with it
 * that it can stand in for them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import type { JsonObject, StorageAdapter } from "../adapter.ts";
import {
  AlreadyExistsError,
  InactiveStorageError,
  InvalidNameError,
  InvalidRecordError,
  NotFoundError,
  SqoolerError,
  StorageError,
} from "../errors.ts";
import type { PeerHandle, PeerOutcome } from "./peer.ts";

/**
 * How {@linkcode testStorageAdapter} gets adapters, and what an adapter can do
 * beyond the contract (capabilities). A capability that is not given skips the
 * steps that need it; they show as ignored.
 *
 * @typeParam A The adapter class, so that `dispose` and the capabilities get
 * the adapter with its own fields.
 *
 * @example Run the suite with the capabilities of LocalAdapter
 * ```ts
 * import assert from "node:assert/strict";
 * import { LocalAdapter } from "@sqooler/storage";
 * import { type ConformanceOptions, testStorageAdapter } from "@sqooler/storage/testing";
 *
 * const options: ConformanceOptions<LocalAdapter> = {
 *   create: async (init) => new LocalAdapter({ basePath: await Deno.makeTempDir(), ...init }),
 *   dispose: async (adapter) => {
 *     adapter.close();
 *     await Deno.remove(adapter.basePath, { recursive: true });
 *   },
 *   // Another instance on the same folder acts like another process.
 *   reopen: (adapter) => new LocalAdapter({ basePath: adapter.basePath, rescanIntervalMs: 0 }),
 *   // A folder that is a symbolic link to itself fails every operation.
 *   breakFolder: (adapter, storagePath) =>
 *     Deno.symlink(`${adapter.basePath}/${storagePath}`, `${adapter.basePath}/${storagePath}`),
 *   rounds: 10,
 * };
 *
 * // The second instance sees what the first one wrote.
 * const adapter = await options.create({});
 * try {
 *   await adapter.upload("jobs/running", "job1", {});
 *   const other = await options.reopen!(adapter);
 *   assert.deepEqual(await other.list("jobs/running"), ["job1"]);
 * } finally {
 *   await options.dispose!(adapter);
 * }
 *
 * Deno.test("LocalAdapter conforms to the StorageAdapter contract", (t) =>
 *   testStorageAdapter(t, options));
 * ```
 */
export interface ConformanceOptions<A extends StorageAdapter = StorageAdapter> {
  /**
   * Makes an adapter over a fresh, empty storage. Every step calls it at
   * least once, so that no step sees another's records.
   *
   * @param init The name and activity to give the adapter; an absent field
   * takes the adapter's default.
   * @returns The adapter.
   * @throws {InvalidNameError} When `init.name` is not acceptable.
   */
  create(init: { name?: string; active?: boolean }): A | Promise<A>;

  /**
   * Frees what {@linkcode ConformanceOptions.create} made, e.g. removes a
   * temp folder. Called at the end of each step for every adapter that
   * `create` returned.
   *
   * @param adapter An adapter that `create` returned.
   * @returns Nothing, or a promise that settles when it is done.
   */
  dispose?(adapter: A): void | Promise<void>;

  /**
   * Capability: opens a second instance over the same storage as `adapter`,
   * the way another process would. Each must see the other's changes at
   * once (for {@linkcode LocalAdapter}, give the second one
   * `rescanIntervalMs: 0`). It enables the steps on visibility and races
   * between instances. The instance is not passed to `dispose`.
   *
   * @param adapter An adapter that `create` returned.
   * @returns Another instance over the same storage.
   */
  reopen?(adapter: A): StorageAdapter | Promise<StorageAdapter>;

  /**
   * Capability: starts another OS process with its own adapter over the same
   * storage as `adapter`, which runs the operations the suite sends it
   * (see {@linkcode spawnPeer} and {@linkcode servePeer}). It enables the
   * steps that race two processes. The suite closes it at the end of the
   * step.
   *
   * @param adapter An adapter that `create` returned.
   * @returns The handle of the other process.
   */
  peer?(adapter: A): PeerHandle | Promise<PeerHandle>;

  /**
   * Capability: makes a folder of the storage fail, so that every operation
   * on it meets an error of the storage itself (for {@linkcode LocalAdapter},
   * a symbolic link that points to itself: `ELOOP`). It enables the step
   * that checks that such failures arrive as {@linkcode StorageError}. The
   * folder does not exist before; its parent folder does.
   *
   * @param adapter An adapter that `create` returned.
   * @param storagePath The folder to break.
   * @returns Nothing, or a promise that settles when it is done.
   */
  breakFolder?(adapter: A, storagePath: string): void | Promise<void>;

  /**
   * Capability: sets the time at which a record counts as written, for an
   * adapter whose own order cannot tell the suite's quick writes apart. The
   * suite then gives the records whose order it checks times one second
   * apart, in the past. Without it, the suite expects the order of the
   * writes themselves, which both adapters of this library keep.
   *
   * @param adapter An adapter that `create` returned.
   * @param record The record, and the time to give it.
   * @returns Nothing, or a promise that settles when it is done.
   */
  setWriteTime?(
    adapter: A,
    record: { storagePath: string; id: string; time: Date },
  ): void | Promise<void>;

  /**
   * How many times each race is run, and how many records the concurrent
   * `moveOldest` steps share out.
   *
   * @default {50}
   */
  rounds?: number;
}

/** What a step gets: an adapter over fresh storage and the suite's helpers. */
interface Scope {
  readonly adapter: StorageAdapter;
  readonly rounds: number;
  /** Makes another adapter over fresh storage; it is disposed with the step. */
  create(init: { name?: string; active?: boolean }): Promise<StorageAdapter>;
  /** A second instance over the step's storage. */
  reopen(): Promise<StorageAdapter>;
  /** Another process over the step's storage; closed with the step. */
  peer(): Promise<PeerHandle>;
  /** Breaks a folder of the step's storage. */
  breakFolder(storagePath: string): Promise<void>;
  /** Uploads records in the given order, each written after the last. */
  writeInOrder(storagePath: string, ids: string[]): Promise<void>;
  /** Marks a record that was just written as the newest, when the adapter needs it. */
  stamp(storagePath: string, id: string): Promise<void>;
}

/** A capability that a step needs. */
type Need = "reopen" | "peer" | "breakFolder" | "sweepTempFiles";

interface Case {
  name: string;
  needs?: Need[];
  fn(scope: Scope): void | Promise<void>;
}

/**
 * Runs the conformance suite of {@linkcode StorageAdapter} as steps of a test:
 * every clause of the contract, one step each, named after the behaviour
 * (e.g. `moveOldest() gives concurrent callers different records`). Each step
 * gets an adapter over fresh, empty storage from `options.create`. A failing
 * step says which behaviour broke, and with which values.
 *
 * @typeParam A The adapter class.
 * @param t The test's context, whose `step` runs the cases.
 * @param options The factory, and the adapter's capabilities.
 * @returns A promise that settles when every step has run; a failed step
 * fails the test.
 *
 * @example Prove that MemoryAdapter keeps the contract
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryAdapter } from "@sqooler/storage";
 * import { testStorageAdapter } from "@sqooler/storage/testing";
 *
 * Deno.test("MemoryAdapter conforms to the StorageAdapter contract", async (t) => {
 *   let created = 0;
 *   await testStorageAdapter(t, {
 *     create: (init) => {
 *       created++;
 *       return new MemoryAdapter(init);
 *     },
 *   });
 *   assert(created > 0);
 * });
 * ```
 */
export async function testStorageAdapter<A extends StorageAdapter>(
  t: Deno.TestContext,
  options: ConformanceOptions<A>,
): Promise<void> {
  const rounds = options.rounds ?? 50;
  assert.ok(
    Number.isInteger(rounds) && rounds >= 2,
    `Invalid rounds ${rounds}: expected an integer of at least 2`,
  );
  // Whether the adapter has the optional method, asked of one adapter.
  const probe = await options.create({});
  const sweeps = typeof probe.sweepTempFiles === "function";
  await options.dispose?.(probe);
  const has: Record<Need, boolean> = {
    reopen: options.reopen !== undefined,
    peer: options.peer !== undefined,
    breakFolder: options.breakFolder !== undefined,
    sweepTempFiles: sweeps,
  };
  for (const testCase of CASES) {
    await t.step({
      name: testCase.name,
      ignore: (testCase.needs ?? []).some((need) => !has[need]),
      fn: () => runCase(testCase, options, rounds),
    });
  }
}

async function runCase<A extends StorageAdapter>(
  testCase: Case,
  options: ConformanceOptions<A>,
  rounds: number,
): Promise<void> {
  const created: A[] = [];
  const peers: PeerHandle[] = [];
  const create = async (init: { name?: string; active?: boolean }) => {
    const adapter = await options.create(init);
    created.push(adapter);
    return adapter;
  };
  try {
    const adapter = await create({});
    // Times in the past, one second apart, so that no clock can tie them.
    let clock = Date.now() - 86_400_000;
    const stamp = async (storagePath: string, id: string) => {
      clock += 1000;
      await options.setWriteTime?.(adapter, {
        storagePath,
        id,
        time: new Date(clock),
      });
    };
    await testCase.fn({
      adapter,
      rounds,
      create,
      reopen: async () => {
        assert.ok(options.reopen, "This step needs the reopen capability");
        return await options.reopen(adapter);
      },
      peer: async () => {
        assert.ok(options.peer, "This step needs the peer capability");
        const peer = await options.peer(adapter);
        peers.push(peer);
        return peer;
      },
      breakFolder: async (storagePath) => {
        assert.ok(options.breakFolder, "This step needs breakFolder");
        await options.breakFolder(adapter, storagePath);
      },
      writeInOrder: async (storagePath, ids) => {
        for (const id of ids) {
          await adapter.upload(storagePath, id, { id });
          await stamp(storagePath, id);
        }
      },
      stamp,
    });
  } finally {
    for (const peer of peers) await peer.close();
    for (const adapter of created) await options.dispose?.(adapter);
  }
}

const QUEUE = "jobs/queued/fermions";
const RUNNING = "jobs/running";
const OTHER = "jobs/deleted";

/** A record that uses every kind of JSON value. */
const SAMPLE: JsonObject = {
  job_id: "a04ebc8cdf96468fad72ca94",
  status: "DONE",
  shots: 100,
  ratio: -0.25,
  success: true,
  detail: null,
  nested: { list: [1, "two", [3], { four: 4 }], empty: {}, none: [] },
  text: 'Grüße, 量子 ✓ "quoted" \\ \n\t',
};

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

/** The value in a message. */
function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  if (value === null || value === undefined) return String(value);
  return `(a ${typeof value})`;
}

/** A value in an assertion's message, as JSON, `undefined` spelled out. */
function render(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(
      value,
      (_key, v) => v === undefined ? "<undefined>" : v,
    );
  } catch {
    // A value that JSON cannot hold shows as JavaScript prints it.
  }
  text ??= String(value);
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

/**
 * Fails, naming the behaviour and both values, unless `actual` deep-equals
 * `expected`.
 */
function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new assert.AssertionError({
      message: `${what}: got ${render(actual)}, expected ${render(expected)}`,
      actual,
      expected,
      operator: "deepStrictEqual",
    });
  }
}

/**
 * Calls a method that must reject with `type`, and returns the error. A
 * synchronous throw fails: callers of an adapter rely on rejected promises.
 */
async function rejection<E extends Error>(
  what: string,
  call: () => Promise<unknown>,
  type: ErrorClass<E>,
): Promise<E> {
  const error = await rejectionOf(what, call);
  assert.ok(
    error instanceof type,
    `${what} rejected with ${error}; expected ${type.name}`,
  );
  return error;
}

/** Calls a method that must reject, and returns what it rejected with. */
async function rejectionOf(
  what: string,
  call: () => Promise<unknown>,
): Promise<unknown> {
  let result: Promise<unknown>;
  try {
    result = call();
  } catch (error) {
    throw new assert.AssertionError({
      message: `${what} threw ${error} synchronously; expected a rejection`,
    });
  }
  assert.ok(result instanceof Promise, `${what} did not return a promise`);
  const outcome = await result.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  assert.ok(
    !outcome.ok,
    `${what} succeeded with ${
      render(outcome.ok && outcome.value)
    }; expected a rejection`,
  );
  return outcome.error;
}

/** Fails unless a record is gone: `get()` must throw NotFoundError. */
async function expectGone(
  adapter: StorageAdapter,
  storagePath: string,
  id: string,
  why: string,
): Promise<void> {
  const outcome = await adapter.get(storagePath, id).then(
    (content) => ({ content }),
    (error: unknown) => ({ error }),
  );
  if ("content" in outcome) {
    throw new assert.AssertionError({
      message: `${storagePath}/${id} is there, holding ${
        render(outcome.content)
      }; expected it gone, because ${why}`,
    });
  }
  assert.ok(
    outcome.error instanceof NotFoundError,
    `get() of ${storagePath}/${id} rejected with ${outcome.error}; expected NotFoundError`,
  );
}

/** The ids of a folder with their contents, in the adapter's order. */
async function snapshot(
  adapter: StorageAdapter,
  paths: string[],
): Promise<[string, [string, JsonObject][]][]> {
  const result: [string, [string, JsonObject][]][] = [];
  for (const path of paths) {
    const entries: [string, JsonObject][] = [];
    for (const id of await adapter.list(path)) {
      entries.push([id, await adapter.get(path, id)]);
    }
    result.push([path, entries]);
  }
  return result;
}

function sorted(values: readonly (string | undefined | null)[]): string[] {
  return values.filter((v) => typeof v === "string").sort();
}

function ids(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** Takes every record of a folder with moveOldest(), in turn. */
async function drain(
  adapter: StorageAdapter,
  from: string,
  to: string,
): Promise<string[]> {
  const taken: string[] = [];
  for (let id = await adapter.moveOldest(from, to); id !== undefined;) {
    taken.push(id);
    id = await adapter.moveOldest(from, to);
  }
  return taken;
}

/** Lets other callers run: a few turns of the microtask queue. */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await Promise.resolve();
}

/** A check that throws `refusal` unless the record holds `expected`. */
function holding(expected: JsonObject, refusal: Error) {
  return {
    check(current: JsonObject) {
      if (!isDeepStrictEqual(current, expected)) throw refusal;
    },
  };
}

/** The outcomes of a request to a peer, each of which must have succeeded. */
async function succeeded(
  what: string,
  outcomes: Promise<PeerOutcome[]>,
): Promise<unknown[]> {
  const values: unknown[] = [];
  for (const outcome of await outcomes) {
    if (!outcome.ok) {
      throw new assert.AssertionError({
        message:
          `${what} failed in the other process: ${outcome.error.name}: ${outcome.error.message}`,
      });
    }
    values.push(outcome.value);
  }
  return values;
}

/** One call of each method, with acceptable arguments. */
function everyOperation(
  adapter: StorageAdapter,
): [string, () => Promise<unknown>][] {
  const calls: [string, () => Promise<unknown>][] = [
    ["upload()", () => adapter.upload(QUEUE, "r1", { v: 1 })],
    ["get()", () => adapter.get(QUEUE, "r1")],
    ["update()", () => adapter.update(QUEUE, "r1", { v: 2 })],
    ["move()", () => adapter.move(QUEUE, RUNNING, "r1")],
    ["moveOldest()", () => adapter.moveOldest(QUEUE, RUNNING)],
    ["delete()", () => adapter.delete(QUEUE, "r1")],
    ["list()", () => adapter.list(QUEUE)],
  ];
  if (adapter.sweepTempFiles !== undefined) {
    calls.push(["sweepTempFiles()", () => adapter.sweepTempFiles!()]);
  }
  return calls;
}

// Paths and ids that a careless adapter would resolve into the watched
// folders below, so that any write through them shows.
const BAD_PATHS: unknown[] = [
  "",
  "/",
  `/${QUEUE}`,
  `${QUEUE}/`,
  "jobs//queued/fermions",
  "jobs/queued/../queued/fermions",
  "jobs/./queued/fermions",
  "../fermions",
  "jobs\\queued\\fermions",
  `${QUEUE}\0`,
  "jobs/queued/fermions\0/x",
  42,
  null,
  undefined,
  ["jobs", "queued", "fermions"],
  {},
];
const BAD_IDS: unknown[] = [
  "",
  ".",
  "..",
  "../fermions/r1",
  "x/../r1",
  "/r1",
  "r1/",
  "x\\r1",
  "r1\0",
  42,
  null,
  undefined,
  {},
];
const WATCHED = [QUEUE, RUNNING, "jobs/queued", "jobs", "fermions", "queued"];

/**
 * Makes the calls for each bad value, which must all reject with
 * InvalidNameError, and checks that none of them changed a watched folder.
 */
async function refusedAndUnchanged(
  adapter: StorageAdapter,
  { kind, values, callsWith }: {
    kind: string;
    values: unknown[];
    callsWith: (bad: unknown) => [string, () => Promise<unknown>][];
  },
): Promise<void> {
  await adapter.upload(QUEUE, "r1", { v: 1 });
  await adapter.upload(RUNNING, "r9", { v: 9 });
  const before = await snapshot(adapter, WATCHED);
  for (const bad of values) {
    for (const [what, call] of callsWith(bad)) {
      await rejection(`${what} with ${show(bad)}`, call, InvalidNameError);
    }
    expectEqual(
      await snapshot(adapter, WATCHED),
      before,
      `Calls with the ${kind} ${show(bad)} changed what is stored`,
    );
  }
}

function cyclic(): object {
  const value: { self?: object } = {};
  value.self = value;
  return value;
}
const BAD_CONTENT: [string, () => unknown][] = [
  ["an array", () => [1, 2]],
  ["a string", () => "text"],
  ["a number", () => 42],
  ["null", () => null],
  ["undefined", () => undefined],
  ["a function", () => () => 1],
  ["a cyclic object", cyclic],
  ["a Date, which is JSON text but not a JSON object", () => new Date(0)],
];

const CASES: Case[] = [
  {
    name: "upload() then get() returns the same content",
    async fn({ adapter }) {
      await adapter.upload(QUEUE, "r1", SAMPLE);
      await adapter.upload(QUEUE, "empty", {});
      expectEqual(await adapter.get(QUEUE, "r1"), SAMPLE, "get() of r1");
      expectEqual(await adapter.get(QUEUE, "empty"), {}, "get() of empty");
    },
  },
  {
    name:
      "a large record (a result of 200,000 shots, over 2 MB) is written, replaced and read back unchanged, Python's literals included",
    async fn({ adapter }) {
      const memory = Array.from({ length: 200_000 }, (_, i) => `${i % 2} 1 0`);
      const large = {
        ...SAMPLE,
        results: [{ header: { name: "experiment_0" }, data: { memory } }],
        odd: [NaN, -Infinity, { "\n": "key with an escape", "0": 0 }],
      };
      await adapter.upload(QUEUE, "large", large);
      expectEqual(await adapter.get(QUEUE, "large"), large, "get() of large");
      const replaced = { ...large, status: "ERROR" };
      await adapter.update(QUEUE, "large", replaced);
      expectEqual(
        await adapter.get(QUEUE, "large"),
        replaced,
        "get() after update()",
      );
      await rejection(
        "upload() of a large record with a cycle",
        () => {
          const cyclic: Record<string, unknown> = { memory };
          (memory as unknown[]).push(cyclic);
          return adapter.upload(QUEUE, "cyclic", cyclic).finally(() =>
            (memory as unknown[]).pop()
          );
        },
        InvalidRecordError,
      );
      expectEqual(await adapter.list(QUEUE), ["large"], "list() of the folder");
    },
  },
  {
    name:
      "upload() of an existing id throws AlreadyExistsError and keeps the first content",
    async fn({ adapter }) {
      await adapter.upload(QUEUE, "r1", { v: 1 });
      const error = await rejection(
        "upload() of an existing record",
        () => adapter.upload(QUEUE, "r1", { v: 2 }),
        AlreadyExistsError,
      );
      assert.match(error.message, /r1/, "The message names the record");
      expectEqual(
        await adapter.get(QUEUE, "r1"),
        { v: 1 },
        "The record after a refused second upload()",
      );
      expectEqual(await adapter.list(QUEUE), ["r1"], "list() of the folder");
    },
  },
  {
    name:
      "upload() with overwrite creates a record, or replaces it as update() does: it becomes the newest",
    async fn({ adapter, writeInOrder, stamp }) {
      await adapter.upload(OTHER, "new", { v: 1 }, { overwrite: true });
      expectEqual(
        await adapter.get(OTHER, "new"),
        { v: 1 },
        "get() of a record made by upload() with overwrite",
      );
      await writeInOrder(QUEUE, ["c", "b", "a"]);
      expectEqual(
        await adapter.moveOldest(QUEUE, RUNNING),
        "c",
        "moveOldest() after writing c, b, a",
      );
      await adapter.upload(QUEUE, "b", { v: 2 }, { overwrite: true });
      await stamp(QUEUE, "b");
      expectEqual(
        await adapter.list(QUEUE),
        ["a", "b"],
        "list() after writing b, a and then uploading b again with overwrite",
      );
      expectEqual(
        await drain(adapter, QUEUE, RUNNING),
        ["a", "b"],
        "moveOldest() in turn after b was uploaded again with overwrite",
      );
      expectEqual(
        await adapter.get(RUNNING, "b"),
        { v: 2 },
        "The replaced record after it was moved",
      );
      await rejection(
        "upload() with overwrite: 1",
        // deno-lint-ignore no-explicit-any
        () => adapter.upload(QUEUE, "x", {}, { overwrite: 1 as any }),
        InvalidRecordError,
      );
      await expectGone(adapter, QUEUE, "x", "a refused overwrite option");
    },
  },
  {
    name: "upload() gives exactly one of two concurrent creators the record",
    async fn({ adapter, rounds }) {
      for (const id of ids("r", rounds)) {
        await createRace(adapter, adapter, id);
      }
    },
  },
  {
    name: "get() of a missing record throws NotFoundError naming it",
    async fn({ adapter }) {
      const error = await rejection(
        "get() in a missing folder",
        () => adapter.get(QUEUE, "r1"),
        NotFoundError,
      );
      assert.match(error.message, /r1/, "The message names the record");
      await adapter.upload(QUEUE, "r2", {});
      await adapter.upload("jobs/queued/fermions2", "r1", {});
      await rejection(
        "get() of an id that only another folder holds",
        () => adapter.get(QUEUE, "r1"),
        NotFoundError,
      );
    },
  },
  {
    name: "update() replaces the whole content",
    async fn({ adapter }) {
      await adapter.upload(QUEUE, "r1", SAMPLE);
      await adapter.update(QUEUE, "r1", { status: "ERROR" });
      expectEqual(
        await adapter.get(QUEUE, "r1"),
        { status: "ERROR" },
        "get() after update()",
      );
      expectEqual(await adapter.list(QUEUE), ["r1"], "list() after update()");
    },
  },
  {
    name:
      "update() of a missing record throws NotFoundError and creates nothing",
    async fn({ adapter }) {
      await rejection(
        "update() in a missing folder",
        () => adapter.update(QUEUE, "r1", { v: 1 }),
        NotFoundError,
      );
      await adapter.upload(QUEUE, "r2", {});
      await rejection(
        "update() of a missing record",
        () => adapter.update(QUEUE, "r1", { v: 1 }),
        NotFoundError,
      );
      expectEqual(await adapter.list(QUEUE), ["r2"], "list() of the folder");
      await expectGone(adapter, QUEUE, "r1", "update() does not create");
    },
  },
  {
    name: "update() counts as a write: the record becomes the newest",
    async fn({ adapter, writeInOrder, stamp }) {
      await writeInOrder(QUEUE, ["c", "b", "a"]);
      expectEqual(
        await adapter.moveOldest(QUEUE, RUNNING),
        "c",
        "moveOldest() after writing c, b, a",
      );
      await adapter.update(QUEUE, "b", { v: 2 });
      await stamp(QUEUE, "b");
      expectEqual(
        await adapter.list(QUEUE),
        ["a", "b"],
        "list() after writing b, a and then updating b",
      );
      expectEqual(
        await drain(adapter, QUEUE, RUNNING),
        ["a", "b"],
        "moveOldest() in turn after updating b",
      );
      expectEqual(
        await adapter.get(RUNNING, "b"),
        { v: 2 },
        "The updated record after it was moved",
      );
    },
  },
  {
    name: "update() with a check gives it the current content",
    async fn({ adapter }) {
      await adapter.upload(QUEUE, "r1", SAMPLE);
      const seen: JsonObject[] = [];
      const check = { check: (current: JsonObject) => void seen.push(current) };
      await adapter.update(QUEUE, "r1", { v: 2 }, check);
      await adapter.update(QUEUE, "r1", { v: 3 }, check);
      expectEqual(
        seen,
        [SAMPLE, { v: 2 }],
        "What check() saw in two update()s",
      );
      expectEqual(await adapter.get(QUEUE, "r1"), { v: 3 }, "get() after");
    },
  },
  {
    name:
      "update() whose check throws rejects with that error and changes nothing, not even the order",
    async fn({ adapter, writeInOrder }) {
      await writeInOrder(QUEUE, ["r1", "r2"]);
      const refusal = new Error("refused by the conformance suite");
      const error = await rejectionOf(
        "update() whose check throws",
        () =>
          adapter.update(QUEUE, "r1", { v: 2 }, {
            check() {
              throw refusal;
            },
          }),
      );
      assert.ok(
        error === refusal,
        `update() whose check threw rejected with ${error}; expected the error that check() threw`,
      );
      expectEqual(
        await adapter.get(QUEUE, "r1"),
        { id: "r1" },
        "The record after a refused update()",
      );
      expectEqual(
        await adapter.list(QUEUE),
        ["r1", "r2"],
        "list() after a refused update() of r1 (it must not become the newest)",
      );
    },
  },
  {
    name:
      "delete() with a check gives it the current content, and a throwing check keeps the record",
    async fn({ adapter }) {
      await adapter.upload(QUEUE, "r1", { v: 1 });
      const seen: JsonObject[] = [];
      const refusal = new Error("refused by the conformance suite");
      const error = await rejectionOf(
        "delete() whose check throws",
        () =>
          adapter.delete(QUEUE, "r1", {
            check(current) {
              seen.push(current);
              throw refusal;
            },
          }),
      );
      assert.ok(
        error === refusal,
        `delete() whose check threw rejected with ${error}; expected the error that check() threw`,
      );
      expectEqual(
        await adapter.get(QUEUE, "r1"),
        { v: 1 },
        "The record after a refused delete()",
      );
      await adapter.delete(QUEUE, "r1", {
        check: (current) => void seen.push(current),
      });
      expectEqual(seen, [{ v: 1 }, { v: 1 }], "What check() saw");
      await expectGone(adapter, QUEUE, "r1", "delete() with a check passed");
    },
  },
  {
    name:
      "update() and delete() of a missing record throw NotFoundError without calling the check",
    async fn({ adapter }) {
      let calls = 0;
      const check = { check: () => void calls++ };
      await rejection(
        "update() with a check of a missing record",
        () => adapter.update(QUEUE, "r1", { v: 1 }, check),
        NotFoundError,
      );
      await rejection(
        "delete() with a check of a missing record",
        () => adapter.delete(QUEUE, "r1", check),
        NotFoundError,
      );
      expectEqual(calls, 0, "How often check() was called");
      expectEqual(await adapter.list(QUEUE), [], "list() of the folder");
    },
  },
  {
    name:
      "update()s that each check for the content they read: exactly one of two concurrent ones wins",
    async fn({ adapter, rounds }) {
      for (const id of ids("r", rounds)) {
        await casRace(adapter, adapter, id);
      }
    },
  },
  {
    name:
      "update() and delete() of one record at once: a deleted record never reappears",
    async fn({ adapter, rounds }) {
      for (const [i, id] of ids("r", rounds).entries()) {
        await updateDeleteRace(adapter, adapter, id, i);
      }
    },
  },
  {
    name:
      "update() and move() of one record at once: a moved record never reappears in its old folder",
    async fn({ adapter, rounds }) {
      for (const [i, id] of ids("r", rounds).entries()) {
        await updateMoveRace(adapter, adapter, id, i);
      }
    },
  },
  {
    name: "delete() removes the record, and its id can be used again",
    async fn({ adapter }) {
      await adapter.upload(QUEUE, "r1", { v: 1 });
      await adapter.upload(QUEUE, "r2", { v: 2 });
      await adapter.delete(QUEUE, "r1");
      await expectGone(adapter, QUEUE, "r1", "it was deleted");
      expectEqual(await adapter.list(QUEUE), ["r2"], "list() after delete()");
      await adapter.upload(QUEUE, "r1", { v: 3 });
      expectEqual(
        await adapter.get(QUEUE, "r1"),
        { v: 3 },
        "get() of a record made again after delete()",
      );
    },
  },
  {
    name: "delete() of a missing record throws NotFoundError",
    async fn({ adapter }) {
      await rejection(
        "delete() in a missing folder",
        () => adapter.delete(QUEUE, "r1"),
        NotFoundError,
      );
      await adapter.upload(QUEUE, "r1", {});
      await adapter.delete(QUEUE, "r1");
      const error = await rejection(
        "delete() of a deleted record",
        () => adapter.delete(QUEUE, "r1"),
        NotFoundError,
      );
      assert.match(error.message, /r1/, "The message names the record");
    },
  },
  {
    name: "move() moves the record and keeps its content",
    async fn({ adapter }) {
      await adapter.upload(QUEUE, "r1", SAMPLE);
      await adapter.move(QUEUE, RUNNING, "r1");
      expectEqual(await adapter.get(RUNNING, "r1"), SAMPLE, "The moved record");
      await expectGone(adapter, QUEUE, "r1", "it was moved away");
      expectEqual(await adapter.list(QUEUE), [], "list() of the old folder");
      expectEqual(await adapter.list(RUNNING), ["r1"], "list() of the new");
    },
  },
  {
    name: "move() replaces a record of the same id in the target folder",
    async fn({ adapter }) {
      await adapter.upload(QUEUE, "r1", { v: "moved" });
      await adapter.upload(RUNNING, "r1", { v: "replaced" });
      await adapter.move(QUEUE, RUNNING, "r1");
      expectEqual(
        await adapter.get(RUNNING, "r1"),
        { v: "moved" },
        "The record in the target folder after the move",
      );
      expectEqual(await adapter.list(RUNNING), ["r1"], "list() of the target");
      expectEqual(await adapter.list(QUEUE), [], "list() of the source");
    },
  },
  {
    name: "move() of a missing record throws NotFoundError and creates nothing",
    async fn({ adapter }) {
      await rejection(
        "move() from a missing folder",
        () => adapter.move(QUEUE, RUNNING, "r1"),
        NotFoundError,
      );
      await adapter.upload(QUEUE, "r2", {});
      const error = await rejection(
        "move() of a missing record",
        () => adapter.move(QUEUE, RUNNING, "r1"),
        NotFoundError,
      );
      assert.match(error.message, /r1/, "The message names the record");
      expectEqual(await adapter.list(RUNNING), [], "list() of the target");
      expectEqual(await adapter.list(QUEUE), ["r2"], "list() of the source");
    },
  },
  {
    name: "move() gives exactly one of two concurrent movers the record",
    async fn({ adapter, rounds }) {
      for (const id of ids("r", rounds)) {
        await adapter.upload(QUEUE, id, { id });
        await race(adapter, adapter, id);
      }
      expectEqual(await adapter.list(QUEUE), [], "list() of the source");
    },
  },
  {
    name: "move() keeps a record's place: moved back, it is where it was",
    async fn({ adapter, writeInOrder }) {
      await writeInOrder(QUEUE, ["c", "b", "a"]);
      await adapter.move(QUEUE, OTHER, "b");
      expectEqual(
        await adapter.list(QUEUE),
        ["c", "a"],
        "list() after writing c, b, a and moving b away",
      );
      await adapter.move(OTHER, QUEUE, "b");
      expectEqual(
        await adapter.list(QUEUE),
        ["c", "b", "a"],
        "list() after moving b back",
      );
      expectEqual(
        await adapter.moveOldest(QUEUE, RUNNING),
        "c",
        "moveOldest() after moving b back",
      );
      await adapter.move(RUNNING, QUEUE, "c");
      expectEqual(
        await adapter.list(QUEUE),
        ["c", "b", "a"],
        "list() after moving the taken c back",
      );
      expectEqual(
        await adapter.moveOldest(QUEUE, RUNNING),
        "c",
        "moveOldest() after moving c back",
      );
    },
  },
  {
    name: "list() gives the ids oldest first",
    async fn({ adapter, writeInOrder }) {
      // Against the ids' own order, so that sorting by id does not pass.
      const order = ["zulu", "mike", "alpha", "x-ray", "bravo"];
      await writeInOrder(QUEUE, order);
      expectEqual(
        await adapter.list(QUEUE),
        order,
        "list() after writing zulu, mike, alpha, x-ray, bravo in this order",
      );
    },
  },
  {
    name: "list() of a missing or emptied folder gives []",
    async fn({ adapter }) {
      expectEqual(await adapter.list(QUEUE), [], "list() of a missing folder");
      await adapter.upload(QUEUE, "r1", {});
      await adapter.delete(QUEUE, "r1");
      expectEqual(await adapter.list(QUEUE), [], "list() of an emptied one");
    },
  },
  {
    name:
      "list() gives only the folder's own records, not those of sub-folders",
    async fn({ adapter }) {
      await adapter.upload("jobs", "top", {});
      await adapter.upload("jobs/queued", "middle", {});
      await adapter.upload(QUEUE, "leaf", {});
      await adapter.upload(`${QUEUE}2`, "sibling", {});
      expectEqual(await adapter.list("jobs"), ["top"], "list() of jobs");
      expectEqual(
        await adapter.list("jobs/queued"),
        ["middle"],
        "list() of jobs/queued",
      );
      expectEqual(await adapter.list(QUEUE), ["leaf"], `list() of ${QUEUE}`);
    },
  },
  {
    name: "moveOldest() takes the oldest record first and keeps its content",
    async fn({ adapter, writeInOrder }) {
      const order = ["zulu", "mike", "alpha", "x-ray", "bravo"];
      await writeInOrder(QUEUE, order);
      const taken: (string | undefined)[] = [];
      for (let i = 0; i <= order.length; i++) {
        taken.push(await adapter.moveOldest(QUEUE, RUNNING));
      }
      expectEqual(
        taken,
        [...order, undefined],
        "moveOldest() six times after writing zulu, mike, alpha, x-ray, bravo in this order",
      );
      expectEqual(
        await adapter.get(RUNNING, "mike"),
        { id: "mike" },
        "The content of a taken record",
      );
      expectEqual(
        await adapter.list(QUEUE),
        [],
        "list() of the drained folder",
      );
    },
  },
  {
    name: "moveOldest() gives undefined for an empty or missing folder",
    async fn({ adapter }) {
      expectEqual(
        await adapter.moveOldest(QUEUE, RUNNING),
        undefined,
        "moveOldest() from a missing folder",
      );
      await adapter.upload(QUEUE, "r1", {});
      await adapter.delete(QUEUE, "r1");
      expectEqual(
        await adapter.moveOldest(QUEUE, RUNNING),
        undefined,
        "moveOldest() from an emptied folder",
      );
      expectEqual(await adapter.list(RUNNING), [], "list() of the target");
    },
  },
  {
    name: "moveOldest() skips records that were deleted or moved away",
    async fn({ adapter, writeInOrder }) {
      await writeInOrder(QUEUE, ["d", "c", "b", "a"]);
      expectEqual(
        await adapter.moveOldest(QUEUE, RUNNING),
        "d",
        "moveOldest() after writing d, c, b, a",
      );
      await adapter.delete(QUEUE, "c");
      await adapter.move(QUEUE, OTHER, "b");
      expectEqual(
        await drain(adapter, QUEUE, RUNNING),
        ["a"],
        "moveOldest() in turn after deleting c and moving b away",
      );
      expectEqual(await adapter.list(OTHER), ["b"], "list() of where b went");
    },
  },
  {
    name: "moveOldest() sees records uploaded after the folder ran empty",
    async fn({ adapter, writeInOrder }) {
      await writeInOrder(QUEUE, ["b"]);
      expectEqual(
        await drain(adapter, QUEUE, RUNNING),
        ["b"],
        "moveOldest() in turn",
      );
      await writeInOrder(QUEUE, ["a"]);
      expectEqual(
        await adapter.moveOldest(QUEUE, RUNNING),
        "a",
        "moveOldest() after an upload to the emptied folder",
      );
    },
  },
  {
    name: "moveOldest() takes the records in the order list() gives",
    async fn({ adapter, writeInOrder }) {
      await writeInOrder(QUEUE, ["m", "k", "z", "a", "q", "c", "x"]);
      expectEqual(
        await adapter.moveOldest(QUEUE, RUNNING),
        "m",
        "moveOldest() after writing m, k, z, a, q, c, x",
      );
      await adapter.move(RUNNING, QUEUE, "m");
      await adapter.delete(QUEUE, "z");
      await adapter.move(QUEUE, OTHER, "a");
      await adapter.move(OTHER, QUEUE, "a");
      await writeInOrder(QUEUE, ["b"]);
      const expected = await adapter.list(QUEUE);
      expectEqual(
        expected,
        ["m", "k", "a", "q", "c", "x", "b"],
        "list() after moving m back, deleting z, moving a away and back, and writing b",
      );
      expectEqual(
        await drain(adapter, QUEUE, RUNNING),
        expected,
        "moveOldest() in turn, against list()",
      );
    },
  },
  {
    name:
      "moveOldest() gives concurrent callers different records and loses none",
    async fn({ adapter, rounds }) {
      const all = ids("r", rounds);
      for (const id of all) await adapter.upload(QUEUE, id, { id });
      const taken = await Promise.all(
        all.map(() => adapter.moveOldest(QUEUE, RUNNING)),
      );
      expectEqual(
        sorted(taken),
        sorted(all),
        `What ${rounds} concurrent moveOldest() calls took from ${rounds} records`,
      );
      expectEqual(await adapter.list(QUEUE), [], "list() of the source");
      expectEqual(
        sorted(await adapter.list(RUNNING)),
        sorted(all),
        "list() of the target",
      );
      for (const id of all) {
        expectEqual(
          await adapter.get(RUNNING, id),
          { id },
          `The content of ${id}`,
        );
      }
      // More callers than records: the extra ones get undefined.
      const more = ids("s", 3);
      for (const id of more) await adapter.upload(QUEUE, id, { id });
      const second = await Promise.all(
        ids("", 6).map(() => adapter.moveOldest(QUEUE, OTHER)),
      );
      expectEqual(
        [sorted(second), second.filter((id) => id === undefined).length],
        [sorted(more), 3],
        "What 6 concurrent moveOldest() calls took from 3 records, and how many got undefined",
      );
    },
  },
  {
    name:
      "moveOldest() asks prepare() about each candidate, oldest first, and moves the first it accepts",
    async fn({ adapter, writeInOrder }) {
      await writeInOrder(QUEUE, ["c", "b", "a"]);
      const asked: string[] = [];
      const id = await adapter.moveOldest(QUEUE, RUNNING, {
        prepare: async (id) => {
          asked.push(id);
          await turns(2);
          return id !== "c";
        },
      });
      expectEqual(
        [id, asked],
        ["b", ["c", "b"]],
        "moveOldest() with a prepare() that refuses c: the id, and whom prepare() was asked about",
      );
      expectEqual(await adapter.list(RUNNING), ["b"], "list() of the target");
    },
  },
  {
    name:
      "a candidate that prepare() refused keeps its place for the next moveOldest()",
    async fn({ adapter, writeInOrder }) {
      await writeInOrder(QUEUE, ["c", "b", "a"]);
      const refuseC = { prepare: (id: string) => Promise.resolve(id !== "c") };
      expectEqual(
        await adapter.moveOldest(QUEUE, RUNNING, refuseC),
        "b",
        "moveOldest() with a prepare() that refuses c",
      );
      expectEqual(
        await adapter.list(QUEUE),
        ["c", "a"],
        "list() after c was refused and b taken",
      );
      expectEqual(
        await drain(adapter, QUEUE, RUNNING),
        ["c", "a"],
        "moveOldest() in turn, without prepare(), after c was refused",
      );
    },
  },
  {
    name:
      "moveOldest() gives undefined when prepare() refuses every candidate, and moves nothing",
    async fn({ adapter, writeInOrder }) {
      await writeInOrder(QUEUE, ["c", "b", "a"]);
      const asked: string[] = [];
      const id = await adapter.moveOldest(QUEUE, RUNNING, {
        prepare: (id) => {
          asked.push(id);
          return Promise.resolve(false);
        },
      });
      expectEqual(
        [id, asked],
        [undefined, ["c", "b", "a"]],
        "moveOldest() with a prepare() that refuses all: the id, and whom prepare() was asked about (each once)",
      );
      expectEqual(
        await adapter.list(QUEUE),
        ["c", "b", "a"],
        "list() after every candidate was refused",
      );
      expectEqual(await adapter.list(RUNNING), [], "list() of the target");
    },
  },
  {
    name:
      "moveOldest() rejects with the error that prepare() threw, and the candidate keeps its place",
    async fn({ adapter, writeInOrder }) {
      await writeInOrder(QUEUE, ["b", "a"]);
      const failure = new Error("prepare() failed in the conformance suite");
      const error = await rejectionOf(
        "moveOldest() whose prepare() throws",
        () =>
          adapter.moveOldest(QUEUE, RUNNING, {
            prepare: () => Promise.reject(failure),
          }),
      );
      assert.ok(
        error === failure,
        `moveOldest() whose prepare() threw rejected with ${error}; expected the error that prepare() threw`,
      );
      expectEqual(
        await drain(adapter, QUEUE, RUNNING),
        ["b", "a"],
        "moveOldest() in turn after prepare() failed on b",
      );
    },
  },
  {
    name:
      "moveOldest() calls rollback() for a candidate that was moved away while prepare() ran, then takes the next",
    async fn({ adapter, writeInOrder }) {
      await writeInOrder(QUEUE, ["c", "b", "a"]);
      const rolledBack: string[] = [];
      const id = await adapter.moveOldest(QUEUE, RUNNING, {
        prepare: async (id) => {
          if (id === "c") await adapter.move(QUEUE, OTHER, "c");
          return true;
        },
        rollback: async (id) => {
          await turns(1);
          rolledBack.push(id);
        },
      });
      expectEqual(
        [id, rolledBack],
        ["b", ["c"]],
        "moveOldest() whose candidate c was moved away during prepare(): the id, and what was rolled back",
      );
      expectEqual(await adapter.list(OTHER), ["c"], "list() of where c went");
      expectEqual(await adapter.list(RUNNING), ["b"], "list() of the target");
    },
  },
  {
    name:
      "moveOldest() with prepare() gives concurrent callers different records and rolls back none",
    async fn({ adapter, rounds }) {
      const all = ids("r", rounds);
      for (const id of all) await adapter.upload(QUEUE, id, { id });
      const prepared: string[] = [];
      const rolledBack: string[] = [];
      const options = {
        prepare: async (id: string) => {
          prepared.push(id);
          await turns(3);
          return true;
        },
        rollback: (id: string) => {
          rolledBack.push(id);
          return Promise.resolve();
        },
      };
      const taken = await Promise.all(
        all.map(() => adapter.moveOldest(QUEUE, RUNNING, options)),
      );
      expectEqual(
        sorted(taken),
        sorted(all),
        `What ${rounds} concurrent moveOldest() calls with prepare() took from ${rounds} records`,
      );
      expectEqual(
        [sorted(prepared), rolledBack],
        [sorted(all), []],
        "Whom prepare() was asked about (each record once), and what was rolled back",
      );
    },
  },
  {
    name: "upload() and update() store a copy of the content",
    async fn({ adapter }) {
      const content = { v: 1, nested: { list: [1, 2] } };
      await adapter.upload(QUEUE, "r1", content);
      content.v = 2;
      content.nested.list.push(3);
      expectEqual(
        await adapter.get(QUEUE, "r1"),
        { v: 1, nested: { list: [1, 2] } },
        "get() after the uploaded object was changed",
      );
      const update = { v: 3, nested: { list: [4] } };
      await adapter.update(QUEUE, "r1", update);
      update.nested.list.push(5);
      expectEqual(
        await adapter.get(QUEUE, "r1"),
        { v: 3, nested: { list: [4] } },
        "get() after the object of update() was changed",
      );
    },
  },
  {
    name: "get() returns a copy that can be changed freely",
    async fn({ adapter }) {
      await adapter.upload(QUEUE, "r1", { v: 1, nested: { list: [1] } });
      const first = await adapter.get(QUEUE, "r1");
      first.v = 2;
      (first.nested as { list: number[] }).list.push(2);
      const second = await adapter.get(QUEUE, "r1");
      assert.notEqual(second, first, "get() returned the same object twice");
      expectEqual(
        second,
        { v: 1, nested: { list: [1] } },
        "get() after the object of an earlier get() was changed",
      );
    },
  },
  {
    name:
      "every operation throws InactiveStorageError when the storage is not active",
    async fn({ create }) {
      const inactive = await create({ active: false });
      assert.equal(
        inactive.active,
        false,
        "active after create({ active: false })",
      );
      for (const [what, call] of everyOperation(inactive)) {
        await rejection(what, call, InactiveStorageError);
      }
    },
  },
  {
    name: "the storage is active and has a valid name by default",
    fn({ adapter }) {
      expectEqual(adapter.active, true, "active");
      assert.match(adapter.name, /^[a-z0-9]+$/, `The name ${adapter.name}`);
    },
  },
  {
    name: "the name is lowercased",
    async fn({ create }) {
      expectEqual(
        (await create({ name: "Whatever" })).name,
        "whatever",
        'The name given "Whatever"',
      );
      expectEqual(
        (await create({ name: "LabStore2" })).name,
        "labstore2",
        'The name given "LabStore2"',
      );
    },
  },
  {
    name:
      "a name with other characters than letters and digits throws InvalidNameError",
    async fn({ create }) {
      for (
        const name of ["Whatever_is_wrong", "Whatever%/iswrong", "", "a b"]
      ) {
        await rejection(
          `create({ name: ${show(name)} })`,
          // The factory may throw at once; that is fine for a constructor.
          async () => await create({ name }),
          InvalidNameError,
        );
      }
    },
  },
  {
    name: "invalid storage paths throw InvalidNameError and change nothing",
    fn: ({ adapter }) =>
      refusedAndUnchanged(adapter, {
        kind: "path",
        values: BAD_PATHS,
        callsWith: (bad) => {
          const path = bad as string;
          return [
            ["upload", () => adapter.upload(path, "r2", { v: 2 })],
            ["get", () => adapter.get(path, "r1")],
            ["update", () => adapter.update(path, "r1", { v: 2 })],
            ["delete", () => adapter.delete(path, "r1")],
            ["list", () => adapter.list(path)],
            ["move from", () => adapter.move(path, RUNNING, "r1")],
            ["move to", () => adapter.move(QUEUE, path, "r1")],
            ["moveOldest from", () => adapter.moveOldest(path, RUNNING)],
            ["moveOldest to", () => adapter.moveOldest(QUEUE, path)],
          ];
        },
      }),
  },
  {
    name: "invalid ids throw InvalidNameError and change nothing",
    fn: ({ adapter }) =>
      refusedAndUnchanged(adapter, {
        kind: "id",
        values: BAD_IDS,
        callsWith: (bad) => {
          const id = bad as string;
          return [
            ["upload", () => adapter.upload(QUEUE, id, { v: 2 })],
            ["get", () => adapter.get(QUEUE, id)],
            ["update", () => adapter.update(QUEUE, id, { v: 2 })],
            ["delete", () => adapter.delete(QUEUE, id)],
            ["move", () => adapter.move(QUEUE, RUNNING, id)],
          ];
        },
      }),
  },
  {
    name:
      "content that is not a JSON object throws InvalidRecordError and changes nothing",
    async fn({ adapter }) {
      await adapter.upload(QUEUE, "r1", { v: 1 });
      for (const [what, make] of BAD_CONTENT) {
        const content = make() as object;
        await rejection(
          `upload() of ${what}`,
          () => adapter.upload(QUEUE, "r2", content),
          InvalidRecordError,
        );
        await rejection(
          `update() with ${what}`,
          () => adapter.update(QUEUE, "r1", content),
          InvalidRecordError,
        );
        expectEqual(
          [await adapter.list(QUEUE), await adapter.get(QUEUE, "r1")],
          [["r1"], { v: 1 }],
          `list() and get() after refused writes of ${what}`,
        );
      }
    },
  },
  {
    name:
      "a failing folder gives StorageError naming it for every operation, and nothing else changes",
    needs: ["breakFolder"],
    async fn({ adapter, breakFolder }) {
      const broken = "jobs/queued/broken";
      await adapter.upload(QUEUE, "r1", { v: 1 });
      await adapter.upload(RUNNING, "r9", { v: 9 });
      const before = await snapshot(adapter, [QUEUE, RUNNING]);
      await breakFolder(broken);
      const calls: [string, () => Promise<unknown>][] = [
        ["upload()", () => adapter.upload(broken, "r2", { v: 2 })],
        ["get()", () => adapter.get(broken, "r2")],
        ["update()", () => adapter.update(broken, "r2", { v: 2 })],
        ["delete()", () => adapter.delete(broken, "r2")],
        ["list()", () => adapter.list(broken)],
        ["move() from it", () => adapter.move(broken, RUNNING, "r2")],
        ["move() to it", () => adapter.move(QUEUE, broken, "r1")],
        ["moveOldest() from it", () => adapter.moveOldest(broken, RUNNING)],
        ["moveOldest() to it", () => adapter.moveOldest(QUEUE, broken)],
      ];
      for (const [what, call] of calls) {
        const error = await rejection(
          `${what} on the failing folder ${broken}`,
          call,
          StorageError,
        );
        assert.ok(
          error.message.includes(broken),
          `The message of ${what} names the folder ${broken}: ${error.message}`,
        );
        assert.ok(
          typeof error.code === "string" && error.code.length > 0,
          `The StorageError of ${what} has the storage's code, not ${
            render(error.code)
          }`,
        );
        assert.ok(
          !(error.cause instanceof SqoolerError),
          `The cause of ${what} is the storage's own error, not ${error.cause}`,
        );
      }
      expectEqual(
        await snapshot(adapter, [QUEUE, RUNNING]),
        before,
        "The other folders after every operation on the failing folder failed",
      );
    },
  },
  {
    name: "sweepTempFiles() removes no record and tells how much it removed",
    needs: ["sweepTempFiles"],
    async fn({ adapter }) {
      await adapter.upload(QUEUE, "r1", SAMPLE);
      await adapter.upload(RUNNING, "r2", { v: 2 });
      await adapter.update(RUNNING, "r2", { v: 3 });
      const before = await snapshot(adapter, [QUEUE, RUNNING]);
      const removed = await adapter.sweepTempFiles!({
        olderThanMs: 0,
        now: () => Date.now() + 86_400_000,
      });
      assert.ok(
        Number.isInteger(removed) && removed >= 0,
        `sweepTempFiles() gave ${render(removed)}; expected a count`,
      );
      expectEqual(
        await snapshot(adapter, [QUEUE, RUNNING]),
        before,
        "The records after sweepTempFiles() swept everything older than a day ahead",
      );
    },
  },
  {
    name: "a second instance sees what the first one wrote",
    needs: ["reopen"],
    async fn({ adapter, reopen }) {
      const other = await reopen();
      await adapter.upload(QUEUE, "r1", SAMPLE);
      expectEqual(await other.get(QUEUE, "r1"), SAMPLE, "get() by the other");
      expectEqual(await other.list(QUEUE), ["r1"], "list() by the other");
      await rejection(
        "upload() of a record the other instance made",
        () => other.upload(QUEUE, "r1", {}),
        AlreadyExistsError,
      );
      await other.update(QUEUE, "r1", { v: 2 });
      expectEqual(
        await adapter.get(QUEUE, "r1"),
        { v: 2 },
        "get() of what the other instance updated",
      );
      await other.move(QUEUE, RUNNING, "r1");
      expectEqual(
        await adapter.list(RUNNING),
        ["r1"],
        "list() of where the other instance moved r1",
      );
      await adapter.delete(RUNNING, "r1");
      await rejection("get()", () => other.get(RUNNING, "r1"), NotFoundError);
    },
  },
  {
    name: "move() from two instances at once: exactly one succeeds",
    needs: ["reopen"],
    async fn({ adapter, reopen, rounds }) {
      const other = await reopen();
      for (const [i, id] of ids("r", rounds).entries()) {
        await adapter.upload(QUEUE, id, { id });
        // Take turns at starting first.
        if (i % 2 === 0) await race(adapter, other, id);
        else await race(other, adapter, id);
      }
    },
  },
  {
    name: "upload() from two instances at once: exactly one creates the record",
    needs: ["reopen"],
    async fn({ adapter, reopen, rounds }) {
      const other = await reopen();
      for (const id of ids("r", rounds)) {
        await createRace(adapter, other, id);
      }
    },
  },
  {
    name:
      "update() and delete() from two instances at once: a deleted record never reappears",
    needs: ["reopen"],
    async fn({ adapter, reopen, rounds }) {
      const other = await reopen();
      for (const [i, id] of ids("r", rounds).entries()) {
        await updateDeleteRace(adapter, other, id, i);
      }
    },
  },
  {
    name:
      "update() and move() from two instances at once: a moved record never reappears in its old folder",
    needs: ["reopen"],
    async fn({ adapter, reopen, rounds }) {
      const other = await reopen();
      for (const [i, id] of ids("r", rounds).entries()) {
        await updateMoveRace(adapter, other, id, i);
      }
    },
  },
  {
    name:
      "update()s with a check from two instances at once: exactly one of two wins",
    needs: ["reopen"],
    async fn({ adapter, reopen, rounds }) {
      const other = await reopen();
      for (const id of ids("r", rounds)) {
        await casRace(adapter, other, id);
      }
    },
  },
  {
    name:
      "moveOldest() from two instances at once takes every record exactly once",
    needs: ["reopen"],
    async fn({ adapter, reopen, rounds }) {
      const other = await reopen();
      const all = ids("r", rounds);
      for (const id of all) await adapter.upload(QUEUE, id, { id });
      // Both instances have listed the folder before the race.
      await adapter.moveOldest(OTHER, RUNNING);
      await other.moveOldest(OTHER, RUNNING);
      const taken = await Promise.all(
        all.map((_, i) => (i % 2 ? other : adapter).moveOldest(QUEUE, RUNNING)),
      );
      expectEqual(
        sorted(taken),
        sorted(all),
        `What ${rounds} concurrent moveOldest() calls of two instances took from ${rounds} records`,
      );
      expectEqual(
        sorted(await other.list(RUNNING)),
        sorted(all),
        "list() of the target",
      );
      expectEqual(await adapter.list(QUEUE), [], "list() of the source");
    },
  },
  {
    name:
      "moveOldest() with prepare() from two instances at once: every record once, and rollback() only for what the other took",
    needs: ["reopen"],
    async fn({ adapter, reopen, rounds }) {
      const other = await reopen();
      const all = ids("r", rounds);
      for (const id of all) await adapter.upload(QUEUE, id, { id });
      await adapter.moveOldest(OTHER, RUNNING);
      await other.moveOldest(OTHER, RUNNING);
      const prepared = new Map<string, number>();
      const rolledBack: string[] = [];
      const options = {
        prepare: async (id: string) => {
          prepared.set(id, (prepared.get(id) ?? 0) + 1);
          await turns(3);
          return true;
        },
        rollback: (id: string) => {
          rolledBack.push(id);
          return Promise.resolve();
        },
      };
      const taken = await Promise.all(
        all.map((_, i) =>
          (i % 2 ? other : adapter).moveOldest(QUEUE, RUNNING, options)
        ),
      );
      expectEqual(
        sorted(taken),
        sorted(all),
        `What ${rounds} concurrent moveOldest() calls with prepare() of two instances took`,
      );
      // Each record was prepared once by its taker, and once more by each
      // caller that lost it and rolled back.
      const extra = [...prepared].flatMap(([id, n]) => Array(n - 1).fill(id));
      expectEqual(
        sorted(rolledBack),
        sorted(extra),
        "What was rolled back, against what was prepared more than once",
      );
    },
  },
  {
    name: "a record moved back by one instance is taken first by the other",
    needs: ["reopen"],
    async fn({ adapter, reopen, writeInOrder }) {
      const other = await reopen();
      await writeInOrder(QUEUE, ["c", "b", "a"]);
      expectEqual(
        await other.moveOldest(QUEUE, RUNNING),
        "c",
        "The other instance's moveOldest() after writing c, b, a",
      );
      await adapter.move(RUNNING, QUEUE, "c");
      expectEqual(
        [
          await other.moveOldest(QUEUE, RUNNING),
          await other.moveOldest(QUEUE, RUNNING),
        ],
        ["c", "b"],
        "The other instance's moveOldest() twice after c was moved back",
      );
    },
  },
  {
    name: "moveOldest() sees records that another instance uploaded",
    needs: ["reopen"],
    async fn({ adapter, reopen }) {
      const other = await reopen();
      expectEqual(
        await other.moveOldest(QUEUE, RUNNING),
        undefined,
        "moveOldest() from an empty folder",
      );
      await adapter.upload(QUEUE, "r1", { v: 1 });
      expectEqual(
        await other.moveOldest(QUEUE, RUNNING),
        "r1",
        "moveOldest() after the other instance uploaded r1",
      );
      expectEqual(
        await adapter.get(RUNNING, "r1"),
        { v: 1 },
        "The taken record",
      );
    },
  },
  {
    name:
      "update() in this process and delete() in another: a deleted record never reappears",
    needs: ["peer"],
    async fn({ adapter, peer, rounds }) {
      const other = await peer();
      for (const [i, id] of ids("r", rounds).entries()) {
        await adapter.upload(QUEUE, id, { id });
        const request = await other.send([{ op: "delete", path: QUEUE, id }]);
        const updates = await updateUntilGone(adapter, QUEUE, id, i % 2 === 1);
        await succeeded(`delete() of ${id}`, request.outcomes);
        await expectGone(
          adapter,
          QUEUE,
          id,
          `another process deleted it while this one updated it (${updates} updates succeeded)`,
        );
      }
    },
  },
  {
    name:
      "update() in this process and move() in another: a moved record never reappears in its old folder",
    needs: ["peer"],
    async fn({ adapter, peer, rounds }) {
      const other = await peer();
      for (const [i, id] of ids("r", rounds).entries()) {
        await adapter.upload(QUEUE, id, { id, n: 0 });
        const request = await other.send([
          { op: "move", from: QUEUE, to: RUNNING, id },
        ]);
        const updates = await updateUntilGone(adapter, QUEUE, id, i % 2 === 1);
        await succeeded(`move() of ${id}`, request.outcomes);
        await expectGone(
          adapter,
          QUEUE,
          id,
          `another process moved it to ${RUNNING} while this one updated it (${updates} updates succeeded)`,
        );
        const moved = await adapter.get(RUNNING, id);
        assert.ok(
          moved.id === id && typeof moved.n === "number" && moved.n <= updates,
          `The moved ${id} holds ${
            render(moved)
          }; expected its content or one of the ${updates} updates`,
        );
      }
    },
  },
  {
    name:
      "update()s with a check in two processes at once: exactly one of two wins",
    needs: ["peer"],
    async fn({ adapter, peer, rounds }) {
      const other = await peer();
      const refusal = new Error("stale: the record changed");
      for (const id of ids("r", rounds)) {
        await adapter.upload(QUEUE, id, { v: 0 });
        const request = await other.send([{
          op: "update",
          path: QUEUE,
          id,
          content: { v: "peer" },
          expect: { v: 0 },
        }]);
        // A slow check, so that the other process's update lands while it runs.
        const local = await adapter.update(QUEUE, id, { v: "here" }, {
          check(current) {
            busy(0.3);
            holding({ v: 0 }, refusal).check(current);
          },
        }).then(() => "won", (error: unknown) => error);
        const [remote] = await request.outcomes;
        assert.ok(
          local === "won" || local === refusal,
          `update() of ${id} here rejected with ${local}; expected success or the check's error`,
        );
        assert.ok(
          remote.ok || remote.error.name === "CheckRefused",
          `update() of ${id} in the other process failed with ${
            render(remote)
          }; expected success or a refusal by its check`,
        );
        const winners = [local === "won" && "here", remote.ok && "peer"]
          .filter((w) => w !== false);
        expectEqual(
          winners.length,
          1,
          `How many of two update()s of ${id} that both checked for { v: 0 } succeeded (${
            winners.join(" and ") || "none"
          })`,
        );
        expectEqual(
          await adapter.get(QUEUE, id),
          { v: winners[0] },
          `${id} after the two update()s`,
        );
      }
    },
  },
  {
    name:
      "upload() with overwrite in another process while update()s with a check run here: the overwrite is never lost",
    needs: ["peer"],
    async fn({ adapter, peer, rounds }) {
      const other = await peer();
      const replaced = new Error("the other process's record is in place");
      for (const [i, id] of ids("r", rounds).entries()) {
        await adapter.upload(QUEUE, id, { id, n: 0 });
        const request = await other.send([{
          op: "upload",
          path: QUEUE,
          id,
          content: { id, by: "peer" },
          overwrite: true,
        }]);
        // Each update checks that the record is still this process's; with a
        // slow check, the other process's write lands while a check runs:
        // without the lock that update() holds, it would then be replaced.
        let updates = 0;
        while (updates < 2000) {
          try {
            await adapter.update(QUEUE, id, { id, n: updates + 1 }, {
              check(current) {
                if (i % 2 === 1) busy(0.2);
                if (current.by === "peer") throw replaced;
              },
            });
          } catch (error) {
            if (error === replaced) break;
            throw error;
          }
          updates++;
        }
        await succeeded(`upload() with overwrite of ${id}`, request.outcomes);
        expectEqual(
          await adapter.get(QUEUE, id),
          { id, by: "peer" },
          `${id} after another process uploaded it with overwrite while this one updated it (${updates} updates succeeded)`,
        );
      }
    },
  },
  {
    name:
      "moveOldest() calls rollback() for a candidate that another process moved while prepare() ran",
    needs: ["peer"],
    async fn({ adapter, peer, writeInOrder }) {
      const other = await peer();
      await writeInOrder(QUEUE, ["c", "b", "a"]);
      const rolledBack: string[] = [];
      const id = await adapter.moveOldest(QUEUE, RUNNING, {
        prepare: async (id) => {
          if (id === "c") {
            const request = await other.send([
              { op: "move", from: QUEUE, to: OTHER, id },
            ]);
            await succeeded("move() of c", request.outcomes);
          }
          return true;
        },
        rollback: (id) => {
          rolledBack.push(id);
          return Promise.resolve();
        },
      });
      expectEqual(
        [id, rolledBack],
        ["b", ["c"]],
        "moveOldest() whose candidate c another process took during prepare(): the id, and what was rolled back",
      );
      expectEqual(await adapter.list(OTHER), ["c"], "list() of where c went");
    },
  },
  {
    name:
      "moveOldest() in two processes at once takes every record exactly once",
    needs: ["peer"],
    async fn({ adapter, peer, rounds }) {
      const other = await peer();
      const all = ids("r", rounds * 4);
      for (const id of all) await adapter.upload(QUEUE, id, { id });
      const request = await other.send(
        all.map(() => ({ op: "moveOldest", from: QUEUE, to: RUNNING })),
      );
      // One at a time, so that this process is still taking while the
      // other one runs its requests.
      const here = await drain(adapter, QUEUE, RUNNING);
      const there = await succeeded("moveOldest()", request.outcomes);
      const taken = [...here, ...there] as (string | null | undefined)[];
      expectEqual(
        sorted(taken),
        sorted(all),
        `What ${all.length} moveOldest() calls here and ${all.length} in another process took from ${all.length} records`,
      );
      expectEqual(await adapter.list(QUEUE), [], "list() of the source");
    },
  },
];

/**
 * Moves `id` from the queue with two movers at once, to different folders:
 * exactly one succeeds, the other gets NotFoundError, and the record is in
 * the winner's folder only.
 */
async function race(
  first: StorageAdapter,
  second: StorageAdapter,
  id: string,
): Promise<void> {
  const [left, right] = await Promise.allSettled([
    first.move(QUEUE, RUNNING, id),
    second.move(QUEUE, OTHER, id),
  ]);
  const outcomes = [left.status, right.status].sort().join(" ");
  expectEqual(
    outcomes,
    "fulfilled rejected",
    `The outcomes of two concurrent move()s of ${id}`,
  );
  const lost = left.status === "rejected" ? left : right;
  assert.ok(
    lost.status === "rejected" && lost.reason instanceof NotFoundError,
    `The losing move of ${id} rejects with NotFoundError, not ${
      lost.status === "rejected" ? lost.reason : "nothing"
    }`,
  );
  const [winner, loser] = left.status === "fulfilled"
    ? [RUNNING, OTHER]
    : [OTHER, RUNNING];
  expectEqual(
    await first.get(winner, id),
    { id },
    `${id} in the winner's folder`,
  );
  await expectGone(first, loser, id, "the other move won");
  await expectGone(second, QUEUE, id, "it was moved away");
}

/**
 * Creates `id` in the queue with two creators at once: exactly one succeeds,
 * the other gets AlreadyExistsError, and the winner's content is stored.
 */
async function createRace(
  first: StorageAdapter,
  second: StorageAdapter,
  id: string,
): Promise<void> {
  const outcomes = await Promise.allSettled([
    first.upload(QUEUE, id, { by: "first" }),
    second.upload(QUEUE, id, { by: "second" }),
  ]);
  const won = outcomes.findIndex((o) => o.status === "fulfilled");
  const lost = outcomes.find((o) => o.status === "rejected");
  assert.ok(
    won >= 0 && lost,
    `Exactly one of two concurrent upload()s of ${id} succeeds; got ${
      outcomes.map((o) => o.status).join(" and ")
    }`,
  );
  assert.ok(
    lost.reason instanceof AlreadyExistsError,
    `The losing upload of ${id} rejects with AlreadyExistsError, not ${lost.reason}`,
  );
  const by = won === 0 ? "first" : "second";
  expectEqual(
    await second.get(QUEUE, id),
    { by },
    `${id} after two concurrent upload()s`,
  );
}

/**
 * Updates and deletes `id` at once, `updater` and `deleter` taking turns at
 * starting first: the delete succeeds, the update succeeds or finds nothing,
 * and the record is gone.
 */
async function updateDeleteRace(
  updater: StorageAdapter,
  deleter: StorageAdapter,
  id: string,
  round: number,
): Promise<void> {
  await updater.upload(QUEUE, id, { v: 0 });
  // In half of the rounds, the update carries a check, which reads the record.
  const check = round % 4 < 2 ? undefined : { check: () => {} };
  const update = () => updater.update(QUEUE, id, { v: 1 }, check);
  const remove = () => deleter.delete(QUEUE, id);
  const [updated, deleted] = round % 2 === 0
    ? await Promise.allSettled([update(), remove()])
    : (await Promise.allSettled([remove(), update()])).reverse();
  assert.ok(
    deleted.status === "fulfilled",
    `delete() of ${id} during an update() rejected with ${
      deleted.status === "rejected" && deleted.reason
    }`,
  );
  assert.ok(
    updated.status === "fulfilled" || updated.reason instanceof NotFoundError,
    `update() of ${id} during a delete() rejected with ${
      updated.status === "rejected" && updated.reason
    }; expected success or NotFoundError`,
  );
  await expectGone(updater, QUEUE, id, "delete() ran with the update()");
}

/**
 * Updates `id` and moves it away at once, taking turns at starting first:
 * the move succeeds, the update succeeds or finds nothing, and the record is
 * in the target folder only, with the old or the new content.
 */
async function updateMoveRace(
  updater: StorageAdapter,
  mover: StorageAdapter,
  id: string,
  round: number,
): Promise<void> {
  await updater.upload(QUEUE, id, { v: 0 });
  const check = round % 4 < 2 ? undefined : { check: () => {} };
  const update = () => updater.update(QUEUE, id, { v: 1 }, check);
  const move = () => mover.move(QUEUE, RUNNING, id);
  const [updated, moved] = round % 2 === 0
    ? await Promise.allSettled([update(), move()])
    : (await Promise.allSettled([move(), update()])).reverse();
  assert.ok(
    moved.status === "fulfilled",
    `move() of ${id} during an update() rejected with ${
      moved.status === "rejected" && moved.reason
    }`,
  );
  assert.ok(
    updated.status === "fulfilled" || updated.reason instanceof NotFoundError,
    `update() of ${id} during a move() rejected with ${
      updated.status === "rejected" && updated.reason
    }; expected success or NotFoundError`,
  );
  await expectGone(updater, QUEUE, id, `move() took it to ${RUNNING}`);
  const content = await updater.get(RUNNING, id);
  assert.ok(
    isDeepStrictEqual(content, { v: 0 }) ||
      (updated.status === "fulfilled" && isDeepStrictEqual(content, { v: 1 })),
    `The moved ${id} holds ${
      render(content)
    }; expected { v: 0 }, or { v: 1 } when the update() succeeded`,
  );
}

/**
 * Two update()s of `id` at once, each with a check that refuses unless the
 * record still holds what both read: exactly one wins.
 */
async function casRace(
  first: StorageAdapter,
  second: StorageAdapter,
  id: string,
): Promise<void> {
  await first.upload(QUEUE, id, { v: 0 });
  const refusal = new Error("stale: the record changed");
  const outcomes = await Promise.allSettled([
    first.update(QUEUE, id, { v: "first" }, holding({ v: 0 }, refusal)),
    second.update(QUEUE, id, { v: "second" }, holding({ v: 0 }, refusal)),
  ]);
  const winners = outcomes.flatMap((o, i) =>
    o.status === "fulfilled" ? [i === 0 ? "first" : "second"] : []
  );
  expectEqual(
    winners.length,
    1,
    `How many of two concurrent update()s of ${id} that both checked for { v: 0 } succeeded (${
      winners.join(" and ") || "none"
    })`,
  );
  const loser = outcomes.find((o) => o.status === "rejected");
  assert.ok(
    loser?.status === "rejected" && loser.reason === refusal,
    `The losing update() of ${id} rejected with ${
      loser?.status === "rejected" && loser.reason
    }; expected its check's error`,
  );
  expectEqual(
    await second.get(QUEUE, id),
    { v: winners[0] },
    `${id} after two concurrent update()s with checks`,
  );
}

/**
 * Updates a record over and over until it is gone (another process deletes
 * or moves it meanwhile), at most a few thousand times. With `slow`, each
 * update's check takes a fifth of a millisecond, so that the other process's
 * change lands while a check runs: without a lock that spans check and
 * write, the update would then bring the record back.
 *
 * @returns How many updates succeeded.
 */
async function updateUntilGone(
  adapter: StorageAdapter,
  storagePath: string,
  id: string,
  slow: boolean,
): Promise<number> {
  const check = slow ? { check: () => busy(0.2) } : undefined;
  let n = 0;
  while (n < 2000) {
    try {
      await adapter.update(storagePath, id, { id, n: n + 1 }, check);
    } catch (error) {
      if (error instanceof NotFoundError) break;
      throw error;
    }
    n++;
  }
  return n;
}

/** Keeps this thread busy for `ms` milliseconds, as a slow check would. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  let spins = 0;
  while (performance.now() < end) spins++;
  if (spins < 0) throw new Error("unreachable");
}
