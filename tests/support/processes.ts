// Starting the project's scripts as real Deno processes: the CLI and the demo
// as an operator runs them, and the scripts of this folder for the
// multi-process, crash and torn-read tests.

import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { lineReader } from "./lines.ts";

/** The project's root, where the scripts run, so that "zod" resolves. */
export const ROOT: string = fromFileUrl(new URL("../../", import.meta.url));
const CONFIG = fromFileUrl(new URL("../../deno.json", import.meta.url));

/** How a process ended: its exit code, stdout and stderr. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Where and with which environment {@linkcode projectCommand} runs. */
export interface ProjectCommandOptions {
  /** @default {ROOT} */
  cwd?: string;
  /** Variables on top of the inherited environment. */
  env?: Record<string, string>;
}

/**
 * `deno run` of a script of the project (a path relative to its root), with
 * the permissions of its `deno task`, stdout and stderr piped.
 */
export function projectCommand(
  script: string,
  args: string[],
  options: ProjectCommandOptions = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      CONFIG,
      "--allow-read",
      "--allow-write",
      "--allow-env",
      join(ROOT, script),
      ...args,
    ],
    cwd: options.cwd ?? ROOT,
    // An operator's SQOOLER_BASE_PATH must not leak into the tests.
    env: { NO_COLOR: "1", SQOOLER_BASE_PATH: "", ...options.env },
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs {@linkcode projectCommand} to its end. */
export async function runProject(
  script: string,
  args: string[],
  options: ProjectCommandOptions = {},
): Promise<Run> {
  const output = await projectCommand(script, args, options).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A started script: the process, and its stdout as lines. */
export interface Script {
  child: Deno.ChildProcess;
  /** The next line of stdout; `undefined` at its end. */
  line(): Promise<string | undefined>;
  /** Closes stdin: the signal to stop once the work is done. */
  closeInput(): Promise<void>;
  /** Closes stdin, waits for the exit; the rest of stdout and all of stderr. */
  finish(): Promise<Run>;
}

/**
 * Runs `tests/support/<name>` with `args` as one JSON argument, allowed to
 * read and write `basePath` only.
 */
export function startScript(
  name: string,
  args: { basePath: string } & Record<string, unknown>,
): Script {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      CONFIG,
      `--allow-read=${args.basePath}`,
      `--allow-write=${args.basePath}`,
      fromFileUrl(new URL(name, import.meta.url)),
      JSON.stringify(args),
    ],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const line = lineReader(child.stdout);
  let stdinOpen = true;
  async function closeInput() {
    if (!stdinOpen) return;
    stdinOpen = false;
    // The process may be dead already; its pipe then refuses the close.
    await child.stdin.close().catch(() => {});
  }
  async function finish() {
    await closeInput();
    const lines: string[] = [];
    for (let text = await line(); text !== undefined; text = await line()) {
      lines.push(text);
    }
    const { code } = await child.status;
    return { code, stdout: lines.join("\n"), stderr: await stderr };
  }
  return { child, line, finish, closeInput };
}
