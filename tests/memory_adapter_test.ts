import assert from "node:assert/strict";
import { MemoryAdapter } from "../mod.ts";
import { testStorageAdapter } from "../testing.ts";

Deno.test("MemoryAdapter conforms to the StorageAdapter contract", (t) =>
  testStorageAdapter(t, { create: (init) => new MemoryAdapter(init) }));

Deno.test("MemoryAdapter is named default and active unless told otherwise", () => {
  const adapter = new MemoryAdapter();
  assert.equal(adapter.name, "default");
  assert.equal(adapter.active, true);
});

Deno.test("two MemoryAdapters share nothing", async () => {
  const first = new MemoryAdapter();
  const second = new MemoryAdapter();
  await first.upload("jobs/running", "r1", { v: 1 });
  assert.deepEqual(await second.list("jobs/running"), []);
  await second.upload("jobs/running", "r1", { v: 2 });
  assert.deepEqual(await first.get("jobs/running", "r1"), { v: 1 });
});

Deno.test("moveOldest() takes a record that was updated twice only once", async () => {
  const adapter = new MemoryAdapter();
  for (const id of ["a", "b", "c"]) await adapter.upload("q", id, { id });
  assert.equal(await adapter.moveOldest("q", "r"), "a");
  // Each update leaves the record's earlier place behind in the queue.
  await adapter.update("q", "b", { v: 1 });
  await adapter.update("q", "b", { v: 2 });
  assert.equal(await adapter.moveOldest("q", "r"), "c");
  assert.equal(await adapter.moveOldest("q", "r"), "b");
  assert.equal(await adapter.moveOldest("q", "r"), undefined);
  assert.deepEqual(await adapter.get("r", "b"), { v: 2 });
});

Deno.test("moveOldest() follows list() after many mixed operations", async () => {
  const adapter = new MemoryAdapter();
  // A fixed seed, so that a failure can be replayed.
  let seed = 20240601;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const inQueue = new Set<string>();
  const elsewhere = new Set<string>();
  for (let step = 0; step < 600; step++) {
    const queued = [...inQueue];
    const away = [...elsewhere];
    switch (random(6)) {
      case 0:
      case 1: {
        const id = `r${step}`;
        await adapter.upload("q", id, { id });
        inQueue.add(id);
        break;
      }
      case 2: {
        const oldest = (await adapter.list("q"))[0];
        const id = await adapter.moveOldest("q", "away");
        assert.equal(id, oldest);
        if (id !== undefined) {
          inQueue.delete(id);
          elsewhere.add(id);
        }
        break;
      }
      case 3:
        if (away.length > 0) {
          const id = away[random(away.length)];
          await adapter.move("away", "q", id);
          elsewhere.delete(id);
          inQueue.add(id);
        }
        break;
      case 4:
        if (queued.length > 0) {
          const id = queued[random(queued.length)];
          await adapter.update("q", id, { id, updated: step });
        }
        break;
      case 5:
        if (queued.length > 0) {
          const id = queued[random(queued.length)];
          await adapter.delete("q", id);
          inQueue.delete(id);
        }
        break;
    }
  }
  const expected = await adapter.list("q");
  assert.deepEqual([...expected].sort(), [...inQueue].sort());
  const taken: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    taken.push((await adapter.moveOldest("q", "away"))!);
  }
  assert.deepEqual(taken, expected);
  assert.equal(await adapter.moveOldest("q", "away"), undefined);
});
