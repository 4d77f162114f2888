// Compatibility with storage folders written by sqooler's own Python
// `LocalProviderExtended` (tests/fixtures, a copy of ../shared/fixtures). Each test works on a copy;
// the fixtures themselves are never changed.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  getBackendDict,
  getBackends,
  getBackendStatus,
  getConfig,
  getJobContent,
  getNextJobInQueue,
  getQueueStats,
  getResult,
  getStatus,
  LocalAdapter,
  longBackendName,
  Result,
  StatusMsg,
  timestampQueue,
  updateInDatabase,
} from "@sqooler/storage";
import { doneResult } from "./support/fixtures.ts";
import {
  filesBelow,
  FIXTURES,
  LOCAL_STORE,
  SIGNED_STORE,
  withStoreCopy,
} from "./support/folders.ts";

interface Manifest {
  provider_name: string;
  backends: Record<string, string>;
  jobs: {
    done: string;
    error: string;
    running: string;
    queued: string[];
    unknown: string;
  };
}

const manifest: Manifest = JSON.parse(
  await Deno.readTextFile(join(FIXTURES, "sqooler-local", "manifest.json")),
);
const { jobs } = manifest;
const ALICE = "alice";

/** Runs a test on a copy of a fixture store, removed afterwards. */
function withCopy(
  store: string,
  work: (adapter: LocalAdapter, basePath: string) => Promise<void>,
): Promise<void> {
  return withStoreCopy(store, (basePath) =>
    work(
      new LocalAdapter({ basePath, name: manifest.provider_name }),
      basePath,
    ));
}

/** A file of a fixture store, parsed. */
async function readJson(
  store: string,
  path: string,
): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(join(store, path)));
}

/** Gives the queued jobs file times in the given order, one second apart. */
async function setQueueOrder(basePath: string, ids: string[]): Promise<void> {
  const start = Date.parse("2026-11-28T04:00:00Z") / 1000;
  for (const [i, id] of ids.entries()) {
    const file = join(basePath, "jobs/queued/fermions", `${id}.json`);
    await Deno.utime(file, start + i, start + i);
  }
}

// ---- Reading what sqooler wrote ----

Deno.test("getConfig() reads both configs written by sqooler, null fields and gate details included", async () => {
  await withCopy(LOCAL_STORE, async (adapter) => {
    for (const name of ["fermions", "spinchain"]) {
      const raw = await readJson(LOCAL_STORE, `backends/configs/${name}.json`);
      // sign and kid (sqooler 0.9) get their defaults, as sqooler 0.9 reads them.
      assert.deepEqual(
        await getConfig(adapter, name),
        { ...raw, sign: false, kid: null },
        name,
      );
    }
    const fermions = await getConfig(adapter, "fermions");
    assert.equal(fermions.pending_jobs, null);
    assert.equal(fermions.status_msg, null);
    assert.equal(fermions.last_queue_check, "2026-11-28T04:27:46.819278Z");
    assert.equal(fermions.gates[0].qasm_def, "gate rlx(omega) {}");
    const spinchain = await getConfig(adapter, "spinchain");
    assert.equal(spinchain.operational, false);
    assert.equal(spinchain.last_queue_check, null);
  });
});

Deno.test("getBackends() lists the fixture's backends", async () => {
  await withCopy(LOCAL_STORE, async (adapter) => {
    // git keeps no file times, so the order of the listing is not known.
    assert.deepEqual(
      (await getBackends(adapter)).sort(),
      Object.keys(manifest.backends).sort(),
    );
  });
});

Deno.test("the long backend names are those of the manifest", async () => {
  await withCopy(LOCAL_STORE, async (adapter) => {
    for (const [display, long] of Object.entries(manifest.backends)) {
      const config = await getConfig(adapter, display);
      assert.equal(longBackendName(manifest.provider_name, config), long);
      assert.equal((await getBackendDict(adapter, display)).backend_name, long);
    }
    const fermions = await getBackendDict(adapter, "fermions");
    assert.deepEqual(fermions.basis_gates, ["rlx", "rlz"]);
    assert.equal(fermions.n_qubits, 3);
    assert.equal(fermions.backend_version, "0.1.2");
  });
});

