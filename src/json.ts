/**
 * Reading and writing JSON exactly as Python's `json` module does.
 *
 * sqooler writes its records with Python's `json.dump`, which writes `NaN`,
 * `Infinity` and `-Infinity`, integers of any size and floats such as `1.0`,
 * `-0.0` and `1e-05`. This module reads every text that Python's `json.loads`
 * accepts, keeps numbers exactly when asked to ({@linkcode parseExactJson}),
 * writes records back without changing values silently
 * ({@linkcode stringifyJson}), and prints values exactly as Python's
 * `json.dumps` prints them ({@linkcode pythonDumps}), which is what sqooler
 * signs.
 *
 * Exact numbers are parsed by the npm library `lossless-json`. It does not
 * know Python's three extra literals, so the text is first scanned once,
 * string-aware: each `NaN`, `Infinity` or `-Infinity` token outside a string
 * is replaced by the number token `0` padded with spaces to the same length,
 * and its place among the text's number tokens is noted; `lossless-json`
 * hands number tokens over in text order, so the noted places tell the
 * replaced tokens from real zeros. No string can be touched: the scanner skips
 * every string literal, and only a whole run of `[A-Za-z0-9+-.]` characters
 * that is exactly one of the three literals is replaced, so a replacement
 * never joins another token. The same scan renames every object key to a
 * synthetic one (`"k0"`, `"k1"`, …, after checking the key's literal), so
 * that the parsed object holds its members in text order and without
 * `lossless-json`'s duplicate-key check; the real keys are put back
 * afterwards with Python's rules (a repeated key keeps its first place and its
 * last value).
 *
 * The examples of this module's functions are in `tests/json_test.ts`: the
 * module is not exported from `mod.ts` yet.
 *
 * @module
 * @internal
 */

import { parse as losslessParse } from "lossless-json";

const NUMBER_TOKEN = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const INTEGER_TOKEN = /^-?(?:0|[1-9][0-9]*)$/;
const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f]/;
const NON_ASCII = /[\u007f-\uffff]/g;
// Past this depth, stringifyJson() leaves its quick check to the full
// serializer, which also finds cycles.
const QUICK_CHECK_DEPTH = 512;

/**
 * The symbol under which {@linkcode parseExactJson} keeps the text order of an
 * object's keys when JavaScript's own order differs (JavaScript puts keys such
 * as `"0"` or `"17"` first, in ascending order).
 */
const KEY_ORDER: unique symbol = Symbol("sqooler.json.keyOrder");

interface RawJsonApi {
  rawJSON?: (text: string) => unknown;
  isRawJSON?: (value: unknown) => boolean;
}
const rawJsonApi = JSON as unknown as RawJsonApi;

// Set while the parser makes exact numbers from tokens it has checked.
let trustedToken = false;
// A brand check: true only for objects made by ExactNumber's constructor, so
// that no look-alike can put other text where a number token goes.
let hasToken: (value: object) => boolean;

/**
 * A number exactly as it was written in a JSON text: the token itself, such
 * as `"1.0"`, `"-0.0"`, `"1e-05"`, `"18446744073709551616"`, or one of
 * Python's literals `"NaN"`, `"Infinity"`, `"-Infinity"`. Like
 * `lossless-json`'s `LosslessNumber`, it keeps the token in `value` and
 * returns it from `toString()`.
 *
 * {@linkcode parseExactJson} returns these for every number;
 * {@linkcode stringifyJson} writes the token verbatim and
 * {@linkcode pythonDumps} prints it as Python would.
 */
export class ExactNumber {
  readonly #token: string;

  static {
    hasToken = (value) => #token in value;
  }

  /**
   * Makes an exact number from a token.
   *
   * @param token A JSON number token, or `NaN`, `Infinity`, `-Infinity`.
   * @throws {SyntaxError} When the token is none of these.
   */
  constructor(token: string) {
    if (
      !trustedToken &&
      (typeof token !== "string" ||
        !(NUMBER_TOKEN.test(token) || isPythonLiteral(token)))
    ) {
      throw new SyntaxError(
        `Not a JSON number token: ${JSON.stringify(String(token))}`,
      );
    }
    this.#token = token;
  }

