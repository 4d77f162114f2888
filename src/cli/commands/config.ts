/**
 * `config <display>`: a backend's config: limits, instructions, liveness.
 *
 * @module
 * @internal
 */

import { backendDictToQiskitStatus, getConfig } from "../../backends.ts";
import { DISPLAY } from "../args.ts";
import type { Command, Context } from "../command.ts";
import { EXIT } from "../errors.ts";

/** The `config` command. */
export const configCommand: Command = {
  name: "config",
  args: [DISPLAY],
  summary: "Show a backend's config",
  details:
    "Shows the config of backend <display>: limits, instructions, liveness. With --json, the config as stored.",
  options: {},
  run,
};

async function run(context: Context): Promise<number> {
  const [displayName] = context.args;
  const { adapter } = await context.storage();
  const config = await getConfig(adapter, displayName);
  const status = backendDictToQiskitStatus(adapter.name, config);
  context.out.answer(config, () => [
    `${config.display_name} (${status.backend_name}), version ${config.version}`,
    `  ${config.description}`,
    `  ${
      config.simulator ? "simulator" : "hardware"
    }, ${config.cold_atom_type}, ${config.num_wires} wires (${config.wire_order}), ${config.num_species} species`,
    `  limits        ${config.max_experiments} experiments per job, ${config.max_shots} shots per experiment`,
    `  instructions  ${config.supported_instructions.join(", ") || "none"}`,
    `  gates         ${
      config.gates.map((gate) => gate.name).join(", ") || "none"
    }`,
    `  operational   ${status.operational ? "yes" : "no"}${
      config.last_queue_check === null
        ? ", queue never polled"
        : `, queue last polled ${config.last_queue_check}`
    }`,
    ...(config.sign ? [`  signs with    key ${config.kid ?? "(no kid)"}`] : []),
    ...(config.status_msg ? [`  message       ${config.status_msg}`] : []),
  ]);
  return EXIT.ok;
}
