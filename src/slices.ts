/**
 * Large records in slices: reading, checking and writing a record of many
 * megabytes (a result of many shots) without holding the event loop for more
 * than a few milliseconds at a time, so that a web API that reads results
 * keeps answering its other requests.
 *
 * Each function here gives the same value or text as its one-piece
 * counterpart ({@linkcode parseJson}, {@linkcode stringifyJson}, a schema's
 * `safeParse`), and runs the one-piece counterpart itself for a value under
 * {@linkcode SLICE_CHARS} characters. A larger one is cut along its JSON
 * structure: runs of small members are read or written together by the
 * one-piece function, large members are cut again, and between pieces a
 * {@linkcode Pacer} lets the event loop run once the current turn has used
 * its time budget. Whatever the cutting cannot handle exactly (text that is
 * not valid JSON, a schema of another shape, nesting deeper than 32 large
 * containers) goes to the one-piece function, so errors and edge cases are
 * the one-piece function's own.
 *
 * @module
 * @internal
 */

import { z } from "zod";
import { isJsonSpace, jsonSteps, parseJson, stringifyJson } from "./json.ts";

/** Records up to this many characters are read, checked and written in one piece. */
export const SLICE_CHARS = 65_536;

/** How long a turn of the event loop may run slices before it yields, in milliseconds. */
export const SLICE_BUDGET_MS = 4;

/** How many large containers deep the slicing goes before it leaves the rest in one piece. */
const MAX_SLICE_DEPTH = 32;

/**
 * Lets the event loop run between slices of work: `pace()` yields (returns a
 * promise that settles on a later turn) once the current turn has run for its
 * budget, and otherwise returns `undefined` at once.
 */
export interface Pacer {
  /** How many characters of JSON a slice holds, about. */
  readonly sliceChars: number;
  /** Yields when the turn's budget is spent; `undefined` when it is not. */
  pace(): Promise<void> | undefined;
}

/**
 * A pacer for one piece of work.
 *
 * @param options The turn's budget in milliseconds (default
 *   {@linkcode SLICE_BUDGET_MS}) and the slice size in characters (default
 *   {@linkcode SLICE_CHARS}).
 * @returns The pacer.
 */
export function createPacer(
  options: { budgetMs?: number; sliceChars?: number } = {},
): Pacer {
  const budgetMs = options.budgetMs ?? SLICE_BUDGET_MS;
  let start = performance.now();
  return {
    sliceChars: options.sliceChars ?? SLICE_CHARS,
    pace() {
      if (performance.now() - start < budgetMs) return undefined;
      return nextTurn().then(() => {
        start = performance.now();
      });
    },
  };
}

/**
 * Settles on a later turn of the event loop, after timers and I/O that are
 * due. A message on a fresh channel, not `setTimeout(0)`: nested timeouts are
 * clamped to several milliseconds each.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
    port2.close();
  });
}

/**
 * About how many characters of JSON text a value makes, counted up to
 * `limit` (a cycle or a huge value stops the count there). `toJSON` is not
 * called: a value with one counts by its own members.
 *
 * @param value The value.
 * @param limit Where to stop counting.
 * @returns The count, at most a little above `limit`.
 */
export function weighJson(value: unknown, limit: number): number {
  if (typeof value === "string") return value.length + 2;
  if (typeof value !== "object" || value === null) return 6;
  let total = 0;
  const pending: object[] = [value];
  while (pending.length > 0 && total < limit) {
    const item = pending.pop()!;
    total += 2;
    const record = item as Record<string, unknown>;
    const keys = Array.isArray(item) ? undefined : Object.keys(item);
    const count = keys === undefined ? (item as unknown[]).length : keys.length;
    for (let i = 0; i < count && total < limit; i++) {
      const member = keys === undefined
        ? (item as unknown[])[i]
        : record[keys[i]];
      if (keys !== undefined) total += keys[i].length + 3;
      if (typeof member === "string") total += member.length + 3;
      else if (typeof member === "object" && member !== null) {
        pending.push(member);
        total += 1;
      } else total += 6;
    }
  }
  return total;
}

/**
 * Whether a value is large enough to be written or checked in slices: about
 * {@linkcode SLICE_CHARS} characters of JSON or more.
 *
 * @param value The value.
 * @returns Whether it is.
 */
export function isLargeJson(value: unknown): boolean {
  return weighJson(value, SLICE_CHARS) >= SLICE_CHARS;
}

