/**
 * Parsing the command line with `node:util`'s `parseArgs`, and turning what
 * it finds wrong into one clear {@linkcode UsageError} each: an unknown
 * option, an option without its value or with a value it does not take, an
 * option given twice, a missing or an extra argument, and values that are
 * not acceptable (durations, counts, choices, names).
 *
 * `parseArgs` runs with `strict: false` and `tokens: true`, and the tokens
 * are checked here against the option specs, so that each message can name
 * the option as typed and show its placeholder.
 *
 * @module
 * @internal
 */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { describeValue } from "../names.ts";
import type { ArgSpec, OptionSpecs, Values } from "./command.ts";
import { parseDuration } from "./duration.ts";
import { errorLine, UsageError } from "./errors.ts";

/** The options that every command takes. */
export const GLOBAL_OPTIONS: OptionSpecs = {
  "base-path": {
    type: "string",
    value: "PATH",
    help:
      "The storage folder (default: $SQOOLER_BASE_PATH, else ./storage), relative to the folder you are in",
  },
  "database-url": {
    type: "string",
    value: "URL",
    help:
      "Use a PostgreSQL storage instead of a folder (default: $DATABASE_URL), e.g. postgres://lab@db:5432/sqooler",
  },
  "database-schema": {
    type: "string",
    value: "NAME",
    help: "The PostgreSQL schema of the storage (default: sqooler)",
  },
  provider: {
    type: "string",
    value: "NAME",
    help:
      "The storage provider's name, for long backend names (default: default)",
  },
  json: {
    type: "boolean",
    help: "Print JSON (snake_case keys) instead of text",
  },
  help: { type: "boolean", short: "h", help: "Show help" },
  version: { type: "boolean", help: "Show the version" },
};

/** What {@linkcode parseCommandLine} found. */
export interface ParsedLine {
  /** The options given. */
  values: Values;
  /** The positional arguments, the command's name first. */
  positionals: string[];
}

function parseArgsOptions(specs: OptionSpecs): ParseArgsOptionsConfig {
  return Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [
      name,
      spec.short === undefined
        ? { type: spec.type }
        : { type: spec.type, short: spec.short },
    ]),
  );
}

/**
 * The command's name: the first positional argument, read with every
 * command's options known, so that the value of an option placed before the
 * command (`--base-path lab queue`) is not taken for it.
 *
 * @param args The command line.
 * @param specs The options of every command, with the global ones.
 * @returns The name, or `undefined` when there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandName, GLOBAL_OPTIONS } from "./parse.ts";
 *
 * assert.equal(commandName(["--base-path", "lab", "queue", "spins"], GLOBAL_OPTIONS), "queue");
 * assert.equal(commandName(["--json"], GLOBAL_OPTIONS), undefined);
 * ```
 */
export function commandName(
  args: readonly string[],
  specs: OptionSpecs,
): string | undefined {
  const { positionals } = parseArgs({
    args: [...args],
    options: parseArgsOptions(specs),
    strict: false,
    allowPositionals: true,
  });
  return positionals[0];
}

/**
 * Parses a command line against the options a command takes, and refuses
 * what `parseArgs` accepts only in its lenient mode: unknown options, an
 * option without its value (or whose value looks like another option), a
 * value for a flag, and an option with a value given twice.
 *
 * @param args The command line.
 * @param specs The options the command takes, with the global ones.
 * @param helpHint Where to look for help, for the messages, e.g. `deno task cli queue --help`.
 * @returns The options and the positional arguments.
 * @throws {UsageError} On any of the mistakes above.
 *
 * @example Parse, and refuse an unknown option
 * ```ts
 * import assert from "node:assert/strict";
 * import { GLOBAL_OPTIONS, parseCommandLine } from "./parse.ts";
 *
 * const parsed = parseCommandLine(["queue", "spins", "--json"], GLOBAL_OPTIONS, "queue --help");
 * assert.deepEqual(parsed.positionals, ["queue", "spins"]);
 * assert.equal(parsed.values.json, true);
 * assert.throws(
 *   () => parseCommandLine(["queue", "--colour"], GLOBAL_OPTIONS, "queue --help"),
 *   { message: "Unknown option --colour (see queue --help)" },
 * );
 * ```
 */
