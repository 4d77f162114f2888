// Tests of src/json.ts: reading and writing JSON exactly as Python's `json`
// module does, proven against python3 itself where it is installed.

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  ExactNumber,
  isExactNumber,
  parseExactJson,
  parseJson,
  pythonDumps,
  pythonFloatRepr,
  stringifyJson,
} from "../src/json.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const PYTHON_WRITTEN = `${FIXTURES}python-written/store/`;

// ---------------------------------------------------------------------------
// Helpers

/** Whether python3 can be started here; the cross-checks need it. */
const HAS_PYTHON = (() => {
  try {
    return new Deno.Command("python3", { args: ["--version"], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/**
 * Runs `script` in one python3 process and lets `talk` exchange JSON lines
 * with it: each `ask(message)` writes one line and reads one line back.
 */
async function withPython<T>(
  script: string,
  talk: (ask: (message: unknown) => Promise<unknown>) => Promise<T>,
): Promise<T> {
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const ask = async (message: unknown): Promise<unknown> => {
    await writer.write(
      new TextEncoder().encode(JSON.stringify(message) + "\n"),
    );
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) {
        const status = await child.status;
        const err = new TextDecoder().decode(
          await new Response(child.stderr).arrayBuffer(),
        );
        throw new Error(`python3 ended (${status.code}): ${err}`);
      }
      buffered += value;
    }
    const end = buffered.indexOf("\n");
    const line = buffered.slice(0, end);
    buffered = buffered.slice(end + 1);
    return JSON.parse(line);
  };
  try {
    return await talk(ask);
  } finally {
    await writer.close();
    await lines.cancel();
    await child.stderr.cancel();
    await child.status;
  }
}

/** A small seeded random number generator (mulberry32). */
function randomSource(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  return { next, int, pick };
}
type Random = ReturnType<typeof randomSource>;

/** The double whose 64 bits are `hex` (16 hex digits, big-endian). */
function doubleFromHex(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, parseInt(hex.slice(0, 8), 16));
  view.setUint32(4, parseInt(hex.slice(8), 16));
  return view.getFloat64(0);
}

/** The number tokens of a JSON text, in order (strings skipped). */
function numberTokens(text: string): string[] {
  const outsideStrings = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return outsideStrings.match(
    /-?Infinity|NaN|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/g,
  ) ?? [];
}

/** Python's repr() of a float, as json.dumps writes the special ones. */
function jsonRepr(repr: string): string {
  return repr === "nan"
    ? "NaN"
    : repr === "inf"
    ? "Infinity"
    : repr === "-inf"
    ? "-Infinity"
    : repr;
}

/** Python's view of a value (see VIEW in the script), as a JS number etc. */
type View =
  | null
  | boolean
  | ["i", string]
  | ["f", string]
  | ["s", string]
  | ["l", View[]]
  | ["d", [string, View][]];

/** Checks that `value` (from parseJson) is what Python's view says. */
function assertMatchesView(value: unknown, view: View, where: string): void {
  if (view === null || typeof view === "boolean") {
    assert.equal(value, view, where);
    return;
  }
  switch (view[0]) {
    case "i":
      assert.equal(typeof value, "number", where);
      assert(
        Object.is(value, Number(view[1])),
        `${where}: int ${view[1]}, got ${String(value)}`,
      );
      return;
    case "f":
      assert(
        Object.is(value, Number(jsonRepr(view[1]))),
        `${where}: float ${view[1]}, got ${String(value)}`,
      );
      return;
    case "s":
      assert.equal(value, view[1], where);
      return;
    case "l":
      assert(Array.isArray(value), where);
      assert.equal(value.length, view[1].length, where);
      view[1].forEach((item, i) =>
        assertMatchesView(value[i], item, `${where}[${i}]`)
      );
      return;
    case "d": {
      assert(value !== null && typeof value === "object", where);
      assert(!Array.isArray(value), where);
      const record = value as Record<string, unknown>;
      assert.equal(Object.keys(record).length, view[1].length, where);
      for (const [key, item] of view[1]) {
        assert(
          Object.hasOwn(record, key),
          `${where}: key ${JSON.stringify(key)} in ${
            JSON.stringify(Object.keys(record))
          }`,
        );
        assertMatchesView(record[key], item, `${where}.${key}`);
      }
      return;
    }
  }
}

// The Python side of the cross-checks. Phase 1 builds values from specs,
// dumps them in several layouts, and reports json.dumps(json.loads(text)) and
// a typed view; it also reads hand-made texts and reprs floats. Phase 2 reads
// back what this library wrote.
const CROSS_CHECK_SCRIPT = String.raw`
import json, math, struct, sys

def build(spec):
    kind = spec[0]
    if kind == "i": return int(spec[1])
    if kind == "f": return struct.unpack(">d", bytes.fromhex(spec[1]))[0]
    if kind == "fd": return float(spec[1])
    if kind == "s": return spec[1]
    if kind == "b": return spec[1]
    if kind == "n": return None
    if kind == "l": return [build(item) for item in spec[1]]
    if kind == "d": return {key: build(item) for key, item in spec[1]}
    raise ValueError(kind)

def view(value):
    if value is None or isinstance(value, bool): return value
    if isinstance(value, int): return ["i", str(value)]
    if isinstance(value, float): return ["f", repr(value)]
    if isinstance(value, str): return ["s", value]
    if isinstance(value, list): return ["l", [view(item) for item in value]]
    return ["d", [[key, view(item)] for key, item in value.items()]]

def layout(value, fmt):
    if fmt == 0: return json.dumps(value)
    if fmt == 1: return json.dumps(value, separators=(",", ":"))
    if fmt == 2: return json.dumps(value, indent=2)
    if fmt == 3: return json.dumps(value, ensure_ascii=False)
    if fmt == 4: return json.dumps(value, indent="\t", ensure_ascii=False, separators=(",", ": "))
    return " \n" + json.dumps(value) + "\r\n\t"

def as_float(value):
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf

def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        fa, fb = as_float(a), as_float(b)
        if math.isnan(fa) or math.isnan(fb): return math.isnan(fa) and math.isnan(fb)
        return fa == fb and math.copysign(1, fa) == math.copysign(1, fb)
    if isinstance(a, str) or isinstance(b, str): return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return False

texts = []
for line in sys.stdin:
    request = json.loads(line)
    if "cases" in request:
        cases = []
        for case in request["cases"]:
            text = layout(build(case["spec"]), case["fmt"])
            texts.append(text)
            loaded = json.loads(text)
            cases.append({"text": text, "dumps": json.dumps(loaded), "view": view(loaded)})
        read = []
        for text in request["texts"]:
            try:
                loaded = json.loads(text)
                read.append({"ok": True, "dumps": json.dumps(loaded), "view": view(loaded)})
            except ValueError as error:
                read.append({"ok": False, "error": str(error)})
        floats = [repr(struct.unpack(">d", bytes.fromhex(h))[0]) for h in request["floats"]]
        answer = {"cases": cases, "texts": read, "floats": floats}
    else:
        answer = {
            "exactDumps": [json.dumps(json.loads(text)) for text in request["exact"]],
            "plainDumps": [json.dumps(json.loads(text)) for text in request["plain"]],
            "plainSame": [same(json.loads(p), json.loads(t)) for p, t in zip(request["plain"], texts)],
        }
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
`;

// Generated values: the kinds of value Python's json module reads and writes.
const STRING_PIECES = [
  "a",
  "Z",
  " ",
  "0",
  "NaN",
  "Infinity",
  "-Infinity",
  '"NaN"',
  "k0",
  '"',
  "\\",
  "/",
  "\n",
  "\r",
  "\t",
  "\b",
  "\f",
  "\u0000",
  "\u001f",
  "\u007f",
  "\u0080",
  "é",
  "ü",
  "–",
  "½",
  "µ",
  "✓",
  "\u2028",
  "\ufeff",
  "\uffff",
  "🧊",
  "😀",
  "\ud800",
  "\udfff",
  "\\u0041",
  ": ",
  ", ",
  "{",
  "]",
];
const KEYS = [
  "a",
  "b",
  "header",
  "payload",
  "0",
  "1",
  "17",
  "01",
  "-1",
  "1.5",
  "4294967294",
  "4294967295",
  "k0",
  "k1",
  "NaN",
  "Infinity",
  "__proto__",
  "constructor",
  "toString",
  "",
  "a b",
  "é",
  "🧊",
  '"',
  "\\",
  "\n",
];
const SPECIAL_FLOATS = [
  0,
  -0,
  NaN,
  Infinity,
  -Infinity,
  5e-324,
  2.2250738585072014e-308,
  2.225073858507201e-308,
  1.7976931348623157e308,
  1,
  -1,
  0.1,
  1e-5,
  1e-4,
  0.001,
  1e15,
  1e16,
  1e17,
  1e21,
  1e22,
  123456789.125,
  9007199254740992,
  9007199254740993,
  0.7853981633974483,
  Math.PI,
  2 ** -1074,
  2 ** 1023,
];

function hexOfDouble(x: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  return view.getUint32(0).toString(16).padStart(8, "0") +
    view.getUint32(4).toString(16).padStart(8, "0");
}

function randomBitsHex(random: Random): string {
  const word = () =>
    Math.floor(random.next() * 2 ** 32).toString(16).padStart(8, "0");
  return word() + word();
}

type Spec =
  | ["i", string]
  | ["f", string]
  | ["fd", string]
  | ["s", string]
  | ["b", boolean]
  | ["n"]
  | ["l", Spec[]]
  | ["d", [string, Spec][]];

function randomInt(random: Random): string {
  switch (random.int(6)) {
    case 0:
      return random.pick([
        "0",
        "1",
        "-1",
        "9007199254740991",
        "9007199254740993",
        "-9007199254740993",
        String(2n ** 63n),
        String(2n ** 64n),
        String(-(2n ** 64n)),
        "1" + "0".repeat(308),
        "1" + "0".repeat(400),
      ]);
    case 1:
      return String(random.int(100));
    default: {
      const digits = 1 + random.int(40);
      let text = String(1 + random.int(9));
      for (let i = 1; i < digits; i++) text += String(random.int(10));
      return random.next() < 0.3 ? `-${text}` : text;
    }
  }
}

function randomString(random: Random): string {
  let text = "";
  const pieces = random.int(6);
  for (let i = 0; i < pieces; i++) text += random.pick(STRING_PIECES);
  return text;
}

function randomSpec(random: Random, depth: number): Spec {
  const roll = random.int(depth >= 4 ? 8 : 11);
  switch (roll) {
    case 0:
    case 1:
      return ["i", randomInt(random)];
    case 2:
      return ["f", randomBitsHex(random)];
    case 3:
      return ["f", hexOfDouble(random.pick(SPECIAL_FLOATS))];
    case 4:
      return [
        "fd",
        `${random.int(1000000)}e${random.int(700) - 350}`,
      ];
    case 5:
    case 6:
      return ["s", randomString(random)];
    case 7:
      return random.next() < 0.5 ? ["b", random.next() < 0.5] : ["n"];
    case 8: {
      const items: Spec[] = [];
      const n = random.int(5);
      for (let i = 0; i < n; i++) items.push(randomSpec(random, depth + 1));
      return ["l", items];
    }
    default: {
      const entries: [string, Spec][] = [];
      const n = random.int(6);
      for (let i = 0; i < n; i++) {
        const key = random.next() < 0.7
          ? random.pick(KEYS)
          : randomString(random);
        entries.push([key, randomSpec(random, depth + 1)]);
      }
      return ["d", entries];
    }
  }
}

// Hand-made texts: Python's extra literals where strings and keys look like
// them, repeated keys, integer-like keys, numbers out of range, and texts that
// Python refuses.
const HAND_TEXTS = [
  "NaN",
  " Infinity ",
  "-Infinity",
  "[NaN,Infinity,-Infinity]",
  '{"NaN": NaN, "x": "NaN", "Infinity": [Infinity, "-Infinity"]}',
  '"NaN"',
  '"\\"NaN\\""',
  '["\\\\", NaN]',
  '["a\\"NaN", Infinity]',
  '["\\\\\\"NaN", -Infinity, "\\\\"]',
  "[NaN, 0, NaN, 0.0, -0, Infinity, 1, -Infinity, 0]",
  '{"a": 1, "a": 2}',
  '{"a": {"x": 1, "y": 2}, "b": 0, "a": {"y": 2, "x": 1}}',
  '{"a": 0, "a": -0.0, "n": NaN}',
  '{"1": 1, "b": 2, "0": 3}',
  '{"b": NaN, "1": 1, "0": 2, "1": 3}',
  '{"\\u0031": 1, "1": 2, "k0": 3}',
  '{"k0": 1, "0": 2, "k1": NaN}',
  '{"__proto__": NaN}',
  '{"__proto__": {"polluted": 1}, "x": NaN}',
  "[-0]",
  "-0",
  "[-0.0, 0.0, -0e0, 0E-0]",
  "1E400",
  "-1e400",
  "1e-400",
  "[1e309, -1e309, 2.5e-324, 4.9e-324]",
  "[18446744073709551616, -18446744073709551616, 1.0e0]",
  "[1.7976931348623157e308, 1.7976931348623158e308, 1.7976931348623159e308]",
  "[0.1000000000000000055511151231257827, 100000000000000000000000]",
  '[[[[[[[[[[NaN]]]]]]]]]], {"":{"":{"":Infinity}}}',
  "\t\n\r [ 1 , NaN ] \n",
  // Refused by Python.
  "[NaN1]",
  "nan",
  "-NaN",
  "+1",
  "[Infinity-]",
  "[-Infinityx]",
  "[-Infinity1]",
  "NaN NaN",
  "[1 NaN]",
  "{NaN: 1}",
  '{"a": NaN,}',
  '{"a\\u00": 1}',
  '["\\x"]',
  '{"\\x": NaN}',
  "[01]",
  "[1.]",
  "[.5]",
  "[1e]",
  "[--1]",
  "\ufeff[]",
  "[\u00a0]",
  '"\t"',
  '{"a\tb": NaN}',
  '{"a":1}x',
  '{"\u0000": 1}',
  '{"a" NaN}',
  '["a" NaN]',
  '"abc',
  '["abc\\"]',
  "[",
  "",
  " ",
  "[Infinity, -]",
  "[NaN, Inf]",
  "[truefalse]",
  "[true, NaN, nul]",
];

const MUTATION_PIECES = [
  "NaN",
  "Infinity",
  "-",
  "0",
  "1",
  "e",
  ".",
  '"',
  "\\",
  ",",
  ":",
  "[",
  "]",
  "{",
  "}",
  " ",
  "\t",
  "u",
  "n",
  "\u0001",
];

function mutate(random: Random, text: string): string {
  let out = text;
  const edits = 1 + random.int(2);
  for (let e = 0; e < edits; e++) {
    const at = random.int(out.length + 1);
    switch (random.int(3)) {
      case 0:
        out = out.slice(0, at) + out.slice(at + 1);
        break;
      case 1:
        out = out.slice(0, at) + random.pick(MUTATION_PIECES) + out.slice(at);
        break;
      default:
        out = out.slice(0, at) + random.pick(MUTATION_PIECES) +
          out.slice(at + 1);
    }
  }
  return out;
}

async function fixtureTexts(): Promise<string[]> {
  const texts: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".json")) {
        texts.push(await Deno.readTextFile(path));
      }
    }
  };
  await walk(FIXTURES.replace(/\/$/, ""));
  return texts;
}

