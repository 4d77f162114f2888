/**
 * What the command line takes from where it runs: the folder the user typed
 * the command in, against which relative paths resolve, and the environment
 * variables. `deno task` (like npm) runs a task in the project's folder and
 * passes the user's folder as `INIT_CWD`; it is used when set.
 *
 * @module
 * @internal
 */

import { isAbsolute, resolve } from "node:path";

/** The user's folder and environment, as the command line sees them. */
export interface Environment {
  /** The folder the user typed the command in: `$INIT_CWD` when set, else the process's working folder. */
  readonly cwd: string;
  /**
   * An environment variable; an empty one counts as not set.
   *
   * @param name The variable's name.
   * @returns Its value, or `undefined`.
   */
  env(name: string): string | undefined;
}

/**
 * The environment of this process. Reading variables needs `--allow-env`;
 * without it, every variable counts as not set.
 *
 * @returns The environment.
 *
 * @example Relative paths resolve against INIT_CWD when deno task sets it
 * ```ts
 * import assert from "node:assert/strict";
 * import { processEnvironment, userPath } from "./environment.ts";
 *
 * const environment = processEnvironment();
 * const expected = Deno.env.get("INIT_CWD") || Deno.cwd();
 * assert.equal(environment.cwd, expected);
 * assert(userPath(environment, "job.json").endsWith("job.json"));
 * ```
 */
export function processEnvironment(): Environment {
  const env = (name: string) => {
    try {
      return Deno.env.get(name) || undefined;
    } catch {
      return undefined; // No --allow-env: as if not set.
    }
  };
  return { cwd: env("INIT_CWD") ?? Deno.cwd(), env };
}

/**
 * A path as the user meant it: absolute, with a relative one resolved
 * against the user's folder.
 *
 * @param environment The user's folder.
 * @param path The path as typed.
 * @returns The absolute path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { userPath } from "./environment.ts";
 *
 * const environment = { cwd: "/home/alice/lab", env: () => undefined };
 * assert.equal(userPath(environment, "job.json"), "/home/alice/lab/job.json");
 * assert.equal(userPath(environment, "../storage"), "/home/alice/storage");
 * assert.equal(userPath(environment, "/srv/storage"), "/srv/storage");
 * ```
 */
export function userPath(environment: Environment, path: string): string {
  return isAbsolute(path) ? resolve(path) : resolve(environment.cwd, path);
}
