// Helpers of the PostgreSQL tests: the server from DATABASE_URL, a fresh
// schema per test (random name) that is dropped afterwards, and an admin
// connection for what the tests do behind the adapter's back (dropping
// schemas, terminating the adapter's connections).

import postgres from "postgres";
import {
  PostgresAdapter,
  type PostgresAdapterOptions,
} from "../../postgres.ts";

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