// ---------------------------------------------------------------------------
// The cross-check against Python

Deno.test({
  name:
    "parseExactJson() and pythonDumps() agree with Python's json.loads and json.dumps on thousands of generated values, hand-made texts and mutants",
  ignore: !HAS_PYTHON,
  async fn() {
    const random = randomSource(20240501);
    const cases: { spec: Spec; fmt: number }[] = [];
    for (let i = 0; i < 2500; i++) {
      // Mostly records (objects), some bare values.
      let spec = randomSpec(random, i % 10 === 0 ? 3 : 0);
      if (i % 10 !== 0 && spec[0] !== "d") spec = ["d", [["value", spec]]];
      cases.push({ spec, fmt: random.int(6) });
    }
    const fixtures = await fixtureTexts();
    const bases = [...HAND_TEXTS.slice(0, 32), ...fixtures];
    const mutants: string[] = [];
    for (let i = 0; i < 3000; i++) {
      mutants.push(mutate(random, random.pick(bases)));
    }
    const texts = [...HAND_TEXTS, ...fixtures, ...mutants];
    const floats: string[] = SPECIAL_FLOATS.map(hexOfDouble);
    for (let i = 0; i < 10000; i++) floats.push(randomBitsHex(random));
    for (let i = 0; i < 5000; i++) {
      floats.push(
        hexOfDouble(Number(`${random.int(10 ** 8)}e${random.int(660) - 330}`)),
      );
    }

    await withPython(CROSS_CHECK_SCRIPT, async (ask) => {
      const first = await ask({ cases, texts, floats }) as {
        cases: { text: string; dumps: string; view: View }[];
        texts: ({ ok: true; dumps: string; view: View } | { ok: false })[];
        floats: string[];
      };

      // Floats: pythonFloatRepr() is Python's repr().
      first.floats.forEach((repr, i) => {
        const x = doubleFromHex(floats[i]);
        assert.equal(pythonFloatRepr(x), jsonRepr(repr), `repr of ${x}`);
      });

      // Generated values, in six layouts.
      const exact: string[] = [];
      const plain: string[] = [];
      const plainDumps: string[] = [];
      first.cases.forEach(({ text, dumps, view }, i) => {
        const where = `case ${i}: ${JSON.stringify(text).slice(0, 200)}`;
        const value = parseExactJson(text);
        assert.equal(pythonDumps(value), dumps, where);
        const loose = parseJson(text);
        assertMatchesView(loose, view, where);
        exact.push(stringifyJson(value));
        plain.push(stringifyJson(loose));
        plainDumps.push(pythonDumps(loose));
      });

      // Hand-made texts, fixtures and mutants: the same texts are accepted,
      // and read the same.
      let accepted = 0;
      first.texts.forEach((answer, i) => {
        const text = texts[i];
        const where = `text ${i}: ${JSON.stringify(text).slice(0, 200)}`;
        if (answer.ok) {
          accepted++;
          assert.equal(pythonDumps(parseExactJson(text)), answer.dumps, where);
          assertMatchesView(parseJson(text), answer.view, where);
        } else {
          for (const parse of [parseJson, parseExactJson]) {
            assert.throws(() => parse(text), (error: unknown) => {
              assert(error instanceof SyntaxError, where);
              assert(!/[\n\r]/.test(error.message), where);
              return true;
            }, where);
          }
        }
      });
      assert(accepted > 500 && accepted < texts.length - 500, `${accepted}`);

      // What this library writes, Python reads back: exactly from exact
      // values; the same numbers (as doubles) from plain ones; and
      // pythonDumps() of plain values is Python's view of what
      // stringifyJson() wrote.
      const second = await ask({ exact, plain }) as {
        exactDumps: string[];
        plainDumps: string[];
        plainSame: boolean[];
      };
      first.cases.forEach(({ text, dumps }, i) => {
        const where = `case ${i}: ${JSON.stringify(text).slice(0, 200)}`;
        assert.equal(second.exactDumps[i], dumps, where);
        assert(second.plainSame[i], `${where} -> ${plain[i]}`);
        assert.equal(plainDumps[i], second.plainDumps[i], where);
      });
    });
  },
});

