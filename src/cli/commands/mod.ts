/**
 * Every command of the command line, in the order its help lists them.
 *
 * @module
 * @internal
 */

import type { Command } from "../command.ts";
import { backendsCommand } from "./backends.ts";
import { cancelCommand } from "./cancel.ts";
import { configCommand } from "./config.ts";
import { jobsCommand } from "./jobs.ts";
import { keygenCommand } from "./keygen.ts";
import { purgeCommand } from "./purge.ts";
import { queueCommand } from "./queue.ts";
import { recoverCommand } from "./recover.ts";
import { resultCommand } from "./result.ts";
import { retryCommand } from "./retry.ts";
import { statusCommand } from "./status.ts";
import { submitCommand } from "./submit.ts";
import { verifyCommand } from "./verify.ts";
import { workCommand } from "./work.ts";

/** The commands. */
export const COMMANDS: readonly Command[] = [
  backendsCommand,
  configCommand,
  submitCommand,
  statusCommand,
  resultCommand,
  verifyCommand,
  jobsCommand,
  queueCommand,
  cancelCommand,
  retryCommand,
  purgeCommand,
  recoverCommand,
  workCommand,
  keygenCommand,
];
