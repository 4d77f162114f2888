/**
 * The former entry point of the command line, kept so that
 * `deno run … src/cli.ts <command>` goes on working. The command line is in
 * `src/cli/` now; its entry point is `src/cli/main.ts` (the package's
 * `./cli` export).
 *
 * @module
 */

import { main } from "./cli/main.ts";

export {
  type Environment,
  main,
  type MainOptions,
  type Sinks,
} from "./cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
