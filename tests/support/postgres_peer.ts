// A peer for the conformance suite: a PostgresAdapter in its own process over
// the schema given as the first argument (the server from DATABASE_URL),
// serving operations on stdin/stdout.

import { PostgresAdapter } from "../../postgres.ts";
import { servePeer } from "../../src/testing/peer.ts";

const adapter = new PostgresAdapter({ schema: Deno.args[0] });
try {
  await servePeer(adapter);
} finally {
  await adapter.close();
}