// ---------------------------------------------------------------------------
// Examples and single behaviours

Deno.test("parseJson() reads Python's NaN, Infinity and -Infinity", () => {
  const value = parseJson(
    '{"fidelity": NaN, "range": [-Infinity, Infinity], "name": "NaN"}',
  ) as { fidelity: number; range: number[]; name: string };
  assert(Number.isNaN(value.fidelity));
  assert.deepEqual(value.range, [-Infinity, Infinity]);
  assert.equal(value.name, "NaN");
});

Deno.test("parseJson() reads numbers out of a double's range as Python's floats do", () => {
  assert.deepEqual(parseJson("[1e400, -1e400, 1e-400, NaN]"), [
    Infinity,
    -Infinity,
    0,
    NaN,
  ]);
  assert.equal(parseJson("18446744073709551616"), 2 ** 64);
});

Deno.test("parseJson() returns the same plain values on its fast and its slow path", () => {
  const text = '{"b": [1.5, -0.0, 1e-05], "1": {"__proto__": 2}, "a": "x"}';
  const fast = parseJson(text);
  const slow = parseJson(text.replace('"x"', "NaN")) as Record<string, unknown>;
  assert.deepEqual({ ...slow, a: "x" }, fast);
  assert(Object.is((slow.b as number[])[1], -0));
  assert.equal(Object.getPrototypeOf(slow["1"]), Object.prototype);
  assert(Object.hasOwn(slow["1"] as object, "__proto__"));
});