Deno.test("getBackendStatus() reads the fixture's status fields and liveness", async () => {
  await withCopy(LOCAL_STORE, async (adapter) => {
    const stamp = Date.parse("2026-11-28T04:27:46.819Z");
    const soon = () => stamp + 60_000;
    assert.deepEqual(
      await getBackendStatus(adapter, "fermions", { now: soon }),
      {
        backend_name: "fixture_fermions_simulator",
        backend_version: "0.1.2",
        operational: true,
        pending_jobs: 0,
        status_msg: "",
      },
    );
    const late = () => stamp + 301_000;
    const stale = await getBackendStatus(adapter, "fermions", { now: late });
    assert.equal(stale.operational, false);
    assert.deepEqual(
      await getBackendStatus(adapter, "spinchain", { now: soon }),
      {
        backend_name: "fixture_spinchain_hardware",
        backend_version: "1.0.0",
        operational: false,
        pending_jobs: 3,
        status_msg: "Cooling down the magnetic trap",
      },
    );
  });
});

Deno.test("getStatus() reads every status file written by sqooler", async () => {
  await withCopy(LOCAL_STORE, async (adapter) => {
    const ids = [jobs.done, jobs.error, jobs.running, ...jobs.queued];
    for (const jobId of ids) {
      const raw = await readJson(LOCAL_STORE, `status/fermions/${jobId}.json`);
      const status = await getStatus(adapter, {
        displayName: "fermions",
        username: ALICE,
        jobId,
      });
      assert.deepEqual(status, raw, jobId);
    }
  });
});

Deno.test("getResult() reads the result written by sqooler, with backend_name filled in", async () => {
  await withCopy(LOCAL_STORE, async (adapter) => {
    const raw = await readJson(
      LOCAL_STORE,
      `results/fermions/${jobs.done}.json`,
    );
    assert.equal(raw.backend_name, null);
    const result = await getResult(adapter, {
      displayName: "fermions",
      username: ALICE,
      jobId: jobs.done,
    });
    assert.deepEqual(result, {
      ...raw,
      backend_name: "fixture_fermions_simulator",
    });
  });
});

Deno.test("getJobContent() reads queued, running, finished and deleted jobs", async () => {
  await withCopy(LOCAL_STORE, async (adapter) => {
    const places: [string, string][] = [
      ["jobs/queued/fermions", jobs.queued[0]],
      ["jobs/queued/fermions", jobs.queued[1]],
      ["jobs/running", jobs.running],
      ["jobs/finished/fermions", jobs.done],
      ["jobs/deleted", jobs.error],
    ];
    for (const [storagePath, jobId] of places) {
      const raw = await readJson(LOCAL_STORE, `${storagePath}/${jobId}.json`);
      assert.deepEqual(
        await getJobContent(adapter, { storagePath, jobId }),
        raw,
        `${storagePath}/${jobId}`,
      );
    }
  });
});

Deno.test("an unknown job id gets an ERROR status and an ERROR result", async () => {
  await withCopy(LOCAL_STORE, async (adapter) => {
    const ref = {
      displayName: "fermions",
      username: ALICE,
      jobId: jobs.unknown,
    };
    const status = await getStatus(adapter, ref);
    assert.equal(status.status, "ERROR");
    assert.equal(status.job_id, jobs.unknown);
    const result = await getResult(adapter, ref);
    assert.equal(result.status, "ERROR");
    assert.equal(result.success, false);
    assert.deepEqual(result.results, []);
  });
});

Deno.test("getQueueStats() counts the fixture's jobs", async () => {
  await withCopy(LOCAL_STORE, async (adapter) => {
    const stats = await getQueueStats(adapter, "fermions");
    assert.equal(stats.queued, 2);
    assert.equal(stats.running, 1);
    // sqooler records no lease.
    assert.deepEqual(stats.runningJobs, [
      { jobId: jobs.running, leaseAgeMs: null, expiresAt: null },
    ]);
    assert.equal(stats.finished, 1);
    assert.equal(stats.failed, 1);
  });
});

// ---- Working on what sqooler wrote ----

Deno.test("getNextJobInQueue() takes the fixture's queued jobs in submission order", async () => {
  await withCopy(LOCAL_STORE, async (adapter, basePath) => {
    await setQueueOrder(basePath, jobs.queued);
    const taken = [];
    for (let i = 0; i < jobs.queued.length; i++) {
      taken.push((await getNextJobInQueue(adapter, "fermions")).job_id);
    }
    assert.deepEqual(taken, jobs.queued);
    assert.equal((await getNextJobInQueue(adapter, "fermions")).job_id, "None");
  });
});

Deno.test("getNextJobInQueue() goes by the files' times, not by their ids", async () => {
  await withCopy(LOCAL_STORE, async (adapter, basePath) => {
    const reversed = [...jobs.queued].reverse();
    await setQueueOrder(basePath, reversed);
    const first = await getNextJobInQueue(adapter, "fermions");
    const second = await getNextJobInQueue(adapter, "fermions");
    assert.deepEqual([first.job_id, second.job_id], reversed);
  });
});

