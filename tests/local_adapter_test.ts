import assert from "node:assert/strict";
import { constants as osConstants } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CorruptRecordError,
  InactiveStorageError,
  InvalidNameError,
  InvalidRecordError,
  LocalAdapter,
  type LocalAdapterOptions,
  newJobId,
  NotFoundError,
  StorageError,
} from "../mod.ts";
import { errorCode } from "../src/local_adapter.ts";
import { records } from "../src/adapter.ts";
import { spawnPeer, testStorageAdapter } from "../testing.ts";
import { filesBelow, withTempDir } from "./support/folders.ts";

const QUEUE = "jobs/queued/fermions";
const RUNNING = "jobs/running";

/** Sets a file's modification time, in seconds since the epoch. */
function setTime(basePath: string, record: string, seconds: number) {
  return Deno.utime(join(basePath, record), seconds, seconds);
}

/** Uploads records with modification times one second apart, in the past. */
async function uploadInOrder(
  adapter: LocalAdapter,
  storagePath: string,
  ids: string[],
): Promise<void> {
  const base = Math.floor(Date.now() / 1000) - 3600;
  for (const [i, id] of ids.entries()) {
    await adapter.upload(storagePath, id, { id });
    await setTime(adapter.basePath, `${storagePath}/${id}.json`, base + i);
  }
}

const PEER = fileURLToPath(new URL("./support/local_peer.ts", import.meta.url));
/** The project's deno.json, whose imports the scripts of the tests need. */
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

/** Fresh storage in a temp folder, for the conformance suite. */
async function createLocal(
  init: { name?: string; active?: boolean },
): Promise<LocalAdapter> {
  const basePath = await Deno.makeTempDir({ prefix: "sqooler_local_" });
  try {
    return new LocalAdapter({ basePath, ...init });
  } catch (error) {
    await Deno.remove(basePath, { recursive: true });
    throw error;
  }
}

Deno.test("LocalAdapter conforms to the StorageAdapter contract, across instances and processes", async (t) => {
  // The instances that reopen() made, closed with the adapter they share a folder with.
  const reopened = new Map<LocalAdapter, LocalAdapter[]>();
  await testStorageAdapter<LocalAdapter>(t, {
    create: createLocal,
    async dispose(adapter) {
      for (const other of reopened.get(adapter) ?? []) other.close();
      adapter.close();
      await Deno.remove(adapter.basePath, { recursive: true });
    },
    reopen(adapter) {
      const other = new LocalAdapter({
        basePath: adapter.basePath,
        rescanIntervalMs: 0,
      });
      reopened.set(adapter, [...reopened.get(adapter) ?? [], other]);
      return other;
    },
    peer: (adapter) =>
      spawnPeer({
        args: [
          "run",
          `--config=${CONFIG}`,
          `--allow-read=${adapter.basePath}`,
          `--allow-write=${adapter.basePath}`,
          PEER,
          adapter.basePath,
        ],
      }),
    // A symbolic link to itself: every call on the folder meets ELOOP.
    breakFolder: (adapter, storagePath) => {
      const folder = join(adapter.basePath, storagePath);
      Deno.mkdirSync(dirname(folder), { recursive: true });
      Deno.symlinkSync(folder, folder);
    },
  });
});

Deno.test("LocalAdapter conforms to the StorageAdapter contract with file times set by the suite", (t) =>
  testStorageAdapter<LocalAdapter>(t, {
    create: createLocal,
    async dispose(adapter) {
      adapter.close();
      await Deno.remove(adapter.basePath, { recursive: true });
    },
    setWriteTime: (adapter, { storagePath, id, time }) =>
      Deno.utime(join(adapter.basePath, storagePath, `${id}.json`), time, time),
  }));

Deno.test("LocalAdapter writes a record to exactly <basePath>/<path>/<id>.json as plain JSON", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const content = { job_id: "abc", status: "DONE", detail: null, n: [1.5] };
    await adapter.upload("status/fermions", "abc", content);
    assert.deepEqual(await filesBelow(basePath), ["status/fermions/abc.json"]);
    const text = await Deno.readTextFile(
      join(basePath, "status/fermions/abc.json"),
    );
    assert.deepEqual(JSON.parse(text), content);

    await adapter.update("status/fermions", "abc", { status: "ERROR" });
    await adapter.move("status/fermions", RUNNING, "abc");
    assert.deepEqual(await filesBelow(basePath), ["jobs/running/abc.json"]);
    const moved = await Deno.readTextFile(join(basePath, RUNNING, "abc.json"));
    assert.deepEqual(JSON.parse(moved), { status: "ERROR" });
  });
});

Deno.test("LocalAdapter leaves no temp file behind, in sqooler's folders or in .tmp", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    for (let i = 0; i < 20; i++) {
      await adapter.upload(QUEUE, `r${i}`, { i });
    }
    for (let i = 0; i < 20; i += 2) await adapter.update(QUEUE, `r${i}`, {});
    await adapter.upload(QUEUE, "big", { text: "x".repeat(300_000) });
    await adapter.update(QUEUE, "big", { text: "y".repeat(300_000) });
    await adapter.move(QUEUE, RUNNING, "r1");
    await adapter.moveOldest(QUEUE, RUNNING);
    await adapter.delete(RUNNING, "r1");
    // Writes that fail must clean up too.
    await assert.rejects(adapter.upload(QUEUE, "r4", {}));
    await assert.rejects(adapter.update(QUEUE, "missing", {}));

    const all = await filesBelow(basePath);
    assert.equal(all.length, 20, all.join(", "));
    for (const path of all) {
      assert.match(path, /^jobs\/(queued\/fermions|running)\/[a-z0-9]+\.json$/);
    }
    assert.deepEqual([...Deno.readDirSync(join(basePath, ".tmp"))], []);
  });
});

Deno.test("LocalAdapter makes its temp folder again when someone removed it", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    await adapter.upload(QUEUE, "r1", { v: 1 });
    await Deno.remove(join(basePath, ".tmp"), { recursive: true });
    await adapter.upload(QUEUE, "r2", { v: 2 });
    await Deno.remove(join(basePath, ".tmp"), { recursive: true });
    await adapter.update(QUEUE, "r1", { v: 3 });
    assert.deepEqual(await adapter.get(QUEUE, "r1"), { v: 3 });
    assert.deepEqual(await adapter.get(QUEUE, "r2"), { v: 2 });
  });
});

