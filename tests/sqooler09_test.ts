// sqooler 0.9 both ways: configs and results signed here verify with a Python
// reference written from sqooler's format (json.dumps + Ed25519), the stores
// that sqooler signed read and verify through the library, and a store that
// this library writes is read by pydantic models of sqooler 0.9's schemas.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type BackendConfigInput,
  type Backends,
  CONFIGS,
  createJobId,
  createKeyPair,
  deleteConfig,
  deleteResult,
  deleteStatus,
  type ExperimentData,
  getBackendStatus,
  getConfig,
  getJob,
  getNextJobInQueue,
  getPublicKey,
  getPublicKeyFromKid,
  getResult,
  getStatus,
  InvalidNameError,
  InvalidRecordError,
  type JwkPrivate,
  type JwkPublic,
  type JwsDict,
  leasesPath,
  LocalAdapter,
  MemoryAdapter,
  NotFoundError,
  publicFromPrivate,
  queuedPath,
  type Result,
  resultsPath,
  RUNNING,
  runWorker,
  SigningError,
  signPayload,
  statusPath,
  type StorageAdapter,
  timestampQueue,
  UnsignedRecordError,
  updateConfig,
  updateInDatabase,
  uploadConfig,
  uploadJob,
  uploadPublicKey,
  uploadResult,
  uploadStatus,
  verifyResult,
  verifySignature,
} from "@sqooler/storage";
import { createTestAdapter, testBackendConfig } from "@sqooler/storage/testing";
import { createSpinsBackend, spinsConfig } from "../demo/spins.ts";
import { AlreadyExistsError, InactiveStorageError } from "../src/errors.ts";
import { parseExactJson, pythonDumps } from "../src/json.ts";
import { doneResult, doneStatus } from "./support/fixtures.ts";
import { LOCAL_STORE, withStoreCopy, withTempDir } from "./support/folders.ts";
import {
  askReference,
  flip,
  FLOATS_STORE,
  HAS_PYTHON_REFERENCE,
  memoryCopyOf,
  payloadRegion,
  SIGNED_STORE,
} from "./support/sqooler09.ts";

const FLOATS_MANIFEST = JSON.parse(
  await Deno.readTextFile(join(FLOATS_STORE, "..", "manifest.json")),
) as { signed_result_job_id: string; kid: string };

const T0 = Date.parse("2026-11-28T10:00:00Z");

/** A config of a backend that signs, with what printers disagree on. */
function signingConfig(
  displayName: string,
  extra: Partial<BackendConfigInput> = {},
): BackendConfigInput {
  return testBackendConfig(displayName, {
    description: "Zürich lab – ½ µK spins ✓ 🧊",
    sign: true,
    wire_order: "interleaved",
    gates: [{ name: "rx", parameters: ["theta"], coupling_map: [[0], [1]] }],
    ...extra,
  });
}

/** One result per experiment, with floats and text that printers disagree on. */
function floatResults(job: object): ExperimentData[] {
  return Object.entries(job).map(([name, experiment]) => ({
    header: {
      name,
      note: "Zürich ✓ 🧊",
      angle: 0.1,
      tiny: 1e-5,
      huge: 1e22,
      exact: 123456789.125,
      negzero: -0,
      nested: [[1.5, 2], { empty: [] }],
    },
    shots: experiment.shots,
    success: true,
    data: { memory: Array(experiment.shots).fill("0 1") },
  }));
}

const JOB = {
  experiment_0: {
    instructions: [["rx", [0], [0.5]], ["measure", [0], []]],
    num_wires: 2,
    shots: 3,
    wire_order: "interleaved",
  },
};

/** The stored text of a record of a LocalAdapter's folder. */
function storedText(basePath: string, path: string, id: string) {
  return Deno.readTextFile(join(basePath, path, `${id}.json`));
}

/** A job of `displayName` taken by a worker: its id and the claim's token. */
async function claimedJob(adapter: StorageAdapter, displayName: string) {
  const jobId = await uploadJob(adapter, {
    job: JOB,
    displayName,
    username: "alice",
  });
  await uploadStatus(adapter, { displayName, username: "alice", jobId });
  const next = await getNextJobInQueue(adapter, displayName);
  assert.equal(next.job_id, jobId);
  return { jobId, token: next.token };
}

/** The outcome of a worker that ran JOB, with the claim's token. */
function doneOutcome(displayName: string, jobId: string, token?: string) {
  const result = doneResult(displayName, jobId, floatResults(JOB));
  return { displayName, jobId, token, status: doneStatus(jobId), result };
}

// ---------------------------------------------------------------- configs

