// A peer for the conformance suite: a LocalAdapter in its own process over
// the folder given as the first argument, serving operations on stdin/stdout.

import { LocalAdapter } from "../../src/local_adapter.ts";
import { servePeer } from "../../src/testing/peer.ts";

const adapter = new LocalAdapter({
  basePath: Deno.args[0],
  rescanIntervalMs: 0,
});
try {
  await servePeer(adapter);
} finally {
  adapter.close();
}
