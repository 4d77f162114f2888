/**
 * A peer: an adapter in another OS process, over the same storage, that runs
 * the document operations another process sends it. The conformance suite
 * races a peer against the adapter under test, to prove that the contract
 * holds across processes, not only across instances of one process.
 *
 * The peer process runs {@linkcode servePeer} on its own adapter; the test
 * process starts it with {@linkcode spawnPeer} and gets a
 * {@linkcode PeerHandle}. They speak JSON lines over the peer's stdin and
 * stdout: one line `{"operations": [...]}` per request, one line
 * `{"outcomes": [...]}` per answer, in order; the peer first writes
 * `{"ready": true}`.
 *
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import type { JsonObject, StorageAdapter } from "../adapter.ts";

/**
 * One document operation for a peer. `update` and `delete` can carry a
 * check in data form: with `expect`, the peer's `check` refuses unless the
 * current content deep-equals `expect` (the refusal's outcome has the error
 * name `"CheckRefused"`). `upload` can carry `overwrite`.
 */
export type PeerOperation =
  | {
    op: "upload";
    path: string;
    id: string;
    content: JsonObject;
    overwrite?: boolean;
  }
  | { op: "get"; path: string; id: string }
  | {
    op: "update";
    path: string;
    id: string;
    content: JsonObject;
    expect?: JsonObject;
  }
  | { op: "delete"; path: string; id: string; expect?: JsonObject }
  | { op: "move"; from: string; to: string; id: string }
  | { op: "moveOldest"; from: string; to: string }
  | { op: "list"; path: string };

/**
 * How an operation ended in the peer: its value (the content for `get`, the
 * ids for `list`, the id or `null` for `moveOldest`, else `null`), or the
 * error it threw, by class name.
 */
export type PeerOutcome =
  | { ok: true; value: unknown }
  | { ok: false; error: { name: string; message: string; code?: string } };

/** Operations sent to a peer, whose outcomes come later. */
export interface PeerRequest {
  /** One outcome per operation, in order, once the peer has run them all. */
  readonly outcomes: Promise<PeerOutcome[]>;
}

/**
 * The test process's side of a peer: another process with its own adapter
 * over the same storage.
 */
export interface PeerHandle {
  /**
   * Sends operations, which the peer runs one after the other. Resolves once
   * they are on their way, so that the caller can act while the peer runs
   * them; their outcomes come in `outcomes`.
   *
   * @param operations What the peer runs, in order.
   * @returns The request, whose `outcomes` settle when the peer is done.
   */
  send(operations: readonly PeerOperation[]): Promise<PeerRequest>;

  /**
   * Ends the peer process and waits for it.
   *
   * @returns A promise that settles once the process ended.
   * @throws {Error} When the process failed, with what it wrote to stderr.
   */
  close(): Promise<void>;
}

/** Where {@linkcode servePeer} reads requests and writes outcomes. */
export interface PeerStreams {
  /**
   * Where the requests come from, one JSON line each.
   *
   * @default {Deno.stdin.readable}
   */
  input?: ReadableStream<Uint8Array>;
  /**
   * Where the answers go, one JSON line each.
   *
   * @default {Deno.stdout.writable}
   */
  output?: WritableStream<Uint8Array>;
}

/**
 * The peer process's side: runs the operations that arrive on stdin against
 * `adapter`, and writes their outcomes to stdout, until stdin ends.
 *
 * @param adapter The peer's own adapter over the shared storage.
 * @param streams Other streams than stdin and stdout, e.g. in a test.
 * @returns A promise that settles when the input has ended.
 *
 * @example A peer script for an adapter
 * ```ts ignore
 * // peer.ts, started by spawnPeer({ args: ["run", "-A", "peer.ts", basePath] })
 * import { LocalAdapter } from "@sqooler/storage";
 * import { servePeer } from "@sqooler/storage/testing";
 *
 * await servePeer(new LocalAdapter({ basePath: Deno.args[0], rescanIntervalMs: 0 }));
 * ```
 *
 * @example Serve requests from a stream
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryAdapter } from "@sqooler/storage";
 * import { servePeer } from "@sqooler/storage/testing";
 *
 * const request = JSON.stringify({
 *   operations: [
 *     { op: "upload", path: "jobs/running", id: "job1", content: { v: 1 } },
 *     { op: "get", path: "jobs/running", id: "nothere" },
 *   ],
 * });
 * const input = ReadableStream.from([new TextEncoder().encode(request + "\n")]);
 * const lines: string[] = [];
 * const output = new WritableStream<Uint8Array>({
 *   write: (chunk) => void lines.push(new TextDecoder().decode(chunk)),
 * });
 * await servePeer(new MemoryAdapter(), { input, output });
 * const [ready, answer] = lines.join("").trim().split("\n").map((l) => JSON.parse(l));
 * assert.deepEqual(ready, { ready: true });
 * assert.deepEqual(answer.outcomes[0], { ok: true, value: null });
 * assert.equal(answer.outcomes[1].error.name, "NotFoundError");
 * ```
 */
export async function servePeer(
  adapter: StorageAdapter,
  streams: PeerStreams = {},
): Promise<void> {
  const input = streams.input ?? Deno.stdin.readable;
  const output = streams.output ?? Deno.stdout.writable;
  const writer = output.getWriter();
  const encoder = new TextEncoder();
  const write = (value: unknown) =>
    writer.write(encoder.encode(`${JSON.stringify(value)}\n`));
  await write({ ready: true });
  for await (const line of lines(input)) {
    if (line.trim() === "") continue;
    const { operations } = JSON.parse(line) as {
      operations: PeerOperation[];
    };
    const outcomes: PeerOutcome[] = [];
    for (const operation of operations) {
      outcomes.push(await perform(adapter, operation));
    }
    await write({ outcomes });
  }
  await writer.close();
}