Deno.test({
  name:
    "A config signed here verifies with Python's json.dumps and Ed25519, and fails after any change of one payload character",
  ignore: !HAS_PYTHON_REFERENCE,
  async fn() {
    await withTempDir(async (basePath) => {
      const adapter = new LocalAdapter({ basePath });
      const { privateJwk, publicJwk } = await createKeyPair("labkey");
      await uploadConfig(adapter, signingConfig("spins"), { privateJwk });
      const text = await storedText(basePath, CONFIGS, "spins");
      const record = parseExactJson(text) as JwsDict;
      assert.equal(record.payload.kid, "labkey");
      assert.equal(record.payload.sign, true);

      const [dumps] = await askReference<
        { headerJson: string; payloadDumps: string }[]
      >({ op: "dumps", records: [text] });
      assert.equal(
        dumps.headerJson,
        '{"alg":"EdDSA","kid":"labkey","typ":"JWS","version":"0.1"}',
      );
      assert.equal(dumps.payloadDumps, pythonDumps(record.payload));
      assert(dumps.payloadDumps.includes('"Z\\u00fcrich lab \\u2013'));

      const [from, to] = payloadRegion(text);
      const mutants = [text];
      for (let at = from; at < to; at++) mutants.push(flip(text, at));
      const verdicts = await askReference<(boolean | null)[]>({
        op: "verify",
        key: JSON.stringify(publicJwk),
        records: mutants,
      });
      assert.equal(verdicts[0], true);
      assert.equal(await verifySignature(text, publicJwk), true);
      for (let i = 1; i < mutants.length; i++) {
        assert.notEqual(verdicts[i], true, mutants[i]);
        const ours = await verifySignature(mutants[i], publicJwk).catch(() =>
          null
        );
        assert.notEqual(ours, true, mutants[i]);
      }
      assert(mutants.length > 300, `${mutants.length}`);
    });
  },
});

Deno.test("uploadConfig() of a config that says sign: true needs a private key, and writes nothing without one", async () => {
  const adapter = new MemoryAdapter();
  await assert.rejects(
    uploadConfig(adapter, signingConfig("spins")),
    (error: unknown) =>
      error instanceof SigningError &&
      error.message ===
        'Cannot store the config of backend "spins": it says sign: true, so it must be signed; pass the backend\'s privateJwk (e.g. from SQOOLER_PRIVATE_JWK)',
  );
  assert.deepEqual(await adapter.list(CONFIGS), []);
});

Deno.test("uploadConfig() gives a signed config the key's kid, and refuses a config that names another key", async () => {
  const adapter = new MemoryAdapter();
  const { privateJwk } = await createKeyPair("labkey");
  const stored = await uploadConfig(adapter, signingConfig("spins"), {
    privateJwk,
  });
  assert.equal(stored.kid, "labkey");
  assert.deepEqual(await getConfig(adapter, "spins"), stored);
  await assert.rejects(
    uploadConfig(adapter, signingConfig("bosons", { kid: "otherkey" }), {
      privateJwk,
    }),
    (error: unknown) =>
      error instanceof SigningError &&
      /names the key "otherkey", but the private key is "labkey"/.test(
        error.message,
      ),
  );
  assert.deepEqual(await adapter.list(CONFIGS), ["spins"]);
});

Deno.test("updateConfig() follows sqooler 0.9: a signed config stays signed and only its key may replace it", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const { privateJwk, publicJwk } = await createKeyPair("labkey");
    await uploadConfig(adapter, signingConfig("spins"), { privateJwk });
    const before = await storedText(basePath, CONFIGS, "spins");
    const config = await getConfig(adapter, "spins");

    // Without a key, or with another key of the same kid: nothing changes.
    await assert.rejects(
      updateConfig(adapter, { ...config, max_shots: 5 }),
      (error: unknown) =>
        error instanceof SigningError &&
        /the stored config is signed/.test(error.message),
    );
    const impostor = await createKeyPair("labkey");
    for (const write of [updateConfig, uploadConfig]) {
      await assert.rejects(
        write(adapter, { ...config, max_shots: 5 }, {
          privateJwk: impostor.privateJwk,
        }),
        (error: unknown) =>
          error instanceof SigningError &&
          /was not signed by the private key "labkey"/.test(error.message),
      );
    }
    assert.equal(await storedText(basePath, CONFIGS, "spins"), before);

    // With its key: replaced, and signed even though it now says sign: false.
    const updated = await updateConfig(
      adapter,
      { ...config, max_shots: 5, sign: false },
      { privateJwk },
    );
    assert.equal(updated.max_shots, 5);
    const text = await storedText(basePath, CONFIGS, "spins");
    const record = parseExactJson(text) as JwsDict;
    assert.equal(record.payload.sign, false);
    assert.equal(await verifySignature(text, publicJwk), true);
    assert.equal((await getConfig(adapter, "spins")).max_shots, 5);
  });
});

