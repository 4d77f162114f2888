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

/**
 * Reads JSON text as {@linkcode parseJson} does, in slices when it is longer
 * than {@linkcode SLICE_CHARS}.
 *
 * @param text The JSON text.
 * @param pacer Yields between slices.
 * @returns The value, equal to `parseJson(text)` with the same key order.
 * @throws {SyntaxError} When the text is not JSON that Python accepts (the
 *   message of `parseJson`).
 */
export async function parseJsonInSlices(
  text: string,
  pacer: Pacer,
): Promise<unknown> {
  if (
    typeof text !== "string" || text.length <= pacer.sliceChars ||
    jsonSteps.mayReadSlowly(text)
  ) {
    // parseJson's slower path keeps key order that pieces would lose.
    return parseJson(text);
  }
  const start = skipSpace(text, 0);
  const code = text.charCodeAt(start);
  if (code === OPEN_BRACE || code === OPEN_BRACKET) {
    try {
      const [value, end] = await parseContainer(text, start, pacer, 0);
      if (skipSpace(text, end) === text.length) return value;
    } catch (error) {
      if (!(error instanceof Uncuttable)) throw error;
    }
  }
  return parseJson(text);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function skipSpace(text: string, at: number): number {
  while (at < text.length && isJsonSpace(text.charCodeAt(at))) at++;
  return at;
}

/**
 * The end (after the closing quote) of the string literal at `at`, or -1
 * when it ends after `stop`.
 */
function stringEnd(text: string, at: number, stop = text.length): number {
  let from = at + 1;
  while (true) {
    const quote = text.indexOf('"', from);
    if (quote < 0) throw new Uncuttable();
    if (quote >= stop) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) {
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
function valueEnd(text: string, at: number, limit: number): number {
  // Brackets are counted up to `limit` characters.
  const code = text.charCodeAt(at);
  if (code === QUOTE) return stringEnd(text, at);
  if (code !== OPEN_BRACE && code !== OPEN_BRACKET) {
    let end = at;
    while (end < text.length) {
      const next = text.charCodeAt(end);
      if (
        next === COMMA || next === CLOSE_BRACE || next === CLOSE_BRACKET ||
        isJsonSpace(next)
      ) break;
      end++;
    }
    if (end === at) throw new Uncuttable();
    return end;
  }
  const stop = Math.min(text.length, at + limit);
  let depth = 0;
  for (let i = at; i < stop; i++) {
    const next = text.charCodeAt(i);
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
  if (stop === text.length) throw new Uncuttable();
  return -1;
}

/** Sets a member as `JSON.parse` does: an own property, also `__proto__`. */
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
  text: string,
  at: number,
  pacer: Pacer,
  depth: number,
): Promise<[unknown, number]> {
  if (depth >= MAX_SLICE_DEPTH) throw new Uncuttable();
  const isArray = text.charCodeAt(at) === OPEN_BRACKET;
  const close = isArray ? CLOSE_BRACKET : CLOSE_BRACE;
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
    await pacer.pace();
  };
  let i = skipSpace(text, at + 1);
  if (text.charCodeAt(i) === close) {
    return [isArray ? [] : members, i + 1];
  }
  while (true) {
    const memberStart = i;
    let valueStart = i;
    if (!isArray) {
      if (text.charCodeAt(i) !== QUOTE) throw new Uncuttable();
      valueStart = skipSpace(text, stringEnd(text, i));
      if (text.charCodeAt(valueStart) !== COLON) throw new Uncuttable();
      valueStart = skipSpace(text, valueStart + 1);
    }
    const slice = pacer.sliceChars;
    const room = slice - (runStart < 0 ? 0 : runEnd - runStart);
    let end = valueEnd(text, valueStart, Math.max(room, 1));
    if (end < 0 || end - memberStart > room) {
      await flush();
      end = valueEnd(text, valueStart, slice);
    }
    if (end >= 0) {
      if (runStart < 0) runStart = memberStart;
      runEnd = end;
      if (runEnd - runStart >= slice) await flush();
    } else {
      let value: unknown;
      [value, end] = await parseContainer(text, valueStart, pacer, depth + 1);
      if (isArray) {
        items.push([value]);
      } else {
        const key = parsePiece(
          text.slice(memberStart, stringEnd(text, memberStart)),
        );
        if (typeof key !== "string") throw new Uncuttable();
        setMember(members, key, value);
      }
      await pacer.pace();
    }
    i = skipSpace(text, end);
    const next = text.charCodeAt(i);
    if (next === close) {
      await flush();
      return [isArray ? joinRuns(items) : members, i + 1];
    }
    if (next !== COMMA) throw new Uncuttable();
    i = skipSpace(text, i + 1);
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
      const item = value[i];
      const weight = typeof item === "string"
        ? item.length + 2
        : weighJson(item, slice);
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
  catchall?: unknown;
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
  const small = (item: unknown) => weighJson(item, slice) < slice;
  if (Array.isArray(data)) {
    const element = plainArrayElement(schema);
    if (element !== undefined && allSmall(data, slice)) {
      found.push({ path, items: data, element });
      return [];
    }
    return data.map((item, index) =>
      small(item) ? item : cutLarge(
        item,
        memberSchema(schema, index),
        [...path, index],
        found,
        slice,
      )
    );
  }
  if (Object.getPrototypeOf(data) !== Object.prototype) throw new Uncuttable();
  const copy: Record<string, unknown> = {};
  const record = data as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const member = record[key];
    setMember(
      copy,
      key,
      small(member) ? member : cutLarge(
        member,
        memberSchema(schema, key),
        [...path, key],
        found,
        slice,
      ),
    );
  }
  return copy;
}

/** Whether every element of an array is under a slice. */
function allSmall(items: unknown[], slice: number): boolean {
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (
      typeof item === "string"
        ? item.length + 2 >= slice
        : weighJson(item, slice) >= slice
    ) {
      return false;
    }
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
      const item = items[i];
      runWeight += typeof item === "string"
        ? item.length + 2
        : weighJson(item, slice);
      if (runWeight < slice && i < items.length - 1) continue;
      const run = runs.safeParse(items.slice(runStart, i + 1));
      if (!run.success) return schema.safeParse(data);
      const out = run.data;
      for (let j = 0; same && j < out.length; j++) {
        same = out[j] === items[runStart + j];
      }
      runsChecked.push(out);
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
