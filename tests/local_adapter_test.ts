import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import {
  CorruptRecordError,
  InactiveStorageError,
  InvalidNameError,
  InvalidRecordError,
  LocalAdapter,
  type LocalAdapterOptions,
  newJobId,
} from "../mod.ts";
import { testStorageAdapter } from "../testing.ts";
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

Deno.test("LocalAdapter conforms to the StorageAdapter contract", (t) =>
  testStorageAdapter<LocalAdapter>(t, {
    async create(init) {
      const basePath = await Deno.makeTempDir({ prefix: "sqooler_local_" });
      try {
        return new LocalAdapter({ basePath, ...init });
      } catch (error) {
        await Deno.remove(basePath, { recursive: true });
        throw error;
      }
    },
    dispose: (adapter) => Deno.remove(adapter.basePath, { recursive: true }),
    reopen: (adapter) =>
      new LocalAdapter({ basePath: adapter.basePath, rescanIntervalMs: 0 }),
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

Deno.test("LocalAdapter lists and takes by modification time, then by id", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    for (const id of ["mmm", "aaa", "zzz", "bbb"]) {
      await adapter.upload(QUEUE, id, { id });
    }
    const base = Math.floor(Date.now() / 1000) - 3600;
    await setTime(basePath, `${QUEUE}/zzz.json`, base);
    await setTime(basePath, `${QUEUE}/mmm.json`, base + 1);
    await setTime(basePath, `${QUEUE}/aaa.json`, base + 1);
    await setTime(basePath, `${QUEUE}/bbb.json`, base + 2);
    const order = ["zzz", "aaa", "mmm", "bbb"];
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
        "--no-config",
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
