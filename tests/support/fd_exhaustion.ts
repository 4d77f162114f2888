// Runs a LocalAdapter's operations while the process has no file descriptor
// left, and prints how each ended as JSON: the error's class and code, and
// what the .tmp folder holds afterwards. Started by the tests under a low
// `ulimit -n`, with the storage folder as the first argument.

import { LocalAdapter } from "../../src/local_adapter.ts";

const basePath = Deno.args[0];
const adapter = new LocalAdapter({ basePath });
const QUEUE = "jobs/queued/fermions";
// Made while descriptors are free: the folders and the records to change.
await adapter.upload(QUEUE, "held", { v: 1 });
await adapter.upload(QUEUE, "other", { v: 1 });
adapter.close();

const hog: Deno.FsFile[] = [];
for (;;) {
  try {
    hog.push(Deno.openSync("/dev/null"));
  } catch {
    break;
  }
}
const outcomes: Record<string, unknown> = {};
const calls: [string, () => Promise<unknown>][] = [
  ["upload", () => adapter.upload(QUEUE, "new", { v: 2 })],
  ["update", () => adapter.update(QUEUE, "held", { v: 2 })],
  ["delete", () => adapter.delete(QUEUE, "held")],
  ["get", () => adapter.get(QUEUE, "held")],
];
for (const [name, call] of calls) {
  outcomes[name] = await call().then(
    () => "ok",
    (error) => ({
      name: error.name,
      code: error.code,
      message: error.message,
      cause: error.cause?.name,
    }),
  );
}
for (const file of hog) file.close();
outcomes.temp = [...Deno.readDirSync(`${basePath}/.tmp`)].map((e) => e.name);
outcomes.records = await adapter.list(QUEUE);
outcomes.held = await adapter.get(QUEUE, "held");
adapter.close();
console.log(JSON.stringify(outcomes));