Deno.test("updateConfig() signs an unsigned config that now says sign: true, and needs an existing config", async () => {
  const adapter = new MemoryAdapter();
  const { privateJwk, publicJwk } = await createKeyPair("labkey");
  await assert.rejects(
    updateConfig(adapter, testBackendConfig("spins"), { privateJwk }),
    NotFoundError,
  );
  await uploadConfig(adapter, testBackendConfig("spins"));
  await assert.rejects(
    updateConfig(adapter, testBackendConfig("spins", { sign: true })),
    SigningError,
  );
  assert.equal((await getConfig(adapter, "spins")).sign, false);
  await updateConfig(adapter, testBackendConfig("spins", { sign: true }), {
    privateJwk,
  });
  const stored = await adapter.get(CONFIGS, "spins", { exact: true });
  assert.equal(
    await verifySignature(stored as unknown as JwsDict, publicJwk),
    true,
  );
  // An unsigned config is replaced without a key, as before.
  await uploadConfig(adapter, testBackendConfig("bosons"));
  await updateConfig(adapter, testBackendConfig("bosons", { max_shots: 7 }));
  assert.equal((await getConfig(adapter, "bosons")).max_shots, 7);
});

Deno.test("uploadConfig() replaces a stored config that cannot be read", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    await uploadConfig(adapter, testBackendConfig("spins"));
    await Deno.writeTextFile(
      join(basePath, CONFIGS, "spins.json"),
      '{"description": "half',
    );
    const { privateJwk } = await createKeyPair("labkey");
    await uploadConfig(adapter, testBackendConfig("spins", { sign: true }), {
      privateJwk,
    });
    assert.equal((await getConfig(adapter, "spins")).kid, "labkey");
  });
});

Deno.test("the wire schemas write only what sqooler 0.9 reads, and read what the seed version wrote", async () => {
  await withStoreCopy(LOCAL_STORE, async (basePath) => {
    const adapter = new LocalAdapter({ basePath, name: "fixture" });
    // The seed store's hardware backend has wire_order "linear": it reads.
    const seed = await getConfig(adapter, "spinchain");
    assert.equal(seed.wire_order, "linear");
    const before = await storedText(basePath, CONFIGS, "spinchain");
    // Writing it back as it is is refused, saying why; nothing changes.
    for (const write of [uploadConfig, updateConfig]) {
      await assert.rejects(
        write(adapter, seed),
        (error: unknown) =>
          error instanceof InvalidRecordError &&
          error.message ===
            'Invalid backend config: wire_order: expected "sequential" or "interleaved" (sqooler 0.9 allows no other)',
      );
    }
    assert.equal(await storedText(basePath, CONFIGS, "spinchain"), before);
    await updateConfig(adapter, { ...seed, wire_order: "sequential" });
    assert.equal(
      (await getConfig(adapter, "spinchain")).wire_order,
      "sequential",
    );
    // A worker is refused such a config before it touches anything.
    const memory = new MemoryAdapter();
    await assert.rejects(
      runWorker(memory, {
        untilIdle: true,
        backends: { spinchain: { config: seed, execute: () => [] } },
      }),
      InvalidRecordError,
    );
    assert.deepEqual(await memory.list(CONFIGS), []);
  });
});

Deno.test("uploadConfig() refuses a kid that is not a record id", async () => {
  const adapter = new MemoryAdapter();
  for (const kid of ["../keys/x", "a b", "", "k.json"]) {
    await assert.rejects(
      uploadConfig(adapter, testBackendConfig("spins", { kid })),
      InvalidRecordError,
      kid,
    );
  }
  assert.deepEqual(await adapter.list(CONFIGS), []);
});

// ------------------------------------------------------------ queue stamp

Deno.test("timestampQueue() re-signs a signed config with the key that signed it, and leaves it alone without that key", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const { privateJwk, publicJwk } = await createKeyPair("labkey");
    await uploadConfig(adapter, signingConfig("spins"), { privateJwk });
    const before = await storedText(basePath, CONFIGS, "spins");
    const now = () => T0;

    assert.equal(await timestampQueue(adapter, "spins", { now }), false);
    const impostor = await createKeyPair("labkey");
    assert.equal(
      await timestampQueue(adapter, "spins", {
        now,
        privateJwk: impostor.privateJwk,
      }),
      false,
    );
    assert.equal(await storedText(basePath, CONFIGS, "spins"), before);

    assert.equal(
      await timestampQueue(adapter, "spins", { now, privateJwk }),
      true,
    );
    const text = await storedText(basePath, CONFIGS, "spins");
    assert.equal(await verifySignature(text, publicJwk), true);
    const config = await getConfig(adapter, "spins");
    assert.equal(config.last_queue_check, "2026-11-28T10:00:00.000Z");
    const status = await getBackendStatus(adapter, "spins", {
      now: () => T0 + 1000,
    });
    assert.equal(status.operational, true);

    // getNextJobInQueue stamps with the key it is given.
    const later = () => T0 + 60_000;
    await getNextJobInQueue(adapter, "spins", { now: later, privateJwk });
    assert.equal(
      (await getConfig(adapter, "spins")).last_queue_check,
      "2026-11-28T10:01:00.000Z",
    );
    assert.equal(
      await verifySignature(
        await storedText(basePath, CONFIGS, "spins"),
        publicJwk,
      ),
      true,
    );
  });
});

// ---------------------------------------------------------------- results

