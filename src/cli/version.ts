/**
 * The package's name and version, from its `deno.json`, imported as a JSON
 * module so that it is read the same way from the project's files and from
 * JSR.
 *
 * @module
 * @internal
 */

import config from "../../deno.json" with { type: "json" };

/** The package's name, e.g. `@sqooler/storage`. */
export const PACKAGE_NAME: string = config.name;

/** The package's version, e.g. `0.1.0`. */
export const PACKAGE_VERSION: string = config.version;
