/**
 * `keygen <kid>`: prints a new Ed25519 key pair for signing a backend's
 * config and results: the public JWK (sqooler's layout), and the private key
 * as `SQOOLER_PRIVATE_JWK=<base64url>`, the text sqooler's `PRIVATE_JWK_STR`
 * takes. It touches no storage.
 *
 * @module
 * @internal
 */

import { assertRecordId } from "../../names.ts";
import { createKeyPair, encodePrivateJwkEnv } from "../../signing.ts";
import type { Command, Context } from "../command.ts";
import { errorLine, EXIT, UsageError } from "../errors.ts";

/** The `keygen` command. */
export const keygenCommand: Command = {
  name: "keygen",
  args: [{ name: "kid", check: checkKid }],
  summary: "Print a new Ed25519 key pair for signing, named <kid>",
  details:
    "Makes a new Ed25519 key pair whose id is <kid> (1 to 128 letters, digits, _ or -) and prints the public key as JSON, in the layout sqooler stores at backends/public_keys/<kid>.json, and the private key as the line SQOOLER_PRIVATE_JWK=<base64url>, the value that sqooler's PRIVATE_JWK_STR takes, for the worker's environment. Keep the private key secret. With --json: { kid, public_jwk, sqooler_private_jwk }. It reads and writes no storage.",
  options: {},
  run,
};

/** A kid is checked as a record id, since it names the public key's file. */
function checkKid(kid: string): void {
  try {
    assertRecordId(kid);
  } catch (error) {
    throw new UsageError(errorLine(error).replace("record id", "kid"));
  }
}

async function run(context: Context): Promise<number> {
  const [kid] = context.args;
  const { privateJwk, publicJwk } = await createKeyPair(kid);
  const secret = encodePrivateJwkEnv(privateJwk);
  context.out.answer(
    { kid, public_jwk: publicJwk, sqooler_private_jwk: secret },
    () => [
      `# Public key ${kid}: publish it as backends/public_keys/${kid}.json`,
      JSON.stringify(publicJwk),
      "# Private key, for the worker's environment; keep it secret, never in the storage",
      `SQOOLER_PRIVATE_JWK=${secret}`,
    ],
  );
  return EXIT.ok;
}