Deno.test({
  name:
    "A result signed by updateInDatabase() on a sign: true backend verifies with the Python reference and with verifyResult()",
  ignore: !HAS_PYTHON_REFERENCE,
  async fn() {
    await withTempDir(async (basePath) => {
      const adapter = new LocalAdapter({ basePath, name: "lab" });
      const { privateJwk, publicJwk } = await createKeyPair("labkey");
      await uploadConfig(adapter, signingConfig("spins"), { privateJwk });
      await uploadPublicKey(adapter, publicJwk, { displayName: "spins" });
      const { jobId, token } = await claimedJob(adapter, "spins");
      await updateInDatabase(adapter, {
        ...doneOutcome("spins", jobId, token),
        privateJwk,
      });

      const text = await storedText(basePath, resultsPath("spins"), jobId);
      // -0 is stored as Python writes it, and signed as Python reads it.
      assert(text.includes('"negzero":-0.0,"nested":[[1.5,2],{"empty":[]}]'));
      const [verdict] = await askReference<(boolean | null)[]>({
        op: "verify",
        key: JSON.stringify(publicJwk),
        records: [text],
      });
      assert.equal(verdict, true);
      assert.equal(
        await verifyResult(adapter, { displayName: "spins", jobId }),
        true,
      );
      const ref = { displayName: "spins", username: "alice", jobId };
      const result = await getResult(adapter, ref);
      assert.equal(result.backend_name, "lab_spins_simulator");
      assert.equal(result.results[0].header.note, "Zürich ✓ 🧊");
      assert.equal((await getStatus(adapter, ref)).status, "DONE");
    });
  },
});

Deno.test("updateInDatabase() without the key of a sign: true backend is a SigningError, and changes nothing", async () => {
  const adapter = new MemoryAdapter();
  const { privateJwk } = await createKeyPair("labkey");
  await uploadConfig(adapter, signingConfig("spins"), { privateJwk });
  const { jobId, token } = await claimedJob(adapter, "spins");
  const lease = await adapter.get(leasesPath("spins"), jobId);
  await assert.rejects(
    updateInDatabase(adapter, doneOutcome("spins", jobId, token)),
    (error: unknown) =>
      error instanceof SigningError &&
      error.message ===
        `Cannot store the result of job ${jobId} of backend "spins": the backend's config says sign: true, so the result must be signed; pass the backend's privateJwk (e.g. from SQOOLER_PRIVATE_JWK). Nothing was changed.`,
  );
  // A key that the config does not name is refused the same way.
  const other = await createKeyPair("otherkey");
  await assert.rejects(
    updateInDatabase(adapter, {
      ...doneOutcome("spins", jobId, token),
      privateJwk: other.privateJwk,
    }),
    (error: unknown) =>
      error instanceof SigningError &&
      /config names the key "labkey", but the private key is "otherkey"/.test(
        error.message,
      ),
  );
  assert.deepEqual(await adapter.list(RUNNING), [jobId]);
  assert.deepEqual(await adapter.get(leasesPath("spins"), jobId), lease);
  assert.deepEqual(await adapter.list(resultsPath("spins")), []);
  assert.equal(
    (await adapter.get(statusPath("spins"), jobId)).status,
    "INITIALIZING",
  );
  // The worker can still record the outcome with its key.
  await updateInDatabase(adapter, {
    ...doneOutcome("spins", jobId, token),
    privateJwk,
  });
  assert.deepEqual(await adapter.list(RUNNING), []);
});

Deno.test("updateInDatabase() stores no signed record for a result that fails the job's checks", async () => {
  const adapter = new MemoryAdapter();
  const { privateJwk } = await createKeyPair("labkey");
  await uploadConfig(adapter, signingConfig("spins"), { privateJwk });
  const { jobId, token } = await claimedJob(adapter, "spins");
  const outcome = doneOutcome("spins", jobId, token);
  await updateInDatabase(adapter, {
    ...outcome,
    result: {
      ...outcome.result,
      results: [...outcome.result.results, ...outcome.result.results],
    },
    privateJwk,
  });
  const status = await getStatus(adapter, {
    displayName: "spins",
    username: "alice",
    jobId,
  });
  assert.equal(status.status, "ERROR");
  assert.match(status.error_message, /returned 2 results for a job of 1/);
  assert.deepEqual(await adapter.list(resultsPath("spins")), []);
});

Deno.test("updateInDatabase() leaves the results of a backend that does not sign unsigned, with or without a key", async () => {
  const adapter = new MemoryAdapter();
  const { privateJwk } = await createKeyPair("labkey");
  await uploadConfig(adapter, testBackendConfig("spins", { num_wires: 2 }));
  const { jobId, token } = await claimedJob(adapter, "spins");
  await updateInDatabase(adapter, {
    ...doneOutcome("spins", jobId, token),
    privateJwk,
  });
  const stored = await adapter.get(resultsPath("spins"), jobId);
  assert.equal(stored.job_id, jobId);
  await assert.rejects(
    verifyResult(adapter, { displayName: "spins", jobId }),
    (error: unknown) =>
      error instanceof UnsignedRecordError &&
      error.record === `results/spins/${jobId}.json` &&
      error.message ===
        `Cannot verify results/spins/${jobId}.json: the result is stored unsigned, as a plain result, so there is no signature to check`,
  );
});