  /**
   * The token, exactly as written.
   *
   * @returns The token.
   */
  get value(): string {
    return this.#token;
  }

  /**
   * The number as a JavaScript number (rounded to the nearest double, so
   * `1.0` and `1` give the same, and a big integer loses its last digits).
   *
   * @returns The number; `NaN`, `Infinity` or `-Infinity` for those tokens.
   */
  valueOf(): number {
    return tokenToNumber(this.#token);
  }

  /**
   * The token.
   *
   * @returns The token, exactly as written.
   */
  toString(): string {
    return this.#token;
  }

  /**
   * How Deno's console shows the number.
   *
   * @returns `ExactNumber(<token>)`.
   */
  [Symbol.for("Deno.customInspect")](): string {
    return `ExactNumber(${this.#token})`;
  }

  /**
   * How Node's console shows the number.
   *
   * @returns `ExactNumber(<token>)`.
   */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `ExactNumber(${this.#token})`;
  }

  /**
   * Lets the built-in `JSON.stringify` write the token verbatim where the
   * runtime has `JSON.rawJSON`; `NaN`, `Infinity` and `-Infinity`, which
   * `JSON.stringify` cannot write, become `null` there, as JavaScript's own
   * `NaN` does. {@linkcode stringifyJson} writes all of them.
   *
   * @returns What `JSON.stringify` should write.
   */
  toJSON(): unknown {
    if (isPythonLiteral(this.#token)) return null;
    return rawJsonApi.rawJSON
      ? rawJsonApi.rawJSON(this.#token)
      : tokenToNumber(this.#token);
  }
}

/**
 * Whether a value is an {@linkcode ExactNumber}.
 *
 * @param value Any value.
 * @returns `true` for an {@linkcode ExactNumber}.
 */
export function isExactNumber(value: unknown): value is ExactNumber {
  return typeof value === "object" && value !== null && hasToken(value);
}

function isPythonLiteral(token: string): boolean {
  return token === "NaN" || token === "Infinity" || token === "-Infinity";
}

function tokenToNumber(token: string): number {
  // Number() reads "NaN", "Infinity" and "-Infinity" as Python does, and
  // rounds a decimal token to the nearest double, as Python's float() does.
  return Number(token);
}

// ---------------------------------------------------------------------------
// Parsing

/**
 * Reads a JSON text as Python's `json.loads` reads it: strict JSON plus
 * `NaN`, `Infinity` and `-Infinity`. Numbers become JavaScript numbers:
 * numbers outside the range of a double become `Infinity` or `-Infinity` (as
 * Python's floats do), big integers are rounded to the nearest double (Python
 * keeps them exactly; use {@linkcode parseExactJson} for that), and the
 * integer token `-0` reads as `0` (Python's int `0`; `-0.0` reads as `-0`). A
 * repeated key keeps its first place and its last value, as in Python.
 *
 * The built-in `JSON.parse` reads the text first; only a text that it refuses
 * (such as one with `NaN`) is read a second time by the slower path of
 * {@linkcode parseExactJson}. Two kinds of text go to the slower path at
 * once: one with an escape (`\n`, `\u00e9`, …) inside an object key, for
 * which the `JSON.parse` of Deno 2.9.6 (V8 15.0) can return a wrong key,
 * silently; and one with the integer token `-0`, which `JSON.parse` reads as
 * `-0` (the check is a search for `-0` not followed by a digit, `.`, `e` or
 * `E`, so such text inside a string also takes the slower path).
 *
 * @param text The JSON text.
 * @returns The value, made of plain objects, arrays, strings, numbers,
 *   booleans and `null`.
 * @throws {SyntaxError} When the text is not JSON that Python accepts; the
 *   message is one line and names the position.
 * @throws {TypeError} When `text` is not a string.
 */
export function parseJson(text: string): unknown {
  if (typeof text !== "string") {
    throw new TypeError(`parseJson() expects a string, got ${typeof text}`);
  }
  if (!hasEscapedKey(text) && !hasIntegerMinusZero(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // Python's literals, or not JSON: the slow path tells which.
    }
  }
  return parseSlow(text, false);
}

/**
 * Whether the text holds the integer token `-0` (Python's int 0, which
 * `JSON.parse` reads as `-0`), or `-0` in a string: `-0` followed by neither
 * a digit nor `.`, `e` or `E` (the regular expression `/-0(?![.0-9eE])/`,
 * searched for with `indexOf`, which costs less).
 */
function hasIntegerMinusZero(text: string): boolean {
  for (
    let at = text.indexOf("-0");
    at >= 0;
    at = text.indexOf("-0", at + 2)
  ) {
    const next = text.charCodeAt(at + 2);
    if (
      !((next >= 0x30 && next <= 0x39) || next === 0x2e || next === 0x65 ||
        next === 0x45)
    ) return true;
  }
  return false;
}

/**
 * Whether an object key of the text holds an escape such as `\n`, `\"` or
 * `\u00e9` (Python writes every non-ASCII key so). The built-in `JSON.parse`
 * of Deno 2.9.6 (V8 15.0) can read such a key wrongly, silently: once an
 * object whose key ends in a backslash was read (anywhere in the process), a
 * later object with the same keys before it and a key with an escape in that
 * place can get the other key, e.g. `{"k": 1, "\n": 2}` read after
 * `{"k": 1, "\\": 2}` gives the key `\`, and `{"a": 1, "Z\u00fc": 2}` read
 * after `{"a": 1, "Z\\": 2}` gives `Z\` for `Zü`. Such texts take the slow
 * path. The check costs little: it looks only at strings that hold a
 * backslash.
 */
function hasEscapedKey(text: string): boolean {
  let from = 0;
  while (true) {
    const backslash = text.indexOf("\\", from);
    if (backslash < 0) return false;
    // In valid JSON a backslash is inside a string, which ends at the next
    // quote that is not escaped.
    let quote = backslash;
    while (true) {
      quote = text.indexOf('"', quote + 1);
      if (quote < 0) return false;
      let backslashes = 0;
      while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
      if (backslashes % 2 === 0) break;
    }
    let next = quote + 1;
    while (isJsonSpace(text.charCodeAt(next))) next++;
    if (text.charCodeAt(next) === 0x3a) return true;
    from = quote + 1;
  }
}

/**
 * Reads a JSON text as Python's `json.loads` reads it (strict JSON plus
 * `NaN`, `Infinity`, `-Infinity`), keeping every number exactly: each number
 * becomes an {@linkcode ExactNumber} holding its token, so that
 * {@linkcode stringifyJson} writes `1.0`, `-0.0`, `1e-05` and
 * `18446744073709551616` back unchanged and {@linkcode pythonDumps} prints the
 * value as Python would.
 *
 * Key order: a repeated key keeps its first place and its last value, as in
 * Python. JavaScript objects list keys such as `"0"` or `"17"` (array
 * indexes) first, in ascending order; when that differs from the text's
 * order, the text's order is kept on the object under a hidden symbol, which
 * {@linkcode stringifyJson} and {@linkcode pythonDumps} follow (also after
 * keys were added or deleted: added keys come last). `Object.keys()`, a spread
 * or `structuredClone` of such an object show JavaScript's order and do not
 * carry the text's.
 *
 * @param text The JSON text.
 * @returns The value, made of plain objects, arrays, strings,
 *   {@linkcode ExactNumber}s, booleans and `null`.
 * @throws {SyntaxError} When the text is not JSON that Python accepts, or is
 *   nested too deeply to read; the message is one line and names the
 *   position.
 * @throws {TypeError} When `text` is not a string.
 */
export function parseExactJson(text: string): unknown {
  if (typeof text !== "string") {
    throw new TypeError(
      `parseExactJson() expects a string, got ${typeof text}`,
    );
  }
  return parseSlow(text, true);
}

interface Prepared {
  /** The text with synthetic keys and the Python literals replaced. */
  text: string;
  /** The real keys; synthetic key `k<n>` stands for `keys[n]`. */
  keys: string[];
  /** Places (among number tokens) of the replaced literals, ascending. */
  literalPlaces: number[];
  /** The replaced literals, in the same order. */
  literals: string[];
}

class InvalidKeyLiteral extends Error {}

function isRunChar(code: number): boolean {
  // A-Z a-z 0-9 + - .
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x39) || code === 0x2b || code === 0x2d ||
    code === 0x2e;
}

/**
 * Whether a character code is JSON whitespace (space, tab, line feed,
 * carriage return).
 *
 * @internal
 */
export function isJsonSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/**
 * Scans the text once, string-aware: renames every object key to a
 * synthetic one (when `renameKeys`), and replaces each whole `NaN`,
 * `Infinity`, `-Infinity` outside strings by `0` and spaces, noting its place
 * among the number tokens.
 */
function prepare(text: string, renameKeys: boolean): Prepared {
  const parts: string[] = [];
  const keys: string[] = [];
  const literalPlaces: number[] = [];
  const literals: string[] = [];
  let copied = 0; // text[copied..] is not yet in parts
  let numberPlace = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const code = text.charCodeAt(i);
    if (code === 0x22) {
      // A string literal: find its closing quote (one not escaped).
      let end = -1;
      let from = i + 1;
      while (true) {
        const quote = text.indexOf('"', from);
        if (quote < 0) break;
        let backslashes = 0;
        while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) {
          backslashes++;
        }
        if (backslashes % 2 === 0) {
          end = quote;
          break;
        }
        from = quote + 1;
      }
      if (end < 0) break; // unterminated; the parser reports it
      if (renameKeys) {
        let next = end + 1;
        while (next < n && isJsonSpace(text.charCodeAt(next))) next++;
        if (text.charCodeAt(next) === 0x3a) {
          keys.push(decodeKey(text, i, end));
          parts.push(text.slice(copied, i), `"k${keys.length - 1}"`);
          copied = end + 1;
        }
      }
      i = end + 1;
    } else if (isRunChar(code)) {
      let end = i + 1;
      while (end < n && isRunChar(text.charCodeAt(end))) end++;
      const length = end - i;
      if (code === 0x2d || (code >= 0x30 && code <= 0x39)) {
        if (length === 9 && text.startsWith("-Infinity", i)) {
          literalPlaces.push(numberPlace);
          literals.push("-Infinity");
          parts.push(text.slice(copied, i), "0        ");
          copied = end;
        }
        numberPlace++;
      } else if (
        (length === 3 && text.startsWith("NaN", i)) ||
        (length === 8 && text.startsWith("Infinity", i))
      ) {
        literalPlaces.push(numberPlace);
        literals.push(length === 3 ? "NaN" : "Infinity");
        parts.push(text.slice(copied, i), length === 3 ? "0  " : "0       ");
        copied = end;
        numberPlace++;
      }
      i = end;
    } else {
      i++;
    }
  }
  if (copied === 0) return { text, keys, literalPlaces, literals };
  parts.push(text.slice(copied));
  return { text: parts.join(""), keys, literalPlaces, literals };
}

/** The key that the string literal `text[start..end]` (quotes included) holds. */
function decodeKey(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end);
  if (raw.indexOf("\\") < 0) {
    if (CONTROL.test(raw)) throw new InvalidKeyLiteral();
    return raw;
  }
  try {
    // The built-in parser reads a string literal exactly as JSON (and
    // Python) define it, and refuses a bad escape or a control character.
    return JSON.parse(text.slice(start, end + 1));
  } catch {
    throw new InvalidKeyLiteral();
  }
}

