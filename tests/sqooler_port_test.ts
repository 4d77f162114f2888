// A port of every case of sqooler's own tests of its local storage provider
// (`LocalProvider`, name "default", and `LocalProviderExtended`, name
// "localtest"), as listed in ../shared/reference/sqooler-local-provider-tests.md.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  AlreadyExistsError,
  type BackendConfigInput,
  CONFIGS,
  getBackendDict,
  getBackends,
  getBackendStatus,
  getConfig,
  getFileQueue,
  getJobContent,
  getNextJobInQueue,
  getResult,
  getStatus,
  InactiveStorageError,
  InvalidNameError,
  leasesPath,
  LocalAdapter,
  LocalLoginInformation,
  metaPath,
  NotFoundError,
  Result,
  resultsPath,
  RUNNING,
  statusPath,
  timestampQueue,
  updateInDatabase,
  uploadConfig,
  uploadJob,
  uploadStatus,
} from "@sqooler/storage";
import { filesBelow, withTempDir } from "./support/folders.ts";

/** Runs a case on a fresh storage folder, removed afterwards. */
async function withProvider(
  name: string,
  work: (adapter: LocalAdapter, basePath: string) => Promise<void>,
): Promise<void> {
  await withTempDir(async (basePath) => {
    const login = LocalLoginInformation.parse({ base_path: basePath });
    await work(new LocalAdapter({ basePath: login.base_path, name }), basePath);
  });
}

/** sqooler's `get_dummy_config`: a fermion simulator. */
function dummyConfig(
  displayName: string,
  extra: Partial<BackendConfigInput> = {},
): BackendConfigInput {
  return {
    gates: [],
    display_name: displayName,
    num_wires: 3,
    version: "0.0.1",
    description: "This is a dummy backend.",
    cold_atom_type: "fermion",
    max_experiments: 1,
    max_shots: 1,
    simulator: true,
    supported_instructions: [],
    wire_order: "interleaved",
    num_species: 1,
    operational: true,
    ...extra,
  };
}

/** sqooler's `uuid.uuid4().hex[:24]`. */
function randomId(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 24);
}

const JOB_PAYLOAD = {
  experiment_0: {
    instructions: [
      ["load", [7], []],
      ["load", [2], []],
      ["measure", [2], []],
      ["measure", [6], []],
      ["measure", [7], []],
    ],
    num_wires: 8,
    shots: 4,
    wire_order: "sequential",
  },
};
const TEST_CONTENT = { experiment_0: "Nothing happened here." };
// The liveness check of newer sqooler versions compares `last_queue_check`
// with the clock, so the cases that need an operational backend stamp the
// queue with this clock and read the status with it.
const NOW = Date.parse("2026-11-28T10:00:00Z");
const now = () => NOW;

// ---- Provider object ----

Deno.test("LocalAdapter is created from login information with a base_path", async () => {
  await withProvider("localtest", (adapter, basePath) => {
    assert.equal(adapter.name, "localtest");
    assert.equal(adapter.basePath, basePath);
    assert.equal(adapter.active, true);
    return Promise.resolve();
  });
});

Deno.test("login information without base_path is refused", () => {
  assert.throws(() => LocalLoginInformation.parse({}));
  assert.throws(() =>
    LocalLoginInformation.parse({
      app_key_t: "test",
      app_secret: "test",
      refresh_token: "test",
    })
  );
  assert.throws(() => new LocalAdapter({ basePath: "" }), InvalidNameError);
});

Deno.test("LocalAdapter lowercases the provider name", async () => {
  await withProvider("Whatever", (adapter) => {
    assert.equal(adapter.name, "whatever");
    return Promise.resolve();
  });
});

Deno.test("LocalAdapter refuses provider names with '_' or other characters", () => {
  for (const name of ["Whatever_is_wrong", "Whatever%/iswrong"]) {
    assert.throws(
      () => new LocalAdapter({ basePath: "storage", name }),
      InvalidNameError,
      name,
    );
  }
});

