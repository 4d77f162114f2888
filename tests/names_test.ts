import assert from "node:assert/strict";
import {
  assertDisplayName,
  assertJobId,
  assertRecordId,
  assertStoragePath,
  assertUsername,
  InvalidNameError,
  newJobId,
  normalizeProviderName,
} from "@sqooler/storage";

// newJobId() keeps the last time it used for the whole module, so each test
// starts from a clock later than any before it.
let clock = Date.parse("2030-01-01T00:00:00Z");
function later(): number {
  clock += 3_600_000;
  return clock;
}

/** Asserts that each id sorts after the one before it. */
function assertAscending(ids: string[]): void {
  for (let i = 1; i < ids.length; i++) {
    assert(ids[i - 1] < ids[i], `${ids[i - 1]} < ${ids[i]}`);
  }
}

/** Asserts that `check` refuses each of `values` with InvalidNameError. */
function assertRefusesAll(
  check: (value: unknown) => unknown,
  values: unknown[],
): void {
  for (const value of values) {
    assert.throws(() => check(value), InvalidNameError, String(value));
  }
}

Deno.test("newJobId() makes 24 lowercase hex characters", () => {
  for (let i = 0; i < 100; i++) {
    assert.match(newJobId(), /^[0-9a-f]{24}$/);
  }
  assert.match(newJobId(later()), /^[0-9a-f]{24}$/);
});

Deno.test("newJobId() starts with the creation time in milliseconds", () => {
  const time = later();
  const id = newJobId(time);
  assert.equal(parseInt(id.slice(0, 12), 16), time);
});

Deno.test("newJobId() ids sort by creation time", () => {
  const first = later();
  const ids = [newJobId(first), newJobId(first + 1), newJobId(first + 5_000)];
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, 3);
});

Deno.test("newJobId() ids made within one millisecond still sort in order", () => {
  const time = later();
  const ids = Array.from({ length: 1_000 }, () => newJobId(time));
  assertAscending(ids);
  assert(ids.every((id) => parseInt(id.slice(0, 12), 16) === time));
});

Deno.test("newJobId() ids keep growing when the clock goes backwards", () => {
  const time = later();
  const ids = [
    newJobId(time),
    newJobId(time - 1),
    newJobId(time - 60_000),
    newJobId(0),
    newJobId(time),
  ];
  assertAscending(ids);
  // A later clock is used again once it passes the last time used.
  assert.equal(parseInt(newJobId(time + 10).slice(0, 12), 16), time + 10);
});

Deno.test("assertDisplayName() accepts lowercase letters and digits only", () => {
  for (const name of ["fermions", "dummy3f9a1", "a", "x".repeat(64)]) {
    assert.equal(assertDisplayName(name), name);
  }
  const bad = [
    "",
    "Fermions",
    "fermions_2",
    "fer-mions",
    "../configs",
    "a/b",
    "a\\b",
    "a\0b",
    "ferm\u0131ons", // dotless i
    "x".repeat(65),
    42,
    null,
    undefined,
  ];
  assertRefusesAll(assertDisplayName, bad);
});

Deno.test("assertJobId() and assertRecordId() accept ASCII letters, digits, '_' and '-'", () => {
  for (const id of ["a04ebc8cdf96468fad72ca94", "jdsfssdfs", "job_1-A"]) {
    assert.equal(assertJobId(id), id);
    assert.equal(assertRecordId(id), id);
  }
  assertRefusesAll(
    assertJobId,
    ["", "..", "a.json", "a/b", "a b", "a\0", "x".repeat(65), 7],
  );
  assert.equal(assertRecordId("x".repeat(128)), "x".repeat(128));
  assert.throws(() => assertRecordId("x".repeat(129)), InvalidNameError);
});

Deno.test("assertStoragePath() refuses every way out of the storage", () => {
  for (
    const path of [
      "jobs/running",
      "jobs/queued/fermions",
      "test/subcollection_2",
    ]
  ) {
    assert.equal(assertStoragePath(path), path);
  }
  const bad = [
    "",
    "..",
    "../etc",
    "jobs/../../etc",
    "/etc",
    "jobs/",
    "jobs//running",
    "jobs\\running",
    "jobs/run\0ning",
    "./jobs",
    "a/b/c/d/e/f/g/h/i",
    null,
  ];
  assertRefusesAll(assertStoragePath, bad);
});

Deno.test("normalizeProviderName() lowercases and refuses other characters", () => {
  assert.equal(normalizeProviderName("Whatever"), "whatever");
  assert.equal(normalizeProviderName("localtest"), "localtest");
  assertRefusesAll(
    normalizeProviderName,
    ["Whatever_is_wrong", "Whatever%/iswrong", "", 5],
  );
});

Deno.test("assertUsername() accepts any text without control characters up to 256 characters", () => {
  for (
    const name of ["alice", "Bob Smith", "ünïcødé@lab.org", "x".repeat(256)]
  ) {
    assert.equal(assertUsername(name), name);
  }
  assertRefusesAll(
    assertUsername,
    ["", "a\nb", "a\0b", "a\u0085b", "x".repeat(257), {}],
  );
});

Deno.test("InvalidNameError messages name the value, cut when long", () => {
  assert.throws(
    () => assertDisplayName("../configs"),
    (error: Error) =>
      error instanceof InvalidNameError &&
      error.message.includes('"../configs"') &&
      error.message.includes("display name"),
  );
  const long = "y".repeat(10_000);
  assert.throws(
    () => assertJobId(long),
    (error: Error) =>
      error.message.includes("10000 characters") && error.message.length < 300,
  );
});
