// Tests of src/slices.ts: large records read, checked and written in slices
// give exactly what the one-piece functions give, and let the event loop run.

import assert from "node:assert/strict";
import { ExactNumber, parseJson, stringifyJson } from "../src/json.ts";
import {
  createPacer,
  type Pacer,
  parseJsonInSlices,
  safeParseInSlices,
  stringifyJsonInSlices,
  type TextStream,
} from "../src/slices.ts";
import { Job, Result } from "../mod.ts";
import { z } from "zod";
import { prng } from "./support/random.ts";

/** A pacer with tiny slices that yields after every one of them. */
function tinyPacer(sliceChars = 16): Pacer {
  return createPacer({ sliceChars, budgetMs: 0 });
}

const KEYS = ["a", "b", "0", "17", "__proto__", "k\\n", "k\\u00e9", "", "a"];
const STRINGS = ['"x"', '"-0"', '"a\\"b"', '"\\\\"', '"é\\u2028"', '"[{,:}]"'];
const NUMBERS = [
  "0",
  "-0",
  "1.0",
  "-0.0",
  "1e-05",
  "NaN",
  "-Infinity",
  "2e400",
  "18446744073709551616",
];
const SPACES = ["", " ", "\n", "\t ", "\r\n"];
/** Leaves and keys that parseJson reads by its fast path: no NaN, -0 or escapes. */
const PLAIN_LEAVES = [
  '"x"',
  '"[{,:}]"',
  '"é"',
  "0",
  "1.0",
  "2e400",
  "-1.5",
  "true",
  "null",
];
const PLAIN_KEYS = ["a", "b", "0", "17", "__proto__", "", "a"];

/** A random JSON text as Python writes it (literals and all), with odd spacing. */
function randomText(next: () => number, depth = 0, plain = false): string {
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)];
  const space = () => pick(SPACES);
  const roll = next();
  if (depth > 4 || (roll < 0.35 && depth > 0) || (roll < 0.35 && !plain)) {
    return pick(
      plain ? PLAIN_LEAVES : [...STRINGS, ...NUMBERS, "true", "false", "null"],
    );
  }
  const count = Math.floor(next() * 7);
  const items: string[] = [];
  for (let i = 0; i < count; i++) {
    const value = randomText(next, depth + 1, plain);
    items.push(
      roll < 0.65
        ? `${space()}${value}${space()}`
        : `${space()}"${
          pick(plain ? PLAIN_KEYS : KEYS)
        }"${space()}:${space()}${value}${space()}`,
    );
  }
  return roll < 0.65 ? `[${items.join(",")}]` : `{${items.join(",")}}`;
}

/** That two values are equal, with the same key order, -0, NaN and infinities. */
function assertSameValue(actual: unknown, expected: unknown, what: string) {
  assert.equal(show(actual), show(expected), what);
  assert.deepEqual(actual, expected, what);
}

/** The value as text that shows key order, -0, NaN and the infinities. */
function show(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item) =>
      typeof item === "number" && !Number.isFinite(item)
        ? `#${item}`
        : Object.is(item, -0)
        ? "#-0"
        : item,
  );
}

Deno.test("parseJsonInSlices reads 3,000 random texts exactly as parseJson does, key order included", async () => {
  const next = prng(1);
  for (let round = 0; round < 3_000; round++) {
    const text = randomText(next);
    const sliceChars = 1 + Math.floor(next() * 40);
    const expected = parseJson(text);
    const sliced = await parseJsonInSlices(text, tinyPacer(sliceChars));
    assertSameValue(
      sliced,
      expected,
      `text ${text} in slices of ${sliceChars}`,
    );
  }
});

/** The text in pieces of random lengths, as a stream; counts the reads of the whole. */
function streamOf(
  text: string,
  next: () => number,
  most = 40,
): TextStream & { wholeReads: number } {
  let at = 0;
  const stream = {
    wholeReads: 0,
    next() {
      if (at >= text.length) return Promise.resolve(undefined);
      const piece = text.slice(at, at + 1 + Math.floor(next() * most));
      at += piece.length;
      return Promise.resolve(piece);
    },
    whole() {
      stream.wholeReads++;
      return Promise.resolve(text);
    },
  };
  return stream;
}

