/**
 * The command line's output: text for people, or with `--json` JSON in one
 * key style, snake_case, as sqooler's wire format (the library's camelCase
 * objects are converted with {@linkcode snakeKeys}); aligned tables; and
 * errors as one line `error: …` on stderr.
 *
 * @module
 * @internal
 */

/** Where output goes: a function per stream, each called with one or more whole lines. */
export interface Sinks {
  /** Writes text and a line break to standard output. */
  out(text: string): void;
  /** Writes text and a line break to standard error. */
  err(text: string): void;
}

const CONSOLE: Sinks = {
  out: (text) => console.log(text),
  err: (text) => console.error(text),
};

/**
 * Prints a command's answer as text, or as JSON with `--json`.
 *
 * @example Print the same answer as text and as JSON
 * ```ts
 * import assert from "node:assert/strict";
 * import { Printer } from "./print.ts";
 *
 * const lines: string[] = [];
 * const sinks = { out: (text: string) => lines.push(text), err: () => {} };
 * new Printer(false, sinks).answer({ queued: 2 }, () => ["queued  2"]);
 * new Printer(true, sinks).answer({ queued: 2 }, () => ["queued  2"]);
 * assert.deepEqual(lines, ["queued  2", '{\n  "queued": 2\n}']);
 * ```
 */
export class Printer {
  /** Whether the answer is JSON (`--json`). */
  readonly json: boolean;
  #sinks: Sinks;

  /**
   * Creates the printer.
   *
   * @param json Whether to print JSON instead of text.
   * @param sinks Where output goes (default: the console).
   */
  constructor(json: boolean, sinks: Sinks = CONSOLE) {
    this.json = json;
    this.#sinks = sinks;
  }

  /**
   * Prints a command's answer: `json` as indented JSON with `--json`, else
   * the lines that `text` makes.
   *
   * @param json The answer as JSON, with snake_case keys.
   * @param text Makes the answer's text lines (called only without `--json`).
   */
  answer(json: unknown, text: () => string[]): void {
    if (this.json) this.#sinks.out(JSON.stringify(json, null, 2));
    else this.#sinks.out(text().join("\n"));
  }

  /**
   * Prints one item of a stream (a worker's events, a job's changes): one
   * compact JSON object per line with `--json`, else the text line.
   *
   * @param json The item as JSON, with snake_case keys.
   * @param text The item as a line of text.
   */
  item(json: unknown, text: string): void {
    this.#sinks.out(this.json ? JSON.stringify(json) : text);
  }

  /**
   * Prints a line of text on standard output, also with `--json` (for help).
   *
   * @param text The text.
   */
  line(text: string): void {
    this.#sinks.out(text);
  }

  /**
   * Prints `error: <message>` on standard error.
   *
   * @param message The message, one line.
   */
  error(message: string): void {
    this.#sinks.err(`error: ${message}`);
  }

  /**
   * Prints a note for the person at the terminal on standard error; nothing
   * with `--json`.
   *
   * @param text The note.
   */
  note(text: string): void {
    if (!this.json) this.#sinks.err(text);
  }
}

/**
 * A camelCase name in snake_case: `oldestQueuedAgeMs` → `oldest_queued_age_ms`.
 *
 * @param name The name.
 * @returns The name in snake_case.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { snakeCase } from "./print.ts";
 *
 * assert.equal(snakeCase("oldestQueuedAgeMs"), "oldest_queued_age_ms");
 * assert.equal(snakeCase("last_queue_check"), "last_queue_check");
 * ```
 */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/**
 * An object's own keys in snake_case, one level deep: nested objects keep
 * their keys, since some are data (job ids, experiment names) and not names
 * of fields.
 *
 * @param value An object of the library, such as a `JobSummary`.
 * @returns A copy with snake_case keys.
 *
 * @example Convert a job summary
 * ```ts
 * import assert from "node:assert/strict";
 * import { snakeKeys } from "./print.ts";
 *
 * assert.deepEqual(
 *   snakeKeys({ jobId: "a1", ageMs: 5, attempts: { jobB: 1 } }),
 *   { job_id: "a1", age_ms: 5, attempts: { jobB: 1 } },
 * );
 * ```
 */
export function snakeKeys(value: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => [snakeCase(key), field]),
  );
}

/**
 * Rows as a table: columns padded to their widest cell, two spaces apart, no
 * trailing spaces.
 *
 * @param rows The rows, the header first; every row has the same number of cells.
 * @returns The table's lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { table } from "./print.ts";
 *
 * assert.deepEqual(table([["NAME", "QUEUED"], ["fermions", "2"]]), [
 *   "NAME      QUEUED",
 *   "fermions  2",
 * ]);
 * ```
 */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, column) =>
    Math.max(...rows.map((row) => row[column].length))
  );
  return rows.map((row) =>
    row.map((cell, column) =>
      column === row.length - 1 ? cell : cell.padEnd(widths[column])
    ).join("  ").trimEnd()
  );
}

/**
 * A count with its noun: `1 job`, `3 jobs`.
 *
 * @param count How many.
 * @param noun The noun in the singular.
 * @param plural The noun in the plural (default: `noun` + `s`).
 * @returns The text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plural } from "./print.ts";
 *
 * assert.equal(plural(1, "job"), "1 job");
 * assert.equal(plural(0, "job"), "0 jobs");
 * ```
 */
export function plural(count: number, noun: string, plural = `${noun}s`) {
  return `${count} ${count === 1 ? noun : plural}`;
}

/**
 * The time of day for a log line: `HH:MM:SS`, local time.
 *
 * @param date The time (default: now).
 * @returns The text.
 */
export function clockTime(date: Date = new Date()): string {
  return date.toTimeString().slice(0, 8);
}