Deno.test("parseJson() reads keys with escapes right, also where the runtime's JSON.parse has seen a key ending in a backslash", () => {
  // Deno 2.9.6's JSON.parse returns "\\" for the key "\n" of the second
  // text once it has read the first; parseJson() must not.
  JSON.parse('{"k": 1, "\\\\": 2}');
  JSON.parse('{"name": "x", "Z\\\\": 2}');
  const value = parseJson('{"k": 1, "\\n": 2}') as Record<string, number>;
  assert.deepEqual(Object.keys(value), ["k", "\n"]);
  // As Python writes the key "Zü".
  const python = parseJson('{"name": "x", "Z\\u00fc": 3}');
  assert.deepEqual(python, { name: "x", "Zü": 3 });
});

Deno.test("parseJson() keeps the last value of a repeated key at its first place, as Python does", () => {
  for (const extra of ["", ', "n": NaN']) {
    const value = parseJson(`{"a": 0, "b": 1, "a": -0.0${extra}}`) as Record<
      string,
      number
    >;
    assert.deepEqual(Object.keys(value).slice(0, 2), ["a", "b"]);
    assert(Object.is(value.a, -0), extra);
  }
});

Deno.test("parseJson() throws a SyntaxError with a one-line message naming the position", () => {
  for (const text of ["[1, NaN,]", '["a\nb", NaN]', "{NaN: 1}", "nan"]) {
    assert.throws(() => parseJson(text), (error: unknown) => {
      assert(error instanceof SyntaxError);
      assert.match(error.message, /^Invalid JSON: .* at position \d+$/);
      return true;
    });
  }
  assert.throws(() => parseJson(42 as unknown as string), TypeError);
});

