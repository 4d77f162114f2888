/**
 * The PostgreSQL adapter's tables and functions, one versioned migration
 * after the other, and the statements that use them. Everything lives in one
 * schema (default `sqooler`); its name is checked before it is put into any
 * statement, and every value reaches the server as a query parameter.
 *
 * ## Tables
 *
 * `records(path, id, content, seq, written_at)`: every record of the document store, in
 * sqooler's folder layout (`jobs/queued/<display>`, `jobs/running`,
 * `status/<display>`, `leases/<display>`, …). `content` is the record's JSON
 * text exactly as written (`text`, not `jsonb`, so that key order, `1.0`,
 * `-0.0`, `NaN` and big integers survive). `seq` is the write order: every
 * create and update takes the next value of `record_seq`, a move keeps it,
 * so "oldest first" is `ORDER BY seq` and a job moved back to its queue is
 * taken first. `written_at` is the server's time of that write, which a move
 * also keeps. The job transitions work on the same rows, so the document
 * view and the job protocol never disagree.
 *
 * `migrations(version, applied_at)`: which migrations ran.
 *
 * A trigger sends `NOTIFY "sqooler.<schema>"` with the display name whenever
 * a record enters (or changes in) a queue folder `jobs/queued/<display>`, in
 * the transaction that does it: idle workers wait on it.
 *
 * @module
 * @internal
 */

import { describeValue } from "../names.ts";
import { InvalidNameError } from "../errors.ts";

/** A schema name: 1 to 48 lowercase letters, digits or `_`, not starting with a digit or `pg_`. */
const SCHEMA_NAME = /^(?!pg_)[a-z_][a-z0-9_]{0,47}$/;

/**
 * Checks the name of the schema that holds the adapter's tables.
 *
 * @param value The name.
 * @returns The name.
 * @throws {InvalidNameError} When it is not acceptable.
 *
 * @example Accept a schema name, refuse one that would change a statement
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidNameError } from "@sqooler/storage";
 * import { assertSchemaName } from "./schema.ts";
 *
 * assert.equal(assertSchemaName("sqooler_lab2"), "sqooler_lab2");
 * assert.throws(() => assertSchemaName('x"; DROP TABLE records; --'), InvalidNameError);
 * assert.throws(() => assertSchemaName("pg_catalog"), InvalidNameError);
 * ```
 */
export function assertSchemaName(value: unknown): string {
  if (typeof value !== "string" || !SCHEMA_NAME.test(value)) {
    throw new InvalidNameError(
      `Invalid schema name ${
        describeValue(value)
      }: use 1 to 48 lowercase letters, digits or '_', not starting with a digit or "pg_"`,
    );
  }
  return value;
}

/**
 * The channel on which a schema's queues announce new jobs (the payload is
 * the display name).
 *
 * @param schema The schema, checked.
 * @returns The channel's name.
 *
 * @example The channel of the default schema
 * ```ts
 * import assert from "node:assert/strict";
 * import { channelOf } from "./schema.ts";
 *
 * assert.equal(channelOf("sqooler"), "sqooler.sqooler");
 * ```
 */
export function channelOf(schema: string): string {
  return `sqooler.${schema}`;
}

/** An identifier, quoted (the names put here are checked first). */
function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The migrations, in order: version `i + 1` is the `i`-th. A later version
 * of this library appends; it never edits one that shipped.
 *
 * @param schema The schema, checked.
 * @returns The SQL of each migration.
 *
 * @example Version 1 creates the records table in the schema
 * ```ts
 * import assert from "node:assert/strict";
 * import { migrations } from "./schema.ts";
 *
 * const [first] = migrations("lab");
 * assert(first.includes('CREATE TABLE "lab".records'));
 * ```
 */