Deno.test("verifyResult() is false for a result signed with another key, or changed after it was signed", async () => {
  const adapter = new MemoryAdapter();
  const { privateJwk, publicJwk } = await createKeyPair("labkey");
  await uploadConfig(adapter, signingConfig("spins"), { privateJwk });
  await uploadPublicKey(adapter, publicJwk);
  const forger = await createKeyPair("labkey");
  const forgedId = createJobId(adapter, {
    displayName: "spins",
    username: "mallory",
  });
  await uploadResult(adapter, {
    displayName: "spins",
    jobId: forgedId,
    result: doneResult("spins", forgedId, floatResults(JOB)),
    privateJwk: forger.privateJwk,
  });
  assert.equal(
    await verifyResult(adapter, { displayName: "spins", jobId: forgedId }),
    false,
  );

  const jobId = createJobId(adapter, { displayName: "spins", username: "a" });
  const stored = await uploadResult(adapter, {
    displayName: "spins",
    jobId,
    result: doneResult("spins", jobId),
    privateJwk,
  }) as JwsDict;
  assert.equal(
    await verifyResult(adapter, { displayName: "spins", jobId }),
    true,
  );
  // Whoever holds the storage changes the result: it no longer verifies.
  await adapter.update(resultsPath("spins"), jobId, {
    ...stored,
    payload: { ...stored.payload, success: false },
  });
  assert.equal(
    await verifyResult(adapter, { displayName: "spins", jobId }),
    false,
  );
  // A JWS dict with a header that is not sqooler's cannot hold either.
  await adapter.update(resultsPath("spins"), jobId, {
    ...stored,
    header: { alg: "none", kid: "labkey" },
  });
  assert.equal(
    await verifyResult(adapter, { displayName: "spins", jobId }),
    false,
  );
});

Deno.test("verifyResult() says what is missing: the result, the config, or the key", async () => {
  const adapter = new MemoryAdapter();
  const jobId = "0123456789abcdef01234567";
  await assert.rejects(
    verifyResult(adapter, { displayName: "spins", jobId }),
    (error: unknown) =>
      error instanceof NotFoundError &&
      error.message ===
        `Job ${jobId} of backend "spins" has no result to verify`,
  );
  const { privateJwk } = await createKeyPair("labkey");
  await adapter.upload(
    resultsPath("spins"),
    jobId,
    await signPayload(doneResult("spins", jobId), privateJwk),
  );
  await assert.rejects(
    verifyResult(adapter, { displayName: "spins", jobId }),
    NotFoundError, // no config
  );
  await uploadConfig(adapter, signingConfig("spins"), { privateJwk });
  await assert.rejects(
    verifyResult(adapter, { displayName: "spins", jobId }),
    /There is no public key "labkey"/,
  );
  for (
    const bad of [{ displayName: "../x", jobId }, {
      displayName: "spins",
      jobId: "a/b",
    }]
  ) {
    await assert.rejects(verifyResult(adapter, bad), InvalidNameError);
  }
});

Deno.test("uploadResult() signs like sqooler's upload_result, never replaces a result, and checks the result against the job", async () => {
  const adapter = new MemoryAdapter();
  const { privateJwk } = await createKeyPair("labkey");
  const jobId = "0123456789abcdef01234567";
  const result = doneResult("spins", jobId);
  await assert.rejects(
    uploadResult(adapter, { displayName: "spins", jobId, result }),
    NotFoundError,
  );
  await uploadConfig(adapter, signingConfig("spins"), { privateJwk });
  await assert.rejects(
    uploadResult(adapter, { displayName: "spins", jobId, result }),
    SigningError,
  );
  const invalid: [Partial<Result>, RegExp][] = [
    [{ job_id: "another" }, /its job_id is "another"/],
    [{ display_name: "bosons" }, /its display_name is "bosons"/],
    [{ backend_name: "My Lab" }, /backend_name: expected null or <provider>/],
    [{ status: "LOST" as Result["status"] }, /status/],
  ];
  for (const [change, message] of invalid) {
    await assert.rejects(
      uploadResult(adapter, {
        displayName: "spins",
        jobId,
        result: { ...result, ...change },
        privateJwk,
      }),
      (error: unknown) =>
        error instanceof InvalidRecordError && message.test(error.message),
    );
  }
  assert.deepEqual(await adapter.list(resultsPath("spins")), []);
  await uploadResult(adapter, {
    displayName: "spins",
    jobId,
    result,
    privateJwk,
  });
  await assert.rejects(
    uploadResult(adapter, { displayName: "spins", jobId, result, privateJwk }),
    AlreadyExistsError,
  );
  await deleteResult(adapter, { displayName: "spins", jobId });
  await assert.rejects(
    deleteResult(adapter, { displayName: "spins", jobId }),
    NotFoundError,
  );
});

// ----------------------------------------------------------------- worker

