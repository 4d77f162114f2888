/**
 * `work <module>`: runs the backends that a module exports until Ctrl-C
 * (SIGINT) or SIGTERM, or with `--until-idle` until every queue is empty.
 *
 * @module
 * @internal
 */

import { pathToFileURL } from "node:url";
import { SqoolerError } from "../../errors.ts";
import { privateJwkFromEnv } from "../../keys.ts";
import type { JwkPrivate } from "../../signing.ts";
import { runWorker } from "../../worker/loop.ts";
import { checkOptions } from "../../worker/options.ts";
import type { Backends } from "../../worker/types.ts";
import type { Command, Context } from "../command.ts";
import { type Environment, userPath } from "../environment.ts";
import { CommandFailure, errorLine, EXIT } from "../errors.ts";
import { durationValue } from "../parse.ts";
import { WorkerLog } from "../worker_log.ts";

/** The `work` command. */
export const workCommand: Command = {
  name: "work",
  args: [{ name: "module" }],
  summary: "Run the backends that a module exports, until Ctrl-C",
  details:
    'Imports <module> (a path, relative to the folder you are in, or a URL) whose default export, or export named "backends", maps display names to { config, execute }, and runs a worker for them until SIGINT (Ctrl-C) or SIGTERM: it finishes or releases the job in hand, then exits. Backends whose config says "sign": true sign their configs and results with the private key in SQOOLER_PRIVATE_JWK (base64url of the JWK, as PRIVATE_JWK_STR in sqooler; keygen makes one). The storage folder is made when it does not exist. Backends that need more than files (a network, a device) need more permissions: deno run -A src/cli/main.ts work my_backends.ts. Try: work demo/spins.ts',
  options: {
    "poll-interval": {
      type: "string",
      value: "DURATION",
      help: "How long to wait when every queue is empty (default: 1s)",
    },
    lease: {
      type: "string",
      value: "DURATION",
      help: "How long a claim on a job lasts unless extended (default: 10m)",
    },
    "until-idle": {
      type: "boolean",
      help: "Stop once every queue is empty",
    },
  },
  run,
};

/** The signals that stop the worker. */
const STOP_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"];

async function run(context: Context): Promise<number> {
  const [spec] = context.args;
  const pollIntervalMs = durationValue(context.values, "poll-interval");
  const leaseMs = durationValue(context.values, "lease", 1);
  const { url, shown } = moduleUrl(spec, context.environment);
  const privateJwk = privateKey(context);
  const backends = await loadBackends(url, shown, privateJwk);
  const { adapter, where } = await context.storage({ create: true });
  const controller = new AbortController();
  const log = new WorkerLog(context.out, where, Deno.stdout.isTerminal());
  const stop = () => {
    if (controller.signal.aborted) Deno.exit(130);
    controller.abort();
    log.note(
      "Stopping after the job in hand; press Ctrl-C again to quit at once.",
    );
  };
  const listening = STOP_SIGNALS.filter((signal) => {
    try {
      Deno.addSignalListener(signal, stop);
      return true;
    } catch {
      return false; // Not every platform has every signal.
    }
  });
  try {
    await runWorker(adapter, {
      backends,
      signal: controller.signal,
      pollIntervalMs,
      leaseMs,
      untilIdle: context.values["until-idle"] === true,
      privateJwk,
      onEvent: (event) => log.event(event),
    });
  } finally {
    for (const signal of listening) Deno.removeSignalListener(signal, stop);
    log.close();
  }
  return EXIT.ok;
}

/**
 * The worker's private key, from `SQOOLER_PRIVATE_JWK` (as sqooler's
 * `PRIVATE_JWK_STR`), for backends whose config says `sign: true`.
 */
function privateKey(context: Context): JwkPrivate | undefined {
  try {
    return privateJwkFromEnv({ get: (name) => context.environment.env(name) });
  } catch (error) {
    throw new CommandFailure(errorLine(error));
  }
}

/** The module's URL, and how messages name it (an absolute path for a file). */
function moduleUrl(
  spec: string,
  environment: Environment,
): { url: string; shown: string } {
  if (/^(jsr|npm|https?|file|data):/.test(spec)) {
    return { url: spec, shown: JSON.stringify(spec.slice(0, 80)) };
  }
  const path = userPath(environment, spec);
  return { url: pathToFileURL(path).href, shown: JSON.stringify(path) };
}

/**
 * Imports a module and checks its backends as `runWorker` would, so that a
 * module with the wrong content fails here, naming the module.
 */
async function loadBackends(
  url: string,
  shown: string,
  privateJwk: JwkPrivate | undefined,
): Promise<Backends> {
  if (url.startsWith("file:")) await assertFile(new URL(url), shown);
  let module: Record<string, unknown>;
  try {
    module = await import(url);
  } catch (error) {
    throw new CommandFailure(
      `Cannot load backends from ${shown}: ${errorLine(error)}`,
    );
  }
  const [name, backends] = module.backends !== undefined
    ? ['export named "backends"', module.backends]
    : ["default export", module.default];
  const isMap = typeof backends === "object" && backends !== null &&
    !Array.isArray(backends);
  if (!isMap) {
    throw new CommandFailure(
      `${shown} exports no backends: expected a default export, or an export named "backends", that maps display names to { config, execute }`,
    );
  }
  if (Object.keys(backends).length === 0) {
    throw new CommandFailure(
      `${shown} exports no backends: its ${name} is an empty object; it must map display names to { config, execute }`,
    );
  }
  try {
    checkOptions({ backends: backends as Backends, privateJwk });
  } catch (error) {
    if (!(error instanceof SqoolerError)) throw error;
    throw new CommandFailure(
      `The backends of ${shown} are not valid: ${errorLine(error)}`,
    );
  }
  return backends as Backends;
}

async function assertFile(url: URL, shown: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(url);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file"
      : errorLine(error);
    throw new CommandFailure(`Cannot load backends from ${shown}: ${why}`);
  }
  if (!info.isFile) {
    throw new CommandFailure(`Cannot load backends from ${shown}: not a file`);
  }
}
