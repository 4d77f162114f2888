/**
 * The log of `work`: a line per job on stdout, warnings on stderr, and on a
 * terminal a live status line; with `--json`, one JSON object per event, in
 * snake_case.
 *
 * @module
 * @internal
 */

import type { WorkerEvent } from "../worker/types.ts";
import { formatDuration } from "./duration.ts";
import { clockTime, type Printer, snakeKeys } from "./print.ts";

/**
 * A worker's event as JSON: its time, and its fields in snake_case (the
 * `error` object is left out; its message is there).
 *
 * @param event The event.
 * @param time When it happened.
 * @returns The JSON object.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventJson } from "./worker_log.ts";
 *
 * const time = new Date("2026-11-28T10:00:00Z");
 * assert.deepEqual(
 *   eventJson({ type: "done", displayName: "spins", jobId: "a1", durationMs: 12 }, time),
 *   { time: "2026-11-28T10:00:00.000Z", type: "done", display_name: "spins", job_id: "a1", duration_ms: 12 },
 * );
 * ```
 */
export function eventJson(
  event: WorkerEvent,
  time: Date = new Date(),
): Record<string, unknown> {
  const { error: _error, ...fields } = event as WorkerEvent & {
    error?: unknown;
  };
  return { time: time.toISOString(), ...snakeKeys(fields) };
}

/** The worker's log; {@linkcode WorkerLog.close} clears the live line. */
export class WorkerLog {
  #out: Printer;
  #where: string;
  #live: boolean;
  #status = "";
  #counts = { done: 0, failed: 0 };
  #encoder = new TextEncoder();

  /**
   * Creates the log.
   *
   * @param out Where lines go; with `--json`, events as JSON lines.
   * @param where The storage, for the first line.
   * @param live Whether to keep a live status line (on a terminal).
   */
  constructor(out: Printer, where: string, live: boolean) {
    this.#out = out;
    this.#where = where;
    this.#live = live && !out.json;
  }

  /**
   * Logs one of the worker's events.
   *
   * @param event The event.
   */
  event(event: WorkerEvent): void {
    if (this.#out.json) {
      this.#out.item(eventJson(event), "");
      return;
    }
    switch (event.type) {
      case "started":
        return this.#line(
          `Worker started on ${this.#where} for ${
            event.backends.join(", ")
          }; Ctrl-C stops it.`,
        );
      case "recovered": {
        const { requeued, failed, completed, unleased } = event.report;
        return this.#line(
          `recovered ${event.displayName}: ${requeued.length} requeued, ${failed.length} failed, ${completed.length} completed, ${unleased.length} without a lease`,
        );
      }
      case "claimed":
        return this.#setStatus(`running ${event.displayName}/${event.jobId}`);
      case "lease":
        return;
      case "done":
        this.#counts.done++;
        return this.#line(
          `DONE   ${event.displayName}/${event.jobId}  ${
            formatDuration(event.durationMs)
          }`,
        );
      case "failed":
        this.#counts.failed++;
        return this.#line(
          `ERROR  ${event.displayName}/${event.jobId}  ${event.message}`,
        );
      case "released":
        return this.#line(`back in queue  ${event.displayName}/${event.jobId}`);
      case "error":
        return this.#line(`warning: ${event.message}`, true);
      case "idle":
        if (!this.#live) this.#line("idle: every queue is empty");
        return this.#setStatus("idle, waiting for jobs");
      case "stopped": {
        const { done, failed, released, errors } = event.summary;
        this.#setStatus("");
        return this.#line(
          `Stopped: ${done} done, ${failed} failed, ${released} released, ${errors} storage errors.`,
        );
      }
    }
  }

  /**
   * A message for the person at the terminal, on stderr; none with `--json`.
   *
   * @param text The message.
   */
  note(text: string): void {
    this.#clear();
    this.#out.note(`${clockTime()} ${text}`);
    this.#render();
  }

  /** Clears the live status line. */
  close(): void {
    this.#clear();
  }

  #line(text: string, warning = false): void {
    this.#clear();
    if (warning) this.#out.note(`${clockTime()} ${text}`);
    else this.#out.line(`${clockTime()} ${text}`);
    this.#render();
  }

  #setStatus(text: string): void {
    this.#status = text;
    this.#clear();
    this.#render();
  }

  #clear(): void {
    if (this.#live) Deno.stdout.writeSync(this.#encoder.encode("\r\x1b[K"));
  }

  #render(): void {
    if (!this.#live || this.#status === "") return;
    const { done, failed } = this.#counts;
    Deno.stdout.writeSync(
      this.#encoder.encode(
        `⏵ ${this.#status} · ${done} done, ${failed} failed`,
      ),
    );
  }
}
