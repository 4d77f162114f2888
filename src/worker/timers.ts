/**
 * Waiting, in steps that `setTimeout` can take: a delay above 2^31 − 1 ms
 * would overflow it and fire at once.
 *
 * @module
 * @internal
 */

/** The longest delay `setTimeout` keeps: about 24.8 days. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Waits `ms` milliseconds, or less when the signal aborts; any length, in
 * steps of at most {@linkcode MAX_TIMER_MS}.
 *
 * @param ms How long to wait.
 * @param signal Ends the wait early.
 * @returns A promise that resolves when the time is up or the signal aborts.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    let left = Math.max(ms, 0);
    let timer: ReturnType<typeof setTimeout>;
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const step = () => {
      if (left <= 0) return done();
      const now = Math.min(left, MAX_TIMER_MS);
      left -= now;
      timer = setTimeout(step, now);
    };
    signal.addEventListener("abort", done, { once: true });
    step();
  });
}

/**
 * Lets the event loop run its timers and I/O: a worker whose jobs and
 * storage calls all finish without waiting would otherwise hold the loop for
 * a whole drain. A message through a channel is a task of its own, and costs
 * some 20 µs where `setTimeout(0)` costs a millisecond or more.
 */
export class Yielder {
  #channel = new MessageChannel();
  #resolve: (() => void) | undefined;

  /** Opens the channel. */
  constructor() {
    this.#channel.port1.onmessage = () => this.#resolve?.();
  }

  /**
   * Waits for the next turn of the event loop.
   *
   * @returns A promise that resolves in a later task.
   */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.#resolve = resolve;
      this.#channel.port2.postMessage(null);
    });
  }

  /** Closes the channel, so that it no longer keeps the process alive. */
  close(): void {
    this.#channel.port1.close();
    this.#channel.port2.close();
  }
}
