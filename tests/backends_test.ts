import assert from "node:assert/strict";
import {
  type BackendConfigIn,
  type BackendConfigInput,
  backendDictToQiskit,
  backendDictToQiskitStatus,
  CONFIGS,
  CorruptRecordError,
  DEFAULT_LIVENESS_TIMEOUT_MS,
  getBackendDict,
  getBackends,
  getBackendStatus,
  getConfig,
  InvalidNameError,
  InvalidRecordError,
  LocalAdapter,
  longBackendName,
  MemoryAdapter,
  NotFoundError,
  timestampQueue,
  uploadConfig,
} from "@sqooler/storage";
import { withTempDir } from "./support/folders.ts";

function spinConfig(
  extra: Partial<BackendConfigInput> = {},
): BackendConfigInput {
  return {
    description: "A spin chain",
    version: "1.2.3",
    display_name: "spins",
    cold_atom_type: "spin",
    gates: [{ name: "rx", parameters: ["theta"] }, { name: "rz" }],
    max_experiments: 10,
    max_shots: 100,
    simulator: false,
    supported_instructions: ["rx", "rz", "measure"],
    num_wires: 5,
    wire_order: "sequential",
    num_species: 1,
    ...extra,
  };
}

const T0 = Date.parse("2026-11-28T10:00:00Z");
const at = (ms: number) => () => T0 + ms;

/** A stored config, polled `agoMs` before T0 (or never). */
function polled(
  agoMs: number | null,
  extra: Partial<BackendConfigIn> = {},
): BackendConfigIn {
  return {
    ...spinConfig(),
    operational: true,
    pending_jobs: null,
    status_msg: null,
    sign: false,
    kid: null,
    last_queue_check: agoMs === null
      ? null
      : new Date(T0 - agoMs).toISOString(),
    ...extra,
  };
}

// ---- Configs ----

Deno.test("uploadConfig() stores the config with defaults and returns it", async () => {
  const adapter = new MemoryAdapter();
  const stored = await uploadConfig(adapter, spinConfig());
  assert.deepEqual(stored, polled(null));
  assert.deepEqual(await adapter.get(CONFIGS, "spins"), stored);
  assert.deepEqual(await getConfig(adapter, "spins"), stored);
});

Deno.test("uploadConfig() replaces an existing config", async () => {
  const adapter = new MemoryAdapter();
  await uploadConfig(adapter, spinConfig());
  await uploadConfig(adapter, spinConfig({ num_wires: 7, status_msg: "hot" }));
  const config = await getConfig(adapter, "spins");
  assert.equal(config.num_wires, 7);
  assert.equal(config.status_msg, "hot");
  assert.deepEqual(await getBackends(adapter), ["spins"]);
});

Deno.test("uploadConfig() keeps fields it does not know", async () => {
  const adapter = new MemoryAdapter();
  const config = { ...spinConfig(), kid: "spinkey", url: "x", extra: [1.5] };
  await uploadConfig(adapter, config);
  const stored = await adapter.get(CONFIGS, "spins");
  assert.equal(stored.sign, false);
  assert.equal(stored.kid, "spinkey");
  assert.equal(stored.url, "x");
  assert.deepEqual(stored.extra, [1.5]);
});

Deno.test("uploadConfig() refuses an invalid config and writes nothing", async () => {
  const adapter = new MemoryAdapter();
  const bad: unknown[] = [
    { ...spinConfig(), display_name: "spin_chain" },
    { ...spinConfig(), num_wires: "five" },
    { ...spinConfig(), last_queue_check: "now" },
    null,
    "config",
  ];
  for (const config of bad) {
    await assert.rejects(
      uploadConfig(adapter, config as BackendConfigInput),
      InvalidRecordError,
      JSON.stringify(config),
    );
  }
  assert.deepEqual(await adapter.list(CONFIGS), []);
});

Deno.test("getConfig() throws NotFoundError for a missing config and InvalidNameError for a bad name", async () => {
  const adapter = new MemoryAdapter();
  await assert.rejects(getConfig(adapter, "spins"), NotFoundError);
  await assert.rejects(getConfig(adapter, "../spins"), InvalidNameError);
});