export function migrations(schema: string): string[] {
  const s = quote(schema);
  const channel = channelOf(schema).replaceAll("'", "''");
  return [
    `
CREATE SEQUENCE ${s}.record_seq;
CREATE TABLE ${s}.records (
  path text NOT NULL,
  id text NOT NULL,
  content text NOT NULL,
  seq bigint NOT NULL,
  written_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (path, id)
) WITH (
  -- Every claim and outcome leaves a dead row version behind in the queue
  -- index; vacuum often, so that the oldest live job stays near the start.
  autovacuum_vacuum_scale_factor = 0.01,
  autovacuum_vacuum_threshold = 1000,
  autovacuum_analyze_scale_factor = 0.01
);
CREATE INDEX records_oldest_first ON ${s}.records (path, seq);

CREATE FUNCTION ${s}.notify_queued() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('${channel}', substr(NEW.path, 13));
  RETURN NULL;
END
$fn$;
CREATE TRIGGER records_queued AFTER INSERT OR UPDATE ON ${s}.records
  FOR EACH ROW WHEN (NEW.path LIKE 'jobs/queued/%')
  EXECUTE FUNCTION ${s}.notify_queued();

-- Moves a record (keeping its place in the order), replacing one of the same
-- id in the target folder; with p_seq, only if it was not rewritten since.
CREATE FUNCTION ${s}.move_record(p_from text, p_to text, p_id text, p_seq bigint)
RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM 1 FROM ${s}.records
    WHERE path = p_from AND id = p_id AND (p_seq IS NULL OR seq = p_seq)
    FOR UPDATE;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  IF p_from <> p_to THEN
    DELETE FROM ${s}.records WHERE path = p_to AND id = p_id;
    UPDATE ${s}.records SET path = p_to WHERE path = p_from AND id = p_id;
  END IF;
  RETURN true;
END
$fn$;

-- Moves the oldest record of a folder that no one else is moving and that is
-- not in p_skip; returns its id, or NULL.
CREATE FUNCTION ${s}.move_oldest(p_from text, p_to text, p_skip text[])
RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
  taken text;
BEGIN
  SELECT id INTO taken FROM ${s}.records
    WHERE path = p_from AND NOT (id = ANY (p_skip))
    ORDER BY seq LIMIT 1
    FOR UPDATE SKIP LOCKED;
  IF taken IS NULL THEN
    RETURN NULL;
  END IF;
  IF p_from <> p_to THEN
    DELETE FROM ${s}.records WHERE path = p_to AND id = taken;
    UPDATE ${s}.records SET path = p_to WHERE path = p_from AND id = taken;
  END IF;
  RETURN taken;
END
$fn$;

-- The lease of a running job whose token is p_token, as JSON, locked; NULL
-- when there is none (or it is not readable, or not this token's, or its job
-- is decided): the caller then takes the general path.
CREATE FUNCTION ${s}.current_lease(p_path text, p_id text, p_token text)
RETURNS json LANGUAGE plpgsql AS $fn$
DECLARE
  found_content text;
  lease json;
BEGIN
  SELECT content INTO found_content FROM ${s}.records
    WHERE path = p_path AND id = p_id FOR UPDATE;
  IF found_content IS NULL THEN
    RETURN NULL;
  END IF;
  BEGIN
    lease := found_content::json;
  EXCEPTION WHEN others THEN
    RETURN NULL;
  END;
  IF json_typeof(lease) <> 'object'
    OR lease->>'job_id' IS DISTINCT FROM p_id
    OR lease->>'token' IS DISTINCT FROM p_token
    OR (lease->'state' IS NOT NULL AND lease->>'state' IS DISTINCT FROM 'running')
    OR json_typeof(lease->'claimed_at') IS DISTINCT FROM 'string'
    OR json_typeof(lease->'expires_at') IS DISTINCT FROM 'string'
  THEN
    RETURN NULL;
  END IF;
  RETURN lease;
END
$fn$;

-- Whether a JSON member is absent or null.
CREATE FUNCTION ${s}.is_null(value json) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT value IS NULL OR json_typeof(value) = 'null'
$fn$;

-- A worker's progress status (not final) under its current lease, in one
-- statement; false, having changed nothing, when the general path must
-- decide (no such lease, or a status that is final or not readable).
CREATE FUNCTION ${s}.report_fast(
  p_leases text, p_status text, p_id text, p_token text, p_text text
) RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
  found_content text;
  current_status json;
BEGIN
  IF ${s}.current_lease(p_leases, p_id, p_token) IS NULL THEN
    RETURN false;
  END IF;
  SELECT content INTO found_content FROM ${s}.records
    WHERE path = p_status AND id = p_id FOR UPDATE;
  IF found_content IS NOT NULL THEN
    BEGIN
      current_status := found_content::json;
    EXCEPTION WHEN others THEN
      RETURN false;
    END;
    IF json_typeof(current_status) <> 'object'
      OR current_status->>'status' IN ('DONE', 'ERROR')
    THEN
      RETURN false;
    END IF;
  END IF;
  INSERT INTO ${s}.records (path, id, content, seq)
    VALUES (p_status, p_id, p_text, nextval('${s}.record_seq'))
    ON CONFLICT (path, id) DO UPDATE
    SET content = excluded.content, seq = excluded.seq, written_at = now();
  RETURN true;
END
$fn$;

-- A worker's outcome under its current lease, in one statement: the result
-- (when p_result is given and the job has p_results experiments), the
-- status, the job's move to p_target, the lease's removal. False, having
-- changed nothing, when the general path must decide (no such lease, a
-- cancelled job, counted attempts, a result that does not fit the job).
CREATE FUNCTION ${s}.complete_fast(
  p_leases text, p_status text, p_results text, p_target text, p_id text,
  p_token text, p_status_text text, p_result text, p_count integer
) RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
  lease json;
  job text;
  experiments integer;
BEGIN
  lease := ${s}.current_lease(p_leases, p_id, p_token);
  IF lease IS NULL
    OR NOT ${s}.is_null(lease->'cancel_requested')
    OR NOT ${s}.is_null(lease->'attempts')
  THEN
    RETURN false;
  END IF;
  IF p_result IS NOT NULL THEN
    SELECT content INTO job FROM ${s}.records
      WHERE path = 'jobs/running' AND id = p_id;
    IF job IS NULL THEN
      RETURN false;
    END IF;
    BEGIN
      SELECT count(DISTINCT key) INTO experiments
        FROM json_object_keys(job::json) AS key
        WHERE key ~ '^experiment_[0-9]+$';
    EXCEPTION WHEN others THEN
      RETURN false;
    END;
    IF experiments <> p_count THEN
      RETURN false;
    END IF;
    INSERT INTO ${s}.records (path, id, content, seq)
      VALUES (p_results, p_id, p_result, nextval('${s}.record_seq'))
      ON CONFLICT (path, id) DO UPDATE
      SET content = excluded.content, seq = excluded.seq, written_at = now();
  END IF;
  INSERT INTO ${s}.records (path, id, content, seq)
    VALUES (p_status, p_id, p_status_text, nextval('${s}.record_seq'))
    ON CONFLICT (path, id) DO UPDATE
    SET content = excluded.content, seq = excluded.seq, written_at = now();
  PERFORM ${s}.move_record('jobs/running', p_target, p_id, NULL);
  DELETE FROM ${s}.records WHERE path = p_leases AND id = p_id;
  RETURN true;
END
$fn$;

-- One job transition, atomically: first every 'expect' (the record holds
-- exactly this text, or is absent for NULL; the row stays locked), then the
-- writes: 'put' (create or replace, as the newest), 'delete' (if present),
-- 'move' (to args[i], if present, keeping its place). Returns false, having
-- changed nothing, when an expectation does not hold.
CREATE FUNCTION ${s}.apply_ops(ops text[], paths text[], ids text[], args text[])
RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
  i int;
  found_content text;
BEGIN
  FOR i IN 1 .. coalesce(array_length(ops, 1), 0) LOOP
    CASE ops[i]
    WHEN 'expect' THEN
      SELECT content INTO found_content FROM ${s}.records
        WHERE path = paths[i] AND id = ids[i] FOR UPDATE;
      IF found_content IS DISTINCT FROM args[i] THEN
        RETURN false;
      END IF;
    WHEN 'put' THEN
      INSERT INTO ${s}.records (path, id, content, seq)
        VALUES (paths[i], ids[i], args[i], nextval('${s}.record_seq'))
        ON CONFLICT (path, id) DO UPDATE
        SET content = excluded.content, seq = excluded.seq, written_at = now();
    WHEN 'delete' THEN
      DELETE FROM ${s}.records WHERE path = paths[i] AND id = ids[i];
    WHEN 'move' THEN
      PERFORM ${s}.move_record(paths[i], args[i], ids[i], NULL);
    ELSE
      RAISE EXCEPTION 'unknown operation %', ops[i];
    END CASE;
  END LOOP;
  RETURN true;
END
$fn$;
`,
  ];
}

