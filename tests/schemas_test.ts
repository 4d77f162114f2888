import assert from "node:assert/strict";
import {
  BackendConfigIn,
  BackendConfigOut,
  BackendStatusOut,
  Experiment,
  Gate,
  Job,
  JobMeta,
  Lease,
  LocalLoginInformation,
  NextJob,
  Result,
  StatusMsg,
} from "@sqooler/storage";
import {
  check,
  formatTime,
  parseStoredTime,
  type Schema,
} from "../src/schemas.ts";

const CONFIG = {
  description: "Fermions in a tweezer array",
  version: "0.1.2",
  display_name: "fermions",
  cold_atom_type: "fermion",
  gates: [{ name: "rlx", parameters: ["omega"], qasm_def: "gate rlx {}" }],
  max_experiments: 50,
  max_shots: 1000,
  simulator: true,
  supported_instructions: ["rlx", "load", "measure"],
  num_wires: 3,
  wire_order: "interleaved",
  num_species: 2,
};

const RESULT = {
  display_name: "fermions",
  backend_version: "0.1.2",
  job_id: "a04ebc8cdf96468fad72ca94",
  status: "DONE",
};

Deno.test("BackendConfigIn fills in operational true and null optional fields", () => {
  const config = BackendConfigIn.parse(CONFIG);
  assert.equal(config.operational, true);
  assert.equal(config.pending_jobs, null);
  assert.equal(config.status_msg, null);
  assert.equal(config.last_queue_check, null);
});

Deno.test("BackendConfigIn reads null where sqooler writes null, and operational null as true", () => {
  const config = BackendConfigIn.parse({
    ...CONFIG,
    operational: null,
    pending_jobs: null,
    status_msg: null,
    last_queue_check: null,
  });
  assert.equal(config.operational, true);
  assert.equal(config.pending_jobs, null);
  const stopped = BackendConfigIn.parse({ ...CONFIG, operational: false });
  assert.equal(stopped.operational, false);
});

Deno.test("BackendConfigIn reads last_queue_check in every spelling that pydantic accepts, and keeps it as written", () => {
  for (
    const time of [
      "2026-11-28T04:27:46.819278Z",
      "2026-11-28T04:21:07+00:00",
      "2026-11-28T04:21:07.123456+00:00",
      "2026-11-28T04:21:07",
      "2026-11-28 04:21:07+00:00",
      "2026-11-28T04:21Z",
      "2026-11-28T06:21:07.123456789+02:00",
      "2026-11-28T00:51:07.5-03:30",
      "2026-11-28T04:21:07+0000",
      "2026-11-28",
      1764303667,
      "1764303667",
    ]
  ) {
    const config = BackendConfigIn.parse({ ...CONFIG, last_queue_check: time });
    assert.equal(config.last_queue_check, time);
  }
  for (
    const time of [
      "yesterday",
      "28.11.2026 04:21",
      "2026-02-30T10:00:00Z",
      "2026-11-28T24:00:00Z",
      "2026-11-28T04:21:07+25:00",
      NaN,
    ]
  ) {
    assert(
      !BackendConfigIn.safeParse({ ...CONFIG, last_queue_check: time }).success,
      String(time),
    );
  }
});

Deno.test("BackendConfigIn keeps fields it does not know, on the config and its gates", () => {
  const config = BackendConfigIn.parse({
    ...CONFIG,
    sign: true,
    kid: "fermkey",
    future_field: { nested: [1, 2] },
  });
  assert.equal(config.sign, true);
  assert.equal(config.kid, "fermkey");
  assert.deepEqual(
    (config as unknown as Record<string, unknown>).future_field,
    { nested: [1, 2] },
  );
  assert.equal(config.gates[0].qasm_def, "gate rlx {}");
  assert.deepEqual(config.gates[0].parameters, ["omega"]);
});

