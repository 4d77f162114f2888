/**
 * How the user runs Deno, so that the commands the tool suggests (in help, in
 * hints, at the end of the demo) work when pasted: `deno task cli …` where
 * Deno is on the PATH, `npx -y deno@<version> task cli …` where it came
 * through npx alone, and `deno run … jsr:@sqooler/storage/cli …` from JSR.
 *
 * @module
 * @internal
 */

import { delimiter, join } from "node:path";

/** What decides how the user runs Deno; {@linkcode currentDeno} reads it from the process. */
export interface DenoSurroundings {
  /** The running Deno's executable. */
  execPath: string;
  /** Its version, e.g. `2.9.6`. */
  version: string;
  /** The operating system, as `Deno.build.os`. */
  os: string;
  /** An environment variable (`PATH`, `npm_execpath`, …). */
  env(name: string): string | undefined;
  /** Whether a file exists at the path. */
  isFile(path: string): boolean;
}

/**
 * The surroundings of this process. Without `--allow-env` or `--allow-read`
 * they read as empty: no PATH, no files.
 *
 * @returns The surroundings.
 */
export function currentDeno(): DenoSurroundings {
  const attempt = <T>(read: () => T, fallback: T): T => {
    try {
      return read();
    } catch {
      return fallback; // Not permitted: as if absent.
    }
  };
  return {
    execPath: attempt(() => Deno.execPath(), ""),
    version: Deno.version.deno,
    os: Deno.build.os,
    env: (name) => attempt(() => Deno.env.get(name), undefined),
    isFile: (path) => attempt(() => Deno.statSync(path).isFile, false),
  };
}

/**
 * Folders that npm and npx put in front of the PATH for the process they
 * start (`node_modules/.bin` folders, npx's cache, npm's helper scripts):
 * Deno found there is gone once npx returns.
 */
function addedByNpm(folder: string): boolean {
  const path = folder.replaceAll("\\", "/");
  return path.endsWith("/node_modules/.bin") || path.includes("/_npx/") ||
    path.includes("/node-gyp-bin");
}

/** Whether npm or npx started this process (directly or through a task). */
function startedByNpm(deno: DenoSurroundings): boolean {
  return deno.env("npm_execpath") !== undefined ||
    /^npm\//.test(deno.env("npm_config_user_agent") ?? "") ||
    /[\\/](_npx|node_modules)[\\/]/.test(deno.execPath);
}

/**
 * The command that runs Deno for the user: `deno` when an executable `deno`
 * is on the user's own PATH (without the folders that npx added for this
 * run), else, when npm or npx started Deno, `npx -y deno@<version>`;
 * otherwise `deno`.
 *
 * @param deno The surroundings (default: this process's).
 * @returns The command, e.g. `deno` or `npx -y deno@2.9.6`.
 *
 * @example Deno that came through npx alone
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoCommand } from "./invocation.ts";
 *
 * const npxOnly = {
 *   execPath: "/home/alice/.npm/_npx/1a2b/node_modules/deno/deno",
 *   version: "2.9.6",
 *   os: "linux",
 *   env: (name: string) =>
 *     ({ PATH: "/home/alice/.npm/_npx/1a2b/node_modules/.bin:/usr/bin" } as Record<string, string>)[name],
 *   isFile: (path: string) => path === "/home/alice/.npm/_npx/1a2b/node_modules/.bin/deno",
 * };
 * assert.equal(denoCommand(npxOnly), "npx -y deno@2.9.6");
 * const installed = { ...npxOnly, isFile: (path: string) => path === "/usr/bin/deno" };
 * assert.equal(denoCommand(installed), "deno");
 * ```
 */
export function denoCommand(deno: DenoSurroundings = currentDeno()): string {
  const names = deno.os === "windows" ? ["deno.exe", "deno.cmd"] : ["deno"];
  const onPath = (deno.env("PATH") ?? "").split(delimiter)
    .filter((folder) => folder !== "" && !addedByNpm(folder))
    .some((folder) => names.some((name) => deno.isFile(join(folder, name))));
  if (onPath || !startedByNpm(deno)) return "deno";
  return `npx -y deno@${deno.version}`;
}

/**
 * The command that starts this command line, for help and hints: the
 * project's task (`deno task cli`, or through npx) when it runs from files,
 * or `deno run` of its JSR module with the permissions it needs.
 *
 * @param moduleUrl The URL of the command line's main module.
 * @param packageId The package and version, e.g. `@sqooler/storage@0.1.0`.
 * @param deno The surroundings (default: this process's).
 * @returns The command, e.g. `deno task cli`.
 *
 * @example From the project's files, and from JSR
 * ```ts
 * import assert from "node:assert/strict";
 * import { toolCommand } from "./invocation.ts";
 *
 * const deno = { execPath: "/usr/bin/deno", version: "2.9.6", os: "linux", env: () => undefined, isFile: () => true };
 * assert.equal(toolCommand("file:///lab/src/cli/main.ts", "@sqooler/storage@0.1.0", deno), "deno task cli");
 * assert.equal(
 *   toolCommand("https://jsr.io/@sqooler/storage/0.1.0/src/cli/main.ts", "@sqooler/storage@0.1.0", deno),
 *   "deno run --allow-read --allow-write --allow-env --allow-net jsr:@sqooler/storage@0.1.0/cli",
 * );
 * ```
 */
export function toolCommand(
  moduleUrl: string,
  packageId: string,
  deno: DenoSurroundings = currentDeno(),
): string {
  if (moduleUrl.startsWith("file:")) return `${denoCommand(deno)} task cli`;
  return `${
    denoCommand(deno)
  } run --allow-read --allow-write --allow-env --allow-net jsr:${packageId}/cli`;
}

/**
 * A word for a POSIX shell: as it is when it needs no quotes, else in single
 * quotes.
 *
 * @param word The word, e.g. a path.
 * @returns The word, quoted when needed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shellQuote } from "./invocation.ts";
 *
 * assert.equal(shellQuote("/tmp/lab"), "/tmp/lab");
 * assert.equal(shellQuote("my lab's"), "'my lab'\\''s'");
 * ```
 */
export function shellQuote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", "'\\''")}'`;
}
