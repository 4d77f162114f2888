// Helpers of the PostgreSQL tests: the server from DATABASE_URL, a fresh
// schema per test (random name) that is dropped afterwards, and an admin
// connection for what the tests do behind the adapter's back (dropping
// schemas, terminating the adapter's connections).

import postgres from "postgres";
import type { BackendConfigInput } from "../../mod.ts";
import {
  PostgresAdapter,
  type PostgresAdapterOptions,
} from "../../postgres.ts";
import { testBackendConfig } from "../../src/testing/seed.ts";
import { lineReader } from "./lines.ts";

/** The server of the PostgreSQL tests, or `undefined` to skip them. */
export const DATABASE_URL: string | undefined = Deno.env.get("DATABASE_URL");

/** Why the PostgreSQL tests are skipped, printed once when they are. */
export const HOW_TO_RUN =
  "PostgreSQL tests ignored: set DATABASE_URL to run them, e.g. " +
  "DATABASE_URL=postgres://postgres@127.0.0.1:5432/test deno test -A tests/postgres_test.ts";

/** A fresh schema name: `sqtest_` and 16 random hex characters. */
export function schemaName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `sqtest_${
    Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

/** An admin connection to the test server (one connection). */
export function admin(): postgres.Sql {
  return postgres(DATABASE_URL!, { max: 1, onnotice: () => {} });
}

/** Drops a schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const sql = admin();
  try {
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await sql.end();
  }
}

/**
 * Runs `fn` with adapters over a fresh schema, then closes them and drops
 * the schema.
 */
export async function withSchema<T>(
  fn: (
    open: (options?: PostgresAdapterOptions) => PostgresAdapter,
    schema: string,
  ) => Promise<T>,
): Promise<T> {
  const schema = schemaName();
  const opened: PostgresAdapter[] = [];
  const open = (options: PostgresAdapterOptions = {}) => {
    const adapter = new PostgresAdapter({
      url: DATABASE_URL,
      schema,
      ...options,
    });
    opened.push(adapter);
    return adapter;
  };
  try {
    return await fn(open, schema);
  } finally {
    for (const adapter of opened) await adapter.close();
    await dropSchema(schema);
  }
}

/**
 * Terminates the server sessions of an application name, as an operator's
 * `pg_terminate_backend` would.
 *
 * @returns How many sessions were terminated.
 */
export async function terminateSessions(
  sql: postgres.Sql,
  applicationName = "sqooler-storage",
): Promise<number> {
  const rows = await sql`
    SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
    WHERE application_name = ${applicationName} AND pid <> pg_backend_pid()`;
  return rows.filter((row) => row.ok).length;
}

/** A started script: the process, its stdout as lines, and how to end it. */
export interface PostgresScript {
  child: Deno.ChildProcess;
  /** The next line of stdout; `undefined` at its end. */
  line(): Promise<string | undefined>;
  /** Closes stdin, waits for the exit; the rest of stdout and all of stderr. */
  finish(): Promise<{ code: number; stdout: string; stderr: string }>;
}

const CONFIG = new URL("../../deno.json", import.meta.url);

/**
 * Runs `tests/support/<name>` with `args` as one JSON argument, with every
 * permission (it talks to the server), and DATABASE_URL set to `url`.
 */
export function startPostgresScript(
  name: string,
  args: Record<string, unknown>,
  url: string = DATABASE_URL!,
): PostgresScript {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      CONFIG.pathname,
      "-A",
      new URL(name, import.meta.url).pathname,
      JSON.stringify(args),
    ],
    env: { DATABASE_URL: url, NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const line = lineReader(child.stdout);
  let stdinOpen = true;
  async function finish() {
    if (stdinOpen) {
      stdinOpen = false;
      // The process may be dead already; its pipe then refuses the close.
      await child.stdin.close().catch(() => {});
    }
    const lines: string[] = [];
    for (let text = await line(); text !== undefined; text = await line()) {
      lines.push(text);
    }
    const { code } = await child.status;
    return { code, stdout: lines.join("\n"), stderr: await stderr };
  }
  return { child, line, finish };
}

/**
 * Polls `done` until it holds, failing after `timeoutMs`: for waiting on
 * other processes, which send no events to this one.
 */
export async function pollUntil(
  what: string,
  done: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!await done()) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting until ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** How often each line occurs in an append-only log of job ids. */
export async function countRuns(log: string): Promise<Map<string, number>> {
  const runs = new Map<string, number>();
  for (const line of (await Deno.readTextFile(log)).split("\n")) {
    if (line !== "") runs.set(line, (runs.get(line) ?? 0) + 1);
  }
  return runs;
}

/** The config of the backends of the PostgreSQL tests: one wire. */
export function pgConfig(displayName: string): BackendConfigInput {
  return testBackendConfig(displayName, { num_wires: 1, max_shots: 10 });
}

/** A job of one experiment that {@linkcode pgConfig} accepts. */
export function pgJob(shots = 1) {
  return {
    experiment_0: {
      instructions: [["load", [0], []], ["measure", [0], []]],
      num_wires: 1,
      shots,
      wire_order: "sequential",
    },
  };
}