Deno.test("BackendConfigIn refuses bad display names, atom types and counts", () => {
  const bad = [
    { display_name: "fermions_2" },
    { display_name: "Fermions" },
    { display_name: "../configs" },
    { display_name: "" },
    { cold_atom_type: "photon" },
    { num_wires: -1 },
    { max_shots: 1.5 },
    { pending_jobs: -3 },
    { simulator: "yes" },
  ];
  for (const change of bad) {
    assert(
      !BackendConfigIn.safeParse({ ...CONFIG, ...change }).success,
      JSON.stringify(change),
    );
  }
  const { description: _, ...withoutDescription } = CONFIG;
  assert.throws(() => BackendConfigIn.parse(withoutDescription));
});

Deno.test("Result fills in sqooler's defaults: null backend_name and qobj_id, success, empty header and results", () => {
  assert.deepEqual(Result.parse(RESULT), {
    ...RESULT,
    backend_name: null,
    qobj_id: null,
    success: true,
    header: {},
    results: [],
  });
});

Deno.test("Result keeps fields it does not know, in the result and its experiments", () => {
  const experiment = {
    header: { name: "experiment_0", "extra metadata": "text" },
    shots: 1,
    success: true,
    data: {
      memory: ["1 0 1"],
      instructions: [{ name: "load", wires: [0], params: [] }],
      extra_data: [0.5],
    },
    time_taken: 0.25,
  };
  const result = Result.parse({
    ...RESULT,
    date: "2026-11-28",
    results: [experiment],
  }) as unknown as Record<string, unknown>;
  assert.equal(result.date, "2026-11-28");
  assert.deepEqual((result.results as unknown[])[0], experiment);
});

Deno.test("Result refuses an unknown status and malformed experiments", () => {
  assert(!Result.safeParse({ ...RESULT, status: "FINISHED" }).success);
  assert(
    !Result.safeParse({
      ...RESULT,
      results: [{ header: {}, shots: 1, success: true, data: {} }],
    }).success,
  );
});

Deno.test("StatusMsg accepts the four statuses and keeps exactly sqooler's four fields", () => {
  for (const status of ["INITIALIZING", "QUEUED", "DONE", "ERROR"]) {
    const parsed = StatusMsg.parse({
      job_id: "abc",
      status,
      detail: "Got your json.",
      error_message: "None",
      _id: "from elsewhere",
    });
    assert.deepEqual(Object.keys(parsed).sort(), [
      "detail",
      "error_message",
      "job_id",
      "status",
    ]);
  }
  assert(
    !StatusMsg.safeParse({
      job_id: "abc",
      status: "LOST",
      detail: "",
      error_message: "None",
    }).success,
  );
  assert(!StatusMsg.safeParse({ job_id: "abc", status: "DONE" }).success);
});

Deno.test("safeParse() reports failure with an Error instead of throwing", () => {
  const outcome = StatusMsg.safeParse("not an object");
  assert.equal(outcome.success, false);
  if (!outcome.success) assert(outcome.error instanceof Error);
});

Deno.test("Job and Experiment accept sqooler's job format and refuse other keys", () => {
  const experiment = {
    instructions: [["load", [7], []], ["rlx", [0], [0.7]], [
      "measure",
      [2],
      [],
    ]],
    num_wires: 8,
    shots: 4,
    wire_order: "sequential",
  };
  assert.deepEqual(Experiment.parse(experiment), experiment);
  assert.deepEqual(Experiment.parse({ ...experiment, seed: null }).seed, null);
  const job = { experiment_0: experiment, experiment_12: experiment };
  assert.deepEqual(Job.parse(job), job);
  assert(!Job.safeParse({ experiment_a: experiment }).success);
  assert(!Job.safeParse({ job: experiment }).success);
  assert(
    !Experiment.safeParse({ ...experiment, instructions: [["load", [0]]] })
      .success,
  );
  assert(!Gate.safeParse({ name: "load", wires: [0.5], params: [] }).success);
});

Deno.test("NextJob, BackendStatusOut and BackendConfigOut check their fields", () => {
  assert.deepEqual(NextJob.parse({ job_id: "None", job_json_path: "None" }), {
    job_id: "None",
    job_json_path: "None",
  });
  assert(!NextJob.safeParse({ job_id: "abc" }).success);
  const status = {
    backend_name: "lab_fermions_simulator",
    backend_version: "0.1.2",
    operational: true,
    pending_jobs: 0,
    status_msg: "",
  };
  assert.deepEqual(BackendStatusOut.parse(status), status);
  assert(!BackendStatusOut.safeParse({ ...status, pending_jobs: -1 }).success);
  assert(!BackendConfigOut.safeParse({ ...CONFIG }).success);
});