/**
 * The statements of the adapter and its transitions, for one schema.
 *
 * @example Look up a statement
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Statements, statements } from "./schema.ts";
 *
 * const sql: Statements = statements("lab");
 * assert(sql.list.includes("ORDER BY seq"));
 * ```
 */
export interface Statements {
  /** `$1` path, `$2` id, `$3` content; returns a row when created. */
  upload: string;
  /** Creates a record or replaces it: `$1` path, `$2` id, `$3` text. */
  put: string;
  /** `$1` path, `$2` id; returns `content`, `seq`. */
  get: string;
  /** `$1` path, `$2` id, `$3` content; returns a row when replaced. */
  update: string;
  /** `$1` path, `$2` id, `$3` content, `$4` the seq read; returns a row when replaced. */
  updateIfSame: string;
  /** `$1` path, `$2` id; returns a row when deleted. */
  delete: string;
  /** `$1` path, `$2` id, `$3` the seq read; returns a row when deleted. */
  deleteIfSame: string;
  /** `$1` from, `$2` to, `$3` id, `$4` seq or null; returns `moved`. */
  move: string;
  /** `$1` from, `$2` to, `$3` ids to skip; returns `id` (null when none). */
  moveOldest: string;
  /** `$1` path, `$2` ids to skip; returns `id`, `seq` of the oldest. */
  oldest: string;
  /** `$1` path; returns `id`, oldest first. */
  list: string;
  /** `$1` path, `$2` id; returns `ms`, when the record was last written. */
  writtenAt: string;
  /** `$1` id, `$2` paths; returns `path`, `content`. */
  snapshot: string;
  /** `$1` paths, `$2` ids (pairwise); returns `path`, `id`, `content`. */
  pairs: string;
  /** `$1` ops, `$2` paths, `$3` ids, `$4` args; returns `ok`. */
  apply: string;
  /** `$1` meta path, `$2` queue path, `$3` id, `$4` meta, `$5` job. */
  submit: string;
  /**
   * `$1` queue path, `$2` leases path, `$3` the lease's JSON after its
   * `job_id`, `$4` ids to leave; returns the candidate's `id` and whether it
   * was `claimed` (no row: the queue has no candidate).
   * {@linkcode Statements.claimOne} adds `$5`, the id.
   */
  claim: string;
  /** {@linkcode Statements.claim} of one given job. */
  claimOne: string;
  /** `$1` leases path, `$2` status path, `$3` id, `$4` token, `$5` status; returns `ok`. */
  reportFast: string;
  /**
   * `$1` leases path, `$2` status path, `$3` results path, `$4` target
   * folder, `$5` id, `$6` token, `$7` status, `$8` result or null, `$9` the
   * result's number of experiments; returns `ok`.
   */
  completeFast: string;
  /** `$1` leases path, `$2` the token, quoted as in JSON; returns `id`. */
  leaseWithToken: string;
  /** `$1` leases path; returns `id`, `content`, oldest first. */
  leases: string;
  /** `$1` leases path, `$2` status path, `$3` meta path; returns `id`. */
  unleased: string;
}

