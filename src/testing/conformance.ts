/**
 * The conformance suite of {@linkcode StorageAdapter}: one list of behaviours
 * that every adapter must show, run as test steps against a factory. Both
 * adapters of this library run it; an adapter written elsewhere proves with it
 * that it can stand in for them.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { JsonObject, StorageAdapter } from "../adapter.ts";
import {
  AlreadyExistsError,
  InactiveStorageError,
  InvalidNameError,
  InvalidRecordError,
  NotFoundError,
} from "../errors.ts";

/**
 * How {@linkcode testStorageAdapter} gets adapters, and what an adapter can do
 * beyond the contract (capabilities). A capability that is not given skips the
 * steps that need it; they show as ignored.
 *
 * @typeParam A The adapter class, so that `dispose` and the capabilities get
 * the adapter with its own fields.
 *
 * @example Run the suite with every capability of LocalAdapter
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { LocalAdapter } from "@sqooler/storage";
 * import { type ConformanceOptions, testStorageAdapter } from "@sqooler/storage/testing";
 *
 * const options: ConformanceOptions<LocalAdapter> = {
 *   create: async (init) => new LocalAdapter({ basePath: await Deno.makeTempDir(), ...init }),
 *   dispose: (adapter) => Deno.remove(adapter.basePath, { recursive: true }),
 *   // Another instance on the same folder acts like another process.
 *   reopen: (adapter) => new LocalAdapter({ basePath: adapter.basePath, rescanIntervalMs: 0 }),
 *   // File times have a resolution of milliseconds; set them instead of waiting.
 *   setWriteTime: (adapter, { storagePath, id, time }) =>
 *     Deno.utime(join(adapter.basePath, storagePath, `${id}.json`), time, time),
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
   * Capability: sets the time at which a record counts as written, for an
   * adapter that orders records by a clock too coarse to tell the suite's
   * quick writes apart ({@linkcode LocalAdapter} uses file times, in
   * milliseconds). The suite then gives the records whose order it checks
   * times one second apart, in the past. Without it, the suite expects the
   * order of the writes themselves.
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
  /** Uploads records in the given order, each written after the last. */
  writeInOrder(storagePath: string, ids: string[]): Promise<void>;
  /** Marks a record that was just written as the newest, when the adapter needs it. */
  stamp(storagePath: string, id: string): Promise<void>;
}

interface Case {
  name: string;
  needsReopen?: boolean;
  fn(scope: Scope): void | Promise<void>;
}

/**
 * Runs the conformance suite of {@linkcode StorageAdapter} as steps of a test:
 * every clause of the contract, one step each, named after the behaviour
 * (e.g. `moveOldest() gives concurrent callers different records`). Each step
 * gets an adapter over fresh, empty storage from `options.create`.
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
  for (const testCase of CASES) {
    await t.step({
      name: testCase.name,
      ignore: testCase.needsReopen === true && options.reopen === undefined,
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
      writeInOrder: async (storagePath, ids) => {
        for (const id of ids) {
          await adapter.upload(storagePath, id, { id });
          await stamp(storagePath, id);
        }
      },
      stamp,
    });
  } finally {
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

/**
 * Calls a method that must reject with `type`, and returns the error. A
 * synchronous throw fails: callers of an adapter rely on rejected promises.
 */
