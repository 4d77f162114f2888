/**
 * Lengths of time as people type and read them: `500ms`, `90s`, `10m`,
 * `1.5h`, `30d`.
 *
 * @module
 * @internal
 */

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** The longest duration accepted: 100 years, far below what a timer or a date can hold. */
const MAX_MS = 100 * 365 * UNITS.d;

/**
 * Reads a duration: a number (whole or decimal) and one unit of `ms`, `s`,
 * `m`, `h` or `d`.
 *
 * @param text The duration as typed, e.g. `10m`.
 * @returns The duration in whole milliseconds, or `undefined` when the text
 *   is not a duration (or longer than 100 years).
 *
 * @example Read durations
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./duration.ts";
 *
 * assert.equal(parseDuration("90s"), 90_000);
 * assert.equal(parseDuration("1.5h"), 5_400_000);
 * assert.equal(parseDuration("30d"), 2_592_000_000);
 * assert.equal(parseDuration("5 minutes"), undefined);
 * assert.equal(parseDuration("-1h"), undefined);
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (match === null) return undefined;
  const ms = Math.round(Number(match[1]) * UNITS[match[2]]);
  return ms <= MAX_MS ? ms : undefined;
}

/**
 * Writes a duration for people, in its two largest units: `850ms`, `12s`,
 * `3m 12s`, `2h 5m`, `3d 4h`.
 *
 * @param ms The duration in milliseconds; a negative one counts as 0.
 * @returns The text; `?` for a number that is not finite.
 *
 * @example Write durations
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "./duration.ts";
 *
 * assert.equal(formatDuration(850), "850ms");
 * assert.equal(formatDuration(192_000), "3m 12s");
 * assert.equal(formatDuration(7_500_000), "2h 5m");
 * assert.equal(formatDuration(30 * 86_400_000), "30d");
 * assert.equal(formatDuration(NaN), "?");
 * ```
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  if (ms < 1000) return `${Math.max(Math.round(ms), 0)}ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const [d, h, m, s] = [
    Math.floor(seconds / 86_400),
    Math.floor(seconds / 3600) % 24,
    Math.floor(seconds / 60) % 60,
    seconds % 60,
  ];
  // The larger unit, and the smaller one only when it is not zero.
  const pair = (big: string, small: number, unit: string) =>
    small > 0 ? `${big} ${small}${unit}` : big;
  if (d > 0) return pair(`${d}d`, h, "h");
  if (h > 0) return pair(`${h}h`, m, "m");
  return pair(`${m}m`, s, "s");
}