/** The text cannot be cut here; the one-piece parser reads it (or says what is wrong). */
class Uncuttable extends Error {}

/** The window ends here, and more text is coming: read more and try again. */
class NeedMore extends Error {}

/**
 * A JSON text that arrives in pieces, such as a large file read a piece at a
 * time into a reused buffer, so that the whole text is never one string.
 */
export interface TextStream {
  /** The next piece of the text; `undefined` after the last. */
  next(): Promise<string | undefined>;
  /**
   * The whole text, from its start, for the one-piece parser (text that
   * cannot be cut, or that may keep key order only the one-piece parser
   * keeps).
   */
  whole(): Promise<string>;
}

/**
 * The part of the text that the parser holds: absolute positions from `base`
 * to `end`. Reading past `end` while more is coming throws
 * {@linkcode NeedMore}; past the end of the text it reads as the end of a
 * string does (`NaN`, `-1`).
 */
class Window {
  text: string;
  base = 0;
  done: boolean;
  /** How much read text is let go of at a time, and read at a time when a scan runs out, in characters. */
  readonly step: number;
  #stream: TextStream | undefined;
  #tail = "";

  constructor(text: string, step: number, stream?: TextStream) {
    this.text = text;
    this.step = step;
    this.#stream = stream;
    this.done = stream === undefined;
  }

  get end(): number {
    return this.base + this.text.length;
  }

  /** Reads pieces until the window reaches `end` or the text ends. */
  async reach(end: number): Promise<void> {
    while (!this.done && this.end < end) {
      const piece = await this.#stream!.next();
      if (piece === undefined) {
        this.done = true;
        break;
      }
      // Checked with the end of the last piece, for a token cut in two; a
      // backslash anywhere counts, as it may be in a key.
      const probe = this.#tail + piece;
      if (jsonSteps.mayReadSlowly(probe) || probe.includes("\\")) {
        throw new Uncuttable();
      }
      this.#tail = probe.slice(-16);
      this.text += piece;
    }
  }

  /**
   * Reads more after a scan ran out of text: as much again as the window
   * holds (at least a step), so that a long token, scanned again from its
   * start after each read, costs no more than twice its length.
   */
  grow(): Promise<void> {
    return this.reach(this.end + Math.max(this.step, this.text.length));
  }

  /** Lets go of the text before `at`, once there is enough of it. */
  forget(at: number): void {
    if (!this.done && at - this.base >= this.step) {
      this.text = this.text.slice(at - this.base);
      this.base = at;
    }
  }

  code(at: number): number {
    const code = this.text.charCodeAt(at - this.base);
    if (code !== code && !this.done) throw new NeedMore();
    return code;
  }

  slice(from: number, to: number): string {
    if (to > this.end && !this.done) throw new NeedMore();
    return this.text.slice(from - this.base, to - this.base);
  }

  indexOf(search: string, from: number): number {
    const found = this.text.indexOf(search, from - this.base);
    if (found < 0) {
      if (!this.done) throw new NeedMore();
      return -1;
    }
    return found + this.base;
  }
}

/**
 * Reads JSON text as {@linkcode parseJson} does, in slices when it is longer
 * than the pacer's slice. The text may come in pieces (a
 * {@linkcode TextStream}); then it is never held whole, unless it must be
 * read in one piece.
 *
 * @param input The JSON text, or its pieces.
 * @param pacer Yields between slices.
 * @returns The value, equal to `parseJson(text)` with the same key order.
 * @throws {SyntaxError} When the text is not JSON that Python accepts (the
 *   message of `parseJson`).
 */
export async function parseJsonInSlices(
  input: string | TextStream,
  pacer: Pacer,
): Promise<unknown> {
  const step = 4 * pacer.sliceChars;
  let window: Window;
  if (typeof input === "string") {
    if (input.length <= pacer.sliceChars || jsonSteps.mayReadSlowly(input)) {
      // parseJson's slower path keeps key order that pieces would lose.
      return parseJson(input);
    }
    window = new Window(input, step);
  } else {
    window = new Window("", step, input);
  }
  try {
    const value = await parseWindow(window, pacer);
    if (value !== UNCUT) return value;
  } catch (error) {
    if (!(error instanceof Uncuttable)) throw error;
  }
  return parseJson(typeof input === "string" ? input : await input.whole());
}

/** What {@linkcode parseWindow} returns for text it leaves to the one-piece parser. */
const UNCUT: unique symbol = Symbol("uncut");

