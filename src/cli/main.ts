/**
 * The command line for the people who run a lab's backends: look at
 * backends, queues, jobs, statuses and results in a storage; submit, cancel,
 * retry and purge jobs; recover the jobs of dead workers; run a worker; make
 * a signing key.
 *
 * ```sh
 * deno task cli backends
 * deno task cli jobs fermions --state failed --json
 * deno run --allow-read --allow-write --allow-env --allow-net jsr:@sqooler/storage/cli --help
 * ```
 *
 * The storage is a folder (`--base-path`, else `$SQOOLER_BASE_PATH`, else
 * `./storage`, relative to the folder you are in) or a PostgreSQL database
 * (`--database-url`, else `$DATABASE_URL`). A mistake prints one line,
 * `error: …`, on stderr; the exit code is 2 for a mistake in the command
 * line, 1 for a failure, 0 otherwise.
 *
 * @module
 */

import type { Command, Context, OptionSpecs, Values } from "./command.ts";
import { COMMANDS } from "./commands/mod.ts";
import { type Environment, processEnvironment } from "./environment.ts";
import { errorLine, EXIT, exitCodeOf, UsageError } from "./errors.ts";
import { commandHelp, toolHelp } from "./help.ts";
import { shellQuote, toolCommand } from "./invocation.ts";
import {
  checkArgs,
  commandName,
  GLOBAL_OPTIONS,
  parseCommandLine,
  stringValue,
} from "./parse.ts";
import { Printer, type Sinks } from "./print.ts";
import {
  chooseStorage,
  type OpenStorage,
  openStorage,
  providerName,
} from "./storage.ts";
import { PACKAGE_NAME, PACKAGE_VERSION } from "./version.ts";

export type { Environment, Sinks };

/** Options of {@linkcode main}, for running it inside another program or a test. */
export interface MainOptions {
  /**
   * The user's folder and environment variables.
   *
   * @default {the process's: $INIT_CWD, else its working folder}
   */
  environment?: Environment;
  /**
   * Where output goes.
   *
   * @default {the console}
   */
  sinks?: Sinks;
}

/**
 * Runs the command line with the given arguments, as `deno task cli` does.
 * The answer goes to stdout; a mistake prints one line `error: …` on stderr,
 * never a stack trace.
 *
 * @param args The arguments, e.g. `["queue", "fermions", "--json"]`.
 * @param options The user's environment, and where output goes.
 * @returns The exit code: 0 on success, 1 on a failure, 2 on a mistake in the command line.
 *
 * @example Count the jobs of a backend, and refuse a bad display name
 * ```ts
 * import assert from "node:assert/strict";
 * import { LocalAdapter, uploadConfig } from "@sqooler/storage";
 * import { testBackendConfig } from "@sqooler/storage/testing";
 * import { main } from "./main.ts";
 *
 * const basePath = await Deno.makeTempDir();
 * try {
 *   await uploadConfig(new LocalAdapter({ basePath }), testBackendConfig("spins"));
 *   const lines: string[] = [];
 *   const sinks = { out: (text: string) => lines.push(text), err: (text: string) => lines.push(text) };
 *   const environment = { cwd: basePath, env: () => undefined };
 *   assert.equal(await main(["queue", "spins", "--base-path", ".", "--json"], { environment, sinks }), 0);
 *   assert.equal(JSON.parse(lines[0]).queued, 0);
 *   assert.equal(await main(["queue", "Spins!", "--base-path", "."], { environment, sinks }), 2);
 *   assert.match(lines[1], /^error: Invalid display name "Spins!"/);
 * } finally {
 *   await Deno.remove(basePath, { recursive: true });
 * }
 * ```
 */
export async function main(
  args: readonly string[],
  options: MainOptions = {},
): Promise<number> {
  const environment = options.environment ?? processEnvironment();
  const errors = new Printer(false, options.sinks);
  let storage: OpenStorage | undefined;
  try {
    return await dispatch(args, {
      environment,
      sinks: options.sinks,
      open: async (choose) => storage ??= await choose(),
    });
  } catch (error) {
    errors.error(errorLine(error));
    return exitCodeOf(error);
  } finally {
    // A failure to close changes nothing the command did.
    await storage?.close().catch(() => {});
  }
}

/** What {@linkcode dispatch} needs besides the arguments. */
interface Surroundings {
  environment: Environment;
  sinks: Sinks | undefined;
  /** Opens the storage once, and keeps it for `main` to close. */
  open(choose: () => Promise<OpenStorage>): Promise<OpenStorage>;
}

async function dispatch(
  args: readonly string[],
  surroundings: Surroundings,
): Promise<number> {
  const tool = toolCommand(
    import.meta.url,
    `${PACKAGE_NAME}@${PACKAGE_VERSION}`,
  );
  const name = commandName(args, everyOption());
  if (name === undefined || name === "help") {
    return help(args, tool, surroundings.sinks);
  }
  const command = commandNamed(name, tool);
  const { values, positionals } = parseCommandLine(
    args,
    { ...GLOBAL_OPTIONS, ...command.options },
    `${tool} ${name} --help`,
  );
  const out = new Printer(values.json === true, surroundings.sinks);
  if (values.help === true) {
    out.line(commandHelp(command, tool));
    return EXIT.ok;
  }
  if (values.version === true) return version(out);
  const provider = providerName(values);
  const context: Context = {
    args: checkArgs(name, command.args, positionals.slice(1)),
    values,
    out,
    environment: surroundings.environment,
    tool,
    storageFlags: storageFlags(values),
    storage: (options) =>
      surroundings.open(() =>
        openStorage(chooseStorage(values, surroundings.environment), {
          provider,
          create: options?.create ?? false,
        })
      ),
  };
  return await command.run(context);
}

/** `help`, `help <command>`, `--help`, `--version`, or no command at all. */
function help(
  args: readonly string[],
  tool: string,
  sinks: Sinks | undefined,
): number {
  const { values, positionals } = parseCommandLine(
    args,
    GLOBAL_OPTIONS,
    `${tool} --help`,
  );
  const out = new Printer(values.json === true, sinks);
  if (values.version === true && positionals.length === 0) return version(out);
  if (positionals.length > 2) {
    throw new UsageError(
      `help takes at most one command, got ${positionals.length - 1}`,
    );
  }
  const topic = positionals[1];
  out.line(
    topic === undefined
      ? toolHelp(COMMANDS, tool)
      : commandHelp(commandNamed(topic, tool), tool),
  );
  return EXIT.ok;
}

function version(out: Printer): number {
  out.answer(
    { name: PACKAGE_NAME, version: PACKAGE_VERSION, deno: Deno.version.deno },
    () => [`${PACKAGE_NAME} ${PACKAGE_VERSION}`],
  );
  return EXIT.ok;
}

function commandNamed(name: string, tool: string): Command {
  const command = COMMANDS.find((command) => command.name === name);
  if (command === undefined) {
    throw new UsageError(
      `Unknown command ${JSON.stringify(name)}; the commands are ${
        COMMANDS.map((command) => command.name).join(", ")
      } (see ${tool} --help)`,
    );
  }
  return command;
}

/** Every option of every command, to find the command's name among them. */
function everyOption(): OptionSpecs {
  return Object.assign(
    {},
    GLOBAL_OPTIONS,
    ...COMMANDS.map((command) => command.options),
  );
}

/** The storage option as the user typed it, to repeat in hints (never a database URL). */
function storageFlags(values: Values): string {
  const basePath = stringValue(values, "base-path");
  return basePath === undefined ? "" : ` --base-path ${shellQuote(basePath)}`;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