Deno.test("an inactive LocalAdapter refuses upload, get, move and delete", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({
      basePath,
      name: "localtest",
      active: false,
    });
    const jobId = randomId();
    const path = "test/subcollection";
    const second = "test/subcollection_2";
    await assert.rejects(
      adapter.upload(path, jobId, TEST_CONTENT),
      InactiveStorageError,
    );
    await assert.rejects(adapter.get(path, jobId), InactiveStorageError);
    await assert.rejects(
      adapter.move(path, second, jobId),
      InactiveStorageError,
    );
    await assert.rejects(adapter.delete(second, jobId), InactiveStorageError);
    assert.deepEqual(await filesBelow(basePath), []);
  });
});

// ---- Files ----

Deno.test("upload() then get() returns the same content; get() of a missing id throws NotFoundError", async () => {
  await withProvider("localtest", async (adapter) => {
    const jobId = randomId();
    await adapter.upload("test/subcollection", jobId, TEST_CONTENT);
    assert.deepEqual(
      await adapter.get("test/subcollection", jobId),
      TEST_CONTENT,
    );
    await assert.rejects(
      adapter.get("test/subcollection", "non_existing"),
      NotFoundError,
    );
  });
});

Deno.test("move() then get() from the new folder returns the same content", async () => {
  await withProvider("localtest", async (adapter) => {
    const jobId = randomId();
    await adapter.upload("test/subcollection", jobId, TEST_CONTENT);
    await adapter.move("test/subcollection", "test/subcollection_2", jobId);
    assert.deepEqual(
      await adapter.get("test/subcollection_2", jobId),
      TEST_CONTENT,
    );
    await assert.rejects(
      adapter.get("test/subcollection", jobId),
      NotFoundError,
    );
  });
});

Deno.test("getJobContent() returns the job's content", async () => {
  await withProvider("default", async (adapter) => {
    const jobId = randomId();
    await adapter.upload("test/subcollection_2", jobId, TEST_CONTENT);
    const content = await getJobContent(adapter, {
      storagePath: "test/subcollection_2",
      jobId,
    });
    assert.deepEqual(content, TEST_CONTENT);
  });
});

Deno.test("update() of a missing record throws NotFoundError; update() then get() returns the new content", async () => {
  await withProvider("localtest", async (adapter) => {
    const jobId = randomId();
    const path = "test/test_folder";
    await assert.rejects(
      adapter.update(path, jobId, TEST_CONTENT),
      NotFoundError,
    );
    await assert.rejects(adapter.get(path, jobId), NotFoundError);
    await adapter.upload(path, jobId, TEST_CONTENT);
    const newContent = { experiment_1: "Nothing happened here." };
    await adapter.update(path, jobId, newContent);
    assert.deepEqual(await adapter.get(path, jobId), newContent);
  });
});

Deno.test("delete() removes the record; deleting a missing one throws NotFoundError and a second upload() throws AlreadyExistsError", async () => {
  await withProvider("localtest", async (adapter, basePath) => {
    const jobId = randomId();
    const path = "test/subcollection";
    await adapter.upload(path, jobId, TEST_CONTENT);
    await assert.rejects(
      adapter.upload(path, jobId, { experiment_0: "again" }),
      AlreadyExistsError,
    );
    assert.deepEqual(await adapter.get(path, jobId), TEST_CONTENT);
    await adapter.delete(path, jobId);
    await assert.rejects(adapter.get(path, jobId), NotFoundError);
    await assert.rejects(adapter.delete(path, jobId), NotFoundError);
    await assert.rejects(adapter.delete(path, "non_existing"), NotFoundError);
    assert.deepEqual(await filesBelow(join(basePath, path)), []);
  });
});

// ---- Backends ----