Deno.test("LocalAdapter.list() and moveOldest() leave out files that are not <id>.json", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    await adapter.upload(QUEUE, "r1", {});
    const folder = join(basePath, QUEUE);
    const foreign = [
      "notes.txt",
      ".hidden.json",
      "bad name.json",
      "a.b.json",
      "r2.json.tmp",
      "r3.JSON",
      ".json",
    ];
    for (const name of foreign) {
      await Deno.writeTextFile(join(folder, name), "{}");
    }
    await Deno.mkdir(join(folder, "sub.json"));

    assert.deepEqual(await adapter.list(QUEUE), ["r1"]);
    assert.equal(await adapter.moveOldest(QUEUE, RUNNING), "r1");
    assert.equal(await adapter.moveOldest(QUEUE, RUNNING), undefined);
    const left = (await filesBelow(basePath)).filter((p) =>
      p.startsWith(QUEUE)
    );
    assert.deepEqual(left, foreign.map((name) => `${QUEUE}/${name}`).sort());
  });
});

Deno.test("LocalAdapter reads a record written with Python's json.dump spacing", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    await Deno.mkdir(join(basePath, "status/fermions"), { recursive: true });
    // json.dump(obj, f) and json.dump(obj, f, indent=4), with ensure_ascii.
    const texts = {
      plain:
        '{"job_id": "abc", "status": "DONE", "detail": null, "shots": [1, 2], "name": "caf\\u00e9"}',
      indented:
        '{\n    "job_id": "abc",\n    "status": "DONE",\n    "detail": null,\n    "shots": [\n        1,\n        2\n    ],\n    "name": "caf\\u00e9"\n}\n',
    };
    for (const [id, text] of Object.entries(texts)) {
      await Deno.writeTextFile(
        join(basePath, "status/fermions", `${id}.json`),
        text,
      );
      assert.deepEqual(await adapter.get("status/fermions", id), {
        job_id: "abc",
        status: "DONE",
        detail: null,
        shots: [1, 2],
        name: "café",
      });
    }
  });
});

Deno.test("LocalAdapter.get() of a file that is not a JSON object throws CorruptRecordError naming it", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const folder = join(basePath, "status/fermions");
    await Deno.mkdir(folder, { recursive: true });
    const texts = [
      "not json {",
      "",
      '{"a": 1',
      "[1, 2]",
      "null",
      '"text"',
      "7",
    ];
    for (const text of texts) {
      await Deno.writeTextFile(join(folder, "abc.json"), text);
      const error = await adapter.get("status/fermions", "abc").then(
        () => assert.fail(`get() of ${JSON.stringify(text)} succeeded`),
        (e: unknown) => e,
      );
      assert.ok(error instanceof CorruptRecordError, `${error}`);
      assert.equal(error.record, "status/fermions/abc.json");
      assert.match(error.message, /status\/fermions\/abc\.json/);
    }
    await Deno.remove(join(folder, "abc.json"));
    await Deno.mkdir(join(folder, "abc.json"));
    await assert.rejects(
      adapter.get("status/fermions", "abc"),
      CorruptRecordError,
    );
  });
});

Deno.test("LocalAdapter with fsync: true uploads, updates, moves, takes and deletes", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath, fsync: true });
    assert.equal(adapter.fsync, true);
    await adapter.upload(QUEUE, "r1", { v: 1 });
    await adapter.upload(QUEUE, "r2", { text: "z".repeat(300_000) });
    await adapter.update(QUEUE, "r1", { v: 2 });
    await adapter.move(QUEUE, "jobs/deleted", "r2");
    assert.equal(await adapter.moveOldest(QUEUE, RUNNING), "r1");
    assert.deepEqual(await adapter.get(RUNNING, "r1"), { v: 2 });
    assert.equal(
      (await adapter.get("jobs/deleted", "r2")).text,
      "z".repeat(300_000),
    );
    await adapter.delete(RUNNING, "r1");
    assert.deepEqual(await filesBelow(basePath), ["jobs/deleted/r2.json"]);
  });
});

Deno.test("LocalAdapter round-trips a record larger than 256 KiB", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const big = { memory: Array.from({ length: 40_000 }, (_, i) => `${i}`) };
    await adapter.upload(QUEUE, "big", big);
    assert.ok(
      (await Deno.stat(join(basePath, QUEUE, "big.json"))).size > 256 * 1024,
    );
    assert.deepEqual(await adapter.get(QUEUE, "big"), big);
    big.memory.reverse();
    await adapter.update(QUEUE, "big", big);
    assert.deepEqual(await adapter.get(QUEUE, "big"), big);
  });
});

Deno.test("LocalAdapter refuses an empty or NUL base path with InvalidNameError", () => {
  const bad: unknown[] = ["", "store\0", "\0", undefined, 42];
  for (const basePath of bad) {
    assert.throws(
      () => new LocalAdapter({ basePath } as LocalAdapterOptions),
      InvalidNameError,
      `basePath ${String(basePath)}`,
    );
  }
  assert.throws(
    () => new LocalAdapter(undefined as unknown as LocalAdapterOptions),
    InvalidNameError,
  );
  assert.equal(
    new LocalAdapter({ basePath: "store" }).basePath,
    resolve("store"),
  );
});