/** What {@linkcode spawnPeer} starts. */
export interface SpawnPeerOptions {
  /**
   * The arguments of the `deno` executable that runs a peer script, which
   * calls {@linkcode servePeer}: e.g.
   * `["run", "--allow-read", "--allow-write", "peer.ts", basePath]`.
   */
  args: string[];
  /** The folder to run in. */
  cwd?: string;
  /** Variables on top of the inherited environment. */
  env?: Record<string, string>;
}

/**
 * Starts a peer process and waits until it is ready.
 *
 * @param options The `deno` command line of the peer script.
 * @returns The handle to send it operations.
 * @throws {Error} When the process ends before it is ready, with its stderr.
 *
 * @example Race a peer process over a folder
 * ```ts ignore
 * import { LocalAdapter } from "@sqooler/storage";
 * import { spawnPeer, testStorageAdapter } from "@sqooler/storage/testing";
 *
 * Deno.test("LocalAdapter conforms across processes", (t) =>
 *   testStorageAdapter<LocalAdapter>(t, {
 *     create: async () => new LocalAdapter({ basePath: await Deno.makeTempDir() }),
 *     peer: (adapter) => spawnPeer({ args: ["run", "-A", "peer.ts", adapter.basePath] }),
 *   }));
 * ```
 */
export async function spawnPeer(
  options: SpawnPeerOptions,
): Promise<PeerHandle> {
  const child = new Deno.Command(Deno.execPath(), {
    args: options.args,
    cwd: options.cwd,
    env: options.env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  const replies = lines(child.stdout)[Symbol.asyncIterator]();
  const failed = async (what: string) =>
    new Error(
      `The peer process (deno ${options.args.join(" ")}) ${what}: ${
        (await stderr).trim() || "it wrote nothing to stderr"
      }`,
    );
  const next = async (): Promise<unknown> => {
    const { value, done } = await replies.next();
    if (done) {
      await child.status;
      throw await failed("ended");
    }
    return JSON.parse(value);
  };
  let ready: unknown;
  try {
    ready = await next();
  } catch (error) {
    await writer.close().catch(() => {});
    throw error;
  }
  if (!isDeepStrictEqual(ready, { ready: true })) {
    throw await failed(`began with ${JSON.stringify(ready)}, not ready`);
  }
  // Answers come in the order of the requests.
  let answered: Promise<unknown> = Promise.resolve();
  const encoder = new TextEncoder();
  return {
    async send(operations) {
      const line = JSON.stringify({ operations });
      await writer.write(encoder.encode(`${line}\n`));
      const outcomes = answered.then(next).then((answer) =>
        (answer as { outcomes: PeerOutcome[] }).outcomes
      );
      answered = outcomes.catch(() => {});
      return { outcomes };
    },
    async close() {
      await writer.close();
      await answered;
      // The peer ends its output when its input ends.
      while (!(await replies.next()).done) { /* nothing more is expected */ }
      const status = await child.status;
      if (!status.success) throw await failed(`exited with ${status.code}`);
      await stderr;
    },
  };
}

/** Runs one operation and tells how it ended. */
async function perform(
  adapter: StorageAdapter,
  operation: PeerOperation,
): Promise<PeerOutcome> {
  try {
    return { ok: true, value: (await dispatch(adapter, operation)) ?? null };
  } catch (error) {
    const { name, message, code } = error as Error & { code?: unknown };
    return {
      ok: false,
      error: {
        name: String(name),
        message: String(message),
        ...(typeof code === "string" ? { code } : {}),
      },
    };
  }
}

function dispatch(adapter: StorageAdapter, operation: PeerOperation) {
  switch (operation.op) {
    case "upload":
      return adapter.upload(
        operation.path,
        operation.id,
        operation.content,
        operation.overwrite === undefined
          ? undefined
          : { overwrite: operation.overwrite },
      );
    case "get":
      return adapter.get(operation.path, operation.id);
    case "update":
      return adapter.update(
        operation.path,
        operation.id,
        operation.content,
        expecting(operation.expect),
      );
    case "delete":
      return adapter.delete(
        operation.path,
        operation.id,
        expecting(operation.expect),
      );
    case "move":
      return adapter.move(operation.from, operation.to, operation.id);
    case "moveOldest":
      return adapter.moveOldest(operation.from, operation.to);
    case "list":
      return adapter.list(operation.path);
    default:
      throw new TypeError(
        `Unknown operation ${
          JSON.stringify((operation as { op: unknown }).op)
        }`,
      );
  }
}

/** The check of an operation with `expect`. */
function expecting(expect: JsonObject | undefined) {
  if (expect === undefined) return undefined;
  return {
    check(current: JsonObject) {
      if (!isDeepStrictEqual(current, expect)) {
        const error = new Error(
          `Refused: the record holds ${JSON.stringify(current)}, not ${
            JSON.stringify(expect)
          }`,
        );
        error.name = "CheckRefused";
        throw error;
      }
    },
  };
}

/** The lines of a byte stream, without their line ends. */
async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let buffer = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    let end = buffer.indexOf("\n");
    while (end >= 0) {
      yield buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      end = buffer.indexOf("\n");
    }
  }
  if (buffer !== "") yield buffer;
}