export function parseCommandLine(
  args: readonly string[],
  specs: OptionSpecs,
  helpHint: string,
): ParsedLine {
  const { values, positionals, tokens } = parseArgs({
    args: [...args],
    options: parseArgsOptions(specs),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const spec = Object.hasOwn(specs, token.name)
      ? specs[token.name]
      : undefined;
    const shown = `--${token.name}`;
    if (spec === undefined) {
      throw new UsageError(`Unknown option ${token.rawName} (see ${helpHint})`);
    }
    if (spec.type === "boolean") {
      if (token.value !== undefined) {
        throw new UsageError(
          `Option ${shown} takes no value, got ${describeValue(token.value)}`,
        );
      }
      continue;
    }
    const missing = token.value === undefined ||
      (!token.inlineValue && token.value.startsWith("-") &&
        token.value !== "-");
    if (missing) {
      throw new UsageError(
        `Option ${shown} needs a value: ${shown} ${spec.value ?? "VALUE"}`,
      );
    }
    if (seen.has(token.name)) {
      throw new UsageError(`Option ${shown} is given twice; give it once`);
    }
    seen.add(token.name);
  }
  return { values: values as Values, positionals };
}

/**
 * Checks a command's positional arguments: their number, and each value.
 *
 * @param command The command's name, for the messages.
 * @param specs The arguments it takes.
 * @param given The arguments given (after the command's name).
 * @returns The arguments.
 * @throws {UsageError} When one is missing, one is too many, or a value is not acceptable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkArgs } from "./parse.ts";
 *
 * const specs = [{ name: "display" }, { name: "job" }];
 * assert.throws(() => checkArgs("status", specs, ["spins"]), {
 *   message: "status needs <job> (usage: status <display> <job>)",
 * });
 * assert.throws(() => checkArgs("backends", [], ["extra"]), {
 *   message: 'backends takes no arguments, got "extra" (usage: backends)',
 * });
 * ```
 */
export function checkArgs(
  command: string,
  specs: readonly ArgSpec[],
  given: readonly string[],
): string[] {
  const usage = [command, ...specs.map((spec) => `<${spec.name}>`)].join(" ");
  if (given.length < specs.length) {
    const missing = specs.slice(given.length).map((spec) => `<${spec.name}>`);
    throw new UsageError(
      `${command} needs ${missing.join(" ")} (usage: ${usage})`,
    );
  }
  if (given.length > specs.length) {
    const extra = given.slice(specs.length).map(describeValue).join(" ");
    const takes = specs.length === 0
      ? "no arguments"
      : `${specs.length} argument${specs.length === 1 ? "" : "s"}`;
    throw new UsageError(
      `${command} takes ${takes}, got ${extra} (usage: ${usage})`,
    );
  }
  specs.forEach((spec, i) => {
    if (spec.check === undefined) return;
    try {
      spec.check(given[i]);
    } catch (error) {
      throw new UsageError(errorLine(error));
    }
  });
  return [...given];
}

/**
 * The value of an option that takes one, if given.
 *
 * @param values The options given.
 * @param name The option's name.
 * @returns The value, or `undefined`.
 */
export function stringValue(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * A duration option, such as `--older-than 10m`, in milliseconds.
 *
 * @param values The options given.
 * @param name The option's name.
 * @param min The shortest duration accepted, in milliseconds (default 0).
 * @returns The duration, or `undefined` when the option is not given.
 * @throws {UsageError} When the value is not a duration, or shorter than `min`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { durationValue } from "./parse.ts";
 *
 * assert.equal(durationValue({ "older-than": "10m" }, "older-than"), 600_000);
 * assert.throws(() => durationValue({ "older-than": "soon" }, "older-than"), {
 *   message: 'Option --older-than needs a duration such as 500ms, 90s, 10m, 2h or 30d, got "soon"',
 * });
 * ```
 */
export function durationValue(
  values: Values,
  name: string,
  min = 0,
): number | undefined {
  const text = stringValue(values, name);
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new UsageError(
      `Option --${name} needs a duration such as 500ms, 90s, 10m, 2h or 30d, got ${
        describeValue(text)
      }`,
    );
  }
  if (ms < min) {
    throw new UsageError(
      `Option --${name} needs a duration of at least ${min}ms, got ${
        describeValue(text)
      }`,
    );
  }
  return ms;
}

/**
 * A count option, such as `--limit 20`: a whole number from 1.
 *
 * @param values The options given.
 * @param name The option's name.
 * @returns The number, or `undefined` when the option is not given.
 * @throws {UsageError} When the value is not a whole number from 1 to 1,000,000.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countValue } from "./parse.ts";
 *
 * assert.equal(countValue({ limit: "20" }, "limit"), 20);
 * assert.throws(() => countValue({ limit: "0" }, "limit"), {
 *   message: 'Option --limit needs a whole number from 1 to 1000000, got "0"',
 * });
 * ```
 */
export function countValue(values: Values, name: string): number | undefined {
  const text = stringValue(values, name);
  if (text === undefined) return undefined;
  const count = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(count >= 1 && count <= 1_000_000)) {
    throw new UsageError(
      `Option --${name} needs a whole number from 1 to 1000000, got ${
        describeValue(text)
      }`,
    );
  }
  return count;
}

/**
 * An option whose value is one of a few words, such as `--state failed`.
 *
 * @param values The options given.
 * @param name The option's name.
 * @param choices The words accepted.
 * @returns The word, or `undefined` when the option is not given.
 * @throws {UsageError} When the value is not one of the words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { choiceValue } from "./parse.ts";
 *
 * assert.equal(choiceValue({ state: "failed" }, "state", ["finished", "failed"]), "failed");
 * assert.throws(() => choiceValue({ state: "done" }, "state", ["finished", "failed"]), {
 *   message: 'Option --state needs one of finished, failed, got "done"',
 * });
 * ```
 */
export function choiceValue<T extends string>(
  values: Values,
  name: string,
  choices: readonly T[],
): T | undefined {
  const text = stringValue(values, name);
  if (text === undefined) return undefined;
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(
      `Option --${name} needs one of ${choices.join(", ")}, got ${
        describeValue(text)
      }`,
    );
  }
  return text as T;
}

/**
 * An option whose value a library check accepts or refuses, such as a user
 * name.
 *
 * @param values The options given.
 * @param name The option's name.
 * @param check The check; what it throws becomes a usage mistake.
 * @returns The checked value, or `undefined` when the option is not given.
 * @throws {UsageError} When the check refuses the value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertUsername } from "@sqooler/storage";
 * import { checkedValue } from "./parse.ts";
 *
 * assert.equal(checkedValue({ user: "alice" }, "user", assertUsername), "alice");
 * assert.throws(() => checkedValue({ user: "a\nb" }, "user", assertUsername), {
 *   message: /^Option --user: Invalid user name/,
 * });
 * ```
 */
export function checkedValue<T>(
  values: Values,
  name: string,
  check: (value: string) => T,
): T | undefined {
  const text = stringValue(values, name);
  if (text === undefined) return undefined;
  try {
    return check(text);
  } catch (error) {
    throw new UsageError(`Option --${name}: ${errorLine(error)}`);
  }
}