Deno.test("runWorker() refuses a backend that signs without a private key, before it touches the storage", async () => {
  const adapter = new MemoryAdapter();
  const backends: Backends = {
    spins: { config: signingConfig("spins"), execute: () => [] },
    bosons: { config: testBackendConfig("bosons"), execute: () => [] },
  };
  await assert.rejects(
    runWorker(adapter, { backends, untilIdle: true }),
    (error: unknown) =>
      error instanceof SigningError &&
      error.message ===
        "Cannot run backend spins: its config says sign: true, so configs and results must be signed, and the worker has no privateJwk (set SQOOLER_PRIVATE_JWK)",
  );
  const { privateJwk } = await createKeyPair("labkey");
  const other = await createKeyPair("otherkey");
  const refused: [JwkPrivate, RegExp][] = [
    [{ ...privateJwk, x: other.privateJwk.x }, /x is not the public key of d/],
    [{ ...privateJwk, d: "short" }, /Invalid privateJwk/],
  ];
  for (const [key, message] of refused) {
    await assert.rejects(
      runWorker(adapter, { backends, untilIdle: true, privateJwk: key }),
      (error: unknown) =>
        error instanceof InvalidRecordError && message.test(error.message),
    );
  }
  await assert.rejects(
    runWorker(adapter, {
      backends: {
        spins: {
          config: signingConfig("spins", { kid: "otherkey" }),
          execute: () => [],
        },
      },
      untilIdle: true,
      privateJwk,
    }),
    SigningError,
  );
  assert.deepEqual(await adapter.list(CONFIGS), []);
});

Deno.test({
  name:
    "runWorker() with a private key signs the configs and results of the backends that sign, and they verify in Python",
  ignore: !HAS_PYTHON_REFERENCE,
  async fn() {
    await withTempDir(async (basePath) => {
      const adapter = new LocalAdapter({ basePath, name: "lab" });
      const { privateJwk, publicJwk } = await createKeyPair("labkey");
      const jobIds: string[] = [];
      for (const displayName of ["spins", "plain"]) {
        const jobId = await uploadJob(adapter, {
          job: JOB,
          displayName,
          username: "alice",
        });
        await uploadStatus(adapter, { displayName, username: "alice", jobId });
        jobIds.push(jobId);
      }
      const summary = await runWorker(adapter, {
        untilIdle: true,
        privateJwk,
        backends: {
          spins: { config: signingConfig("spins"), execute: floatResults },
          plain: {
            config: testBackendConfig("plain", { num_wires: 2 }),
            execute: floatResults,
          },
        },
      });
      assert.deepEqual(summary, { done: 2, failed: 0, released: 0, errors: 0 });
      await uploadPublicKey(adapter, await publicFromPrivate(privateJwk), {
        displayName: "spins",
      });
      assert.equal(
        await verifyResult(adapter, { displayName: "spins", jobId: jobIds[0] }),
        true,
      );
      await assert.rejects(
        verifyResult(adapter, { displayName: "plain", jobId: jobIds[1] }),
        UnsignedRecordError,
      );
      const store = await askReference<StoreAsSqoolerReadsIt>({
        op: "read",
        base: basePath,
        provider: "lab",
      });
      assert.deepEqual(store.configs.spins, {
        signed: true,
        verified: true,
        config: store.configs.spins.config,
      });
      assert.equal(store.configs.spins.config.kid, "labkey");
      assert.equal(store.configs.plain.signed, false);
      assert.deepEqual(store.results[`spins/${jobIds[0]}`], {
        signed: true,
        verified: true,
        status: "DONE",
        backend_name: "lab_spins_simulator",
        shots: [3],
      });
      assert.equal(store.results[`plain/${jobIds[1]}`].signed, false);
      assert.deepEqual(await getPublicKey(adapter, "spins"), publicJwk);
    });
  },
});

// ---------------------------------------------- stores that sqooler signed

/** Each fixture store, as a LocalAdapter on a copy and as a MemoryAdapter. */
async function onEveryAdapter(
  store: string,
  work: (adapter: StorageAdapter, kind: string) => Promise<void>,
): Promise<void> {
  await withStoreCopy(store, async (basePath) => {
    await work(new LocalAdapter({ basePath, name: "fixture" }), "local");
  });
  await work(await memoryCopyOf(store), "memory");
}

Deno.test("the store that sqooler 0.9 signed reads and verifies through the library, on both adapters", async () => {
  const fermkey = JSON.parse(
    await Deno.readTextFile(
      join(SIGNED_STORE, "backends/public_keys/fermkey.json"),
    ),
  ) as JwkPublic;
  await onEveryAdapter(SIGNED_STORE, async (adapter, kind) => {
    const config = await getConfig(adapter, "signed");
    assert.equal(config.sign, true, kind);
    assert.equal(config.kid, "fermkey", kind);
    assert.deepEqual(await getPublicKey(adapter, "signed"), fermkey, kind);
    assert.equal(
      (await getPublicKeyFromKid(adapter, "useralice")).kid,
      "useralice",
    );
    const jobId = "de6953badf344d05a0a31a40";
    const result = await getResult(adapter, {
      displayName: "signed",
      username: "alice",
      jobId,
    });
    assert.equal(result.backend_name, "fixture_signed_simulator", kind);
    assert.equal(
      await verifyResult(adapter, { displayName: "signed", jobId }),
      true,
      kind,
    );
    await assert.rejects(
      verifyResult(adapter, {
        displayName: "plain",
        jobId: "334eea6ed5ea442bb43197fc",
      }),
      UnsignedRecordError,
    );
  });
});