Deno.test("an inactive LocalAdapter touches nothing on disk", async () => {
  await withTempDir(async (dir) => {
    const adapter = new LocalAdapter({
      basePath: join(dir, "store"),
      active: false,
    });
    const calls = [
      adapter.upload(QUEUE, "r1", {}),
      adapter.get(QUEUE, "r1"),
      adapter.update(QUEUE, "r1", {}),
      adapter.move(QUEUE, RUNNING, "r1"),
      adapter.moveOldest(QUEUE, RUNNING),
      adapter.delete(QUEUE, "r1"),
      adapter.list(QUEUE),
    ];
    for (const call of calls) await assert.rejects(call, InactiveStorageError);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("LocalAdapter touches nothing on disk for an invalid path or id", async () => {
  await withTempDir(async (dir) => {
    const basePath = join(dir, "store");
    const adapter = new LocalAdapter({ basePath });
    const outside = join(dir, "outside");
    const badPaths = [
      "../outside",
      `${outside}`,
      "jobs/../../outside",
      "a\\..\\..\\outside",
      "a\0",
    ];
    for (const path of badPaths) {
      await assert.rejects(adapter.upload(path, "r1", {}), InvalidNameError);
      await assert.rejects(adapter.moveOldest(path, RUNNING), InvalidNameError);
      await assert.rejects(adapter.list(path), InvalidNameError);
    }
    for (const id of ["../../outside/r1", "..", "r1/..", "r\0"]) {
      await assert.rejects(adapter.upload(QUEUE, id, {}), InvalidNameError);
    }
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("LocalAdapter lists and takes by modification time, not by the order of writes or ids", async () => {
  await withTempDir(async (basePath) => {
    using adapter = new LocalAdapter({ basePath });
    for (const id of ["mmm", "aaa", "zzz", "bbb"]) {
      await adapter.upload(QUEUE, id, { id });
    }
    const base = Math.floor(Date.now() / 1000) - 3600;
    await setTime(basePath, `${QUEUE}/zzz.json`, base);
    await setTime(basePath, `${QUEUE}/mmm.json`, base + 1);
    await setTime(basePath, `${QUEUE}/bbb.json`, base + 2);
    await setTime(basePath, `${QUEUE}/aaa.json`, base + 3);
    const order = ["zzz", "mmm", "bbb", "aaa"];
    assert.deepEqual(await adapter.list(QUEUE), order);
    const taken = [];
    for (let i = 0; i < order.length; i++) {
      taken.push(await adapter.moveOldest(QUEUE, RUNNING));
    }
    assert.deepEqual(taken, order);
  });
});

Deno.test("LocalAdapter takes a job that another tool wrote earlier, with a random id, first", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    await Deno.mkdir(join(basePath, QUEUE), { recursive: true });
    // Sorted by id, the foreign job would come last.
    const foreign = "zz_written-by-python";
    await Deno.writeTextFile(join(basePath, QUEUE, `${foreign}.json`), "{}");
    await setTime(basePath, `${QUEUE}/${foreign}.json`, Date.now() / 1000 - 60);
    const later = newJobId();
    await adapter.upload(QUEUE, later, {});
    assert.deepEqual(await adapter.list(QUEUE), [foreign, later]);
    assert.equal(await adapter.moveOldest(QUEUE, RUNNING), foreign);
    assert.equal(await adapter.moveOldest(QUEUE, RUNNING), later);
  });
});

Deno.test("a LocalAdapter takes a record that another instance moved back first, after rescanIntervalMs", async () => {
  await withTempDir(async (basePath) => {
    const api = new LocalAdapter({ basePath });
    const worker = new LocalAdapter({ basePath, rescanIntervalMs: 0 });
    await uploadInOrder(api, QUEUE, ["c", "b", "a"]);
    assert.deepEqual(await worker.list(QUEUE), ["c", "b", "a"]);
    assert.equal(await worker.moveOldest(QUEUE, RUNNING), "c");
    // The other instance (a recovery tool, say) puts the job back.
    await api.move(RUNNING, QUEUE, "c");
    assert.equal(await worker.moveOldest(QUEUE, RUNNING), "c");
    assert.equal(await worker.moveOldest(QUEUE, RUNNING), "b");
  });
});

Deno.test("with a long rescanIntervalMs, a record moved back by another instance is taken once the listing is used up", async () => {
  await withTempDir(async (basePath) => {
    const api = new LocalAdapter({ basePath });
    const worker = new LocalAdapter({ basePath, rescanIntervalMs: 3_600_000 });
    await uploadInOrder(api, QUEUE, ["c", "b", "a"]);
    assert.equal(await worker.moveOldest(QUEUE, RUNNING), "c");
    await api.move(RUNNING, QUEUE, "c");
    const taken = [];
    for (let i = 0; i < 4; i++) {
      taken.push(await worker.moveOldest(QUEUE, RUNNING));
    }
    assert.deepEqual(sortedDefined(taken), ["a", "b", "c"]);
    assert.equal(taken[3], undefined);
  });
});

function sortedDefined(values: (string | undefined)[]): string[] {
  return values.filter((v) => v !== undefined).sort();
}

/** A deno process that runs `script` once the test says go, and prints JSON. */
class Helper {
  #child: Deno.ChildProcess;
  #reader: ReadableStreamDefaultReader<string>;
  #output = "";

  constructor(scriptPath: string, args: string[]) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--config=${CONFIG}`,
        "--allow-read",
        "--allow-write",
        scriptPath,
        ...args,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#reader = this.#child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
  }

  /** Waits for the process to say it is ready: it has loaded and listed. */
  async ready(): Promise<void> {
    while (!this.#output.includes("ready\n")) {
      const { value, done } = await this.#reader.read();
      assert.ok(!done, `The helper ended before it was ready: ${this.#output}`);
      this.#output += value;
    }
    this.#output = this.#output.slice(this.#output.indexOf("ready\n") + 6);
  }

  /** Lets the process go: it starts when its stdin closes. */
  go(): Promise<void> {
    return this.#child.stdin.close();
  }

  /** The JSON it printed at the end. */
  async result(): Promise<string[]> {
    for (;;) {
      const { value, done } = await this.#reader.read();
      if (done) break;
      this.#output += value;
    }
    const status = await this.#child.status;
    assert.equal(status.code, 0, `The helper failed: ${this.#output}`);
    return JSON.parse(this.#output);
  }
}

const HELPER = `
import { LocalAdapter } from ${
  JSON.stringify(import.meta.resolve("../src/local_adapter.ts"))
};
import { NotFoundError } from ${
  JSON.stringify(import.meta.resolve("../src/errors.ts"))
};
const [basePath, mode, to, count, order] = Deno.args;
const adapter = new LocalAdapter({ basePath, rescanIntervalMs: 0 });
await adapter.list(${JSON.stringify(QUEUE)});
console.log("ready");
for await (const _ of Deno.stdin.readable) { /* wait for the close */ }
const done = [];
if (mode === "moveOldest") {
  let id = await adapter.moveOldest(${JSON.stringify(QUEUE)}, to);
  while (id !== undefined) {
    done.push(id);
    id = await adapter.moveOldest(${JSON.stringify(QUEUE)}, to);
  }
} else {
  for (let i = 0; i < Number(count); i++) {
    // One process goes up from r0, the other down from the last: they meet and fight.
    const id = "r" + (order === "down" ? Number(count) - 1 - i : i);
    try {
      await adapter.move(${JSON.stringify(QUEUE)}, to, id);
      done.push(id);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
}
console.log(JSON.stringify(done));
`;

/** Runs the helper in two processes at once over one store of `count` records. */
async function twoProcesses(
  mode: "moveOldest" | "move",
  count: number,
): Promise<void> {
  await withTempDir(async (dir) => {
    const basePath = join(dir, "store");
    const script = join(dir, "helper.ts");
    await Deno.writeTextFile(script, HELPER);
    const adapter = new LocalAdapter({ basePath });
    const all = Array.from({ length: count }, (_, i) => `r${i}`);
    for (const id of all) await adapter.upload(QUEUE, id, { id });
    const targets = ["jobs/taken_a", "jobs/taken_b"];
    const helpers = targets.map((to, i) =>
      new Helper(script, [
        basePath,
        mode,
        to,
        String(count),
        i === 0 ? "up" : "down",
      ])
    );
    await Promise.all(helpers.map((h) => h.ready()));
    await Promise.all(helpers.map((h) => h.go()));
    const [a, b] = await Promise.all(helpers.map((h) => h.result()));
    assert.equal(a.length + b.length, count, `${a.length} + ${b.length}`);
    assert.deepEqual([...a, ...b].sort(), all.sort());
    assert.deepEqual((await adapter.list(targets[0])).sort(), [...a].sort());
    assert.deepEqual((await adapter.list(targets[1])).sort(), [...b].sort());
    assert.deepEqual(await adapter.list(QUEUE), []);
  });
}

Deno.test("moveOldest() in two processes at once takes every record exactly once", () =>
  twoProcesses("moveOldest", 1000));

Deno.test("move() of the same records in two processes at once moves each exactly once", () =>
  twoProcesses("move", 1000));

Deno.test("LocalAdapter refuses options of the wrong type with InvalidRecordError", () => {
  for (
    const options of [
      { basePath: "/tmp/x", active: "no" },
      { basePath: "/tmp/x", fsync: 1 },
      { basePath: "/tmp/x", rescanIntervalMs: "soon" },
      { basePath: "/tmp/x", rescanIntervalMs: -1 },
    ]
  ) {
    assert.throws(
      () => new LocalAdapter(options as unknown as { basePath: string }),
      InvalidRecordError,
      JSON.stringify(options),
    );
  }
});

// ---------------------------------------------------------------- conditional changes and claims

Deno.test("LocalAdapter.moveOldest() rolls back a candidate that a Python worker renamed during prepare(), and takes the next", async () => {
  await withTempDir(async (basePath) => {
    using adapter = new LocalAdapter({ basePath });
    await uploadInOrder(adapter, QUEUE, ["c", "b", "a"]);
    const rolledBack: string[] = [];
    const id = await adapter.moveOldest(QUEUE, RUNNING, {
      prepare: async (id) => {
        // sqooler's worker takes a job with a plain rename, and no lock.
        if (id === "c") {
          await Deno.mkdir(join(basePath, RUNNING), { recursive: true });
          await Deno.rename(
            join(basePath, QUEUE, "c.json"),
            join(basePath, RUNNING, "c.json"),
          );
        }
        return true;
      },
      rollback: (id) => Promise.resolve(void rolledBack.push(id)),
    });
    assert.equal(id, "b");
    assert.deepEqual(rolledBack, ["c"]);
    assert.deepEqual((await adapter.list(RUNNING)).sort(), ["b", "c"]);
    assert.deepEqual(await adapter.list(QUEUE), ["a"]);
  });
});

/**
 * Whether another process waits for the lock on a folder, as Linux tells in
 * /proc/locks (a waiter's line reads `N: -> FLOCK … <device>:<inode> …`).
 */
function someoneWaitsOn(folder: string): boolean {
  const inode = Deno.statSync(folder).ino;
  return Deno.readTextFileSync("/proc/locks").split("\n").some((line) =>
    line.includes("->") && line.includes("FLOCK") &&
    line.includes(`:${inode} `)
  );
}

Deno.test({
  name:
    "LocalAdapter.update() holds the folder's lock from its check to its write: another process's delete waits, then deletes the new content",
  ignore: Deno.build.os !== "linux",
  fn: () =>
    withTempDir(async (basePath) => {
      using adapter = new LocalAdapter({ basePath });
      await adapter.upload(QUEUE, "r1", { v: 1 });
      const peer = await spawnPeer({
        args: ["run", `--config=${CONFIG}`, "-A", PEER, basePath],
      });
      try {
        let waited = false;
        // The delete is sent first, so that it is on its way when the update
        // takes the lock; on a loaded machine it can even arrive before, and
        // the round is played again.
        for (let round = 0; round < 5 && !waited; round++) {
          const request = await peer.send([
            { op: "delete", path: QUEUE, id: "r1" },
          ]);
          const updated = await adapter.update(QUEUE, "r1", { v: 2 }, {
            check(current) {
              assert.deepEqual(current, { v: 1 });
              // The check runs until the other process's delete waits for
              // the lock (or gives up after 10 s, which fails below).
              const end = Date.now() + 10_000;
              while (!waited && Date.now() < end) {
                waited = someoneWaitsOn(join(basePath, QUEUE));
              }
            },
          }).catch((error) => error);
          assert.deepEqual(await request.outcomes, [{
            ok: true,
            value: null,
          }]);
          if (!waited) {
            // The delete came first: the update found nothing to replace.
            assert.ok(updated instanceof NotFoundError, String(updated));
            await adapter.upload(QUEUE, "r1", { v: 1 });
          }
        }
        assert.ok(waited, "The other process's delete never waited");
        await assert.rejects(adapter.get(QUEUE, "r1"), NotFoundError);
      } finally {
        await peer.close();
      }
    }),
});

// ---------------------------------------------------------------- order

Deno.test("LocalAdapter gives each write a file time from the clock, 1 ms after the folder's last write when that is later", async () => {
  await withTempDir(async (basePath) => {
    using adapter = new LocalAdapter({ basePath });
    // Fewer writes than the 100 ms that times may run ahead of the clock.
    const ids = Array.from({ length: 80 }, (_, i) => `r${i}`);
    const before = Date.now();
    for (const id of ids) await adapter.upload(QUEUE, id, { id });
    const times = ids.map((id) => fileTime(basePath, QUEUE, id));
    assert.ok(times[0] >= before, `${times[0]} < ${before}`);
    for (let i = 1; i < times.length; i++) {
      assert.ok(
        times[i] > times[i - 1],
        `r${i} has the time ${times[i]}, not after r${i - 1}'s ${times[i - 1]}`,
      );
    }
  });
});

Deno.test("LocalAdapter puts a write's file time at most 100 ms ahead of the clock, however fast it writes", async () => {
  await withTempDir(async (basePath) => {
    using adapter = new LocalAdapter({ basePath });
    const ids = Array.from({ length: 400 }, (_, i) => `r${i}`);
    let ahead = -Infinity;
    for (const id of ids) {
      await adapter.upload(QUEUE, id, { id });
      ahead = Math.max(ahead, fileTime(basePath, QUEUE, id) - Date.now());
    }
    assert.ok(ahead <= 100, `A file time was ${ahead} ms ahead of the clock`);
    const times = ids.map((id) => fileTime(basePath, QUEUE, id));
    assert.ok(
      times.every((time, i) => i === 0 || time >= times[i - 1]),
      "File times never go back",
    );
  });
});

/** A record's modification time, in milliseconds. */
function fileTime(basePath: string, storagePath: string, id: string): number {
  return Deno.statSync(join(basePath, storagePath, `${id}.json`)).mtime!
    .getTime();
}

Deno.test("LocalAdapter takes 50 records uploaded in a burst in upload order, also when deletes free inodes between the uploads", async () => {
  await withTempDir(async (basePath) => {
    using adapter = new LocalAdapter({ basePath });
    const fillers = Array.from({ length: 50 }, (_, i) => `f${i}`);
    for (const id of fillers) await adapter.upload("jobs/deleted", id, {});
    // Random ids, against any order by id. Before each upload, the newest
    // filler goes: a filesystem that reuses the lowest free inode (ext4)
    // then gives the uploads falling inode numbers.
    const order = Array.from({ length: 50 }, () => randomHexId());
    for (const [i, id] of order.entries()) {
      await adapter.delete("jobs/deleted", fillers[fillers.length - 1 - i]);
      await adapter.upload(QUEUE, id, { i });
    }
    const taken: (string | undefined)[] = [];
    for (let i = 0; i <= order.length; i++) {
      taken.push(await adapter.moveOldest(QUEUE, RUNNING));
    }
    assert.deepEqual(taken, [...order, undefined]);
  });
});

/** A temp folder on another filesystem than the default temp folder, if any. */
function secondFilesystem(): string | undefined {
  const home = Deno.makeTempDirSync({ prefix: "sqooler_probe_" });
  try {
    const device = Deno.statSync(home).dev;
    for (const candidate of ["/dev/shm", "/run/shm", "/run/user"]) {
      try {
        const info = Deno.statSync(candidate);
        if (info.isDirectory && info.dev !== device) {
          Deno.mkdirSync(join(candidate, ".probe"), { recursive: true });
          Deno.removeSync(join(candidate, ".probe"));
          return candidate;
        }
      } catch {
        // Not there, or not writable: try the next.
      }
    }
    return undefined;
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
}

// The tests that need two filesystems are ignored where there is only one.
const OTHER_FS = secondFilesystem();

/** A temp folder on the second filesystem, removed afterwards. */
async function withOtherFsDir<T>(work: (dir: string) => Promise<T>) {
  const dir = await Deno.makeTempDir({ dir: OTHER_FS, prefix: "sqooler_" });
  try {
    return await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A job id as Python's `uuid4().hex[:24]` makes it. */
function randomHexId(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 24);
}

Deno.test({
  name:
    "LocalAdapter takes 50 jobs that a Python-like writer wrote in place without pause in the order written (tmpfs)",
  ignore: OTHER_FS === undefined,
  fn: () =>
    withOtherFsDir(async (basePath) => {
      // On tmpfs, files written in the same millisecond are told apart by
      // their inode numbers, which grow with every file made.
      const folder = join(basePath, "jobs/queued/spins");
      await Deno.mkdir(folder, { recursive: true });
      const written: string[] = [];
      for (let i = 0; i < 50; i++) {
        const id = randomHexId();
        // Python's open(path, "w"), json.dump and close: in place.
        Deno.writeTextFileSync(join(folder, `${id}.json`), `{"i": ${i}}`);
        written.push(id);
      }
      using adapter = new LocalAdapter({ basePath });
      const taken: string[] = [];
      for (let i = 0; i < written.length; i++) {
        taken.push((await adapter.moveOldest("jobs/queued/spins", RUNNING))!);
      }
      assert.deepEqual(taken, written);
    }),
});

Deno.test({
  name:
    "LocalAdapter takes files with the same modification time in the order they were created (tmpfs)",
  ignore: OTHER_FS === undefined,
  fn: () =>
    withOtherFsDir(async (basePath) => {
      using adapter = new LocalAdapter({ basePath });
      const created = ["mmm", "aaa", "zzz", "bbb"];
      for (const id of created) await adapter.upload(QUEUE, id, { id });
      // One time for all, as a coarse clock gives files written in a row.
      const time = Math.floor(Date.now() / 1000) - 3600;
      for (const id of created) {
        await setTime(basePath, `${QUEUE}/${id}.json`, time);
      }
      assert.deepEqual(await adapter.list(QUEUE), created);
      const taken = [];
      for (let i = 0; i < created.length; i++) {
        taken.push(await adapter.moveOldest(QUEUE, RUNNING));
      }
      assert.deepEqual(taken, created);
    }),
});

// ---------------------------------------------------------------- folders on other filesystems

Deno.test({
  name:
    "LocalAdapter writes into a folder that links to another filesystem, with its temp files there, outside sqooler's folders",
  ignore: OTHER_FS === undefined,
  fn: () =>
    withTempDir((basePath) =>
      withOtherFsDir(async (elsewhere) => {
        await Deno.symlink(elsewhere, join(basePath, "results"));
        using adapter = new LocalAdapter({ basePath });
        await adapter.upload("results/spins", "abc", { v: 1 });
        await adapter.update("results/spins", "abc", { v: 2 });
        await adapter.upload(QUEUE, "abc", { v: 3 });
        assert.deepEqual(await adapter.get("results/spins", "abc"), { v: 2 });
        assert.deepEqual(await adapter.list("results/spins"), ["abc"]);
        // The record and the (empty) temp folder are on the other filesystem.
        assert.deepEqual(await filesBelow(elsewhere), ["spins/abc.json"]);
        assert.deepEqual([...Deno.readDirSync(join(elsewhere, ".tmp"))], []);
        assert.deepEqual([...Deno.readDirSync(join(basePath, ".tmp"))], []);
        await adapter.delete("results/spins", "abc");
        assert.deepEqual(await adapter.list("results/spins"), []);
      })
    ),
});

Deno.test({
  name:
    "LocalAdapter refuses to write into a records folder that is itself a link to another filesystem, naming it",
  ignore: OTHER_FS === undefined,
  fn: () =>
    withTempDir((basePath) =>
      withOtherFsDir(async (elsewhere) => {
        await Deno.mkdir(join(basePath, "jobs"));
        await Deno.symlink(elsewhere, join(basePath, RUNNING));
        using adapter = new LocalAdapter({ basePath });
        const error = await adapter.upload(RUNNING, "abc", {}).catch((e) => e);
        assert.ok(error instanceof StorageError, String(error));
        assert.equal(error.code, "EXDEV");
        assert.match(
          error.message,
          /^Cannot create jobs\/running\/abc\.json: the folder jobs\/running is on another filesystem than every folder above it in the storage/,
        );
        // Nothing was written: no record, no temp file (the link is no file).
        assert.deepEqual(await filesBelow(elsewhere), []);
        assert.deepEqual(await filesBelow(basePath), [RUNNING]);
      })
    ),
});

Deno.test({
  name:
    "LocalAdapter refuses a move between folders on different filesystems with a StorageError naming both, and changes nothing",
  ignore: OTHER_FS === undefined,
  fn: () =>
    withTempDir((basePath) =>
      withOtherFsDir(async (elsewhere) => {
        await Deno.mkdir(join(basePath, "jobs"));
        await Deno.symlink(elsewhere, join(basePath, "jobs/finished"));
        const finished = "jobs/finished/spins";
        using adapter = new LocalAdapter({ basePath });
        await uploadInOrder(adapter, QUEUE, ["b", "a"]);
        const error = await adapter.move(QUEUE, finished, "b").catch((e) => e);
        assert.ok(error instanceof StorageError, String(error));
        assert.equal(error.code, "EXDEV");
        assert.equal(
          error.message,
          "Cannot move jobs/queued/fermions/b.json to jobs/finished/spins: jobs/queued/fermions and jobs/finished/spins are on different filesystems, so the move cannot be atomic; keep both folders on one filesystem",
        );
        // A claim that fails so rolls back what it prepared; the job stays first.
        const rolledBack: string[] = [];
        const claim = await adapter.moveOldest(QUEUE, finished, {
          prepare: () => Promise.resolve(true),
          rollback: (id) => Promise.resolve(void rolledBack.push(id)),
        }).catch((e) => e);
        assert.ok(claim instanceof StorageError && claim.code === "EXDEV");
        assert.deepEqual(rolledBack, ["b"]);
        assert.deepEqual(await adapter.list(QUEUE), ["b", "a"]);
        assert.equal(await adapter.moveOldest(QUEUE, RUNNING), "b");
        assert.deepEqual(await filesBelow(elsewhere), []);
      })
    ),
});

// ---------------------------------------------------------------- storage errors

Deno.test("LocalAdapter turns a file where a folder should be into a StorageError naming the record, and leaves no temp file", async () => {
  await withTempDir(async (basePath) => {
    using adapter = new LocalAdapter({ basePath });
    await adapter.upload(QUEUE, "r1", { v: 1 });
    await Deno.writeTextFile(join(basePath, "status"), "not a folder");
    const error = await adapter.upload("status/spins", "abc", {}).catch((e) =>
      e
    );
    assert.ok(error instanceof StorageError, String(error));
    assert.equal(error.code, "ENOTDIR");
    assert.equal(
      error.message,
      "Cannot create status/spins/abc.json: a part of its path is a file, not a folder (ENOTDIR)",
    );
    assert.ok(!(error.cause instanceof StorageError));
    // Reading or changing a record there finds nothing, as it cannot exist.
    await assert.rejects(adapter.get("status/spins", "abc"), NotFoundError);
    await assert.rejects(
      adapter.update("status/spins", "abc", {}),
      NotFoundError,
    );
    await assert.rejects(adapter.delete("status/spins", "abc"), NotFoundError);
    assert.deepEqual([...Deno.readDirSync(join(basePath, ".tmp"))], []);
    assert.deepEqual(await filesBelow(basePath), [
      `${QUEUE}/r1.json`,
      "status",
    ]);
  });
});

Deno.test({
  name:
    "LocalAdapter turns a folder it may not write into a StorageError with code EACCES",
  // root may write anywhere; then nothing is refused.
  ignore: Deno.build.os === "windows" || runsAsRoot(),
  fn: () =>
    withTempDir(async (basePath) => {
      using adapter = new LocalAdapter({ basePath });
      await adapter.upload(QUEUE, "r1", { v: 1 });
      await Deno.chmod(join(basePath, QUEUE), 0o555);
      try {
        const error = await adapter.upload(QUEUE, "r2", {}).catch((e) => e);
        assert.ok(error instanceof StorageError, String(error));
        assert.equal(error.code, "EACCES");
        assert.equal(
          error.message,
          "Cannot create jobs/queued/fermions/r2.json: permission denied (EACCES)",
        );
        const moved = await adapter.move(QUEUE, RUNNING, "r1").catch((e) => e);
        assert.ok(moved instanceof StorageError && moved.code === "EACCES");
        assert.deepEqual(await adapter.list(QUEUE), ["r1"]);
      } finally {
        await Deno.chmod(join(basePath, QUEUE), 0o755);
      }
    }),
});

Deno.test({
  name:
    "LocalAdapter turns running out of file descriptors into a StorageError with code EMFILE, and changes nothing",
  ignore: Deno.build.os === "windows",
  fn: () =>
    withTempDir(async (basePath) => {
      const script = fileURLToPath(
        new URL("./support/fd_exhaustion.ts", import.meta.url),
      );
      const command =
        `ulimit -n 64 && exec "${Deno.execPath()}" run --config="${CONFIG}" -A "${script}" "${basePath}"`;
      const output = await new Deno.Command("sh", { args: ["-c", command] })
        .output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, stderr);
      const outcomes = JSON.parse(new TextDecoder().decode(output.stdout));
      for (
        const [name, action] of Object.entries({
          upload: "create",
          update: "update",
          delete: "delete",
          get: "read",
        })
      ) {
        const record = name === "upload" ? "new" : "held";
        assert.deepEqual(outcomes[name], {
          name: "StorageError",
          code: "EMFILE",
          message:
            `Cannot ${action} jobs/queued/fermions/${record}.json: this process has too many open files (EMFILE)`,
          cause: "Error",
        }, name);
      }
      assert.deepEqual(outcomes.temp, []);
      assert.deepEqual(outcomes.records, ["held", "other"]);
      assert.deepEqual(outcomes.held, { v: 1 });
    }),
});

Deno.test("errorCode() names an OS error by its code, or by the number in its message", () => {
  const full = Object.assign(new Error("No space left on device"), {
    code: "ENOSPC",
  });
  assert.equal(errorCode(full), "ENOSPC");
  const errno = osConstants.errno as Record<string, number>;
  assert.equal(
    errorCode(new Error(`Read-only file system (os error ${errno.EROFS})`)),
    "EROFS",
  );
  assert.equal(
    errorCode(new Error(`I/O error (os error ${errno.EIO}): write 'x'`)),
    "EIO",
  );
  assert.equal(errorCode(new Error("something else")), undefined);
  assert.equal(errorCode(new TypeError("x is not a function")), undefined);
  assert.equal(errorCode(undefined), undefined);
});

// ---------------------------------------------------------------- temp files and handles

/** Leaves a temp file as a killed writer would, last modified `ageMs` ago. */
async function leaveTempFile(folder: string, name: string, ageMs: number) {
  await Deno.mkdir(folder, { recursive: true });
  const path = join(folder, name);
  await Deno.writeTextFile(path, '{"job_id": "ab');
  const time = new Date(Date.now() - ageMs);
  await Deno.utime(path, time, time);
  return path;
}

Deno.test("LocalAdapter.sweepTempFiles() removes temp files older than an hour from .tmp, and nothing else", async () => {
  await withTempDir(async (basePath) => {
    using writer = new LocalAdapter({ basePath });
    await writer.upload(QUEUE, "r1", { v: 1 });
    const tmp = join(basePath, ".tmp");
    const old = await leaveTempFile(tmp, "r2.aaaa.tmp", 2 * 3_600_000);
    const young = await leaveTempFile(tmp, "r3.bbbb.tmp", 60_000);
    // A file in a records folder is a record, whatever its age.
    await setTime(basePath, `${QUEUE}/r1.json`, Date.now() / 1000 - 86_400);
    // Another instance finds what the first (or a killed process) left.
    using sweeper = new LocalAdapter({ basePath });
    assert.equal(await sweeper.sweepTempFiles(), 1);
    await assert.rejects(Deno.lstat(old), Deno.errors.NotFound);
    await Deno.lstat(young);
    assert.deepEqual(await sweeper.get(QUEUE, "r1"), { v: 1 });
    const inTwoHours = () => Date.now() + 2 * 3_600_000;
    assert.equal(await sweeper.sweepTempFiles({ now: inTwoHours }), 1);
    assert.equal(await sweeper.sweepTempFiles({ olderThanMs: 0 }), 0);
    assert.deepEqual(await filesBelow(basePath), [`${QUEUE}/r1.json`]);
  });
});

Deno.test({
  name:
    "LocalAdapter.sweepTempFiles() also sweeps the .tmp folders on the filesystems that folders of the storage link to",
  ignore: OTHER_FS === undefined,
  fn: () =>
    withTempDir((basePath) =>
      withOtherFsDir(async (elsewhere) => {
        await Deno.symlink(elsewhere, join(basePath, "results"));
        using writer = new LocalAdapter({ basePath });
        await writer.upload("results/spins", "abc", { v: 1 });
        await leaveTempFile(join(elsewhere, ".tmp"), "x.1.tmp", 7_200_000);
        await leaveTempFile(join(basePath, ".tmp"), "y.2.tmp", 7_200_000);
        using sweeper = new LocalAdapter({ basePath });
        assert.equal(await sweeper.sweepTempFiles(), 2);
        assert.deepEqual(await filesBelow(elsewhere), ["spins/abc.json"]);
      })
    ),
});

Deno.test("LocalAdapter.sweepTempFiles() refuses options that are not acceptable", async () => {
  await withTempDir(async (basePath) => {
    using adapter = new LocalAdapter({ basePath });
    for (
      const options of [
        { olderThanMs: -1 },
        { olderThanMs: "1h" },
        { now: 5 },
        { now: () => NaN },
      ]
    ) {
      await assert.rejects(
        adapter.sweepTempFiles(options as never),
        InvalidRecordError,
        JSON.stringify(options),
      );
    }
    const inactive = new LocalAdapter({ basePath, active: false });
    await assert.rejects(inactive.sweepTempFiles(), InactiveStorageError);
  });
});

Deno.test({
  name:
    "LocalAdapter keeps at most 32 folders open for its locks, and close() closes them",
  ignore: Deno.build.os !== "linux",
  fn: () =>
    withTempDir(async (basePath) => {
      const open = () => [...Deno.readDirSync("/proc/self/fd")].length;
      const adapter = new LocalAdapter({ basePath });
      const folders = Array.from({ length: 100 }, (_, i) => `status/b${i}`);
      for (const folder of folders) await adapter.upload(folder, "r", {});
      const before = open();
      for (const folder of folders) await adapter.update(folder, "r", {});
      const during = open();
      assert.ok(
        during - before <= 32 && during - before >= 1,
        `${during - before} more open files`,
      );
      adapter.close();
      assert.equal(open(), before);
      // Closed, it still works, and opens what it needs again.
      await adapter.delete(folders[0], "r");
      adapter.close();
    }),
});

Deno.test("a candidate that prepare() refused keeps its place also when another call listed the folder again meanwhile", async () => {
  await withTempDir(async (basePath) => {
    using adapter = new LocalAdapter({ basePath, rescanIntervalMs: 0 });
    await uploadInOrder(adapter, QUEUE, ["c", "b", "a"]);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => open = resolve);
    const first = adapter.moveOldest(QUEUE, RUNNING, {
      prepare: async (id) => {
        if (id !== "c") return true;
        await gate;
        return false;
      },
    });
    // Lists again (rescanIntervalMs: 0) while c is in the first call's hands.
    const second = await adapter.moveOldest(QUEUE, RUNNING);
    open();
    assert.deepEqual([await first, second], ["a", "b"]);
    assert.equal(await adapter.moveOldest(QUEUE, RUNNING), "c");
    assert.equal(await adapter.moveOldest(QUEUE, RUNNING), undefined);
  });
});

Deno.test("concurrent moveOldest() calls of one LocalAdapter that lists again on every call never prepare one record twice", async () => {
  await withTempDir(async (basePath) => {
    using adapter = new LocalAdapter({ basePath, rescanIntervalMs: 0 });
    const all = Array.from({ length: 40 }, (_, i) => `r${i}`);
    // Listed while empty, so that the uploads join the listing as they come.
    assert.equal(await adapter.moveOldest(QUEUE, RUNNING), undefined);
    for (const id of all) await adapter.upload(QUEUE, id, { id });
    const prepared: string[] = [];
    const rolledBack: string[] = [];
    const options = {
      prepare: async (id: string) => {
        prepared.push(id);
        // Other calls list the folder again while this one holds `id`.
        for (let i = 0; i < 5; i++) await adapter.list(QUEUE);
        return true;
      },
      rollback: (id: string) => Promise.resolve(void rolledBack.push(id)),
    };
    // Each call starts while earlier ones hold their candidates, and lists
    // the folder again.
    const calls: Promise<string | undefined>[] = [];
    for (const _ of all) {
      calls.push(adapter.moveOldest(QUEUE, RUNNING, options));
      await adapter.list(QUEUE);
    }
    const taken = await Promise.all(calls);
    assert.deepEqual(sortedDefined(taken), [...all].sort());
    assert.deepEqual([...prepared].sort(), [...all].sort());
    assert.deepEqual(rolledBack, []);
  });
});

Deno.test("a record that one moveOldest() call holds in prepare() is not offered to another call that lists the folder again", async () => {
  await withTempDir(async (basePath) => {
    using adapter = new LocalAdapter({ basePath });
    // Listed while empty, so that the uploads join the listing as they come.
    assert.equal(await adapter.moveOldest(QUEUE, RUNNING), undefined);
    await adapter.upload(QUEUE, "r0", {});
    await adapter.upload(QUEUE, "r1", {});
    let open!: () => void;
    const gate = new Promise<void>((resolve) => open = resolve);
    const rolledBack: string[] = [];
    const first = adapter.moveOldest(QUEUE, RUNNING, {
      prepare: async () => {
        await gate;
        return true;
      },
      rollback: (id) => Promise.resolve(void rolledBack.push(id)),
    });
    // A rewritten record makes the next call list the folder again.
    await adapter.update(QUEUE, "r1", { v: 1 });
    const second = await adapter.moveOldest(QUEUE, RUNNING);
    open();
    assert.deepEqual([await first, second, rolledBack], ["r0", "r1", []]);
    assert.equal(await adapter.moveOldest(QUEUE, RUNNING), undefined);
  });
});

/** Whether the tests run as root, who may write anywhere (unknown: as if so). */
function runsAsRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    // Without --allow-sys the uid cannot be read.
    return true;
  }
}

// ---------------------------------------------------------------- large files

/** What get() must return for a file: the one-piece reading of its text. */
function onePiece(path: string, record: string): unknown {
  try {
    return records.parse(Deno.readTextFileSync(path), record);
  } catch (error) {
    return error instanceof Error ? error.constructor.name : error;
  }
}

Deno.test("LocalAdapter reads a large file in pieces exactly as in one piece: characters cut between pieces, a byte order mark, bytes that are not UTF-8, long tokens", async () => {
  await withTempDir(async (basePath) => {
    using adapter = new LocalAdapter({ basePath });
    const folder = join(basePath, QUEUE);
    Deno.mkdirSync(folder, { recursive: true });
    const encoder = new TextEncoder();
    const cases: [string, Uint8Array][] = [];
    // é (2 bytes), € (3) and 😀 (4) at every offset across the 64 KiB cut.
    for (const char of ["é", "€", "😀"]) {
      for (let shift = 0; shift < 5; shift++) {
        const pad = "x".repeat(65_536 - 7 - shift); // `{"a": "` is 7 bytes
        const text = `{"a": "${pad}${char}", "b": [${
          '"y", '.repeat(20_000)
        }"z"]}`;
        cases.push([`${char}${shift}`, encoder.encode(text)]);
      }
    }
    const big = encoder.encode(`{"m": [${'"0 1", '.repeat(30_000)}"1 1"]}`);
    cases.push(["bom", new Uint8Array([0xef, 0xbb, 0xbf, ...big])]);
    const broken = big.slice();
    broken[70_000] = 0xff;
    cases.push(["not utf-8", broken]);
    cases.push([
      "cut utf-8 at the end",
      new Uint8Array([...big.slice(0, -1), 0xe2, 0x82]),
    ]);
    cases.push([
      "a 3 MB string",
      encoder.encode(`{"s": "${"x".repeat(3_000_000)}"}`),
    ]);
    cases.push([
      "3 MB of spaces",
      encoder.encode(`{"s":${" ".repeat(3_000_000)}1}`),
    ]);
    cases.push([
      "NaN late",
      encoder.encode(`{"m": [${'"0", '.repeat(40_000)}NaN]}`),
    ]);
    for (const [name, bytes] of cases) {
      const path = join(folder, `${name.replace(/[^a-z0-9]/gi, "_")}.json`);
      Deno.writeFileSync(path, bytes);
      const id = path.slice(folder.length + 1, -".json".length);
      const record = `${QUEUE}/${id}.json`;
      const got = await adapter.get(QUEUE, id).catch((error) =>
        error instanceof Error ? error.constructor.name : error
      );
      assert.deepEqual(got, onePiece(path, record), name);
    }
  });
});

Deno.test({
  name:
    "LocalAdapter closes every file it reads, large or small, read or refused",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await withTempDir(async (basePath) => {
      using adapter = new LocalAdapter({ basePath });
      const memory = Array.from({ length: 30_000 }, (_, i) => `${i % 2}`);
      await adapter.upload(QUEUE, "large", { memory });
      await adapter.upload(QUEUE, "small", { v: 1 });
      Deno.writeTextFileSync(
        join(basePath, QUEUE, "broken.json"),
        `{"m": [${'"0", '.repeat(30_000)}`,
      );
      const open = () => [...Deno.readDirSync("/proc/self/fd")].length;
      await adapter.get(QUEUE, "large"); // the first read may open what stays
      const before = open();
      for (let i = 0; i < 50; i++) {
        await Promise.all([
          adapter.get(QUEUE, "large"),
          adapter.get(QUEUE, "small"),
          adapter.get(QUEUE, "broken").catch(() => undefined),
          adapter.get(QUEUE, "missing").catch(() => undefined),
        ]);
      }
      assert.equal(open(), before);
    });
  },
});
