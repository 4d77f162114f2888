// The command line as an operator runs it: `deno run` of its entry point with
// exactly the permissions of deno.json's `cli` task, started from any folder,
// with piped output, and assertions on its answers and its one-line errors.

import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, type Run } from "./processes.ts";
import { lineReader } from "./lines.ts";

export type { Run };

const CONFIG = join(ROOT, "deno.json");

/** The `cli` task's permission flags and script, read from deno.json. */
function cliTask(): { flags: string[]; script: string } {
  const task: string = JSON.parse(Deno.readTextFileSync(CONFIG)).tasks.cli;
  const words = task.split(/\s+/).slice(2); // after "deno run"
  const script = words.find((word) => !word.startsWith("-"));
  assert(script !== undefined, `no script in the cli task: ${task}`);
  return { flags: words.filter((word) => word.startsWith("-")), script };
}

/** Where and how {@linkcode cliCommand} runs. */
export interface CliOptions {
  /** The process's folder. @default {ROOT, as `deno task` does} */
  cwd?: string;
  /**
   * Variables on top of the inherited environment. `INIT_CWD`,
   * `SQOOLER_BASE_PATH` and `DATABASE_URL` are cleared unless given here, so
   * that an operator's (or `deno task test`'s) values do not leak in.
   */
  env?: Record<string, string>;
  /** Text for standard input; without it, stdin is closed. */
  input?: string;
}

/** `deno run` of the command line with the `cli` task's permissions. */
export function cliCommand(
  args: string[],
  options: CliOptions = {},
): Deno.Command {
  const { flags, script } = cliTask();
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", CONFIG, ...flags, join(ROOT, script), ...args],
    cwd: options.cwd ?? ROOT,
    env: {
      NO_COLOR: "1",
      INIT_CWD: "",
      SQOOLER_BASE_PATH: "",
      DATABASE_URL: "",
      ...options.env,
    },
    stdin: options.input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs the command line to its end. */
export async function cli(
  args: string[],
  options: CliOptions = {},
): Promise<Run> {
  const child = cliCommand(args, options).spawn();
  if (options.input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.input));
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A running command line: its stdout line by line. */
export interface RunningCli {
  /** The next line of stdout; `undefined` at its end. */
  line(): Promise<string | undefined>;
  /** The lines until one matches, that one included; fails at the end of stdout. */
  until(pattern: RegExp): Promise<string[]>;
  /** Waits for the exit: its code, the rest of stdout and all of stderr. */
  finish(): Promise<Run>;
  /** Sends a signal. */
  kill(signal: Deno.Signal): void;
}

/** Starts the command line, to read its output while it runs. */
export function spawnCli(args: string[], options: CliOptions = {}): RunningCli {
  const child = cliCommand(args, options).spawn();
  const stderr = new Response(child.stderr).text();
  const line = lineReader(child.stdout);
  async function until(pattern: RegExp): Promise<string[]> {
    const seen: string[] = [];
    for (let text = await line(); text !== undefined; text = await line()) {
      seen.push(text);
      if (pattern.test(text)) return seen;
    }
    throw new Error(
      `stdout ended without ${pattern}; it said:\n${
        seen.join("\n")
      }\n${await stderr}`,
    );
  }
  async function finish(): Promise<Run> {
    const lines: string[] = [];
    for (let text = await line(); text !== undefined; text = await line()) {
      lines.push(text);
    }
    const { code } = await child.status;
    return { code, stdout: lines.join("\n"), stderr: await stderr };
  }
  return { line, until, finish, kill: (signal) => child.kill(signal) };
}

/** Asserts a success: exit code 0, nothing on stderr. */
export function assertOk(run: Run): void {
  assert.equal(run.code, 0, `exit ${run.code}; stderr: ${run.stderr}`);
  assert.equal(run.stderr, "");
}

/**
 * Asserts a mistake: the exit code, nothing on stdout, and exactly one line
 * on stderr, `error: <message>`, without a stack trace.
 */
export function assertError(run: Run, code: number, message: string): void {
  assert.equal(
    run.stderr,
    `error: ${message}\n`,
    `exit ${run.code}; stdout: ${run.stdout}`,
  );
  assert.equal(run.code, code, `stderr: ${run.stderr}`);
  assert.equal(run.stdout, "");
}

/** Asserts that every key of a JSON value, at any depth, is snake_case. */
export function assertSnakeKeys(value: unknown, where = "$"): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertSnakeKeys(item, `${where}[${i}]`));
  } else if (typeof value === "object" && value !== null) {
    for (const [key, field] of Object.entries(value)) {
      assert.match(
        key,
        /^[a-z0-9_]+$/,
        `key ${where}.${key} is not snake_case`,
      );
      assertSnakeKeys(field, `${where}.${key}`);
    }
  }
}
