// Starting the scripts of this folder as real Deno processes, for the
// multi-process, crash and torn-read tests.

import { fileURLToPath as fromFileUrl } from "node:url";

/** The project's root, where the scripts run, so that "zod" resolves. */
export const ROOT: string = fromFileUrl(new URL("../../", import.meta.url));
const CONFIG = fromFileUrl(new URL("../../deno.json", import.meta.url));

/** A started script: the process, and its stdout as lines. */
export interface Script {
  child: Deno.ChildProcess;
  /** The next line of stdout; `undefined` at its end. */
  line(): Promise<string | undefined>;
  /** Closes stdin: the signal to stop once the work is done. */
  closeInput(): Promise<void>;
  /** Closes stdin, waits for the exit; the rest of stdout and all of stderr. */
  finish(): Promise<{ code: number; stdout: string; stderr: string }>;
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
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let ended = false;
  let stdinOpen = true;
  async function line(): Promise<string | undefined> {
    for (;;) {
      const end = buffer.indexOf("\n");
      if (end >= 0) {
        const text = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        return text;
      }
      if (ended) {
        const rest = buffer;
        buffer = "";
        return rest === "" ? undefined : rest;
      }
      const { value, done } = await reader.read();
      if (done) ended = true;
      else buffer += value;
    }
  }
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