Deno.test("parseExactJson() keeps every number token exactly", () => {
  const text =
    '{"one": 1.0, "negzero": -0.0, "tiny": 1e-05, "big": 18446744073709551616, "nan": NaN, "inf": [Infinity, -Infinity], "int": -0}';
  const value = parseExactJson(text) as Record<string, unknown>;
  assert(value.one instanceof ExactNumber && isExactNumber(value.one));
  assert.equal(String(value.one), "1.0");
  assert.equal((value.big as ExactNumber).value, "18446744073709551616");
  assert.equal(Number(value.tiny), 1e-5);
  assert(Number.isNaN(Number(value.nan)));
  assert.equal(
    stringifyJson(value),
    '{"one":1.0,"negzero":-0.0,"tiny":1e-05,"big":18446744073709551616,"nan":NaN,"inf":[Infinity,-Infinity],"int":-0}',
  );
  assert.equal(
    pythonDumps(value),
    '{"one": 1.0, "negzero": -0.0, "tiny": 1e-05, "big": 18446744073709551616, "nan": NaN, "inf": [Infinity, -Infinity], "int": 0}',
  );
});

Deno.test("parseExactJson() keeps the text's order of integer-like keys for stringifyJson() and pythonDumps()", () => {
  const text = '{"b": 1, "10": 2, "a": 3, "2": 4}';
  const value = parseExactJson(text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(value), ["2", "10", "b", "a"]);
  assert.equal(stringifyJson(value), '{"b":1,"10":2,"a":3,"2":4}');
  assert.equal(pythonDumps(value), text);
  delete value.a;
  value["0"] = new ExactNumber("5");
  value.c = true;
  assert.equal(stringifyJson(value), '{"b":1,"10":2,"2":4,"0":5,"c":true}');
});

