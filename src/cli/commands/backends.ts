/**
 * `backends`: every backend that has a config in the storage, with its long
 * name, version, liveness and queue length. A config that cannot be read is
 * listed as such, and the command then fails.
 *
 * @module
 * @internal
 */

import {
  backendDictToQiskitStatus,
  getBackends,
  getConfig,
} from "../../backends.ts";
import { SqoolerError } from "../../errors.ts";
import { queuedPath } from "../../layout.ts";
import { parseStoredTime } from "../../schemas.ts";
import type { Command, Context } from "../command.ts";
import { formatDuration } from "../duration.ts";
import { EXIT } from "../errors.ts";
import { plural, table } from "../print.ts";

/** A backend as `backends` shows it (keys as in its `--json` output). */
interface Row {
  display_name: string;
  backend_name?: string;
  version?: string;
  simulator?: boolean;
  operational?: boolean;
  last_queue_check?: string | number | null;
  queued?: number;
  status_msg?: string | null;
  /** Why its config cannot be read. */
  error?: string;
}

/** The `backends` command. */
export const backendsCommand: Command = {
  name: "backends",
  args: [],
  summary: "List the backends: version, liveness, queue length",
  details:
    "Lists every backend that has a config in the storage, with its long name, version, whether it is operational (a worker polled its queue in the last 5 minutes) and how many jobs wait. A config that cannot be read is listed with the reason, and the command fails.",
  options: {},
  run,
};

async function run(context: Context): Promise<number> {
  const { adapter, where } = await context.storage();
  const rows: Row[] = [];
  for (const displayName of (await getBackends(adapter)).toSorted()) {
    try {
      const config = await getConfig(adapter, displayName);
      const status = backendDictToQiskitStatus(adapter.name, config);
      rows.push({
        display_name: displayName,
        backend_name: status.backend_name,
        version: config.version,
        simulator: config.simulator,
        operational: status.operational,
        last_queue_check: config.last_queue_check,
        queued: (await adapter.list(queuedPath(displayName))).length,
        status_msg: config.status_msg,
      });
    } catch (error) {
      if (!(error instanceof SqoolerError)) throw error;
      rows.push({ display_name: displayName, error: error.message });
    }
  }
  context.out.answer(rows, () => text(rows, where));
  const broken = rows.filter((row) => row.error !== undefined).length;
  if (broken === 0) return EXIT.ok;
  context.out.error(
    `${plural(broken, "backend config")} ${
      broken === 1 ? "is" : "are"
    } unreadable; see above`,
  );
  return EXIT.failure;
}

function text(rows: Row[], where: string): string[] {
  if (rows.length === 0) return [`No backends in ${where}.`];
  return table([
    ["NAME", "BACKEND NAME", "VERSION", "OPERATIONAL", "QUEUED"],
    ...rows.map((row) =>
      row.error !== undefined
        ? [row.display_name, `unreadable: ${row.error}`, "", "", ""]
        : [
          row.display_name,
          String(row.backend_name),
          String(row.version),
          row.operational ? "yes" : `no ${liveness(row.last_queue_check)}`,
          String(row.queued),
        ]
    ),
  ]);
}

function liveness(check: string | number | null | undefined): string {
  const polled = check == null ? NaN : parseStoredTime(check);
  if (Number.isNaN(polled)) return "(never polled)";
  return `(last polled ${formatDuration(Date.now() - polled)} ago)`;
}
