// A producer process, as the web API: for each job, uploadJob then uploadStatus.
// Argument: JSON { basePath, displayName, username, count }.
// Prints one JSON line: { ids } in submission order.

import { LocalAdapter, uploadJob, uploadStatus } from "../../mod.ts";
import { jobOf } from "./fixtures.ts";

const { basePath, displayName, username, count } = JSON.parse(Deno.args[0]);
const adapter = new LocalAdapter({ basePath });
const ids: string[] = [];
for (let i = 0; i < count; i++) {
  const job = jobOf((i % 4) + 1);
  const jobId = await uploadJob(adapter, { job, displayName, username });
  await uploadStatus(adapter, { displayName, username, jobId });
  ids.push(jobId);
}
console.log(JSON.stringify({ ids }));