Deno.test("parseExactJson() reads strings and keys that look like Python's literals or its own synthetic keys as they are", () => {
  const text =
    '{"k0": "NaN", "NaN": "Infinity", "x\\"NaN": ["-Infinity", NaN, "\\\\", Infinity], "0": "k0"}';
  const value = parseExactJson(text);
  assert.equal(pythonDumps(value), text);
  assert.equal(
    stringifyJson(value),
    '{"k0":"NaN","NaN":"Infinity","x\\"NaN":["-Infinity",NaN,"\\\\",Infinity],"0":"k0"}',
  );
});

Deno.test("parseExactJson() stores a __proto__ key as an own property", () => {
  const value = parseExactJson('{"__proto__": {"polluted": 1}}') as object;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(stringifyJson(value), '{"__proto__":{"polluted":1}}');
});

Deno.test("ExactNumber refuses text that is not a number token", () => {
  for (const bad of ["1.", "01", "nan", "1,2", '1,"admin":true', " 1", ""]) {
    assert.throws(() => new ExactNumber(bad), SyntaxError, bad);
  }
  assert.equal(new ExactNumber("-Infinity").valueOf(), -Infinity);
  // A look-alike cannot put text where a number goes.
  const fake = Object.create(ExactNumber.prototype);
  assert.equal(isExactNumber(fake), false);
});

Deno.test("ExactNumber lets JSON.stringify write its token where the runtime has JSON.rawJSON", () => {
  const value = parseExactJson("[1.0, 1e-05, NaN]");
  const hasRawJson = typeof (JSON as { rawJSON?: unknown }).rawJSON ===
    "function";
  assert.equal(
    JSON.stringify(value),
    hasRawJson ? "[1.0,1e-05,null]" : "[1,0.00001,null]",
  );
});

