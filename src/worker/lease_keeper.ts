/**
 * Keeping a worker's lease on a job while the job runs: it is extended every
 * third of its length, and looked at every second in between. When it is
 * lost (a recovery took it, or it could not be extended before it ran out),
 * or when the job was cancelled, the keeper's signal aborts (with a
 * {@linkcode LeaseLostError} or a {@linkcode JobCancelledError}), so that
 * the job's `execute` can stop.
 *
 * @module
 * @internal
 */

import type { StorageAdapter } from "../adapter.ts";
import { JobCancelledError, LeaseLostError } from "../errors.ts";
import { transitionsOf } from "../protocol.ts";
import { extendLease } from "../queue.ts";
import { type Lease, parseStoredTime } from "../schemas.ts";
import type { Clock, LeaseRef } from "../transitions.ts";
import { sleep } from "./timers.ts";

/** How often, at most, the keeper looks at the lease between extensions, in milliseconds. */
const CHECK_EVERY_MS = 1000;

/** What a {@linkcode LeaseKeeper} keeps, and whom it tells. */
export interface LeaseKeeperOptions {
  /** The job and the claim's token. */
  ref: Required<LeaseRef>;
  /** When the lease as the claim recorded it runs out, in milliseconds since the epoch. */
  expiresAt: number;
  /** The length each extension gives, in milliseconds. */
  leaseMs: number;
  /** The clock. */
  now: Clock;
  /** Called after each extension. */
  onExtended(lease: Lease): void;
  /** Called when an extension fails but the lease may still be good. */
  onError(error: unknown): void;
}

/** Extends one lease until stopped; see the module doc. */
export class LeaseKeeper {
  #adapter: StorageAdapter;
  #options: LeaseKeeperOptions;
  #expiresAt: number;
  #stopped = new AbortController();
  #lost = new AbortController();
  #running: Promise<void>;

  /**
   * Starts keeping a lease.
   *
   * @param adapter The storage.
   * @param options The lease, how long each extension gives, and the listeners.
   */
  constructor(adapter: StorageAdapter, options: LeaseKeeperOptions) {
    this.#adapter = adapter;
    this.#options = options;
    this.#expiresAt = options.expiresAt;
    this.#running = this.#keep();
  }

  /**
   * Aborted when the lease is lost (the reason is a {@linkcode LeaseLostError})
   * or the job was cancelled (a {@linkcode JobCancelledError}).
   */
  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  /**
   * Stops extending, after an extension in flight has finished.
   *
   * @returns A promise that resolves once nothing is in flight.
   */
  stop(): Promise<void> {
    this.#stopped.abort();
    return this.#running;
  }

  async #keep(): Promise<void> {
    const { ref, leaseMs, now } = this.#options;
    const extendEvery = Math.max(Math.floor(leaseMs / 3), 1);
    const tick = Math.min(extendEvery, CHECK_EVERY_MS);
    let extendedAt = performance.now();
    while (!this.#stopped.signal.aborted) {
      await sleep(tick, this.#stopped.signal);
      if (this.#stopped.signal.aborted) return;
      try {
        let lease: Lease | undefined;
        if (performance.now() - extendedAt >= extendEvery - 1) {
          lease = await extendLease(this.#adapter, { ...ref, leaseMs, now });
          extendedAt = performance.now();
          this.#expiresAt = parseStoredTime(lease.expires_at);
          this.#options.onExtended(lease);
        } else {
          lease = await transitionsOf(this.#adapter).lease(
            ref.displayName,
            ref.jobId,
          );
          if (lease?.token !== ref.token || lease.state !== "running") {
            return this.#lose(
              new LeaseLostError(
                `The lease on job ${ref.jobId} of ${ref.displayName} is no longer this worker's`,
              ),
            );
          }
        }
        if (lease.cancel_requested !== null) {
          this.#lost.abort(new JobCancelledError(lease.cancel_requested));
          return;
        }
      } catch (error) {
        if (error instanceof LeaseLostError) return this.#lose(error);
        this.#options.onError(error);
        if (now() > this.#expiresAt) {
          return this.#lose(
            new LeaseLostError(
              `The lease on job ${ref.jobId} of ${ref.displayName} ran out before it could be extended`,
              { cause: error },
            ),
          );
        }
      }
    }
  }

  #lose(error: LeaseLostError): void {
    this.#lost.abort(error);
  }
}