Deno.test("uploadConfig() writes backends/configs/<name>.json and replaces it on a second upload", async () => {
  await withProvider("default", async (adapter, basePath) => {
    const file = join(basePath, CONFIGS, "dummyab12c.json");
    await uploadConfig(adapter, dummyConfig("dummyab12c"));
    const first = JSON.parse(await Deno.readTextFile(file));
    assert.equal(first.display_name, "dummyab12c");
    assert.equal(first.num_wires, 3);

    await uploadConfig(adapter, dummyConfig("dummyab12c", { num_wires: 4 }));
    const second = JSON.parse(await Deno.readTextFile(file));
    assert.equal(second.display_name, "dummyab12c");
    assert.equal(second.num_wires, 4);
    assert.deepEqual(await adapter.list(CONFIGS), ["dummyab12c"]);
  });
});

Deno.test("getBackends() contains an uploaded backend", async () => {
  await withProvider("localtest", async (adapter) => {
    assert.deepEqual(await getBackends(adapter), []);
    await uploadConfig(adapter, dummyConfig("dummy3f9a1"));
    assert(
      (await getBackends(adapter)).includes("dummy3f9a1"),
    );
  });
});

Deno.test("getBackendDict() names the backend localtest_<name>_simulator; an unknown name throws NotFoundError", async () => {
  await withProvider("localtest", async (adapter) => {
    await uploadConfig(adapter, dummyConfig("dummy3f9a1"));
    const dict = await getBackendDict(adapter, "dummy3f9a1");
    assert.equal(dict.backend_name, "localtest_dummy3f9a1_simulator");
    await assert.rejects(
      getBackendDict(adapter, "dummynonexisting"),
      NotFoundError,
    );
    // sqooler's own test asks for "dummy_non_existing"; a display name with
    // '_' cannot exist, so it is refused before any file is read.
    await assert.rejects(
      getBackendDict(adapter, "dummy_non_existing"),
      InvalidNameError,
    );
  });
});

Deno.test("getBackendStatus() reports the config's operational, version, pending_jobs and status_msg", async () => {
  await withProvider("localtest", async (adapter) => {
    await uploadConfig(
      adapter,
      dummyConfig("dummy7c0de", {
        operational: true,
        pending_jobs: 7,
        status_msg: "All good",
      }),
    );
    assert(await getBackends(adapter).then((b) => b.includes("dummy7c0de")));
    // Liveness as in newer sqooler: operational only once a worker polled.
    await timestampQueue(adapter, "dummy7c0de", { now });
    assert.deepEqual(await getBackendStatus(adapter, "dummy7c0de", { now }), {
      backend_name: "localtest_dummy7c0de_simulator",
      backend_version: "0.0.1",
      operational: true,
      pending_jobs: 7,
      status_msg: "All good",
    });
  });
});

Deno.test("getBackendStatus() without pending_jobs and status_msg gives 0 and '', and NotFoundError once the config is deleted", async () => {
  await withProvider("localtest", async (adapter) => {
    await assert.rejects(
      getBackendStatus(adapter, "dummybare1"),
      NotFoundError,
    );
    await uploadConfig(adapter, dummyConfig("dummybare1"));
    const unpolled = await getBackendStatus(adapter, "dummybare1", { now });
    assert.equal(unpolled.operational, false, "never polled: not operational");
    // Liveness as in newer sqooler: stamp the queue, then it is operational.
    await getNextJobInQueue(adapter, "dummybare1", { now });
    assert.deepEqual(await getBackendStatus(adapter, "dummybare1", { now }), {
      backend_name: "localtest_dummybare1_simulator",
      backend_version: "0.0.1",
      operational: true,
      pending_jobs: 0,
      status_msg: "",
    });
    await adapter.delete(CONFIGS, "dummybare1");
    await assert.rejects(
      getBackendStatus(adapter, "dummybare1", { now }),
      NotFoundError,
    );
  });
});

// ---- Jobs ----