Deno.test("stringifyJson() writes NaN, Infinity, -Infinity and -0 as Python does, where JSON.stringify writes null and 0", () => {
  const value = { a: NaN, b: [Infinity, -Infinity], c: -0, d: 0, e: 1e21 };
  assert.equal(
    stringifyJson(value),
    '{"a":NaN,"b":[Infinity,-Infinity],"c":-0.0,"d":0,"e":1e+21}',
  );
  assert.equal(
    JSON.stringify(value),
    '{"a":null,"b":[null,null],"c":0,"d":0,"e":1e+21}',
  );
  assert.equal(stringifyJson(2n ** 64n), "18446744073709551616");
  assert.equal(stringifyJson({ n: new Number(NaN) }), '{"n":NaN}');
  assert.equal(stringifyJson({ t: { toJSON: () => -0 } }), '{"t":-0.0}');
});

Deno.test("stringifyJson() is JSON.stringify for values without NaN, infinities, -0, big integers or exact numbers", () => {
  const random = randomSource(7);
  const make = (depth: number): unknown => {
    switch (random.int(depth > 3 ? 5 : 8)) {
      case 0:
        return random.next() * 10 ** (random.int(40) - 20);
      case 1:
        return random.int(1000) - 500;
      case 2:
        return randomString(random);
      case 3:
        return random.pick([true, false, null, undefined]);
      case 4:
        return random.pick([new Date(random.int(2 ** 40)), () => 1]);
      case 5:
        return Array.from({ length: random.int(4) }, () => make(depth + 1));
      default:
        return Object.fromEntries(
          Array.from(
            { length: random.int(5) },
            () => [random.pick(KEYS), make(depth + 1)],
          ),
        );
    }
  };
  for (let i = 0; i < 2000; i++) {
    const value = { v: make(0) };
    assert.equal(stringifyJson(value), JSON.stringify(value));
  }
});

Deno.test("stringifyJson() throws a TypeError on a cycle and on values without JSON text, as JSON.stringify does", () => {
  const loop: Record<string, unknown> = { a: [1] };
  (loop.a as unknown[]).push(loop);
  assert.throws(() => stringifyJson(loop), TypeError);
  const loopWithNaN: Record<string, unknown> = { n: NaN };
  loopWithNaN.self = loopWithNaN;
  assert.throws(() => stringifyJson(loopWithNaN), TypeError);
  let deep: unknown = [];
  for (let i = 0; i < 2000; i++) deep = [deep];
  assert.equal(stringifyJson(deep), JSON.stringify(deep));
  assert.throws(() => stringifyJson(undefined), TypeError);
  assert.throws(() => stringifyJson(() => 1), TypeError);
  assert.equal(
    stringifyJson({ a: undefined, b: [undefined, Symbol()] }),
    '{"b":[null,null]}',
  );
});

Deno.test("pythonDumps() prints floats as Python's repr and ints as Python's str", () => {
  const text =
    "[1.0, -0.0, 1e-05, 0.0001, 1e+22, 123456789.125, 0.1, 1e+16, 1000000000000000.0, NaN, Infinity, -Infinity, 18446744073709551616, -0, 1E2, 2.50, 5e-324]";
  assert.equal(
    pythonDumps(parseExactJson(text)),
    "[1.0, -0.0, 1e-05, 0.0001, 1e+22, 123456789.125, 0.1, 1e+16, 1000000000000000.0, NaN, Infinity, -Infinity, 18446744073709551616, 0, 100.0, 2.5, 5e-324]",
  );
  // JavaScript numbers print as the tokens stringifyJson() writes for them.
  assert.equal(
    pythonDumps([1, 1.5, -0, 0, 1e21, 1e16, NaN, 2 ** 64, 10n]),
    "[1, 1.5, -0.0, 0, 1e+21, 10000000000000000, NaN, 18446744073709552000, 10]",
  );
});

Deno.test("pythonDumps() escapes every character outside printable ASCII as Python does", () => {
  assert.equal(
    pythonDumps({ "Zürich": 'a"b\\c\n\r\t\b\f\u0000\u001f\u007f–🧊\ud800/' }),
    '{"Z\\u00fcrich": "a\\"b\\\\c\\n\\r\\t\\b\\f\\u0000\\u001f\\u007f\\u2013\\ud83e\\uddca\\ud800/"}',
  );
  assert.equal(pythonDumps({}), "{}");
  assert.equal(pythonDumps([]), "[]");
  assert.equal(
    pythonDumps({ a: [], b: {}, c: null, d: true }),
    '{"a": [], "b": {}, "c": null, "d": true}',
  );
});