Deno.test("the store that sqooler's main branch signed, with 1.0, -0.0 and 1e+22 in its result, verifies through the library, on both adapters", async () => {
  const jobId = FLOATS_MANIFEST.signed_result_job_id;
  await onEveryAdapter(FLOATS_STORE, async (adapter, kind) => {
    const config = await getConfig(adapter, "floats");
    assert.equal(config.description, "Zürich lab – ½ µK spins ✓", kind);
    assert.equal(config.kid, FLOATS_MANIFEST.kid, kind);
    assert.equal((await getPublicKey(adapter, "floats")).kid, "floatkey");
    const result = await getResult(adapter, {
      displayName: "floats",
      username: "alice",
      jobId,
    });
    assert.equal(result.header.huge, 1e22, kind);
    assert.equal(result.header.note, "Zürich – ½ µK ✓ 🧊", kind);
    assert(Object.is(result.header.negzero, -0), kind);
    assert.equal(
      await verifyResult(adapter, { displayName: "floats", jobId }),
      true,
      kind,
    );
  });
});

Deno.test("verifyResult() of the signed floats result fails after any change of one character of its payload", async () => {
  const jobId = FLOATS_MANIFEST.signed_result_job_id;
  await withStoreCopy(FLOATS_STORE, async (basePath) => {
    const adapter = new LocalAdapter({ basePath, name: "fixture" });
    const file = join(basePath, resultsPath("floats"), `${jobId}.json`);
    const text = await Deno.readTextFile(file);
    const [from, to] = payloadRegion(text);
    let unreadable = 0;
    for (let at = from; at < to; at++) {
      await Deno.writeTextFile(file, flip(text, at));
      const verdict = await verifyResult(adapter, {
        displayName: "floats",
        jobId,
      }).catch((error) => {
        // The text is no longer JSON, or no longer a JWS dict.
        if (
          error.name === "CorruptRecordError" ||
          error instanceof UnsignedRecordError
        ) {
          unreadable++;
          return false;
        }
        throw error;
      });
      assert.equal(verdict, false, flip(text, at).slice(at - 20, at + 20));
    }
    assert(to - from > 500 && unreadable < to - from);
    await Deno.writeTextFile(file, text);
    assert.equal(
      await verifyResult(adapter, { displayName: "floats", jobId }),
      true,
    );
  });
});

// ------------------------------------ a store this library writes, in Python

interface StoreAsSqoolerReadsIt {
  configs: Record<
    string,
    { signed: boolean; verified?: boolean; config: Record<string, unknown> }
  >;
  statuses: Record<string, string>;
  results: Record<
    string,
    {
      signed: boolean;
      verified?: boolean;
      status: string;
      backend_name: string;
      shots: number[];
    }
  >;
}

Deno.test({
  name:
    "a store that this library writes (the demo's backend, a signing backend, jobs in every state) is read by pydantic models of sqooler 0.9's schemas",
  ignore: !HAS_PYTHON_REFERENCE,
  async fn() {
    await withTempDir(async (basePath) => {
      const adapter = new LocalAdapter({ basePath, name: "mylab" });
      const { privateJwk, publicJwk } = await createKeyPair("labkey");
      await uploadPublicKey(adapter, publicJwk);
      const spins = createSpinsBackend();
      const jobs: [string, object][] = [
        ["spins", {
          experiment_0: {
            instructions: [["rx", [0], [Math.PI]], ["measure", [0], []]],
            num_wires: 3,
            shots: 5,
            wire_order: spinsConfig.wire_order,
          },
        }],
        ["spins", {
          experiment_0: {
            instructions: [["rx", [7], [1]]],
            num_wires: 3,
            shots: 1,
            wire_order: "interleaved",
          },
        }],
        ["signing", JOB],
        ["signing", JOB],
      ];
      const ids: string[] = [];
      for (const [displayName, job] of jobs) {
        const jobId = await uploadJob(adapter, {
          job,
          displayName,
          username: "alice",
        });
        await uploadStatus(adapter, { displayName, username: "alice", jobId });
        ids.push(jobId);
      }
      const summary = await runWorker(adapter, {
        untilIdle: true,
        privateJwk,
        backends: {
          spins,
          signing: { config: signingConfig("signing"), execute: floatResults },
        },
      });
      assert.deepEqual(summary, { done: 3, failed: 1, released: 0, errors: 0 });
      // One more job is taken by a worker, and one waits in the queue.
      const [running, queued] = [
        await uploadJob(adapter, {
          job: JOB,
          displayName: "signing",
          username: "bob",
        }),
        await uploadJob(adapter, {
          job: JOB,
          displayName: "signing",
          username: "bob",
        }),
      ];
      for (const jobId of [running, queued]) {
        await uploadStatus(adapter, {
          displayName: "signing",
          username: "bob",
          jobId,
        });
      }
      const next = await getNextJobInQueue(adapter, "signing", { privateJwk });
      assert.equal(next.job_id, running);

      const store = await askReference<StoreAsSqoolerReadsIt>({
        op: "read",
        base: basePath,
        provider: "mylab",
      });
      assert.deepEqual(Object.keys(store.configs).sort(), ["signing", "spins"]);
      assert.equal(store.configs.spins.signed, false);
      assert.equal(store.configs.spins.config.wire_order, "interleaved");
      assert.equal(store.configs.signing.verified, true);
      assert.equal(store.statuses[`spins/${ids[0]}`], "DONE");
      assert.equal(store.statuses[`spins/${ids[1]}`], "ERROR");
      assert.equal(store.statuses[`signing/${running}`], "INITIALIZING");
      assert.equal(store.statuses[`signing/${queued}`], "INITIALIZING");
      assert.deepEqual(store.results[`spins/${ids[0]}`], {
        signed: false,
        status: "DONE",
        backend_name: "mylab_spins_simulator",
        shots: [5],
      });
      for (const jobId of ids.slice(2)) {
        assert.deepEqual(store.results[`signing/${jobId}`], {
          signed: true,
          verified: true,
          status: "DONE",
          backend_name: "mylab_signing_simulator",
          shots: [3],
        });
      }
      assert.equal(Object.keys(store.results).length, 3);
    });
  },
});