function parseSlow(text: string, exact: boolean): unknown {
  let parsed: unknown;
  let keys: string[];
  try {
    const prepared = prepare(text, true);
    const { literalPlaces, literals } = prepared;
    keys = prepared.keys;
    let place = 0;
    let nextLiteral = 0;
    let nextLiteralPlace = literalPlaces.length > 0 ? literalPlaces[0] : -1;
    const parseNumber = (token: string): unknown => {
      let value = token;
      if (place === nextLiteralPlace) {
        value = literals[nextLiteral++];
        nextLiteralPlace = nextLiteral < literalPlaces.length
          ? literalPlaces[nextLiteral]
          : -1;
      }
      place++;
      if (exact) return makeExact(value);
      return value === "-0" ? 0 : tokenToNumber(value);
    };
    parsed = losslessParse(prepared.text, undefined, parseNumber);
  } catch (error) {
    throw describeParseError(text, error);
  }
  try {
    return rebuild(parsed, keys);
  } catch (error) {
    if (error instanceof RangeError) throw tooDeep();
    throw error;
  }
}

function makeExact(token: string): ExactNumber {
  // The token came out of the parser, so it needs no second check.
  trustedToken = true;
  try {
    return new ExactNumber(token);
  } finally {
    trustedToken = false;
  }
}