/** Reads the whole window's text, or answers {@linkcode UNCUT}. */
async function parseWindow(
  window: Window,
  pacer: Pacer,
): Promise<unknown | typeof UNCUT> {
  await window.reach(4 * pacer.sliceChars);
  const start = await settled(window, () => skipSpace(window, 0));
  const code = window.code(start);
  if (code !== OPEN_BRACE && code !== OPEN_BRACKET) return UNCUT;
  const [value, end] = await parseContainer(window, start, pacer, 0);
  const after = await settled(window, () => skipSpace(window, end));
  await window.reach(after + 1);
  if (after !== window.end) return UNCUT;
  return value;
}

/**
 * Runs a scan of the window: at once when the window holds what it reads (a
 * value), else by reading more text and trying again (a promise).
 */
function settled<T>(window: Window, scan: () => T): T | Promise<T> {
  try {
    return scan();
  } catch (error) {
    if (!(error instanceof NeedMore)) throw error;
  }
  return (async () => {
    while (true) {
      await window.grow();
      try {
        return scan();
      } catch (error) {
        if (!(error instanceof NeedMore)) throw error;
      }
    }
  })();
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function skipSpace(text: Window, at: number): number {
  while (isJsonSpace(text.code(at))) at++;
  return at;
}

/**
 * The end (after the closing quote) of the string literal at `at`, or -1
 * when it ends after `stop`.
 */
function stringEnd(text: Window, at: number, stop = Infinity): number {
  let from = at + 1;
  while (true) {
    const quote = text.indexOf('"', from);
    if (quote < 0) throw new Uncuttable();
    if (quote >= stop) return -1;
    let backslashes = 0;
    while (text.code(quote - 1 - backslashes) === BACKSLASH) {
      backslashes++;
    }
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/**
 * The end of the value at `at`, or -1 when it is a container that runs past
 * `at + limit` (a large one, to be cut in turn). Brackets are only counted;
 * the one-piece parser checks that they match.
 */
function valueEnd(text: Window, at: number, limit: number): number {
  // Brackets are counted up to `limit` characters.
  const code = text.code(at);
  if (code === QUOTE) return stringEnd(text, at);
  if (code !== OPEN_BRACE && code !== OPEN_BRACKET) {
    let end = at;
    while (true) {
      const next = text.code(end);
      if (
        next !== next || next === COMMA || next === CLOSE_BRACE ||
        next === CLOSE_BRACKET || isJsonSpace(next)
      ) break;
      end++;
    }
    if (end === at) throw new Uncuttable();
    return end;
  }
  const stop = at + limit;
  let depth = 0;
  for (let i = at; i < stop; i++) {
    const next = text.code(i);
    if (next !== next) throw new Uncuttable(); // the text ended inside
    if (next === QUOTE) {
      const end = stringEnd(text, i, stop);
      if (end < 0) return -1;
      i = end - 1;
    } else if (next === OPEN_BRACE || next === OPEN_BRACKET) {
      depth++;
    } else if (next === CLOSE_BRACE || next === CLOSE_BRACKET) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

/** The elements of runs, in one array. */
function joinRuns(runs: unknown[][]): unknown[] {
  return runs.length === 1 ? runs[0] : ([] as unknown[]).concat(...runs);
}

/** Reads a piece of the text; a piece that is not JSON leaves the whole text to the one-piece parser. */
function parsePiece(text: string): unknown {
  try {
    return parseJson(text);
  } catch (error) {
    if (error instanceof SyntaxError) throw new Uncuttable();
    throw error;
  }
}

function setMember(
  target: Record<string, unknown>,
  key: string,
  value: unknown,
) {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

/**
 * Reads the array or object at `at`: runs of small members in one
 * `parseJson` call each, large members by cutting them in turn.
 */
async function parseContainer(
  text: Window,
  at: number,
  pacer: Pacer,
  depth: number,
): Promise<[unknown, number]> {
  if (depth >= MAX_SLICE_DEPTH) throw new Uncuttable();
  const isArray = text.code(at) === OPEN_BRACKET;
  const close = isArray ? CLOSE_BRACKET : CLOSE_BRACE;
  const slice = pacer.sliceChars;
  const items: unknown[][] = []; // runs of elements, joined at the end
  const members: Record<string, unknown> = {};
  let runStart = -1; // where the current run of small members starts
  let runEnd = -1;
  const flush = async () => {
    if (runStart < 0) return;
    const run = text.slice(runStart, runEnd);
    runStart = -1;
    if (isArray) {
      const values = parsePiece(`[${run}]`) as unknown[];
      items.push(values);
    } else {
      const values = parsePiece(`{${run}}`) as Record<string, unknown>;
      for (const key of Object.keys(values)) {
        setMember(members, key, values[key]);
      }
    }
    text.forget(runEnd);
    await pacer.pace();
  };
  /** Where the value of the member at `i` starts (after its key, in an object). */
  const valueAt = (i: number): number => {
    if (isArray) return i;
    if (text.code(i) !== QUOTE) throw new Uncuttable();
    const colon = skipSpace(text, stringEnd(text, i));
    if (text.code(colon) !== COLON) throw new Uncuttable();
    return skipSpace(text, colon + 1);
  };
  let i = await settled(text, () => skipSpace(text, at + 1));
  if (text.code(i) === close) {
    return [isArray ? [] : members, i + 1];
  }
  while (true) {
    // Most members are scanned without waiting for text: the window holds
    // two slices ahead, and only a member longer than that needs more.
    if (!text.done && text.end - i < 2 * slice) {
      await text.reach(i + 4 * slice);
    }
    const start = i;
    let value = i;
    let end = -1;
    for (let room = slice - (runStart < 0 ? 0 : runEnd - runStart);;) {
      try {
        value = valueAt(start);
        end = valueEnd(text, value, Math.max(room, 1));
        if ((end >= 0 && end - start <= room) || room === slice) break;
        // It does not fit the run: the run is read, and the member measured
        // against a whole slice.
        await flush();
        room = slice;
      } catch (error) {
        if (!(error instanceof NeedMore)) throw error;
        await text.grow();
      }
    }
    if (end >= 0) {
      if (runStart < 0) runStart = start;
      runEnd = end;
      if (runEnd - runStart >= slice) await flush();
    } else {
      // The key is read before the value, whose text may be let go of.
      const key = isArray ? undefined : parsePiece(
        text.slice(start, stringEnd(text, start)),
      );
      if (!isArray && typeof key !== "string") throw new Uncuttable();
      let member: unknown;
      [member, end] = await parseContainer(text, value, pacer, depth + 1);
      if (isArray) items.push([member]);
      else setMember(members, key as string, member);
      await pacer.pace();
    }
    let next = NaN;
    while (true) {
      try {
        i = skipSpace(text, end);
        next = text.code(i);
        if (next === COMMA) i = skipSpace(text, i + 1);
        break;
      } catch (error) {
        if (!(error instanceof NeedMore)) throw error;
        await text.grow();
      }
    }
    if (next === close) {
      await flush();
      return [isArray ? joinRuns(items) : members, i + 1];
    }
    if (next !== COMMA) throw new Uncuttable();
  }
}

/**
 * Writes a value as {@linkcode stringifyJson} does, in slices when it is
 * larger than about {@linkcode SLICE_CHARS} characters.
 *
 * @param value The value.
 * @param pacer Yields between slices.
 * @returns Pieces of text whose concatenation is `stringifyJson(value)`.
 * @throws {TypeError} As `stringifyJson` does: a cycle, no JSON text, a
 *   `toJSON` that throws.
 */
export async function stringifyJsonInSlices(
  value: unknown,
  pacer: Pacer,
): Promise<string[]> {
  if (
    !jsonSteps.isContainer(value) ||
    weighJson(value, pacer.sliceChars) < pacer.sliceChars
  ) {
    return [stringifyJson(value)];
  }
  const pieces: string[] = [];
  await writeContainer(value, pieces, [], pacer, 0);
  return pieces;
}

/** Writes a value that is a member of a container: cut when large, else in one piece. */
async function writeMember(
  key: string | number,
  value: unknown,
  pieces: string[],
  stack: object[],
  pacer: Pacer,
  depth: number,
): Promise<boolean> {
  if (
    depth < MAX_SLICE_DEPTH && jsonSteps.isContainer(value) &&
    weighJson(value, pacer.sliceChars) >= pacer.sliceChars
  ) {
    await writeContainer(value, pieces, stack, pacer, depth);
    return true;
  }
  const text = jsonSteps.quick(value)
    ? JSON.stringify(value)
    : jsonSteps.member(key, value, stack);
  if (text === undefined) return false;
  pieces.push(text);
  await pacer.pace();
  return true;
}

async function writeContainer(
  value: object,
  pieces: string[],
  stack: object[],
  pacer: Pacer,
  depth: number,
): Promise<void> {
  if (stack.includes(value)) {
    throw new TypeError("Converting circular structure to JSON");
  }
  stack.push(value);
  if (Array.isArray(value)) {
    pieces.push("[");
    let runStart = 0; // value[runStart..i] are small and not written yet
    let runWeight = 0;
    const flush = async (end: number) => {
      if (end <= runStart) return;
      const run = value.slice(runStart, end);
      let text: string;
      if (jsonSteps.quick(run)) {
        text = JSON.stringify(run).slice(1, -1);
      } else {
        const items: string[] = [];
        for (let i = runStart; i < end; i++) {
          items.push(jsonSteps.member(i, value[i], stack) ?? "null");
        }
        text = items.join(",");
      }
      pieces.push(runStart > 0 ? `,${text}` : text);
      runStart = end;
      runWeight = 0;
      await pacer.pace();
    };
    const slice = pacer.sliceChars;
    for (let i = 0; i < value.length; i++) {
      const weight = weighJson(value[i], slice);
      if (
        weight < slice || depth + 1 >= MAX_SLICE_DEPTH ||
        !jsonSteps.isContainer(value[i])
      ) {
        runWeight += weight;
        if (runWeight >= slice) await flush(i + 1);
        continue;
      }
      await flush(i);
      if (i > 0) pieces.push(",");
      await writeMember(i, value[i], pieces, stack, pacer, depth + 1);
      runStart = i + 1;
    }
    await flush(value.length);
    pieces.push("]");
  } else {
    const record = value as Record<string, unknown>;
    let written = 0;
    pieces.push("{");
    for (const key of jsonSteps.keys(value)) {
      const at = pieces.length;
      pieces.push(`${written > 0 ? "," : ""}${jsonSteps.key(key)}:`);
      if (
        await writeMember(key, record[key], pieces, stack, pacer, depth + 1)
      ) {
        written++;
      } else {
        pieces.length = at;
      }
    }
    pieces.push("}");
  }
  stack.pop();
}

/** The parts of a zod schema's definition that checking in slices reads. */
interface SchemaDef {
  type?: string;
  shape?: Record<string, unknown>;
  element?: unknown;
  innerType?: unknown;
  valueType?: unknown;
  keyType?: unknown;
  checks?: unknown[];
  check?: string;
}

function defOf(schema: unknown): SchemaDef | undefined {
  return (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;
}

/**
 * The definition under a schema's optional, nullable and default wrappers,
 * when neither it nor a wrapper has checks (a refinement, an overwrite, a
 * length limit): only then may parts of the data be checked apart, since a
 * check may look at the whole. `undefined` otherwise, and for no schema.
 */
function plainDef(schema: unknown): SchemaDef | undefined {
  let def = defOf(schema);
  while (true) {
    if (def === undefined || (def.checks?.length ?? 0) > 0) return undefined;
    if (
      def.type !== "optional" && def.type !== "nullable" &&
      def.type !== "default"
    ) return def;
    def = defOf(def.innerType);
  }
}

/** Whether a record's key schema gives each key back as it is: a string schema without an overwrite. */
function keepsKeys(keyType: unknown): boolean {
  const def = defOf(keyType);
  return def?.type === "string" &&
    (def.checks ?? []).every((check) => defOf(check)?.check !== "overwrite");
}

/**
 * The schema of member `key` under a plain object, record or array schema
 * (see {@linkcode plainDef}); `undefined`, which leaves the member whole, for
 * any other schema.
 */
function memberSchema(schema: unknown, key: string | number): unknown {
  const def = plainDef(schema);
  if (def?.type === "object" && typeof key === "string") {
    return Object.hasOwn(def.shape ?? {}, key) ? def.shape![key] : undefined;
  }
  if (
    def?.type === "record" && typeof key === "string" && keepsKeys(def.keyType)
  ) return def.valueType;
  if (def?.type === "array" && typeof key === "number") return def.element;
  return undefined;
}

/** The element schema of `schema` when it is a plain array schema. */
function plainArrayElement(schema: unknown): unknown {
  const def = plainDef(schema);
  return def?.type === "array" ? def.element : undefined;
}

/** A large array inside the data, with its path and its elements' schema. */
interface LargeArray {
  path: (string | number)[];
  items: unknown[];
  element: unknown;
}

/**
 * The copy of `data` in which each large array that the schema checks
 * element by element is empty (the skeleton); the arrays go to `found`.
 * Throws {@linkcode Uncuttable} for data of another kind.
 */
function cutLarge(
  data: unknown,
  schema: unknown,
  path: (string | number)[],
  found: LargeArray[],
  slice: number,
): unknown {
  if (
    typeof data !== "object" || data === null || path.length > MAX_SLICE_DEPTH
  ) throw new Uncuttable();
  /** A member as it goes into the skeleton: as it is when small, else cut. */
  const part = (member: unknown, key: string | number) =>
    weighJson(member, slice) < slice ? member : cutLarge(
      member,
      memberSchema(schema, key),
      [...path, key],
      found,
      slice,
    );
  if (Array.isArray(data)) {
    const element = plainArrayElement(schema);
    if (element !== undefined && allSmall(data, slice)) {
      found.push({ path, items: data, element });
      return [];
    }
    return data.map(part);
  }
  if (Object.getPrototypeOf(data) !== Object.prototype) throw new Uncuttable();
  const copy: Record<string, unknown> = {};
  const record = data as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    setMember(copy, key, part(record[key], key));
  }
  return copy;
}

/** Whether every element of an array is under a slice. */
function allSmall(items: unknown[], slice: number): boolean {
  for (let i = 0; i < items.length; i++) {
    if (weighJson(items[i], slice) >= slice) return false;
  }
  return true;
}

/** What a zod schema's `safeParse` returns. */
export type SlicedParse =
  | { success: true; data: unknown }
  | { success: false; error: unknown };

/**
 * Checks data against a zod schema as `schema.safeParse(data)` does, in
 * slices when the data is large: the data without its large arrays (the
 * skeleton) is checked in one piece, then each large array's elements in
 * runs, and the checked elements are put in place (a large array whose
 * elements all come out unchanged, such as strings, is kept as it is rather
 * than copied). Data that fails, and data
 * that cannot be cut this way (a large part that is not an array of small
 * elements under a plain array schema), is checked in one piece, so the
 * issues are the schema's own.
 *
 * @param schema The zod schema.
 * @param data The data.
 * @param pacer Yields between slices.
 * @returns What `schema.safeParse(data)` returns.
 */
export async function safeParseInSlices(
  schema: z.ZodType,
  data: unknown,
  pacer: Pacer,
): Promise<SlicedParse> {
  const slice = pacer.sliceChars;
  if (weighJson(data, slice) < slice) return schema.safeParse(data);
  const found: LargeArray[] = [];
  let skeleton: unknown;
  try {
    skeleton = cutLarge(data, schema, [], found, slice);
  } catch (error) {
    if (!(error instanceof Uncuttable)) throw error;
    return schema.safeParse(data);
  }
  const checked = schema.safeParse(skeleton);
  if (!checked.success) return schema.safeParse(data);
  await pacer.pace();
  for (const { path, items, element } of found) {
    const runs = z.array(element as z.ZodType);
    const runsChecked: unknown[][] = [];
    // Whether every element came out as it went in (strings, numbers): then
    // the array itself is kept, instead of being copied in one long step.
    let same = true;
    let runStart = 0;
    let runWeight = 0;
    for (let i = 0; i < items.length; i++) {
      runWeight += weighJson(items[i], slice);
      if (runWeight < slice && i < items.length - 1) continue;
      const run = runs.safeParse(items.slice(runStart, i + 1));
      if (!run.success) return schema.safeParse(data);
      const out = run.data;
      if (same) {
        let j = 0;
        while (j < out.length && out[j] === items[runStart + j]) j++;
        if (j < out.length) {
          // The first changed element: the runs before it came out as they
          // went in, and only from here on are the checked runs kept.
          same = false;
          if (runStart > 0) runsChecked.push(items.slice(0, runStart));
        }
      }
      if (!same) runsChecked.push(out);
      runStart = i + 1;
      runWeight = 0;
      await pacer.pace();
    }
    const values = same ? items : joinRuns(runsChecked);
    // The skeleton's empty array came out of the schema here.
    let holder: unknown = checked.data;
    for (const key of path.slice(0, -1)) {
      holder = (holder as Record<string | number, unknown> | undefined)?.[key];
    }
    const last = path.at(-1);
    if (last === undefined) return { success: true, data: values };
    const place = holder as Record<string | number, unknown> | undefined;
    if (place !== undefined && Array.isArray(place[last])) place[last] = values;
  }
  return checked;
}
