// The Python reference of sqooler 0.9 (sqooler09_reference.py: pydantic
// models written from sqooler's schemes.py, Ed25519 from cryptography) for
// the tests, and the fixture stores that sqooler signed.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MemoryAdapter } from "../../mod.ts";
import { parseExactJson } from "../../src/json.ts";
import { FIXTURES, walkTree } from "./folders.ts";
import { SQOOLER_PYTHON } from "./python.ts";

const REFERENCE = fileURLToPath(
  new URL("./sqooler09_reference.py", import.meta.url),
);

/** The store that sqooler's v0.9 signed, with fermkey and a user's key. */
export const SIGNED_STORE: string = join(FIXTURES, "sqooler-signed", "store");

/** The store that sqooler's main branch signed, with floats and non-ASCII text. */
export const FLOATS_STORE: string = join(
  FIXTURES,
  "sqooler-signed-floats",
  "store",
);

/** Whether python3 has pydantic and cryptography, which the reference needs. */
export const HAS_PYTHON_REFERENCE: boolean = SQOOLER_PYTHON !== undefined;

/**
 * Sends one request to the Python reference and returns its answer.
 *
 * - `{ op: "verify", key, records }`: sqooler's verdict on each stored text
 *   (`null` where it raises).
 * - `{ op: "dumps", records }`: the header JSON and `json.dumps(payload)`
 *   that sqooler signs.
 * - `{ op: "read", base, provider }`: every config, status and result of a
 *   store, read and checked as sqooler 0.9's `LocalProviderExtended` does.
 */
export async function askReference<T>(request: unknown): Promise<T> {
  const child = new Deno.Command(SQOOLER_PYTHON!, {
    args: [REFERENCE],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(request)));
  await writer.close();
  const { success, stdout, stderr } = await child.output();
  if (!success) {
    throw new Error(
      `The Python reference failed: ${new TextDecoder().decode(stderr)}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(stdout)) as T;
}

/**
 * A MemoryAdapter that holds a copy of a store folder: every record is read
 * from its text with exact numbers, so that `1.0` stays `1.0`.
 */
export async function memoryCopyOf(
  store: string,
  name = "fixture",
): Promise<MemoryAdapter> {
  const adapter = new MemoryAdapter({ name });
  for await (const entry of walkTree(store)) {
    if (entry.isDirectory || !entry.name.endsWith(".json")) continue;
    const folder = entry.path.slice(store.length + 1, -entry.name.length - 1);
    await adapter.upload(
      folder,
      entry.name.slice(0, -".json".length),
      parseExactJson(await Deno.readTextFile(entry.path)) as object,
    );
  }
  return adapter;
}

/** Where the payload's value starts and ends in a stored JWS dict's text. */
export function payloadRegion(text: string): [number, number] {
  const start = text.search(/"payload": ?/);
  const from = text.indexOf("{", start);
  const end = text.lastIndexOf(`"signature"`);
  const to = text.lastIndexOf("}", end);
  if (start < 0 || from < 0 || to <= from) {
    throw new Error(`No payload in ${text.slice(0, 60)}`);
  }
  return [from, to + 1];
}

/** The text with the character at `at` replaced by another one. */
export function flip(text: string, at: number): string {
  const c = text[at];
  let next: string;
  if (/[0-8]/.test(c)) next = String(Number(c) + 1);
  else if (c === "9") next = "0";
  else if (/[a-y]/i.test(c)) next = String.fromCharCode(c.charCodeAt(0) + 1);
  else if (c === "z") next = "a";
  else if (c === "Z") next = "A";
  else next = "x";
  return text.slice(0, at) + next + text.slice(at + 1);
}
