/**
 * The command line's two kinds of mistakes and their exit codes: a
 * {@linkcode UsageError} (the command was typed wrong: exit code 2) and
 * everything else that stops a command (exit code 1), each shown as one line
 * `error: …` without a stack trace.
 *
 * @module
 * @internal
 */

/** The exit codes of the command line. */
export const EXIT = {
  /** The command did what it was asked. */
  ok: 0,
  /** The command failed: a missing file, a backend that does not exist, a storage error. */
  failure: 1,
  /** The command was typed wrong: an unknown option, a missing argument, a bad value. */
  usage: 2,
} as const;

/**
 * A mistake in how the command was typed: an unknown command or option, a
 * missing or extra argument, a value that is not acceptable. Exit code 2.
 * Nothing was read or written.
 *
 * @example Tell a usage mistake from a failure
 * ```ts
 * import assert from "node:assert/strict";
 * import { exitCodeOf, UsageError } from "./errors.ts";
 *
 * assert.equal(exitCodeOf(new UsageError("Unknown option --colour")), 2);
 * assert.equal(exitCodeOf(new Error("Cannot read job file")), 1);
 * ```
 */
export class UsageError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was typed wrong, and with which value.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * A failure that the command line found itself (a job file that does not
 * exist, a storage folder that is missing): exit code 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CommandFailure, exitCodeOf } from "./errors.ts";
 *
 * assert.equal(exitCodeOf(new CommandFailure('Cannot read job file "/lab/job.json": no such file')), 1);
 * ```
 */
export class CommandFailure extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed, and with which value.
   * @param options The cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CommandFailure";
  }
}

/**
 * The exit code for an error that stopped a command: 2 for a
 * {@linkcode UsageError}, 1 for anything else.
 *
 * @param error What was thrown.
 * @returns The exit code.
 */
export function exitCodeOf(error: unknown): number {
  return error instanceof UsageError ? EXIT.usage : EXIT.failure;
}

/**
 * An error as one line: its message's first line, trimmed; never a stack
 * trace.
 *
 * @param error What was thrown (anything).
 * @returns The line, without the `error: ` prefix.
 *
 * @example A message of several lines becomes one
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorLine } from "./errors.ts";
 *
 * assert.equal(errorLine(new Error("Cannot parse\n  at line 3")), "Cannot parse");
 * assert.equal(errorLine("plain"), "plain");
 * assert.equal(errorLine(new Error("")), "Error (no message)");
 * ```
 */
export function errorLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split("\n")[0].trim();
  if (line !== "") return line;
  return `${error instanceof Error ? error.name : typeof error} (no message)`;
}