Deno.test("LocalLoginInformation needs a non-empty base_path", () => {
  assert.deepEqual(LocalLoginInformation.parse({ base_path: "storage" }), {
    base_path: "storage",
  });
  assert.throws(() => LocalLoginInformation.parse({}));
  assert.throws(() => LocalLoginInformation.parse({ base_path: "" }));
  assert.throws(() => LocalLoginInformation.parse({ base_path: 3 }));
});

Deno.test("JobMeta fills in its defaults and Lease needs both times", () => {
  assert.deepEqual(JobMeta.parse({ job_id: "abc" }), {
    job_id: "abc",
    username: null,
    submitted_at: null,
    attempts: 0,
  });
  assert(!JobMeta.safeParse({ job_id: "abc", attempts: -1 }).success);
  // A lease as an earlier version of this library wrote it: no token, no state.
  const lease = {
    job_id: "abc",
    claimed_at: "2026-11-28T10:00:00.000Z",
    expires_at: "2026-11-28T10:10:00.000Z",
  };
  assert.deepEqual(Lease.parse(lease), {
    ...lease,
    token: "",
    state: "running",
    attempts: null,
    error_message: null,
    cancel_requested: null,
  });
  assert(!Lease.safeParse({ ...lease, expires_at: "later" }).success);
  assert(!Lease.safeParse({ ...lease, state: "lost" }).success);
});

Deno.test("parseStoredTime reads the spelling this library writes as Date.parse does, and refuses days that do not exist", () => {
  for (
    const time of [
      "2026-11-28T04:27:46.819Z",
      "2024-02-29T23:59:59.999Z",
      "2000-02-29T00:00:00.000Z",
      "0100-01-01T00:00:00.000Z",
      "0099-12-31T23:59:59.999Z",
      "0000-01-01T00:00:00.000Z",
      "9999-12-31T23:59:59.999Z",
    ]
  ) {
    assert.equal(parseStoredTime(time), Date.parse(time), time);
  }
  for (
    const time of [
      "2026-02-29T10:00:00.000Z",
      "1900-02-29T10:00:00.000Z",
      "2026-04-31T10:00:00.000Z",
      "2026-13-01T10:00:00.000Z",
      "2026-00-01T10:00:00.000Z",
      "2026-11-00T10:00:00.000Z",
      "2026-11-28T24:00:00.000Z",
      "2026-11-28T10:60:00.000Z",
      "2026-11-28T10:00:60.000Z",
      "2026-11-28T10:00:0x.000Z",
      "2026-11-28T10:00:00.00xZ",
      "2026-11-28T10:00:00.000Y",
    ]
  ) {
    assert(Number.isNaN(parseStoredTime(time)), time);
  }
  // Other spellings of 24 characters still take the full reading.
  assert.equal(
    parseStoredTime("2026-11-28t04:27:46.819Z"),
    Date.parse("2026-11-28T04:27:46.819Z"),
  );
  assert.equal(
    parseStoredTime("2026-11-28T04:27:46+05:30"),
    Date.parse("2026-11-28T04:27:46+05:30"),
  );
  assert.equal(
    parseStoredTime("2026-11-28T04:27:46.8192Z"),
    Date.parse("2026-11-28T04:27:46.819Z"),
  );
});

Deno.test("formatTime writes every time as toISOString does", () => {
  const times = [
    0,
    -0,
    1,
    0.5,
    -1,
    -8.64e15,
    8.64e15,
    951_782_400_000, // 2000-02-29
    253_402_300_799_999, // the last millisecond of 9999
    253_402_300_800_000, // 10000-01-01
  ];
  for (let day = 0; day < 2_932_897; day += 29) {
    times.push(day * 86_400_000 + ((day * 7919) % 86_400_000));
  }
  for (const ms of times) {
    assert.equal(formatTime(ms), new Date(ms).toISOString(), String(ms));
  }
  for (const ms of [NaN, Infinity, 8.64e15 + 1]) {
    assert.throws(() => formatTime(ms), RangeError);
  }
});