Deno.test("uploadJob() returns a non-empty id and uploadStatus() a status with that id", async () => {
  await withProvider("localtest", async (adapter) => {
    await uploadConfig(adapter, dummyConfig("dummyjobs1"));
    const jobId = await uploadJob(adapter, {
      job: JOB_PAYLOAD,
      displayName: "dummyjobs1",
      username: "test_user",
    });
    assert(jobId.length > 1);
    const status = await uploadStatus(adapter, {
      displayName: "dummyjobs1",
      username: "test_user",
      jobId,
    });
    assert.equal(status.job_id, jobId);
    assert.equal(status.status, "INITIALIZING");
  });
});

Deno.test("getStatus() of an unknown id is ERROR and of the real id has its job_id", async () => {
  await withProvider("localtest", async (adapter) => {
    await uploadConfig(adapter, dummyConfig("dummyjobs1"));
    const ref = { displayName: "dummyjobs1", username: "test_user" };
    const jobId = await uploadJob(adapter, { job: JOB_PAYLOAD, ...ref });
    await uploadStatus(adapter, { ...ref, jobId });
    const unknown = await getStatus(adapter, { ...ref, jobId: "jdsfssdfs" });
    assert.equal(unknown.status, "ERROR");
    const known = await getStatus(adapter, { ...ref, jobId });
    assert.equal(known.job_id, jobId);
    assert.equal(known.status, "INITIALIZING");
  });
});

Deno.test("last_queue_check is unset before the first poll and set by getNextJobInQueue(), which returns the uploaded job", async () => {
  await withProvider("localtest", async (adapter) => {
    await uploadConfig(adapter, dummyConfig("dummyjobs1"));
    assert.equal(
      (await getConfig(adapter, "dummyjobs1")).last_queue_check,
      null,
    );
    const jobId = await uploadJob(adapter, {
      job: JOB_PAYLOAD,
      displayName: "dummyjobs1",
      username: "test_user",
    });
    const next = await getNextJobInQueue(adapter, "dummyjobs1", { now });
    // sqooler's two fields, and this library's fencing token.
    assert.deepEqual(next, {
      job_id: jobId,
      job_json_path: "jobs/running",
      token: next.token,
    });
    assert.equal(
      (await getConfig(adapter, "dummyjobs1")).last_queue_check,
      new Date(NOW).toISOString(),
    );
  });
});

Deno.test("getFileQueue() is empty for an empty queue and lists a job uploaded to jobs/queued/<b>", async () => {
  await withProvider("default", async (adapter) => {
    const queuePath = "jobs/queued/dummyq1234";
    assert.deepEqual(await getFileQueue(adapter, queuePath), []);
    const jobId = randomId();
    await adapter.upload(queuePath, jobId, {
      job_id: jobId,
      job_json_path: queuePath,
    });
    // sqooler lists file names; this library lists ids.
    assert.deepEqual(await getFileQueue(adapter, queuePath), [jobId]);
  });
});

Deno.test("getNextJobInQueue() returns the job and getJobContent() of its job_json_path reads exactly what was uploaded", async () => {
  await withProvider("default", async (adapter) => {
    await uploadConfig(adapter, dummyConfig("dummyq1234"));
    const queuePath = "jobs/queued/dummyq1234";
    const jobId = randomId();
    const jobDict = { job_id: jobId, job_json_path: queuePath };
    await adapter.upload(queuePath, jobId, jobDict);
    const next = await getNextJobInQueue(adapter, "dummyq1234", { now });
    assert.equal(next.job_id, jobId);
    const content = await getJobContent(adapter, {
      storagePath: next.job_json_path,
      jobId: next.job_id,
    });
    // sqooler checks that no `_id` crept in: the content is the upload, exactly.
    assert.deepEqual(content, jobDict);
  });
});