Deno.test("queued jobs finished by this library land where sqooler expects them", async () => {
  await withCopy(LOCAL_STORE, async (adapter, basePath) => {
    await setQueueOrder(basePath, jobs.queued);
    const [doneId, errorId] = jobs.queued;
    const now = () => Date.parse("2026-11-28T05:00:00Z");

    const first = await getNextJobInQueue(adapter, "fermions", { now });
    assert.deepEqual(first, {
      job_id: doneId,
      job_json_path: "jobs/running",
      token: first.token,
    });
    assert.match(first.token!, /^[0-9a-f]{32}$/);
    const job = await getJobContent(adapter, {
      storagePath: first.job_json_path,
      jobId: doneId,
    });
    assert.deepEqual(
      job,
      await readJson(LOCAL_STORE, `jobs/queued/fermions/${doneId}.json`),
    );
    const result: Result = {
      ...doneResult("fermions", doneId, [{
        header: { name: "experiment_0" },
        shots: 2,
        success: true,
        data: { memory: ["1 0 1", "0 0 1"] },
      }]),
      backend_version: "0.1.2",
    };
    await updateInDatabase(adapter, {
      result,
      status: {
        job_id: doneId,
        status: "DONE",
        detail: "Got your json.; All done",
        error_message: "None",
      },
      jobId: doneId,
      displayName: "fermions",
    });

    const second = await getNextJobInQueue(adapter, "fermions", { now });
    assert.equal(second.job_id, errorId);
    await updateInDatabase(adapter, {
      status: {
        job_id: errorId,
        status: "ERROR",
        detail: "Got your json.",
        error_message: "Error in instructions: wire 7 does not exist",
      },
      jobId: errorId,
      displayName: "fermions",
    });

    // The files, exactly where sqooler keeps them and nothing else.
    const before = await filesBelow(LOCAL_STORE);
    const expected = before
      .filter((path) => !path.startsWith("jobs/queued/"))
      .concat([
        `jobs/finished/fermions/${doneId}.json`,
        `jobs/deleted/${errorId}.json`,
        `results/fermions/${doneId}.json`,
      ]).sort();
    assert.deepEqual(await filesBelow(basePath), expected);

    // Job files are the raw job dicts that sqooler's workers validate.
    for (
      const [path, id] of [[`jobs/finished/fermions`, doneId], [
        `jobs/deleted`,
        errorId,
      ]]
    ) {
      assert.deepEqual(
        await readJson(basePath, `${path}/${id}.json`),
        await readJson(LOCAL_STORE, `jobs/queued/fermions/${id}.json`),
      );
    }

    // Statuses have exactly sqooler's four fields.
    const statusKeys = ["detail", "error_message", "job_id", "status"];
    const done = await readJson(basePath, `status/fermions/${doneId}.json`);
    const failed = await readJson(basePath, `status/fermions/${errorId}.json`);
    assert.deepEqual(Object.keys(done).sort(), statusKeys);
    assert.deepEqual(Object.keys(failed).sort(), statusKeys);
    assert.equal(StatusMsg.parse(done).status, "DONE");
    assert.equal(StatusMsg.parse(failed).status, "ERROR");
    assert.equal(
      failed.error_message,
      "Error in instructions: wire 7 does not exist",
    );

    // The result has the fields of the one sqooler wrote, backend_name null.
    const stored = await readJson(basePath, `results/fermions/${doneId}.json`);
    const reference = await readJson(
      LOCAL_STORE,
      `results/fermions/${jobs.done}.json`,
    );
    assert.deepEqual(Object.keys(stored), Object.keys(reference));
    assert.deepEqual(Result.parse(stored), result);

    // The config keeps its fields; the stamp is a time sqooler parses.
    const config = await readJson(basePath, "backends/configs/fermions.json");
    const original = await readJson(
      LOCAL_STORE,
      "backends/configs/fermions.json",
    );
    assert.deepEqual(config, {
      ...original,
      last_queue_check: "2026-11-28T05:00:00.000Z",
    });

    // And read back through this library.
    const ref = { displayName: "fermions", username: ALICE };
    assert.equal(
      (await getStatus(adapter, { ...ref, jobId: doneId })).status,
      "DONE",
    );
    assert.equal(
      (await getResult(adapter, { ...ref, jobId: doneId })).backend_name,
      "fixture_fermions_simulator",
    );
    assert.equal(
      (await getStatus(adapter, { ...ref, jobId: errorId })).status,
      "ERROR",
    );
  });
});

