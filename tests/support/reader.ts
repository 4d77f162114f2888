// A reader process, as the web API under load: reads a backend's config and a
// job's status and result, through the library and as raw files, in a loop,
// until the parent closes stdin. Argument: JSON { basePath, displayName,
// username, jobId }. Prints "ready" after its first round, then at the end
// one JSON line of counts.

import { join } from "node:path";
import {
  CONFIGS,
  getConfig,
  getResult,
  getStatus,
  LocalAdapter,
  metaPath,
  resultsPath,
  statusPath,
} from "../../mod.ts";

const { basePath, displayName, username, jobId } = JSON.parse(Deno.args[0]);
const adapter = new LocalAdapter({ basePath, name: "lab" });
const ref = { displayName, username, jobId };
const files = [
  join(basePath, CONFIGS, `${displayName}.json`),
  join(basePath, statusPath(displayName), `${jobId}.json`),
  join(basePath, resultsPath(displayName), `${jobId}.json`),
  join(basePath, metaPath(displayName), `${jobId}.json`),
];

let stopping = false;
const stopped = Deno.stdin.readable.pipeTo(new WritableStream()).then(() => {
  stopping = true;
});
const counts = {
  rounds: 0,
  libraryReads: 0,
  rawReads: 0,
  parseErrors: 0,
  missing: 0,
  libraryErrors: [] as string[],
  /** Distinct contents seen, to show that the reads overlapped the writes. */
  versions: { config: 0, status: 0, result: 0 },
};
const seen = { config: new Set(), status: new Set(), result: new Set() };

function note(kind: keyof typeof seen, version: unknown) {
  if (seen[kind].size < 10_000) seen[kind].add(version);
}

for (;;) {
  const done = stopping;
  try {
    const config = await getConfig(adapter, displayName);
    note("config", `${config.description.length} ${config.last_queue_check}`);
    const status = await getStatus(adapter, ref);
    // The ERROR status is what a reader gets when the file is missing.
    if (status.status !== "DONE") counts.missing++;
    note("status", status.detail);
    const result = await getResult(adapter, ref);
    if (result.status !== "DONE") counts.missing++;
    note("result", `${result.results.length} ${result.results[0]?.shots}`);
    counts.libraryReads += 3;
  } catch (error) {
    counts.libraryErrors.push(String(error));
  }
  for (const file of files) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      counts.missing++;
      continue;
    }
    try {
      JSON.parse(text);
    } catch {
      counts.parseErrors++;
    }
    counts.rawReads++;
  }
  counts.rounds++;
  if (counts.rounds === 1) console.log("ready");
  if (done) break;
  // Let the close of stdin be noticed now and then.
  if (counts.rounds % 8 === 0) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
await stopped;
counts.versions = {
  config: seen.config.size,
  status: seen.status.size,
  result: seen.result.size,
};
console.log(JSON.stringify(counts));
