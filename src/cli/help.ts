/**
 * The help texts: the tool's (its commands and global options) and each
 * command's (usage, what it does, its options), made from the same specs
 * that the parser checks, so that help and parser never disagree.
 *
 * @module
 * @internal
 */

import type { Command, OptionSpecs } from "./command.ts";
import { GLOBAL_OPTIONS } from "./parse.ts";

/**
 * A command's usage: its name and arguments, e.g. `status <display> <job>`.
 *
 * @param command The command.
 * @returns The usage.
 */
export function usageOf(command: Command): string {
  return [command.name, ...command.args.map((arg) => `<${arg.name}>`)].join(
    " ",
  );
}

/**
 * The tool's help: what it is, its commands, the global options.
 *
 * @param commands Every command.
 * @param tool The command that starts the tool, e.g. `deno task cli`.
 * @returns The text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toolHelp } from "./help.ts";
 *
 * const queue = {
 *   name: "queue", args: [{ name: "display" }], summary: "Count a backend's jobs",
 *   details: "", options: {}, run: () => Promise.resolve(0),
 * };
 * const help = toolHelp([queue], "deno task cli");
 * assert.match(help, /^  queue <display>  Count a backend's jobs$/m);
 * assert.match(help, /--base-path PATH/);
 * ```
 */
export function toolHelp(commands: readonly Command[], tool: string): string {
  const width = Math.max(...commands.map((command) => usageOf(command).length));
  return [
    "sqooler-storage: look after a sqooler storage, and run its backends",
    "",
    `Usage: ${tool} <command> [arguments] [options]`,
    "",
    "Commands:",
    ...commands.map((command) =>
      `  ${usageOf(command).padEnd(width)}  ${command.summary}`
    ),
    "",
    "Options for every command:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    `Help on one command: ${tool} <command> --help`,
    "A mistake prints one line, error: …; the exit code is 2 for a mistake in the command line, 1 for a failure.",
  ].join("\n");
}

/**
 * A command's help: its usage, what it does, its options and the global ones.
 *
 * @param command The command.
 * @param tool The command that starts the tool, e.g. `deno task cli`.
 * @returns The text.
 */
export function commandHelp(command: Command, tool: string): string {
  const own = Object.keys(command.options).length > 0;
  return [
    `Usage: ${tool} ${usageOf(command)}${own ? " [options]" : ""}`,
    "",
    ...wrap(command.details, 78),
    ...(own ? ["", "Options:", ...optionLines(command.options)] : []),
    "",
    "Options for every command:",
    ...optionLines(GLOBAL_OPTIONS),
  ].join("\n");
}

function optionLines(specs: OptionSpecs): string[] {
  const names = Object.entries(specs).map(([name, spec]) =>
    `${spec.short ? `-${spec.short}, ` : "    "}--${name}${
      spec.value ? ` ${spec.value}` : ""
    }`
  );
  const width = Math.max(...names.map((name) => name.length));
  return Object.values(specs).map((spec, i) =>
    `  ${names[i].padEnd(width)}  ${spec.help}`
  );
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}