// ---- The newer, signed format (sqooler v0.9) ----

Deno.test("getConfig() reads a config with last_queue_check as +00:00 and no operational field", async () => {
  await withCopy(SIGNED_STORE, async (adapter) => {
    const config = await getConfig(adapter, "plain");
    assert.equal(config.last_queue_check, "2026-11-28T04:21:07+00:00");
    assert.equal(config.operational, true);
    assert.equal(config.sign, false);
    assert.equal(config.kid, null);
    const stamp = Date.parse("2026-11-28T04:21:07Z");
    const fresh = await getBackendStatus(adapter, "plain", {
      now: () => stamp + 60_000,
    });
    assert.equal(fresh.operational, true);
    const stale = await getBackendStatus(adapter, "plain", {
      now: () => stamp + 301_000,
    });
    assert.equal(stale.operational, false);
  });
});

Deno.test("a signed config and a signed result are read from their payload", async () => {
  await withCopy(SIGNED_STORE, async (adapter) => {
    const rawConfig = await readJson(
      SIGNED_STORE,
      "backends/configs/signed.json",
    );
    const config = await getConfig(adapter, "signed");
    assert.deepEqual(config, {
      ...(rawConfig.payload as object),
      operational: true,
    });
    assert.equal(config.kid, "fermkey");
    assert.equal(
      (await getBackendDict(adapter, "signed")).backend_name,
      "fixture_signed_simulator",
    );
    assert.deepEqual((await getBackends(adapter)).sort(), ["plain", "signed"]);

    const jobId = "de6953badf344d05a0a31a40";
    const rawResult = await readJson(
      SIGNED_STORE,
      `results/signed/${jobId}.json`,
    );
    const result = await getResult(adapter, {
      displayName: "signed",
      username: ALICE,
      jobId,
    });
    assert.deepEqual(result, {
      ...(rawResult.payload as object),
      backend_name: "fixture_signed_simulator",
    });
  });
});

Deno.test("the signed store's statuses, results and jobs are readable", async () => {
  await withCopy(SIGNED_STORE, async (adapter) => {
    const statuses: [string, string, string][] = [
      ["plain", "334eea6ed5ea442bb43197fc", "DONE"],
      ["plain", "ec212b64ce364e979e686784", "ERROR"],
      ["signed", "1852e666787c4e058fc3457a", "ERROR"],
      ["signed", "de6953badf344d05a0a31a40", "DONE"],
    ];
    for (const [displayName, jobId, expected] of statuses) {
      const status = await getStatus(adapter, {
        displayName,
        username: ALICE,
        jobId,
      });
      assert.equal(status.status, expected, jobId);
      assert.equal(status.job_id, jobId);
    }
    const plain = await getResult(adapter, {
      displayName: "plain",
      username: ALICE,
      jobId: "334eea6ed5ea442bb43197fc",
    });
    assert.equal(plain.backend_name, "fixture_plain_simulator");
    assert.equal(plain.status, "DONE");
    for (
      const [storagePath, jobId] of [
        ["jobs/finished/plain", "334eea6ed5ea442bb43197fc"],
        ["jobs/finished/signed", "de6953badf344d05a0a31a40"],
        ["jobs/deleted", "1852e666787c4e058fc3457a"],
      ]
    ) {
      assert.deepEqual(
        await getJobContent(adapter, { storagePath, jobId }),
        await readJson(SIGNED_STORE, `${storagePath}/${jobId}.json`),
      );
    }
  });
});

Deno.test("a signed config is never rewritten by the queue stamp", async () => {
  await withCopy(SIGNED_STORE, async (adapter, basePath) => {
    const file = join(basePath, "backends/configs/signed.json");
    const before = await Deno.readTextFile(file);
    const now = () => Date.parse("2026-11-28T05:00:00Z");
    assert.equal(await timestampQueue(adapter, "signed", { now }), false);
    const next = await getNextJobInQueue(adapter, "signed", { now });
    assert.deepEqual(next, { job_id: "None", job_json_path: "None" });
    assert.equal(await Deno.readTextFile(file), before);

    // An unsigned config of the same store is stamped.
    assert.equal(await timestampQueue(adapter, "plain", { now }), true);
    assert.equal(
      (await getConfig(adapter, "plain")).last_queue_check,
      "2026-11-28T05:00:00.000Z",
    );
  });
});