Deno.test("updateInDatabase() with DONE moves the job to jobs/finished/<b> and writes status DONE", async () => {
  await withProvider("default", async (adapter) => {
    await uploadConfig(adapter, dummyConfig("dummyq1234"));
    const queuePath = "jobs/queued/dummyq1234";
    const jobId = randomId();
    await adapter.upload(queuePath, jobId, {
      job_id: jobId,
      job_json_path: queuePath,
    });
    const next = await getNextJobInQueue(adapter, "dummyq1234", { now });
    const result = Result.parse({
      display_name: "dummyq1234",
      backend_version: "0.0.1",
      job_id: next.job_id,
      status: "INITIALIZING",
    });
    const status = await uploadStatus(adapter, {
      displayName: "dummyq1234",
      username: "test_user",
      jobId,
    });
    status.status = "DONE";
    await updateInDatabase(adapter, {
      result,
      status,
      jobId: next.job_id,
      displayName: "dummyq1234",
    });
    const finished = await adapter.get("jobs/finished/dummyq1234", jobId);
    assert.equal(finished.job_id, jobId);
    const stored = await adapter.get(statusPath("dummyq1234"), jobId);
    assert.equal(stored.status, "DONE");
    assert.deepEqual(await adapter.list(RUNNING), []);
  });
});

Deno.test("getResult() of an unknown id is ERROR and of the real id returns exactly the stored results", async () => {
  await withProvider("localtest", async (adapter) => {
    await uploadConfig(adapter, dummyConfig("dummyres01"));
    const ref = { displayName: "dummyres01", username: "test_user" };
    const jobId = await uploadJob(adapter, { job: JOB_PAYLOAD, ...ref });
    const dummyResult = {
      backend_name: "dummyres01",
      display_name: "dummyres01",
      backend_version: "0.0.1",
      job_id: jobId,
      qobj_id: null,
      success: true,
      status: "INITIALIZING",
      header: {},
      results: [{
        header: { name: "experiment_0" },
        shots: 4,
        success: true,
        data: { memory: ["1 0", "0 1", "1 1", "0 0"] },
      }],
    };
    await adapter.upload(resultsPath("dummyres01"), jobId, dummyResult);
    const unknown = await getResult(adapter, { ...ref, jobId: "dglfjhous" });
    assert.equal(unknown.status, "ERROR");
    const result = await getResult(adapter, { ...ref, jobId });
    assert.deepEqual(result.results, dummyResult.results);
    // No `_id` or anything else added: the stored result, with its long name.
    assert.deepEqual(result, {
      ...dummyResult,
      backend_name: "localtest_dummyres01_simulator",
    });
  });
});

Deno.test("after the job, status and result are deleted, jobs/running, status/<b> and results/<b> are empty", async () => {
  await withProvider("localtest", async (adapter, basePath) => {
    const display = "dummyclean";
    await uploadConfig(adapter, dummyConfig(display));
    const ref = { displayName: display, username: "test_user" };
    const jobId = await uploadJob(adapter, { job: JOB_PAYLOAD, ...ref });
    await uploadStatus(adapter, { ...ref, jobId });
    const next = await getNextJobInQueue(adapter, display, { now });
    assert.equal(next.job_id, jobId);
    await adapter.upload(resultsPath(display), jobId, {
      display_name: display,
      backend_version: "0.0.1",
      job_id: jobId,
      status: "INITIALIZING",
    });

    await adapter.delete(RUNNING, jobId);
    await adapter.delete(statusPath(display), jobId);
    await adapter.delete(resultsPath(display), jobId);
    // This library's own records of the job.
    await adapter.delete(metaPath(display), jobId);
    await adapter.delete(leasesPath(display), jobId);

    for (const path of [RUNNING, statusPath(display), resultsPath(display)]) {
      assert.deepEqual(await adapter.list(path), [], path);
    }
    // Nothing else was left behind, temp files included: only the config.
    assert.deepEqual(await filesBelow(basePath), [
      join(CONFIGS, `${display}.json`),
    ]);
  });
});