async function rejection<E extends Error>(
  what: string,
  call: () => Promise<unknown>,
  type: ErrorClass<E>,
): Promise<E> {
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
  assert.ok(!outcome.ok, `${what} succeeded; expected ${type.name}`);
  assert.ok(
    outcome.error instanceof type,
    `${what} rejected with ${outcome.error}; expected ${type.name}`,
  );
  return outcome.error;
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

function sorted(values: readonly (string | undefined)[]): string[] {
  return values.filter((v) => v !== undefined).sort();
}

function ids(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** One call of each method, with acceptable arguments. */
function everyOperation(
  adapter: StorageAdapter,
): [string, () => Promise<unknown>][] {
  return [
    ["upload()", () => adapter.upload(QUEUE, "r1", { v: 1 })],
    ["get()", () => adapter.get(QUEUE, "r1")],
    ["update()", () => adapter.update(QUEUE, "r1", { v: 2 })],
    ["move()", () => adapter.move(QUEUE, RUNNING, "r1")],
    ["moveOldest()", () => adapter.moveOldest(QUEUE, RUNNING)],
    ["delete()", () => adapter.delete(QUEUE, "r1")],
    ["list()", () => adapter.list(QUEUE)],
  ];
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
    assert.deepEqual(
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
  ["an object holding a BigInt", () => ({ n: 1n })],
  ["a Date, which is JSON text but not a JSON object", () => new Date(0)],
];

const CASES: Case[] = [
  {
    name: "upload() then get() returns the same content",
    async fn({ adapter }) {
      await adapter.upload(QUEUE, "r1", SAMPLE);
      await adapter.upload(QUEUE, "empty", {});
      assert.deepEqual(await adapter.get(QUEUE, "r1"), SAMPLE);
      assert.deepEqual(await adapter.get(QUEUE, "empty"), {});
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
      assert.deepEqual(await adapter.get(QUEUE, "r1"), { v: 1 });
      assert.deepEqual(await adapter.list(QUEUE), ["r1"]);
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
      assert.deepEqual(await adapter.get(QUEUE, "r1"), { status: "ERROR" });
      assert.deepEqual(await adapter.list(QUEUE), ["r1"]);
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
      assert.deepEqual(await adapter.list(QUEUE), ["r2"]);
      await rejection("get()", () => adapter.get(QUEUE, "r1"), NotFoundError);
    },
  },
  {
    name: "update() counts as a write: the record becomes the newest",
    async fn({ adapter, writeInOrder, stamp }) {
      await writeInOrder(QUEUE, ["c", "b", "a"]);
      assert.equal(await adapter.moveOldest(QUEUE, RUNNING), "c");
      await adapter.update(QUEUE, "b", { v: 2 });
      await stamp(QUEUE, "b");
      assert.deepEqual(await adapter.list(QUEUE), ["a", "b"]);
      assert.equal(await adapter.moveOldest(QUEUE, RUNNING), "a");
      assert.equal(await adapter.moveOldest(QUEUE, RUNNING), "b");
      assert.deepEqual(await adapter.get(RUNNING, "b"), { v: 2 });
    },
  },
  {
    name: "delete() removes the record, and its id can be used again",
    async fn({ adapter }) {
      await adapter.upload(QUEUE, "r1", { v: 1 });
      await adapter.upload(QUEUE, "r2", { v: 2 });
      await adapter.delete(QUEUE, "r1");
      await rejection("get()", () => adapter.get(QUEUE, "r1"), NotFoundError);
      assert.deepEqual(await adapter.list(QUEUE), ["r2"]);
      await adapter.upload(QUEUE, "r1", { v: 3 });
      assert.deepEqual(await adapter.get(QUEUE, "r1"), { v: 3 });
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
      assert.deepEqual(await adapter.get(RUNNING, "r1"), SAMPLE);
      await rejection("get()", () => adapter.get(QUEUE, "r1"), NotFoundError);
      assert.deepEqual(await adapter.list(QUEUE), []);
      assert.deepEqual(await adapter.list(RUNNING), ["r1"]);
    },
  },
  {
    name: "move() replaces a record of the same id in the target folder",
    async fn({ adapter }) {
      await adapter.upload(QUEUE, "r1", { v: "moved" });
      await adapter.upload(RUNNING, "r1", { v: "replaced" });
      await adapter.move(QUEUE, RUNNING, "r1");
      assert.deepEqual(await adapter.get(RUNNING, "r1"), { v: "moved" });
      assert.deepEqual(await adapter.list(RUNNING), ["r1"]);
      assert.deepEqual(await adapter.list(QUEUE), []);
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
      assert.deepEqual(await adapter.list(RUNNING), []);
      assert.deepEqual(await adapter.list(QUEUE), ["r2"]);
    },
  },
  {
    name: "move() gives exactly one of two concurrent movers the record",
    async fn({ adapter, rounds }) {
      for (const id of ids("r", rounds)) {
        await adapter.upload(QUEUE, id, { id });
        await race(adapter, adapter, id);
      }
      assert.deepEqual(await adapter.list(QUEUE), []);
    },
  },
  {
    name: "move() keeps a record's place: moved back, it is where it was",
    async fn({ adapter, writeInOrder }) {
      await writeInOrder(QUEUE, ["c", "b", "a"]);
      await adapter.move(QUEUE, OTHER, "b");
      assert.deepEqual(await adapter.list(QUEUE), ["c", "a"]);
      await adapter.move(OTHER, QUEUE, "b");
      assert.deepEqual(await adapter.list(QUEUE), ["c", "b", "a"]);
      assert.equal(await adapter.moveOldest(QUEUE, RUNNING), "c");
      await adapter.move(RUNNING, QUEUE, "c");
      assert.deepEqual(await adapter.list(QUEUE), ["c", "b", "a"]);
      assert.equal(await adapter.moveOldest(QUEUE, RUNNING), "c");
    },
  },
  {
    name: "list() gives the ids oldest first",
    async fn({ adapter, writeInOrder }) {
      // Against the ids' own order, so that sorting by id does not pass.
      const order = ["zulu", "mike", "alpha", "x-ray", "bravo"];
      await writeInOrder(QUEUE, order);
      assert.deepEqual(await adapter.list(QUEUE), order);
    },
  },
  {
    name: "list() of a missing or emptied folder gives []",
    async fn({ adapter }) {
      assert.deepEqual(await adapter.list(QUEUE), []);
      await adapter.upload(QUEUE, "r1", {});
      await adapter.delete(QUEUE, "r1");
      assert.deepEqual(await adapter.list(QUEUE), []);
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
      assert.deepEqual(await adapter.list("jobs"), ["top"]);
      assert.deepEqual(await adapter.list("jobs/queued"), ["middle"]);
      assert.deepEqual(await adapter.list(QUEUE), ["leaf"]);
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
      assert.deepEqual(taken, [...order, undefined]);
      assert.deepEqual(await adapter.get(RUNNING, "mike"), { id: "mike" });
      assert.deepEqual(await adapter.list(QUEUE), []);
    },
  },
  {
    name: "moveOldest() gives undefined for an empty or missing folder",
    async fn({ adapter }) {
      assert.equal(await adapter.moveOldest(QUEUE, RUNNING), undefined);
      await adapter.upload(QUEUE, "r1", {});
      await adapter.delete(QUEUE, "r1");
      assert.equal(await adapter.moveOldest(QUEUE, RUNNING), undefined);
      assert.deepEqual(await adapter.list(RUNNING), []);
    },
  },
  {
    name: "moveOldest() skips records that were deleted or moved away",
    async fn({ adapter, writeInOrder }) {
      await writeInOrder(QUEUE, ["d", "c", "b", "a"]);
      assert.equal(await adapter.moveOldest(QUEUE, RUNNING), "d");
      await adapter.delete(QUEUE, "c");
      await adapter.move(QUEUE, OTHER, "b");
      assert.equal(await adapter.moveOldest(QUEUE, RUNNING), "a");
      assert.equal(await adapter.moveOldest(QUEUE, RUNNING), undefined);
      assert.deepEqual(await adapter.list(OTHER), ["b"]);
    },
  },
  {
    name: "moveOldest() sees records uploaded after the folder ran empty",
    async fn({ adapter, writeInOrder }) {
      await writeInOrder(QUEUE, ["b"]);
      assert.equal(await adapter.moveOldest(QUEUE, RUNNING), "b");
      assert.equal(await adapter.moveOldest(QUEUE, RUNNING), undefined);
      await writeInOrder(QUEUE, ["a"]);
      assert.equal(await adapter.moveOldest(QUEUE, RUNNING), "a");
    },
  },
  {
    name: "moveOldest() takes the records in the order list() gives",
    async fn({ adapter, writeInOrder }) {
      await writeInOrder(QUEUE, ["m", "k", "z", "a", "q", "c", "x"]);
      assert.equal(await adapter.moveOldest(QUEUE, RUNNING), "m");
      await adapter.move(RUNNING, QUEUE, "m");
      await adapter.delete(QUEUE, "z");
      await adapter.move(QUEUE, OTHER, "a");
      await adapter.move(OTHER, QUEUE, "a");
      await writeInOrder(QUEUE, ["b"]);
      const expected = await adapter.list(QUEUE);
      assert.deepEqual(expected, ["m", "k", "a", "q", "c", "x", "b"]);
      const taken: string[] = [];
      let id = await adapter.moveOldest(QUEUE, RUNNING);
      while (id !== undefined) {
        taken.push(id);
        id = await adapter.moveOldest(QUEUE, RUNNING);
      }
      assert.deepEqual(taken, expected);
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
      assert.ok(
        taken.every((id) => id !== undefined),
        "As many callers as records: every caller gets one",
      );
      assert.deepEqual(sorted(taken), sorted(all));
      assert.deepEqual(await adapter.list(QUEUE), []);
      assert.deepEqual(sorted(await adapter.list(RUNNING)), sorted(all));
      for (const id of all) {
        assert.deepEqual(await adapter.get(RUNNING, id), { id });
      }
      // More callers than records: the extra ones get undefined.
      const more = ids("s", 3);
      for (const id of more) await adapter.upload(QUEUE, id, { id });
      const second = await Promise.all(
        ids("", 6).map(() => adapter.moveOldest(QUEUE, OTHER)),
      );
      assert.deepEqual(sorted(second), sorted(more));
      assert.equal(second.filter((id) => id === undefined).length, 3);
    },
  },
  {
    name: "upload() and update() store a copy of the content",
    async fn({ adapter }) {
      const content = { v: 1, nested: { list: [1, 2] } };
      await adapter.upload(QUEUE, "r1", content);
      content.v = 2;
      content.nested.list.push(3);
      assert.deepEqual(await adapter.get(QUEUE, "r1"), {
        v: 1,
        nested: { list: [1, 2] },
      });
      const update = { v: 3, nested: { list: [4] } };
      await adapter.update(QUEUE, "r1", update);
      update.nested.list.push(5);
      assert.deepEqual(await adapter.get(QUEUE, "r1"), {
        v: 3,
        nested: { list: [4] },
      });
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
      assert.notEqual(second, first);
      assert.deepEqual(second, { v: 1, nested: { list: [1] } });
    },
  },
  {
    name:
      "every operation throws InactiveStorageError when the storage is not active",
    async fn({ create }) {
      const inactive = await create({ active: false });
      assert.equal(inactive.active, false);
      for (const [what, call] of everyOperation(inactive)) {
        await rejection(what, call, InactiveStorageError);
      }
    },
  },
  {
    name: "the storage is active and has a valid name by default",
    fn({ adapter }) {
      assert.equal(adapter.active, true);
      assert.match(adapter.name, /^[a-z0-9]+$/);
    },
  },
  {
    name: "the name is lowercased",
    async fn({ create }) {
      assert.equal((await create({ name: "Whatever" })).name, "whatever");
      assert.equal((await create({ name: "LabStore2" })).name, "labstore2");
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
        assert.deepEqual(await adapter.list(QUEUE), ["r1"]);
        assert.deepEqual(await adapter.get(QUEUE, "r1"), { v: 1 });
      }
    },
  },
  {
    name: "a second instance sees what the first one wrote",
    needsReopen: true,
    async fn({ adapter, reopen }) {
      const other = await reopen();
      await adapter.upload(QUEUE, "r1", SAMPLE);
      assert.deepEqual(await other.get(QUEUE, "r1"), SAMPLE);
      assert.deepEqual(await other.list(QUEUE), ["r1"]);
      await rejection(
        "upload() of a record the other instance made",
        () => other.upload(QUEUE, "r1", {}),
        AlreadyExistsError,
      );
      await other.update(QUEUE, "r1", { v: 2 });
      assert.deepEqual(await adapter.get(QUEUE, "r1"), { v: 2 });
      await other.move(QUEUE, RUNNING, "r1");
      assert.deepEqual(await adapter.list(RUNNING), ["r1"]);
      await adapter.delete(RUNNING, "r1");
      await rejection("get()", () => other.get(RUNNING, "r1"), NotFoundError);
    },
  },
  {
    name: "move() from two instances at once: exactly one succeeds",
    needsReopen: true,
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
    needsReopen: true,
    async fn({ adapter, reopen, rounds }) {
      const other = await reopen();
      for (const id of ids("r", rounds)) {
        await createRace(adapter, other, id);
      }
    },
  },
  {
    name:
      "moveOldest() from two instances at once takes every record exactly once",
    needsReopen: true,
    async fn({ adapter, reopen, rounds }) {
      const other = await reopen();
      const all = ids("r", rounds);
      for (const id of all) await adapter.upload(QUEUE, id, { id });
      // Both instances have listed the folder before the race.
      assert.equal(await adapter.moveOldest(OTHER, RUNNING), undefined);
      assert.equal(await other.moveOldest(OTHER, RUNNING), undefined);
      const taken = await Promise.all(
        all.map((_, i) => (i % 2 ? other : adapter).moveOldest(QUEUE, RUNNING)),
      );
      assert.ok(
        taken.every((id) => id !== undefined),
        "As many callers as records: every caller gets one",
      );
      assert.deepEqual(sorted(taken), sorted(all));
      assert.deepEqual(sorted(await other.list(RUNNING)), sorted(all));
      assert.deepEqual(await adapter.list(QUEUE), []);
    },
  },
  {
    name: "a record moved back by one instance is taken first by the other",
    needsReopen: true,
    async fn({ adapter, reopen, writeInOrder }) {
      const other = await reopen();
      await writeInOrder(QUEUE, ["c", "b", "a"]);
      assert.equal(await other.moveOldest(QUEUE, RUNNING), "c");
      await adapter.move(RUNNING, QUEUE, "c");
      assert.equal(await other.moveOldest(QUEUE, RUNNING), "c");
      assert.equal(await other.moveOldest(QUEUE, RUNNING), "b");
    },
  },
  {
    name: "moveOldest() sees records that another instance uploaded",
    needsReopen: true,
    async fn({ adapter, reopen }) {
      const other = await reopen();
      assert.equal(await other.moveOldest(QUEUE, RUNNING), undefined);
      await adapter.upload(QUEUE, "r1", { v: 1 });
      assert.equal(await other.moveOldest(QUEUE, RUNNING), "r1");
      assert.deepEqual(await adapter.get(RUNNING, "r1"), { v: 1 });
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
  assert.equal(outcomes, "fulfilled rejected", `Exactly one move of ${id}`);
  const lost = left.status === "rejected" ? left : right;
  assert.ok(
    lost.status === "rejected" && lost.reason instanceof NotFoundError,
    `The losing move of ${id} rejects with NotFoundError`,
  );
  const [winner, loser] = left.status === "fulfilled"
    ? [RUNNING, OTHER]
    : [OTHER, RUNNING];
  assert.deepEqual(await first.get(winner, id), { id });
  await rejection("get()", () => first.get(loser, id), NotFoundError);
  await rejection("get()", () => second.get(QUEUE, id), NotFoundError);
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
  assert.ok(won >= 0 && lost, `Exactly one upload of ${id} succeeds`);
  assert.ok(
    lost.reason instanceof AlreadyExistsError,
    `The losing upload of ${id} rejects with AlreadyExistsError, not ${lost.reason}`,
  );
  const by = won === 0 ? "first" : "second";
  assert.deepEqual(await second.get(QUEUE, id), { by });
}