Deno.test("getConfig() throws CorruptRecordError naming a config that fails its schema", async () => {
  const adapter = new MemoryAdapter();
  await adapter.upload(CONFIGS, "spins", { display_name: "spins" });
  await assert.rejects(
    getConfig(adapter, "spins"),
    (error: Error) =>
      error instanceof CorruptRecordError &&
      error.record === "backends/configs/spins.json",
  );
});

Deno.test("getConfig() throws CorruptRecordError for a config file that is not JSON", async () => {
  await withTempDir(async (basePath) => {
    await Deno.mkdir(`${basePath}/${CONFIGS}`, { recursive: true });
    await Deno.writeTextFile(`${basePath}/${CONFIGS}/spins.json`, '{"descr');
    const adapter = new LocalAdapter({ basePath });
    await assert.rejects(getConfig(adapter, "spins"), CorruptRecordError);
  });
});

Deno.test("getBackends() lists display names, oldest first, and skips other files", async () => {
  const adapter = new MemoryAdapter();
  await uploadConfig(adapter, spinConfig({ display_name: "second" }));
  await uploadConfig(adapter, spinConfig({ display_name: "first" }));
  await adapter.upload(CONFIGS, "Not_A_Backend", {});
  assert.deepEqual(await getBackends(adapter), ["second", "first"]);
});

// ---- Names and qiskit's form ----

Deno.test("longBackendName() joins provider, display name and kind", () => {
  assert.equal(
    longBackendName("lab", { display_name: "spins", simulator: false }),
    "lab_spins_hardware",
  );
  assert.equal(
    longBackendName("Lab", { display_name: "spins", simulator: true }),
    "lab_spins_simulator",
  );
  assert.throws(
    () => longBackendName("my_lab", { display_name: "spins", simulator: true }),
    InvalidNameError,
  );
  assert.throws(
    () => longBackendName("lab", { display_name: "sp_ins", simulator: true }),
    InvalidNameError,
  );
});

Deno.test("backendDictToQiskit() maps a config to qiskit's form", () => {
  const config = polled(null);
  assert.deepEqual(backendDictToQiskit("lab", config), {
    description: "A spin chain",
    display_name: "spins",
    conditional: false,
    coupling_map: "linear",
    dynamic_reprate_enabled: false,
    local: false,
    memory: true,
    open_pulse: false,
    backend_version: "1.2.3",
    n_qubits: 5,
    backend_name: "lab_spins_hardware",
    basis_gates: ["rx", "rz"],
    max_experiments: 10,
    max_shots: 100,
    simulator: false,
    gates: config.gates,
    supported_instructions: ["rx", "rz", "measure"],
    cold_atom_type: "spin",
    wire_order: "sequential",
    num_species: 1,
    url: null,
  });
});

Deno.test("getBackendDict() uses the adapter's name in backend_name", async () => {
  const adapter = new MemoryAdapter({ name: "MyLab" });
  await uploadConfig(adapter, spinConfig({ simulator: true }));
  const dict = await getBackendDict(adapter, "spins");
  assert.equal(dict.backend_name, "mylab_spins_simulator");
  assert.equal(dict.n_qubits, 5);
  await assert.rejects(getBackendDict(adapter, "nothere"), NotFoundError);
});

// ---- Liveness ----

Deno.test("backendDictToQiskitStatus() is operational when the queue was polled within the timeout", () => {
  const status = backendDictToQiskitStatus("lab", polled(1_000), {
    now: at(0),
  });
  assert.deepEqual(status, {
    backend_name: "lab_spins_hardware",
    backend_version: "1.2.3",
    operational: true,
    pending_jobs: 0,
    status_msg: "",
  });
  const edge = polled(DEFAULT_LIVENESS_TIMEOUT_MS);
  assert.equal(
    backendDictToQiskitStatus("lab", edge, { now: at(0) }).operational,
    true,
  );
});

