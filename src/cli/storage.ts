/**
 * Which storage a command works on, and opening it: a folder
 * (`--base-path`, else `$SQOOLER_BASE_PATH`, else `./storage`, relative to
 * the user's folder) or a PostgreSQL database (`--database-url`, else
 * `$DATABASE_URL`). The PostgreSQL adapter is loaded with a dynamic
 * `import()` only when a database is asked for, so that users of folders
 * never load a database driver.
 *
 * @module
 * @internal
 */

import { InvalidNameError } from "../errors.ts";
import { LocalAdapter } from "../local_adapter.ts";
import { normalizeProviderName } from "../names.ts";
import type { Storage, Values } from "./command.ts";
import { type Environment, userPath } from "./environment.ts";
import { CommandFailure, errorLine, UsageError } from "./errors.ts";
import { checkedValue, stringValue } from "./parse.ts";

/** The storage the options and the environment name. */
export type StorageChoice =
  | {
    kind: "folder";
    /** The folder, absolute. */
    basePath: string;
  }
  | {
    kind: "database";
    /** The server's URL, with its password. */
    url: string;
    /** Where the URL came from, for messages: `--database-url` or `DATABASE_URL`. */
    source: string;
    /** The schema, when one was given. */
    schema: string | undefined;
  };

/** A storage that is open, and how to close it. */
export interface OpenStorage extends Storage {
  /**
   * Closes the storage's connections, if it has any.
   *
   * @returns A promise that settles once they are closed.
   */
  close(): Promise<void>;
}

/**
 * Chooses the storage: `--base-path` or `--database-url` (not both), else
 * `$DATABASE_URL` or `$SQOOLER_BASE_PATH` (not both), else `./storage`.
 *
 * @param values The options given.
 * @param environment The user's folder and environment.
 * @returns The choice.
 * @throws {UsageError} When the options or the variables contradict each other.
 *
 * @example A relative folder resolves against the user's folder
 * ```ts
 * import assert from "node:assert/strict";
 * import { chooseStorage } from "./storage.ts";
 *
 * const environment = { cwd: "/home/alice", env: () => undefined };
 * assert.deepEqual(chooseStorage({ "base-path": "lab" }, environment), {
 *   kind: "folder",
 *   basePath: "/home/alice/lab",
 * });
 * assert.deepEqual(chooseStorage({}, environment), { kind: "folder", basePath: "/home/alice/storage" });
 * ```
 */
export function chooseStorage(
  values: Values,
  environment: Environment,
): StorageChoice {
  const basePath = stringValue(values, "base-path");
  const url = stringValue(values, "database-url");
  const schema = stringValue(values, "database-schema");
  if (basePath !== undefined && url !== undefined) {
    throw new UsageError(
      "Options --base-path and --database-url exclude each other: the storage is a folder or a database",
    );
  }
  let choice: StorageChoice;
  if (basePath !== undefined) {
    choice = { kind: "folder", basePath: userPath(environment, basePath) };
  } else if (url !== undefined) {
    choice = { kind: "database", url, source: "--database-url", schema };
  } else {
    const envUrl = environment.env("DATABASE_URL");
    const envPath = environment.env("SQOOLER_BASE_PATH");
    if (envUrl !== undefined && envPath !== undefined) {
      throw new UsageError(
        "DATABASE_URL and SQOOLER_BASE_PATH are both set: choose the storage with --database-url or --base-path",
      );
    }
    choice = envUrl !== undefined
      ? { kind: "database", url: envUrl, source: "DATABASE_URL", schema }
      : {
        kind: "folder",
        basePath: userPath(environment, envPath ?? "./storage"),
      };
  }
  if (choice.kind === "folder" && schema !== undefined) {
    throw new UsageError(
      "Option --database-schema needs a PostgreSQL storage: pass --database-url or set DATABASE_URL",
    );
  }
  return choice;
}

/**
 * The provider name of `--provider`, checked.
 *
 * @param values The options given.
 * @returns The name (default `default`).
 * @throws {UsageError} When the name is not acceptable.
 */
export function providerName(values: Values): string {
  return checkedValue(values, "provider", normalizeProviderName) ?? "default";
}

/**
 * Opens the chosen storage. A folder must exist unless `create` is set; a
 * database's adapter is loaded now, and connects on first use.
 *
 * @param choice The storage.
 * @param options The provider's name, and whether a missing folder is fine.
 * @returns The open storage.
 * @throws {UsageError} When the database URL or schema is not acceptable.
 * @throws {CommandFailure} When the folder does not exist, is not a folder, or the PostgreSQL adapter cannot be loaded or reached.
 */
export async function openStorage(
  choice: StorageChoice,
  options: { provider: string; create: boolean },
): Promise<OpenStorage> {
  if (choice.kind === "folder") {
    if (!options.create) await assertFolder(choice.basePath);
    return {
      adapter: new LocalAdapter({
        basePath: choice.basePath,
        name: options.provider,
      }),
      where: choice.basePath,
      close: () => Promise.resolve(),
    };
  }
  return await openDatabase(choice, options.provider);
}

async function assertFolder(basePath: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(basePath);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new CommandFailure(
        `Storage folder ${
          JSON.stringify(basePath)
        } does not exist; pass --base-path or set SQOOLER_BASE_PATH`,
      );
    }
    throw new CommandFailure(
      `Cannot open storage folder ${JSON.stringify(basePath)}: ${
        errorLine(error)
      }`,
    );
  }
  if (!info.isDirectory) {
    throw new CommandFailure(
      `Storage folder ${JSON.stringify(basePath)} is a file, not a folder`,
    );
  }
}

async function openDatabase(
  choice: Extract<StorageChoice, { kind: "database" }>,
  provider: string,
): Promise<OpenStorage> {
  let module: typeof import("../../postgres.ts");
  try {
    module = await import("../../postgres.ts");
  } catch (error) {
    throw new CommandFailure(
      `Cannot load the PostgreSQL adapter (@sqooler/storage/postgres): ${
        errorLine(error)
      }`,
    );
  }
  let adapter: InstanceType<typeof module.PostgresAdapter>;
  try {
    adapter = new module.PostgresAdapter({
      url: choice.url,
      name: provider,
      schema: choice.schema,
    });
  } catch (error) {
    // The constructor only checks the URL and the schema, as given.
    const known = error instanceof InvalidNameError ||
      error instanceof module.PostgresConnectionError;
    if (!known) throw error;
    throw new UsageError(`${choice.source}: ${errorLine(error)}`);
  }
  const server = new URL(choice.url);
  const host = `${server.hostname}:${server.port || "5432"}`;
  const permission = await Deno.permissions.query({ name: "net", host });
  if (permission.state !== "granted") {
    await adapter.close();
    throw new CommandFailure(
      `A PostgreSQL storage needs network access to ${host}: run with --allow-net (deno task cli has it)`,
    );
  }
  return {
    adapter,
    where: `${redacted(server)} (schema ${adapter.schema})`,
    close: () => adapter.close(),
  };
}

/** A URL without its password, for messages. */
function redacted(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password !== "") copy.password = "***";
  copy.search = "";
  return copy.href;
}
