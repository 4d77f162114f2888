/**
 * What a command of the command line is: its name, arguments, options and
 * help, and the function that runs it with a {@linkcode Context}.
 *
 * @module
 * @internal
 */

import type { StorageAdapter } from "../adapter.ts";
import type { Environment } from "./environment.ts";
import type { Printer } from "./print.ts";

/** A positional argument of a command. */
export interface ArgSpec {
  /** Its name in usage lines: `display` shows as `<display>`. */
  readonly name: string;
  /**
   * Checks the value before anything is read or written; what it throws
   * (such as an `InvalidNameError`) becomes a usage mistake, exit code 2.
   */
  readonly check?: (value: string) => unknown;
}

/** An option of a command, as `node:util`'s `parseArgs` takes it, with its help. */
export interface OptionSpec {
  /** A flag (`--json`) or an option with a value (`--limit 10`, `--limit=10`). */
  readonly type: "string" | "boolean";
  /** A one-letter alias, such as `h` for `-h`. */
  readonly short?: string;
  /** The value's placeholder in help, such as `DURATION`. */
  readonly value?: string;
  /** One line of help. */
  readonly help: string;
}

/** Options by name (without the leading `--`). */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The options given: a string for an option with a value, `true` for a flag. */
export type Values = Readonly<Record<string, string | boolean | undefined>>;

/** The storage a command works on. */
export interface Storage {
  /** The adapter. */
  readonly adapter: StorageAdapter;
  /** Where it is, for messages: an absolute folder, or a database URL without its password. */
  readonly where: string;
}

/** What a command gets to run. */
export interface Context {
  /** The positional arguments after the command's name, checked. */
  readonly args: readonly string[];
  /** The options given, checked against the command's and the global ones. */
  readonly values: Values;
  /** Where the answer goes, as text or JSON. */
  readonly out: Printer;
  /** The user's folder and environment. */
  readonly environment: Environment;
  /** The command that starts this tool, for hints, e.g. `deno task cli`. */
  readonly tool: string;
  /**
   * The storage options as the user gave them (`--base-path PATH`), to repeat
   * in hints; empty when none was given, and never a database URL.
   */
  readonly storageFlags: string;
  /**
   * Opens the storage that the options and the environment name. Call it
   * after checking every option, so that a usage mistake touches nothing.
   *
   * @param options With `create: true`, a storage folder that does not exist is fine (it is made on the first write).
   * @returns The storage.
   * @throws {Error} When the storage folder does not exist, or the database cannot be loaded.
   */
  storage(options?: { create?: boolean }): Promise<Storage>;
}

/** A command of the command line. */
export interface Command {
  /** Its name, as typed: `queue`. */
  readonly name: string;
  /** Its positional arguments, all required. */
  readonly args: readonly ArgSpec[];
  /** One line for the list of commands. */
  readonly summary: string;
  /** A paragraph for the command's help. */
  readonly details: string;
  /** Its own options, besides the global ones. */
  readonly options: OptionSpecs;
  /**
   * Runs the command.
   *
   * @param context The arguments, options, output and storage.
   * @returns The exit code.
   */
  run(context: Context): Promise<number>;
}