/** Puts the real keys back, with Python's rules for repeated keys. */
function rebuild(value: unknown, keys: string[]): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item !== null && typeof item === "object") {
        value[i] = rebuild(item, keys);
      }
    }
    return value;
  }
  if (hasToken(value)) return value;
  const source = value as Record<string, unknown>;
  const synthetics = Object.keys(source);
  const out: Record<string, unknown> = {};
  let hasIndexKey = false;
  for (let i = 0; i < synthetics.length; i++) {
    const synthetic = synthetics[i];
    const key = keys[Number(synthetic.slice(1))];
    const item = rebuild(source[synthetic], keys);
    if (key === "__proto__") {
      Object.defineProperty(out, key, {
        value: item,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else {
      out[key] = item;
      if (!hasIndexKey && ARRAY_INDEX.test(key)) hasIndexKey = true;
    }
  }
  if (hasIndexKey) {
    // A repeated key keeps its first place, as in Python.
    const seen = new Set<string>();
    const textOrder: string[] = [];
    for (const synthetic of synthetics) {
      const key = keys[Number(synthetic.slice(1))];
      if (!seen.has(key)) {
        seen.add(key);
        textOrder.push(key);
      }
    }
    const jsOrder = Object.keys(out);
    if (jsOrder.some((key, i) => key !== textOrder[i])) {
      Object.defineProperty(out, KEY_ORDER, { value: textOrder });
    }
  }
  return out;
}

function tooDeep(): SyntaxError {
  return new SyntaxError("Invalid JSON: nested too deeply to read");
}

/** A one-line SyntaxError for a text that did not parse. */
function describeParseError(text: string, error: unknown): SyntaxError {
  if (error instanceof RangeError) return tooDeep();
  if (error instanceof InvalidKeyLiteral || error instanceof SyntaxError) {
    // Parse once more with positions as in the original text (literals are
    // replaced by tokens of the same length, keys stay), for the message.
    let message = "not valid JSON";
    try {
      const plain = prepare(text, false).text;
      losslessParse(plain, undefined, {
        parseNumber: () => 0,
        onDuplicateKey: ({ newValue }) => newValue,
      });
    } catch (again) {
      if (again instanceof RangeError) return tooDeep();
      if (again instanceof Error) message = again.message;
    }
    return new SyntaxError(`Invalid JSON: ${oneLine(message)}`, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new SyntaxError(String(error));
}

function oneLine(message: string): string {
  // deno-lint-ignore no-control-regex
  return message.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

// ---------------------------------------------------------------------------
// Writing

/**
 * Writes a value as compact JSON text (no spaces), like `JSON.stringify`, but
 * without changing any number silently:
 *
 * - an {@linkcode ExactNumber} is written as its token, verbatim;
 * - JavaScript's `NaN`, `Infinity` and `-Infinity` are written as Python
 *   writes them (`NaN`, `Infinity`, `-Infinity`), and `-0` as `-0.0`, where
 *   `JSON.stringify` would write `null` and `0`; Python reads all of them
 *   back;
 * - a `bigint` is written as its integer (where `JSON.stringify` throws);
 * - objects that {@linkcode parseExactJson} read keep the text's key order.
 *
 * Everything else is as `JSON.stringify` does it: `toJSON()` is called,
 * `undefined`, functions and symbols are left out of objects and become
 * `null` in arrays, boxed primitives are unboxed, a cycle throws a
 * `TypeError`. A value without any of the above is written by
 * `JSON.stringify` itself, after one quick pass that looks for them.
 *
 * @param value The value to write.
 * @returns The JSON text.
 * @throws {TypeError} When the value contains a cycle, or when it is
 *   `undefined`, a function or a symbol (for which `JSON.stringify` returns
 *   `undefined`), or when a `toJSON()` method throws one.
 */
export function stringifyJson(value: unknown): string {
  if (isQuick(value, 0)) {
    const text = JSON.stringify(value);
    if (text !== undefined) return text;
  } else {
    const text = serializeRoot(value, COMPACT);
    if (text !== undefined) return text;
  }
  throw new TypeError(
    `Cannot write ${typeof value} as JSON: it has no JSON text`,
  );
}

/**
 * Prints a value exactly as Python's `json.dumps(obj)` prints it with its
 * default arguments, where `obj` is what Python's `json.loads` reads from the
 * text that {@linkcode stringifyJson} writes for the value: separators
 * `", "` and `": "`, every character outside printable ASCII as a `\uXXXX`
 * escape (lowercase hex; characters outside the Basic Multilingual Plane as
 * two escapes of their surrogate pair), `\"`, `\\`, `\n`, `\r`, `\t`, `\b`,
 * `\f`, keys in order, `true`, `false`, `null`.
 *
 * Numbers: an {@linkcode ExactNumber} whose token has no `.`, `e` or `E` is a
 * Python int and prints as `str(int(token))`; any other token prints as
 * `repr(float(token))` (see {@linkcode pythonFloatRepr}), e.g. `1.0`, `-0.0`,
 * `1e-05`, `1e+22`, `NaN`, `Infinity`. A JavaScript number prints as the token
 * that {@linkcode stringifyJson} writes for it would: `1` as `1`, `0.5` as
 * `0.5`, `-0` as `-0.0`, `1e21` as `1e+21`. A `bigint` prints as an int.
 *
 * This is what sqooler signs: its signatures cover `json.dumps(payload)`.
 * Python refuses to read or print integers of more than 4,300 digits; this
 * function prints them.
 *
 * @param value The value to print.
 * @returns The text Python's `json.dumps` prints.
 * @throws {TypeError} When the value contains a cycle, or has no JSON text
 *   (`undefined`, a function, a symbol).
 */
export function pythonDumps(value: unknown): string {
  const text = serializeRoot(value, PYTHON);
  if (text === undefined) {
    throw new TypeError(
      `Cannot print ${typeof value} as JSON: it has no JSON text`,
    );
  }
  return text;
}

/**
 * Python's `repr()` of a float: the shortest digits that read back as the
 * same double, written in fixed notation with at least one digit after the
 * point (`1.0`, `0.0001`, `123456789.125`) when the decimal exponent is from
 * -4 to 15, else in scientific notation with a sign and at least two exponent
 * digits (`1e-05`, `1e+16`, `1.5e+300`, `5e-324`); `-0.0`, `NaN`, `Infinity`,
 * `-Infinity` as Python's `json.dumps` writes them.
 *
 * @param x The number.
 * @returns The text Python prints for `float(x)`.
 * @throws {TypeError} When `x` is not a number.
 */
export function pythonFloatRepr(x: number): string {
  if (typeof x !== "number") {
    throw new TypeError(`pythonFloatRepr() expects a number, got ${typeof x}`);
  }
  if (x !== x) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return 1 / x < 0 ? "-0.0" : "0.0";
  return floatRepr(x, String(x));
}

/** pythonFloatRepr() of a finite, non-zero x, given `String(x)`. */
function floatRepr(x: number, text: string): string {
  // String() gives the shortest digits that read back as x, the nearest to x
  // among them, as Python's repr() does; only the layout differs. Where both
  // write fixed notation with a fraction, they agree.
  if (
    (x >= 1e-4 || x <= -1e-4) && text.indexOf(".") >= 0 &&
    text.indexOf("e") < 0
  ) {
    return text;
  }
  const sign = x < 0 ? "-" : "";
  const s = x < 0 ? text.slice(1) : text;
  const e = s.indexOf("e");
  const mantissa = e < 0 ? s : s.slice(0, e);
  const exponent = e < 0 ? 0 : Number(s.slice(e + 1));
  const dot = mantissa.indexOf(".");
  const whole = dot < 0 ? mantissa : mantissa.slice(0, dot);
  let digits = dot < 0 ? mantissa : whole + mantissa.slice(dot + 1);
  // x = 0.<digits> * 10^point
  let point = whole.length + exponent;
  let lead = 0;
  while (digits.charCodeAt(lead) === 0x30) lead++;
  digits = digits.slice(lead);
  point -= lead;
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 0x30) end--;
  digits = digits.slice(0, end);
  if (point > -4 && point <= 16) {
    if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
    if (point >= digits.length) {
      return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
    }
    return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  const exp = point - 1;
  const expText = String(exp < 0 ? -exp : exp).padStart(2, "0");
  const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${head}e${exp < 0 ? "-" : "+"}${expText}`;
}

/** How a number token prints in Python's `json.dumps`. */
function pythonNumberToken(token: string): string {
  if (isPythonLiteral(token)) return token;
  if (INTEGER_TOKEN.test(token)) {
    // Python's int: no sign on zero; JSON has no leading zeros otherwise.
    return token === "-0" ? "0" : token;
  }
  return pythonFloatRepr(Number(token));
}

/** The token stringifyJson() writes for a JavaScript number. */
function numberToken(x: number): string {
  if (x !== x) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0 && 1 / x < 0) return "-0.0";
  return String(x);
}

function pythonNumber(x: number): string {
  if (x !== x || x === Infinity || x === -Infinity) return numberToken(x);
  if (x === 0) return 1 / x < 0 ? "-0.0" : "0";
  const s = String(x);
  // An integral double below 1e21 prints as digits: a Python int.
  if (s.indexOf(".") < 0 && s.indexOf("e") < 0) return s;
  return floatRepr(x, s);
}

function pythonString(s: string): string {
  // JSON.stringify escapes `"`, `\` and control characters as Python does
  // (short escapes, else \u00xx in lowercase) and lone surrogates as \udxxx;
  // what is left outside printable ASCII is escaped here.
  const quoted = JSON.stringify(s);
  for (let i = 1; i < quoted.length - 1; i++) {
    if (quoted.charCodeAt(i) > 0x7e) {
      return quoted.replace(NON_ASCII, (c) => {
        return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
      });
    }
  }
  return quoted;
}

interface Format {
  item: string;
  member: string;
  number(x: number): string;
  token(token: string): string;
  string(s: string): string;
}

const COMPACT: Format = {
  item: ",",
  member: ":",
  number: numberToken,
  token: (token) => token,
  string: (s) => JSON.stringify(s),
};

const PYTHON: Format = {
  item: ", ",
  member: ": ",
  number: pythonNumber,
  token: pythonNumberToken,
  string: pythonString,
};

/**
 * Whether JSON.stringify writes the value exactly as stringifyJson() must:
 * no NaN, ±Infinity, -0, bigint, kept key order, toJSON() (other than an
 * exact number's), boxed primitive or raw JSON; not too deep.
 */
function isQuick(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "number":
      return value - value === 0 && (value !== 0 || 1 / value > 0);
    case "string":
    case "boolean":
    case "undefined":
    case "function":
    case "symbol":
      return true;
    case "bigint":
      return false;
    case "object": {
      if (value === null) return true;
      if (depth > QUICK_CHECK_DEPTH) return false;
      if (Array.isArray(value)) {
        // An array's own toJSON gets its key, which a piece written apart
        // (slices.ts) would not know.
        if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
          return false;
        }
        for (let i = 0; i < value.length; i++) {
          if (!isQuick(value[i], depth + 1)) return false;
        }
        return true;
      }
      if (hasToken(value)) {
        return rawJsonApi.rawJSON !== undefined &&
          !isPythonLiteral((value as ExactNumber).value);
      }
      const record = value as Record<string | symbol, unknown>;
      if (typeof record.toJSON === "function") return false;
      if (record[KEY_ORDER] !== undefined) return false;
      if (
        value instanceof Number || value instanceof String ||
        value instanceof Boolean || value instanceof BigInt
      ) return false;
      const keys = Object.keys(value);
      for (let i = 0; i < keys.length; i++) {
        if (!isQuick(record[keys[i]], depth + 1)) return false;
      }
      return true;
    }
  }
  return false;
}

function serializeRoot(value: unknown, format: Format): string | undefined {
  const stack: object[] = [];
  return serialize("", value, format, stack);
}

function serialize(
  key: string | number,
  input: unknown,
  format: Format,
  stack: object[],
): string | undefined {
  let value = input;
  if (
    value !== null && (typeof value === "object" || typeof value === "bigint")
  ) {
    if (typeof value === "bigint" || !hasToken(value)) {
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") {
        value = toJSON.call(value, String(key));
      }
    }
  }
  if (value !== null && typeof value === "object") {
    if (hasToken(value)) return format.token((value as ExactNumber).value);
    if (value instanceof Number) value = Number(value);
    else if (value instanceof String) value = String(value);
    else if (value instanceof Boolean) value = value.valueOf();
    else if (value instanceof BigInt) value = value.valueOf();
    else if (rawJsonApi.isRawJSON?.(value)) {
      return rawText((value as { rawJSON: string }).rawJSON, format);
    }
  }
  switch (typeof value) {
    case "string":
      return format.string(value);
    case "number":
      return format.number(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "object":
      if (value === null) return "null";
      return serializeContainer(value, format, stack);
    default:
      return undefined;
  }
}

function rawText(raw: string, format: Format): string {
  if (format === COMPACT) return raw;
  if (NUMBER_TOKEN.test(raw)) return format.token(raw);
  const parsed = JSON.parse(raw);
  return typeof parsed === "string" ? format.string(parsed) : String(parsed);
}

function serializeContainer(
  value: object,
  format: Format,
  stack: object[],
): string {
  if (stack.includes(value)) {
    throw new TypeError("Converting circular structure to JSON");
  }
  stack.push(value);
  let text: string;
  if (Array.isArray(value)) {
    const items: string[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      items[i] = serialize(i, value[i], format, stack) ?? "null";
    }
    text = `[${items.join(format.item)}]`;
  } else {
    const record = value as Record<string, unknown>;
    const keys = keysInOrder(value);
    const members: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const item = serialize(key, record[key], format, stack);
      if (item !== undefined) {
        members.push(format.string(key) + format.member + item);
      }
    }
    text = `{${members.join(format.item)}}`;
  }
  stack.pop();
  return text;
}

/**
 * The steps of {@linkcode stringifyJson}, for writing a large value in slices
 * (`slices.ts`): the same text, piece by piece.
 *
 * @internal
 */
export const jsonSteps = {
  /** Whether `JSON.stringify(value)` writes what stringifyJson() must. */
  quick(value: unknown): boolean {
    return isQuick(value, 0);
  },
  /**
   * The text of `value` as the member `key` of a container, `undefined` when
   * it has none (a function, `undefined`, a symbol); `stack` holds the
   * containers it is inside, for the cycle check.
   */
  member(
    key: string | number,
    value: unknown,
    stack: object[],
  ): string | undefined {
    return serialize(key, value, COMPACT, stack);
  },
  /**
   * Whether {@linkcode parseJson} may read the text by its slower path, which
   * also keeps the text's order of keys such as `"0"`: an escaped key, the
   * integer `-0`, or `NaN` or `Infinity` anywhere (also inside a string).
   */
  mayReadSlowly(text: string): boolean {
    return hasEscapedKey(text) || hasIntegerMinusZero(text) ||
      text.includes("NaN") || text.includes("Infinity");
  },
  /** An object key's text, quotes included. */
  key(key: string): string {
    return COMPACT.string(key);
  },
  /** The keys of an object in the order stringifyJson() writes them. */
  keys(value: object): string[] {
    return keysInOrder(value);
  },
  /**
   * Whether stringifyJson() writes `value` as an array or object of its own
   * members: a container without `toJSON`, not an exact number, a boxed
   * primitive or raw JSON.
   */
  isContainer(value: unknown): value is object {
    return typeof value === "object" && value !== null && !hasToken(value) &&
      typeof (value as { toJSON?: unknown }).toJSON !== "function" &&
      !(value instanceof Number || value instanceof String ||
        value instanceof Boolean || value instanceof BigInt) &&
      !rawJsonApi.isRawJSON?.(value);
  },
};

/** An object's keys, in the text's order when parseExactJson() kept one. */
function keysInOrder(value: object): string[] {
  const keys = Object.keys(value);
  const order = (value as { [KEY_ORDER]?: string[] })[KEY_ORDER];
  if (!Array.isArray(order)) return keys;
  const present = new Set(keys);
  const ordered: string[] = [];
  for (const key of order) {
    if (present.delete(key)) ordered.push(key);
  }
  for (const key of keys) {
    if (present.has(key)) ordered.push(key);
  }
  return ordered;
}
