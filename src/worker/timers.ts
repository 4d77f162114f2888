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
