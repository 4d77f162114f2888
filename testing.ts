/**
 * Helpers for testing code that uses this library, and for proving that a new
 * {@linkcode StorageAdapter} behaves like the ones here.
 *
 * @module
 */

export {
  type ConformanceOptions,
  testStorageAdapter,
} from "./src/testing/conformance.ts";
export {
  type PeerHandle,
  type PeerOperation,
  type PeerOutcome,
  type PeerRequest,
  type PeerStreams,
  servePeer,
  spawnPeer,
  type SpawnPeerOptions,
} from "./src/testing/peer.ts";
export {
  createTestAdapter,
  type SeedJob,
  type SeedState,
  type TestAdapter,
  type TestAdapterOptions,
  testBackendConfig,
} from "./src/testing/seed.ts";
export {
  type FaultPlan,
  FaultyAdapter,
  PausePoint,
  storageFault,
  type StorageOperation,
} from "./src/testing/faults.ts";
export {
  type ProtocolConformanceOptions,
  testJobProtocol,
} from "./src/testing/protocol_conformance.ts";