Deno.test("pythonFloatRepr() writes floats as Python's repr()", () => {
  const expected: [number, string][] = [
    [1, "1.0"],
    [-0, "-0.0"],
    [0, "0.0"],
    [1e-5, "1e-05"],
    [1e-4, "0.0001"],
    [0.1, "0.1"],
    [1e16, "1e+16"],
    [1e15, "1000000000000000.0"],
    [1e22, "1e+22"],
    [123456789.125, "123456789.125"],
    [1.5e300, "1.5e+300"],
    [5e-324, "5e-324"],
    [-2.5e-7, "-2.5e-07"],
    [NaN, "NaN"],
    [Infinity, "Infinity"],
    [-Infinity, "-Infinity"],
  ];
  for (const [x, repr] of expected) assert.equal(pythonFloatRepr(x), repr);
});

// ---------------------------------------------------------------------------
// Records that Python wrote

const PYTHON_CONFIGS = [
  "bigint",
  "lqcspace",
  "lqcminutes",
  "lqcnanos",
  "lqcoffset",
  "nanres",
];

Deno.test("parseJson() reads a sqooler result that Python wrote with NaN in it", async () => {
  const text = await Deno.readTextFile(
    `${PYTHON_WRITTEN}results/nanres/4a6f6e4e614e000000000001.json`,
  );
  assert(text.includes('{"fidelity": NaN}'));
  const result = parseJson(text) as {
    header: { fidelity: number };
    results: { data: { memory: string[] } }[];
  };
  assert(Number.isNaN(result.header.fidelity));
  assert.deepEqual(result.results[0].data.memory, ["0 1", "1 0"]);
  assert.equal(stringifyJson(result).includes('"fidelity":NaN'), true);
  assert.equal(pythonDumps(parseExactJson(text)), text);
});

Deno.test("parseJson() reads the configs that Python wrote, with their last_queue_check as written", async () => {
  const stamps: Record<string, string | null> = {
    bigint: null,
    lqcspace: "2024-05-01 10:00:00+00:00",
    lqcminutes: "2024-05-01T10:00Z",
    lqcnanos: "2024-05-01T12:00:00.123456789+02:00",
    lqcoffset: "2024-05-01T10:00:00.5-03:30",
    nanres: "2024-05-01T10:00:00+00:00",
  };
  for (const name of PYTHON_CONFIGS) {
    const text = await Deno.readTextFile(
      `${PYTHON_WRITTEN}backends/configs/${name}.json`,
    );
    const config = parseJson(text) as Record<string, unknown>;
    assert.equal(config.display_name, name);
    assert.equal(config.last_queue_check, stamps[name]);
  }
});

Deno.test("stringifyJson(parseExactJson()) keeps every number of a Python-written config exactly, token by token", async () => {
  for (const name of PYTHON_CONFIGS) {
    const text = await Deno.readTextFile(
      `${PYTHON_WRITTEN}backends/configs/${name}.json`,
    );
    const written = stringifyJson(parseExactJson(text));
    assert.deepEqual(numberTokens(written), numberTokens(text), name);
    assert.equal(pythonDumps(parseExactJson(written)), text, name);
  }
  const text = await Deno.readTextFile(
    `${PYTHON_WRITTEN}backends/configs/bigint.json`,
  );
  assert.deepEqual(
    numberTokens(stringifyJson(parseExactJson(text))).filter((t) =>
      t === "1.0" || t === "18446744073709551616"
    ),
    ["1.0", "18446744073709551616"],
  );
  // A plain parse cannot keep them: that is what the exact parse is for.
  const plain = stringifyJson(parseJson(text));
  assert(!plain.includes("1.0,") && !plain.includes("18446744073709551616"));
});

Deno.test("pythonDumps(parseExactJson()) gives back every record that sqooler wrote with json.dump, byte for byte", async () => {
  const stores = [
    `${FIXTURES}sqooler-signed/store`,
    `${FIXTURES}sqooler-signed-floats/store`,
    `${FIXTURES}python-written/store`,
  ];
  let checked = 0;
  for (const store of stores) {
    const walk = async (dir: string) => {
      for await (const entry of Deno.readDir(dir)) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory) {
          // Public keys are written by pydantic, compactly.
          if (entry.name !== "public_keys") await walk(path);
        } else {
          const text = await Deno.readTextFile(path);
          assert.equal(pythonDumps(parseExactJson(text)), text, path);
          checked++;
        }
      }
    };
    await walk(store);
  }
  assert(checked >= 20, `${checked}`);
});
