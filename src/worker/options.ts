/**
 * The worker's options, checked all at once before it touches the storage,
 * with their defaults filled in.
 *
 * @module
 * @internal
 */

import { records } from "../adapter.ts";
import { InvalidRecordError, SigningError } from "../errors.ts";
import { DEFAULT_LEASE_MS } from "../jobs.ts";
import { assertDisplayName, describeValue } from "../names.ts";
import { attemptsOption } from "../queue.ts";
import { clockOf, numberOption, parseInput } from "../records.ts";
import { type BackendConfigIn, BackendConfigInput } from "../schemas.ts";
import { JwkPrivate } from "../signing.ts";
import type { Clock } from "../transitions.ts";
import type { Backend, WorkerEvent, WorkerOptions } from "./types.ts";

/** A backend with its config checked. */
export interface Entry {
  displayName: string;
  config: BackendConfigIn;
  execute: Backend["execute"];
}

/** {@linkcode WorkerOptions}, checked, with the defaults filled in. */
export interface Settings {
  entries: Entry[];
  signal: AbortSignal;
  pollIntervalMs: number;
  untilIdle: boolean;
  leaseMs: number;
  recoverIntervalMs: number;
  recoverOlderThanMs: number | undefined;
  maxAttempts: number;
  maxBackoffMs: number;
  unreadableGraceMs: number;
  /** The private key, checked in shape (its `x` against its `d` by `runWorker`). */
  privateJwk: JwkPrivate | undefined;
  /** Calls the listener; never throws, never leaves a rejected promise. */
  emit: (event: WorkerEvent) => void;
  now: Clock;
}

const NEVER = new AbortController().signal;

/**
 * Checks every option of {@linkcode runWorker}.
 *
 * @throws {InvalidRecordError} When an option or a backend's config is not acceptable.
 * @throws {InvalidNameError} When a backend's display name is not acceptable.
 * @throws {SigningError} When a backend's config says `sign: true` and no private key is given, or names another key.
 */
export function checkOptions(options: WorkerOptions): Settings {
  const entries = checkBackends(options?.backends);
  const privateJwk = checkPrivateJwk(options.privateJwk, entries);
  const signal = options.signal ?? NEVER;
  if (!(signal instanceof AbortSignal)) {
    throw new InvalidRecordError(
      `Invalid signal ${describeValue(signal)}: expected an AbortSignal`,
    );
  }
  const listener: unknown = options.onEvent;
  if (listener !== undefined && typeof listener !== "function") {
    throw new InvalidRecordError(
      `Invalid onEvent ${describeValue(listener)}: expected a function`,
    );
  }
  const ms = (value: unknown, what: string, fallback: number, min = 0) =>
    numberOption(value, { what, fallback, min });
  return {
    entries,
    signal,
    pollIntervalMs: ms(options.pollIntervalMs, "poll interval", 1000),
    untilIdle: records.flag(options.untilIdle ?? false, "untilIdle"),
    leaseMs: ms(options.leaseMs, "lease length", DEFAULT_LEASE_MS, 1),
    recoverIntervalMs: ms(
      options.recoverIntervalMs,
      "recovery interval",
      60_000,
    ),
    recoverOlderThanMs: options.recoverOlderThanMs === undefined
      ? undefined
      : ms(options.recoverOlderThanMs, "recovery age", 0),
    maxAttempts: attemptsOption(options.maxAttempts),
    maxBackoffMs: ms(options.maxBackoffMs, "longest backoff", 30_000),
    unreadableGraceMs: ms(
      options.unreadableGraceMs,
      "grace for unreadable job files",
      60_000,
    ),
    privateJwk,
    emit: (event) => {
      try {
        const returned = (listener as WorkerOptions["onEvent"])?.(event);
        // A listener's failure is not the worker's: a rejection is dropped too.
        if (typeof (returned as PromiseLike<unknown>)?.then === "function") {
          Promise.resolve(returned).catch(() => {});
        }
      } catch {
        // See WorkerOptions.onEvent.
      }
    },
    now: clockOf(options),
  };
}

function checkBackends(backends: unknown): Entry[] {
  if (
    typeof backends !== "object" || backends === null ||
    Array.isArray(backends) || Object.keys(backends).length === 0
  ) {
    throw new InvalidRecordError(
      `Invalid backends ${
        describeValue(backends)
      }: expected an object mapping display names to { config, execute }`,
    );
  }
  return Object.entries(backends).map(([name, backend]) => {
    const displayName = assertDisplayName(name);
    if (
      typeof backend !== "object" || backend === null ||
      typeof backend.execute !== "function"
    ) {
      throw new InvalidRecordError(
        `Invalid backend ${displayName}: expected { config, execute } with execute a function`,
      );
    }
    const config = parseInput(
      backend.config,
      `config of backend ${displayName}`,
      BackendConfigInput,
    );
    if (config.display_name !== displayName) {
      throw new InvalidRecordError(
        `Invalid backend ${displayName}: its config's display_name is ${
          describeValue(config.display_name)
        }; they must be the same`,
      );
    }
    return { displayName, config, execute: backend.execute };
  });
}

/**
 * Checks the private key's shape, and that every backend that signs has it
 * and names no other key.
 */
function checkPrivateJwk(
  value: unknown,
  entries: Entry[],
): JwkPrivate | undefined {
  if (value === undefined) {
    const signing = entries.filter((entry) => entry.config.sign);
    if (signing.length > 0) {
      throw new SigningError(
        `Cannot run backend${signing.length === 1 ? "" : "s"} ${
          signing.map((entry) => entry.displayName).join(", ")
        }: ${
          signing.length === 1 ? "its config says" : "their configs say"
        } sign: true, so configs and results must be signed, and the worker has no privateJwk (set SQOOLER_PRIVATE_JWK)`,
      );
    }
    return undefined;
  }
  // No cause: zod's issues could quote the secret.
  if (!JwkPrivate.safeParse(value).success) {
    throw new InvalidRecordError(
      "Invalid privateJwk: expected an Ed25519 private JWK { kty, crv, x, d, kid }",
    );
  }
  const key = value as JwkPrivate;
  for (const { displayName, config } of entries) {
    if (config.sign && config.kid !== null && config.kid !== key.kid) {
      throw new SigningError(
        `Cannot run backend ${displayName}: its config names the key ${
          describeValue(config.kid)
        }, but the worker's private key is ${describeValue(key.kid)}`,
      );
    }
  }
  return key;
}