/**
 * The statements, for a schema whose name was checked. Every value is a
 * parameter (`$1`, `$2`, …); only the schema's name is part of the text.
 *
 * @param schema The schema.
 * @returns The statements.
 *
 * @example Values are parameters
 * ```ts
 * import assert from "node:assert/strict";
 * import { statements } from "./schema.ts";
 *
 * assert.equal(
 *   statements("lab").get,
 *   'SELECT content, seq FROM "lab".records WHERE path = $1 AND id = $2',
 * );
 * ```
 */
export function statements(schema: string): Statements {
  const t = `${quote(schema)}.records`;
  const seq = `nextval('${quote(schema)}.record_seq')`;
  // The oldest queued job that no other claim holds (SKIP LOCKED), found by
  // walking the (path, seq) index and stopping at the first; it is taken
  // only if it has no lease and no twin in jobs/running (left by another
  // tool). Such a blocked candidate is returned unclaimed, and the caller
  // asks again without it: filtering in the scan would make the planner
  // sort the whole queue instead of stopping at its head.
  const claim = (one: boolean) => `
WITH candidate AS (
  SELECT q.id FROM ${t} q
  WHERE q.path = $1${one ? " AND q.id = $5" : ""}
    AND NOT (q.id = ANY ($4::text[]))
  ORDER BY q.seq
  LIMIT 1
  FOR UPDATE OF q SKIP LOCKED
), free AS (
  SELECT c.id FROM candidate c
  WHERE NOT EXISTS (SELECT 1 FROM ${t} l WHERE l.path = $2 AND l.id = c.id)
    AND NOT EXISTS (
      SELECT 1 FROM ${t} r WHERE r.path = 'jobs/running' AND r.id = c.id
    )
), moved AS (
  UPDATE ${t} r SET path = 'jobs/running'
  FROM free WHERE r.path = $1 AND r.id = free.id
  RETURNING r.id
), leased AS (
  INSERT INTO ${t} (path, id, content, seq)
  SELECT $2, moved.id, '{"job_id":' || to_json(moved.id)::text || $3, ${seq}
  FROM moved
  RETURNING id
)
SELECT c.id, (SELECT count(*) FROM leased) > 0 AS claimed FROM candidate c`;
  return {
    upload:
      `INSERT INTO ${t} (path, id, content, seq) VALUES ($1, $2, $3, ${seq})
      ON CONFLICT (path, id) DO NOTHING RETURNING 1 AS created`,
    put: `INSERT INTO ${t} (path, id, content, seq) VALUES ($1, $2, $3, ${seq})
      ON CONFLICT (path, id) DO UPDATE
      SET content = excluded.content, seq = excluded.seq, written_at = now()`,
    get: `SELECT content, seq FROM ${t} WHERE path = $1 AND id = $2`,
    update: `UPDATE ${t} SET content = $3, seq = ${seq}, written_at = now()
      WHERE path = $1 AND id = $2 RETURNING 1 AS updated`,
    updateIfSame:
      `UPDATE ${t} SET content = $3, seq = ${seq}, written_at = now()
      WHERE path = $1 AND id = $2 AND seq = $4 RETURNING 1 AS updated`,
    delete:
      `DELETE FROM ${t} WHERE path = $1 AND id = $2 RETURNING 1 AS deleted`,
    deleteIfSame:
      `DELETE FROM ${t} WHERE path = $1 AND id = $2 AND seq = $3 RETURNING 1 AS deleted`,
    move: `SELECT ${
      quote(schema)
    }.move_record($1, $2, $3, $4::bigint) AS moved`,
    moveOldest: `SELECT ${quote(schema)}.move_oldest($1, $2, $3::text[]) AS id`,
    oldest: `SELECT id, seq FROM ${t}
      WHERE path = $1 AND NOT (id = ANY ($2::text[])) ORDER BY seq LIMIT 1`,
    list: `SELECT id FROM ${t} WHERE path = $1 ORDER BY seq`,
    writtenAt: `SELECT extract(epoch FROM written_at)::float8 * 1000 AS ms
      FROM ${t} WHERE path = $1 AND id = $2`,
    snapshot:
      `SELECT path, content FROM ${t} WHERE id = $1 AND path = ANY ($2::text[])`,
    pairs: `SELECT r.path, r.id, r.content FROM ${t} r
      JOIN unnest($1::text[], $2::text[]) AS k (path, id)
        ON r.path = k.path AND r.id = k.id`,
    apply: `SELECT ${
      quote(schema)
    }.apply_ops($1::text[], $2::text[], $3::text[], $4::text[]) AS ok`,
    submit: `INSERT INTO ${t} (path, id, content, seq)
      VALUES ($1, $3, $4, ${seq}), ($2, $3, $5, ${seq})`,
    claim: claim(false),
    claimOne: claim(true),
    reportFast: `SELECT ${quote(schema)}.report_fast($1, $2, $3, $4, $5) AS ok`,
    completeFast: `SELECT ${
      quote(schema)
    }.complete_fast($1, $2, $3, $4, $5, $6, $7, $8, $9::integer) AS ok`,
    leaseWithToken: `SELECT id FROM ${t}
      WHERE path = $1 AND strpos(content, $2) > 0`,
    leases: `SELECT id, content FROM ${t} WHERE path = $1 ORDER BY seq`,
    unleased: `SELECT r.id FROM ${t} r
      WHERE r.path = 'jobs/running'
        AND NOT EXISTS (SELECT 1 FROM ${t} l WHERE l.path = $1 AND l.id = r.id)
        AND (
          EXISTS (SELECT 1 FROM ${t} s WHERE s.path = $2 AND s.id = r.id)
          OR EXISTS (SELECT 1 FROM ${t} m WHERE m.path = $3 AND m.id = r.id)
        )
      ORDER BY r.seq`,
  };
}

/**
 * The statement that takes the migration lock, for the rest of the
 * migration's transaction: one advisory lock per schema (`$1`), so that
 * processes that start at once migrate one after the other.
 *
 * @example A transaction-scoped advisory lock
 * ```ts
 * import assert from "node:assert/strict";
 * import { MIGRATION_LOCK } from "./schema.ts";
 *
 * assert(MIGRATION_LOCK.startsWith("SELECT pg_advisory_xact_lock("));
 * ```
 */
export const MIGRATION_LOCK =
  "SELECT pg_advisory_xact_lock(7452013, hashtext($1))";