Deno.test("check() reads owner records and leases exactly as their schemas do", () => {
  // A fixed seed, so that a failure can be replayed.
  let seed = 20261201;
  const random = (n: number) => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const values = [
    "2026-11-28T04:27:46.819Z",
    "2026-02-30T04:27:46.819Z",
    "2026-11-28T04:27:46Z",
    "0099-01-01T00:00:00.000Z",
    "yesterday",
    "",
    "running",
    "done",
    "error",
    "requeue",
    "lost",
    "abc",
    null,
    undefined,
    0,
    -0,
    3,
    -1,
    1.5,
    NaN,
    1764303667,
    true,
    {},
    [],
  ];
  const meta: Record<string, unknown> = {
    job_id: "abc",
    username: "alice",
    submitted_at: "2026-11-28T04:27:46.819Z",
    attempts: 0,
  };
  const lease: Record<string, unknown> = {
    job_id: "abc",
    token: "0123456789abcdef0123456789abcdef",
    state: "running",
    claimed_at: "2026-11-28T04:27:46.819Z",
    expires_at: "2026-11-28T04:37:46.819Z",
    renewed_at: "2026-11-28T04:27:46.819Z",
    attempts: null,
    error_message: null,
    cancel_requested: null,
  };
  const same = (a: unknown, b: unknown) =>
    JSON.stringify(a, (_, v) => Object.is(v, -0) ? "-0" : v) ===
      JSON.stringify(b, (_, v) => Object.is(v, -0) ? "-0" : v);
  let quickOnes = 0;
  for (const [schema, typical] of [[JobMeta, meta], [Lease, lease]] as const) {
    const keys = Object.keys(typical);
    for (let round = 0; round < 20_000; round++) {
      const data: Record<string, unknown> = {};
      // Keys in a shuffled order, most of them with a typical value.
      const order = [...keys].sort(() => random(3) - 1);
      for (const key of order) {
        if (random(12) === 0) continue;
        data[key] = random(3) === 0
          ? values[random(values.length)]
          : typical[key];
      }
      if (random(10) === 0) data.extra = values[random(values.length)];
      const zod = schema.safeParse(data);
      const got = check(schema as Schema<unknown>, data);
      assert.equal(got.ok, zod.success, JSON.stringify(data));
      if (got.ok && zod.success) {
        assert(same(got.value, zod.data), JSON.stringify(data));
        if (Object.keys(data).length === keys.length) quickOnes++;
      }
    }
  }
  assert(quickOnes > 1000, String(quickOnes));
});

Deno.test("check() of an owner record or lease with a hidden field beside an extra one answers as the schema does", () => {
  const meta: Record<string, unknown> = {
    username: "alice",
    submitted_at: null,
    attempts: 0,
    extra: 1,
  };
  Object.defineProperty(meta, "job_id", { value: "abc", enumerable: false });
  const lease: Record<string, unknown> = {
    token: "0123456789abcdef0123456789abcdef",
    state: "running",
    claimed_at: "2026-11-28T10:00:00.000Z",
    expires_at: "2026-11-28T10:10:00.000Z",
    renewed_at: "2026-11-28T10:00:00.000Z",
    attempts: null,
    error_message: null,
    cancel_requested: null,
    extra: 1,
  };
  Object.defineProperty(lease, "job_id", { value: "abc", enumerable: false });
  for (const [schema, data] of [[JobMeta, meta], [Lease, lease]] as const) {
    const got = check(schema as Schema<unknown>, data);
    const expected = (schema as Schema<unknown>).safeParse(data);
    assert.equal(got.ok, expected.success);
    if (got.ok && expected.success) {
      assert.deepEqual(got.value, expected.data);
      assert.deepEqual(
        Object.keys(got.value as object),
        Object.keys(expected.data as object),
      );
    }
  }
});