Deno.test("parseJsonInSlices reads 3,000 random texts that arrive in random pieces exactly as parseJson does, in pieces when it can", async () => {
  const next = prng(4);
  for (let round = 0; round < 3_000; round++) {
    const text = randomText(next, 0, round % 3 !== 0);
    const sliceChars = 1 + Math.floor(next() * 40);
    const expected = parseJson(text);
    const stream = streamOf(text, next);
    const sliced = await parseJsonInSlices(stream, tinyPacer(sliceChars));
    assertSameValue(
      sliced,
      expected,
      `text ${text} in slices of ${sliceChars}`,
    );
    // Only what the one-piece parser must read (NaN, -0, escapes, a bare
    // value) and text no longer than a slice is read whole.
    const mustBeWhole = /NaN|Infinity|-0|\\/.test(text) ||
      !/^\s*[[{]/.test(text) || text.length <= sliceChars;
    if (!mustBeWhole) assert.equal(stream.wholeReads, 0, `text ${text}`);
  }
});

Deno.test("parseJsonInSlices reads a stream in pieces, never whole, unless the text needs the one-piece parser", async () => {
  const next = prng(5);
  const memory = JSON.stringify(
    Array.from({ length: 30_000 }, (_, i) => `${i % 4} 1`),
  );
  const plain =
    `{"status": "DONE", "results": [{"header": {"name": "e"}, "data": {"memory": ${memory}}}]}`;
  const stream = streamOf(plain, next, 5_000);
  assert.deepEqual(
    await parseJsonInSlices(stream, createPacer()),
    parseJson(plain),
  );
  assert.equal(
    stream.wholeReads,
    0,
    "a plain large text is read in pieces only",
  );
  for (
    const text of [
      plain.replace('"DONE"', "NaN"),
      plain.replace('"e"', '"\\u00e9"'),
      plain.replace('"status"', '"0": 1, "status"'),
      plain + " x",
      plain.slice(0, -3),
    ]
  ) {
    const special = streamOf(text, next, 5_000);
    const expected = (() => {
      try {
        return show(parseJson(text));
      } catch (error) {
        return String(error);
      }
    })();
    const got = await parseJsonInSlices(special, createPacer()).then(
      show,
      String,
    );
    assert.equal(got, expected, text.slice(0, 60));
  }
});

Deno.test("parseJsonInSlices refuses broken texts with parseJson's own message", async () => {
  const next = prng(2);
  const broken = [
    '{"a": 1,}',
    "[1 2]",
    '{"a" 1}',
    "[1, [2, 3}",
    '{"a": [1, 2]',
    '{"a": "b}',
    "[]]",
    "{1: 2}",
    "[NaNa]",
    '{"a": 1} x',
  ];
  for (let round = 0; round < 500; round++) {
    const text = randomText(next);
    const at = Math.floor(next() * text.length);
    broken.push(text.slice(0, at) + text.slice(at + 1));
  }
  for (const text of broken) {
    let expected: unknown;
    try {
      expected = parseJson(text);
    } catch (error) {
      expected = error;
    }
    const sliced = await parseJsonInSlices(text, tinyPacer(4)).catch((e) => e);
    if (expected instanceof Error) {
      assert(sliced instanceof SyntaxError, `text ${text}`);
      assert.equal(sliced.message, expected.message);
    } else {
      assert.equal(show(sliced), show(expected), `text ${text}`);
    }
  }
});

/** A random value as a caller hands it in: toJSON, exact numbers, holes, undefined. */
function randomValue(next: () => number, depth = 0): unknown {
  const roll = next();
  if (depth > 4 || roll < 0.3) {
    const leaves: unknown[] = [
      "x",
      "é\u2028",
      -0,
      NaN,
      Infinity,
      1.5,
      10n ** 20n,
      new ExactNumber("1.0"),
      true,
      null,
      undefined,
      () => 1,
      new Date(0),
      { toJSON: (key: string) => `key ${key}` },
      new String("boxed"),
    ];
    return leaves[Math.floor(next() * leaves.length)];
  }
  const count = Math.floor(next() * 7);
  if (roll < 0.65) {
    const items = new Array(count);
    for (let i = 0; i < count; i++) {
      if (next() > 0.1) items[i] = randomValue(next, depth + 1);
    }
    return items;
  }
  const record: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    record[KEYS[Math.floor(next() * 4)] + i] = randomValue(next, depth + 1);
  }
  return record;
}

Deno.test("stringifyJsonInSlices writes 3,000 random values exactly as stringifyJson does", async () => {
  const next = prng(3);
  for (let round = 0; round < 3_000; round++) {
    const value = { root: randomValue(next) };
    const sliceChars = 1 + Math.floor(next() * 40);
    const pieces = await stringifyJsonInSlices(value, tinyPacer(sliceChars));
    assert.equal(pieces.join(""), stringifyJson(value), `round ${round}`);
  }
});

Deno.test("stringifyJsonInSlices refuses a cycle as stringifyJson does", async () => {
  const inner: unknown[] = ["a", "b", "c"];
  const outer = { list: [inner, "d", "e", "f"] };
  inner.push(outer);
  await assert.rejects(
    () => stringifyJsonInSlices(outer, tinyPacer(2)),
    TypeError,
  );
  assert.throws(() => stringifyJson(outer), TypeError);
});

/** A result of `shots` shots for each of `experiments` experiments. */
function bigResult(shots: number, experiments = 1): Record<string, unknown> {
  return {
    display_name: "spins",
    backend_version: "0.1.0",
    job_id: "abc",
    status: "DONE",
    extra: { kept: [1, 2, 3] },
    results: Array.from({ length: experiments }, (_, i) => ({
      header: { name: `experiment_${i}` },
      shots,
      success: true,
      data: {
        memory: Array.from({ length: shots }, (_, j) => `${j % 2} 1 0 1 1`),
      },
    })),
  };
}

Deno.test("safeParseInSlices returns what the schema returns, and the same issues when it fails", async () => {
  const pacer = () => tinyPacer(64);
  const good = bigResult(200, 3);
  const expected = (Result as unknown as z.ZodType).safeParse(good);
  const sliced = await safeParseInSlices(
    Result as unknown as z.ZodType,
    good,
    pacer(),
  );
  assert.deepEqual(sliced, expected);
  assert.equal(show(sliced), show(expected));

  const bad = bigResult(200, 2);
  (bad.results as { data: { memory: unknown[] } }[])[1].data.memory[150] = 7;
  const wanted = (Result as unknown as z.ZodType).safeParse(bad);
  const got = await safeParseInSlices(
    Result as unknown as z.ZodType,
    bad,
    pacer(),
  );
  assert(!got.success && !wanted.success);
  assert.deepEqual(
    (got.error as z.ZodError).issues,
    (wanted.error as z.ZodError).issues,
  );

  const job = {
    experiment_0: {
      instructions: Array.from({ length: 300 }, () => ["rx", [0], [1.5]]),
      num_wires: 1,
      shots: 3,
      wire_order: "sequential",
    },
  };
  assert.deepEqual(
    await safeParseInSlices(Job as unknown as z.ZodType, job, pacer()),
    (Job as unknown as z.ZodType).safeParse(job),
  );
  const tooShort = z.object({ list: z.array(z.string()).min(1000) });
  const data = { list: Array(500).fill("abcdef") };
  assert.deepEqual(
    await safeParseInSlices(tooShort, data, pacer()),
    tooShort.safeParse(data),
  );
});

/** A pacer that counts the turns it gave the event loop. */
function countingPacer(): Pacer & { turns: number } {
  const inner = createPacer();
  const pacer = {
    turns: 0,
    sliceChars: inner.sliceChars,
    pace() {
      const turn = inner.pace();
      if (turn !== undefined) pacer.turns++;
      return turn;
    },
  };
  return pacer;
}

Deno.test("a 5 MB result is written, read and checked in slices that give the event loop a turn every few milliseconds", async () => {
  const result = bigResult(420_000);
  let ticks = 0;
  // Warm up, so that compiling the code is not counted.
  await stringifyJsonInSlices(bigResult(20_000), createPacer());
  const timer = setInterval(() => ticks++, 1);
  const pacers = [countingPacer(), countingPacer(), countingPacer()];
  try {
    const pieces = await stringifyJsonInSlices(result, pacers[0]);
    const text = pieces.join("");
    assert(text.length > 5_000_000);
    const parsed = await parseJsonInSlices(text, pacers[1]);
    const checked = await safeParseInSlices(
      Result as unknown as z.ZodType,
      parsed,
      pacers[2],
    );
    assert(checked.success);
    assert.equal(
      stringifyJson(checked.data),
      stringifyJson(Result.parse(result)),
    );
  } finally {
    clearInterval(timer);
  }
  // Each step gave turns (a step done in one piece gives none), and the
  // timer ran in them. How long the turns are apart is a timing figure:
  // bench/read_latency.ts measures it, a test does not.
  for (const [i, step] of ["write", "read", "check"].entries()) {
    const pacer = pacers[i];
    assert(pacer.turns > 0, `the ${step} step gave the event loop no turn`);
  }
  assert(ticks > 10, `the timer ran ${ticks} times`);
});

Deno.test("safeParseInSlices leaves data whole under a schema that looks at the whole: refinements, overwrites, transformed keys", async () => {
  const list = Array.from({ length: 100 }, (_, i) => i);
  const cases: [string, z.ZodType, unknown][] = [
    [
      "refine",
      z.object({ a: z.array(z.number()) }).refine(
        (o) => o.a.length < 5,
        "too long",
      ),
      { a: list },
    ],
    [
      "optional refine",
      z.object({
        a: z.array(z.number()).optional().refine(
          (a) => !a || a.length < 5,
          "too long",
        ),
      }),
      { a: list },
    ],
    [
      "superRefine",
      z.object({ a: z.array(z.number()), total: z.number() }).superRefine(
        (o, ctx) => {
          if (o.a.reduce((sum, x) => sum + x, 0) !== o.total) {
            ctx.addIssue({ code: "custom", message: "bad total" });
          }
        },
      ),
      { a: list, total: 0 },
    ],
    [
      "overwrite",
      z.object({ a: z.array(z.number()) }).overwrite((o) => ({
        ...o,
        n: o.a.length,
      })),
      { a: list },
    ],
    [
      "key transform",
      z.record(
        z.string().transform((k) => k.toUpperCase()),
        z.array(z.number()),
      ),
      { a: list },
    ],
    [
      "key overwrite",
      z.record(
        z.string().overwrite((k) => k.toUpperCase()),
        z.array(z.number()),
      ),
      { a: list },
    ],
  ];
  for (const [name, schema, data] of cases) {
    const sliced = await safeParseInSlices(schema, data, tinyPacer(64));
    const whole = schema.safeParse(data);
    assert.equal(sliced.success, whole.success, name);
    if (sliced.success && whole.success) {
      assert.deepEqual(sliced.data, whole.data, name);
    } else {
      assert.deepEqual(
        (sliced as { error: z.ZodError }).error.issues,
        (whole as { error: z.ZodError }).error.issues,
        name,
      );
    }
  }
});

Deno.test('parseJsonInSlices keeps the text\'s order of keys such as "0" where parseJson keeps it (NaN, escaped keys, -0)', async () => {
  const large = JSON.stringify(Array(20_000).fill("0 1"));
  for (
    const text of [
      `{"b": 1, "0": 2, "c": NaN, "big": ${large}}`,
      `{"b": 1, "0": 2, "\\n": 3, "big": ${large}}`,
      `{"b": 1, "0": -0, "big": ${large}}`,
      `{"big": ${large}, "b": 1, "0": NaN}`,
    ]
  ) {
    const sliced = await parseJsonInSlices(text, createPacer());
    assert.equal(stringifyJson(sliced), stringifyJson(parseJson(text)));
  }
});

Deno.test("parseJsonInSlices reads a long string of escapes deep inside large arrays as parseJson does", async () => {
  const text = "[".repeat(31) + `"${'\\"'.repeat(200_000)}"` + "]".repeat(31);
  assert.deepEqual(
    await parseJsonInSlices(text, createPacer()),
    parseJson(text),
  );
});

Deno.test("stringifyJsonInSlices gives an array's own toJSON the key that stringifyJson gives it", async () => {
  const tagged = () =>
    Object.assign([1, 2], { toJSON: (key: string) => `key=${key}` });
  const filler = Array.from({ length: 40_000 }, (_, i) => `s${i}`);
  for (
    const value of [
      { list: filler, x: tagged() },
      { list: [...filler, tagged()] },
    ]
  ) {
    const pieces = await stringifyJsonInSlices(value, createPacer());
    assert(pieces.length > 1, "the value is written in slices");
    assert.equal(pieces.join(""), stringifyJson(value));
  }
});

Deno.test("safeParseInSlices returns what the schema returns when only late elements of a large array change", async () => {
  const schema = z.object({
    list: z.array(z.union([z.string(), z.number().transform((n) => n * 2)])),
  });
  const list: (string | number)[] = Array.from(
    { length: 500 },
    (_, i) => `s${i}`,
  );
  list[400] = 21;
  const data = { list };
  const sliced = await safeParseInSlices(schema, data, tinyPacer(64));
  assert.deepEqual(sliced, schema.safeParse(data));
});
