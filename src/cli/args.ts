/**
 * The positional arguments that several commands share, with their checks.
 *
 * @module
 * @internal
 */

import { assertDisplayName, assertJobId } from "../names.ts";
import type { ArgSpec } from "./command.ts";

/** `<display>`: a backend's display name. */
export const DISPLAY: ArgSpec = { name: "display", check: assertDisplayName };

/** `<job>`: a job's id. */
export const JOB: ArgSpec = { name: "job", check: assertJobId };