// ------------------------------------------ the rest of sqooler 0.9's API

Deno.test("getJob(), createJobId(), deleteStatus() and deleteConfig() do what sqooler 0.9's methods do", async () => {
  const { adapter, jobIds } = await createTestAdapter({
    backends: [testBackendConfig("spins")],
    jobs: [{ displayName: "spins", username: "alice", job: JOB }],
  });
  const [jobId] = jobIds;
  assert.deepEqual(
    await getJob(adapter, { storagePath: queuedPath("spins"), jobId }),
    JOB,
  );
  await assert.rejects(
    getJob(adapter, { storagePath: RUNNING, jobId }),
    NotFoundError,
  );
  const ids = [1, 2, 3].map(() =>
    createJobId(adapter, {
      displayName: "spins",
      username: "alice",
      now: () => T0,
    })
  );
  assert(ids.every((id) => /^[0-9a-f]{24}$/.test(id)));
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, 3);
  await deleteStatus(adapter, { displayName: "spins", jobId });
  await assert.rejects(
    deleteStatus(adapter, { displayName: "spins", jobId }),
    NotFoundError,
  );
  await deleteConfig(adapter, "spins");
  await assert.rejects(deleteConfig(adapter, "spins"), NotFoundError);
});

Deno.test("the new functions refuse hostile names and a switched-off storage before they touch anything", async () => {
  const adapter = new MemoryAdapter();
  const hostile = ["../spins", "Spins", "", "spins/x", "spi\u0000ns"];
  for (const name of hostile) {
    const job = { displayName: name, jobId: "0123456789abcdef01234567" };
    await assert.rejects(deleteStatus(adapter, job), InvalidNameError, name);
    await assert.rejects(deleteResult(adapter, job), InvalidNameError, name);
    await assert.rejects(verifyResult(adapter, job), InvalidNameError, name);
    await assert.rejects(deleteConfig(adapter, name), InvalidNameError, name);
    await assert.rejects(getPublicKey(adapter, name), InvalidNameError, name);
    assert.throws(
      () => createJobId(adapter, { displayName: name, username: "alice" }),
      InvalidNameError,
    );
  }
  for (const jobId of ["../x", "", "a/b", "x".repeat(65)]) {
    await assert.rejects(
      verifyResult(adapter, { displayName: "spins", jobId }),
      InvalidNameError,
    );
  }
  await assert.rejects(
    verifyResult(
      adapter,
      null as unknown as { displayName: string; jobId: string },
    ),
    InvalidRecordError,
  );
  const off = new MemoryAdapter({ active: false });
  assert.throws(
    () => createJobId(off, { displayName: "spins", username: "alice" }),
    InactiveStorageError,
  );
  assert.deepEqual(await adapter.list(CONFIGS), []);
});

Deno.test("createTestAdapter() with a private key seeds a backend that signs, with signed results", async () => {
  const { privateJwk, publicJwk } = await createKeyPair("labkey");
  const { adapter, jobIds } = await createTestAdapter({
    backends: [signingConfig("spins")],
    jobs: [{
      displayName: "spins",
      username: "alice",
      job: JOB,
      state: "done",
    }],
    privateJwk,
  });
  await uploadPublicKey(adapter, publicJwk, { displayName: "spins" });
  assert.equal(
    await verifyResult(adapter, { displayName: "spins", jobId: jobIds[0] }),
    true,
  );
  await assert.rejects(
    createTestAdapter({ backends: [signingConfig("spins")] }),
    SigningError,
  );
});