Deno.test("backendDictToQiskitStatus() is not operational once the poll is older than the timeout", () => {
  assert.equal(DEFAULT_LIVENESS_TIMEOUT_MS, 300_000);
  const old = polled(DEFAULT_LIVENESS_TIMEOUT_MS + 1);
  assert.equal(
    backendDictToQiskitStatus("lab", old, { now: at(0) }).operational,
    false,
  );
  // A longer timeout makes the same stamp fresh again.
  assert.equal(
    backendDictToQiskitStatus("lab", old, { now: at(0), timeoutMs: 600_000 })
      .operational,
    true,
  );
  const recent = polled(10_000);
  assert.equal(
    backendDictToQiskitStatus("lab", recent, { now: at(0), timeoutMs: 5_000 })
      .operational,
    false,
  );
});

Deno.test("backendDictToQiskitStatus() is not operational when the config says so, however fresh the poll", () => {
  const config = polled(0, {
    operational: false,
    pending_jobs: 3,
    status_msg: "Cooling down",
  });
  assert.deepEqual(
    backendDictToQiskitStatus("lab", config, { now: at(0) }),
    {
      backend_name: "lab_spins_hardware",
      backend_version: "1.2.3",
      operational: false,
      pending_jobs: 3,
      status_msg: "Cooling down",
    },
  );
});

Deno.test("backendDictToQiskitStatus() is not operational when the queue was never polled", () => {
  assert.equal(
    backendDictToQiskitStatus("lab", polled(null), { now: at(0) }).operational,
    false,
  );
});

Deno.test("backendDictToQiskitStatus() reads a +00:00 stamp", () => {
  const config = polled(null, {
    last_queue_check: "2026-11-28T09:59:00+00:00",
  });
  assert.equal(
    backendDictToQiskitStatus("lab", config, { now: at(0) }).operational,
    true,
  );
  assert.equal(
    backendDictToQiskitStatus("lab", config, { now: at(241_000) }).operational,
    false,
  );
});

Deno.test("getBackendStatus() follows timestampQueue() and the clock", async () => {
  const adapter = new MemoryAdapter({ name: "lab" });
  await uploadConfig(adapter, spinConfig({ pending_jobs: 2 }));
  const before = await getBackendStatus(adapter, "spins", { now: at(0) });
  assert.equal(before.operational, false);
  assert.equal(before.pending_jobs, 2);

  await timestampQueue(adapter, "spins", { now: at(0) });
  assert.equal(
    (await getBackendStatus(adapter, "spins", { now: at(60_000) })).operational,
    true,
  );
  assert.equal(
    (await getBackendStatus(adapter, "spins", { now: at(300_001) }))
      .operational,
    false,
  );
  await assert.rejects(getBackendStatus(adapter, "nothere"), NotFoundError);
});

// ---- The queue stamp ----

Deno.test("timestampQueue() writes last_queue_check as an ISO time and keeps the other fields", async () => {
  const adapter = new MemoryAdapter();
  await uploadConfig(adapter, { ...spinConfig(), kid: "k1" });
  assert.equal(await timestampQueue(adapter, "spins", { now: at(0) }), true);
  assert.deepEqual(await adapter.get(CONFIGS, "spins"), {
    ...polled(0),
    kid: "k1",
    last_queue_check: "2026-11-28T10:00:00.000Z",
  });
});

Deno.test("timestampQueue() skips the stamp within minIntervalMs of its last one", async () => {
  const adapter = new MemoryAdapter();
  await uploadConfig(adapter, spinConfig());
  const stamp = async (ms: number) => {
    const done = await timestampQueue(adapter, "spins", {
      now: at(ms),
      minIntervalMs: 1_000,
    });
    return [done, (await getConfig(adapter, "spins")).last_queue_check];
  };
  assert.deepEqual(await stamp(0), [true, "2026-11-28T10:00:00.000Z"]);
  assert.deepEqual(await stamp(999), [false, "2026-11-28T10:00:00.000Z"]);
  assert.deepEqual(await stamp(1_000), [true, "2026-11-28T10:00:01.000Z"]);
  // Without an interval, every call stamps.
  assert.equal(
    await timestampQueue(adapter, "spins", { now: at(1_001) }),
    true,
  );
});

Deno.test("timestampQueue() throws NotFoundError for a backend without config", async () => {
  const adapter = new MemoryAdapter();
  await assert.rejects(timestampQueue(adapter, "spins"), NotFoundError);
  await assert.rejects(timestampQueue(adapter, "Spins"), InvalidNameError);
  assert.deepEqual(await adapter.list(CONFIGS), []);
});
