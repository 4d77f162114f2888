// Public keys in the storage (backends/public_keys/<kid>.json), and the
// worker's private key from SQOOLER_PRIVATE_JWK.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CONFIGS,
  createKeyPair,
  deletePublicKey,
  encodePrivateJwkEnv,
  getPublicKey,
  getPublicKeyFromKid,
  InvalidNameError,
  InvalidRecordError,
  type JwkPublic,
  LocalAdapter,
  MemoryAdapter,
  NotFoundError,
  privateJwkFromEnv,
  PUBLIC_KEYS,
  SQOOLER_PRIVATE_JWK,
  uploadConfig,
  uploadPublicKey,
} from "@sqooler/storage";
import { testBackendConfig } from "@sqooler/storage/testing";
import { CorruptRecordError } from "../src/errors.ts";
import { withStoreCopy, withTempDir } from "./support/folders.ts";
import { SIGNED_STORE } from "./support/sqooler09.ts";

/** A key given where the types do not allow it, as from a file or a request. */
function untyped(value: unknown): JwkPublic {
  return JSON.parse(JSON.stringify(value));
}

Deno.test("uploadPublicKey() stores the key in sqooler's layout, as the text sqooler writes", async () => {
  await withTempDir(async (basePath) => {
    const adapter = new LocalAdapter({ basePath });
    const { publicJwk } = await createKeyPair("labkey");
    // Fields in another order, key_ops as RFC 7517's array, no d.
    const given = untyped({
      crv: "Ed25519",
      kty: "OKP",
      x: publicJwk.x,
      kid: "labkey",
      key_ops: ["verify"],
    });
    const stored = await uploadPublicKey(adapter, given);
    assert.deepEqual(stored, publicJwk);
    const text = await Deno.readTextFile(
      join(basePath, PUBLIC_KEYS, "labkey.json"),
    );
    // pydantic's model_dump_json() of sqooler's JWK, as in the fixture store.
    assert.equal(text, JSON.stringify(publicJwk));
    const fixture = await Deno.readTextFile(
      join(SIGNED_STORE, PUBLIC_KEYS, "fermkey.json"),
    );
    assert.deepEqual(
      Object.keys(JSON.parse(text)),
      Object.keys(JSON.parse(fixture)),
    );
    assert.deepEqual(await getPublicKeyFromKid(adapter, "labkey"), publicJwk);
  });
});

Deno.test("uploadPublicKey() refuses a private key, whatever it looks like, and stores nothing", async () => {
  const adapter = new MemoryAdapter();
  const { privateJwk } = await createKeyPair("labkey");
  const privates = [
    privateJwk,
    { ...privateJwk, key_ops: "verify" },
    { ...privateJwk, key_ops: ["verify"] },
    { ...privateJwk, d: undefined, key_ops: "sign" },
    { ...privateJwk, d: undefined, key_ops: ["sign", "verify"] },
  ];
  for (const key of privates) {
    await assert.rejects(
      uploadPublicKey(adapter, untyped(key)),
      (error: unknown) => {
        assert(error instanceof InvalidRecordError, JSON.stringify(key));
        assert.match(error.message, /^Refused to store a private key/);
        assert(!error.message.includes(privateJwk.d));
        return true;
      },
    );
  }
  assert.deepEqual(await adapter.list(PUBLIC_KEYS), []);
});

Deno.test("uploadPublicKey() refuses keys that are not Ed25519 public JWKs, and kids that are not record ids", async () => {
  const adapter = new MemoryAdapter();
  const { publicJwk } = await createKeyPair("labkey");
  const invalid: unknown[] = [
    null,
    "key",
    [],
    { ...publicJwk, kid: undefined },
    { ...publicJwk, kty: "RSA" },
    { ...publicJwk, crv: "X25519" },
    { ...publicJwk, x: publicJwk.x.slice(4) },
    { ...publicJwk, key_ops: "encrypt" },
  ];
  for (const key of invalid) {
    await assert.rejects(
      uploadPublicKey(adapter, untyped(key)),
      InvalidRecordError,
      JSON.stringify(key),
    );
  }
  for (const kid of ["../labkey", "a/b", "", "k".repeat(129), "key.json"]) {
    await assert.rejects(
      uploadPublicKey(adapter, { ...publicJwk, kid }),
      InvalidNameError,
      kid,
    );
  }
  assert.deepEqual(await adapter.list(PUBLIC_KEYS), []);
});

Deno.test("uploadPublicKey() with a backend checks that its config names the key", async () => {
  const adapter = new MemoryAdapter();
  const { privateJwk, publicJwk } = await createKeyPair("labkey");
  const other = await createKeyPair("otherkey");
  await assert.rejects(
    uploadPublicKey(adapter, publicJwk, { displayName: "spins" }),
    NotFoundError,
  );
  await uploadConfig(adapter, testBackendConfig("spins", { sign: true }), {
    privateJwk,
  });
  await assert.rejects(
    uploadPublicKey(adapter, other.publicJwk, { displayName: "spins" }),
    (error: unknown) =>
      error instanceof InvalidRecordError &&
      error.message ===
        'Cannot store the public key "otherkey" for backend "spins": its config names the key "labkey"',
  );
  assert.deepEqual(await adapter.list(PUBLIC_KEYS), []);
  await uploadPublicKey(adapter, publicJwk, { displayName: "spins" });
  assert.deepEqual(await getPublicKey(adapter, "spins"), publicJwk);
});

Deno.test("uploadPublicKey() replaces a key with the same kid, as sqooler does", async () => {
  const adapter = new MemoryAdapter();
  const first = await createKeyPair("useralice");
  const second = await createKeyPair("useralice");
  await uploadPublicKey(adapter, first.publicJwk);
  await uploadPublicKey(adapter, second.publicJwk);
  assert.equal(
    (await getPublicKeyFromKid(adapter, "useralice")).x,
    second.publicJwk.x,
  );
  assert.deepEqual(await adapter.list(PUBLIC_KEYS), ["useralice"]);
});

Deno.test("getPublicKey() and getPublicKeyFromKid() read the keys of a store that sqooler signed", async () => {
  await withStoreCopy(SIGNED_STORE, async (basePath) => {
    const adapter = new LocalAdapter({ basePath, name: "fixture" });
    const stored = JSON.parse(
      await Deno.readTextFile(join(SIGNED_STORE, PUBLIC_KEYS, "fermkey.json")),
    );
    assert.deepEqual(await getPublicKey(adapter, "signed"), stored);
    assert.equal(
      (await getPublicKeyFromKid(adapter, "useralice")).kid,
      "useralice",
    );
    // The unsigned backend names no key.
    await assert.rejects(
      getPublicKey(adapter, "plain"),
      (error: unknown) =>
        error instanceof NotFoundError &&
        error.message ===
          'Backend "plain" has no public key: its config names none (kid is null)',
    );
  });
});

Deno.test("getPublicKey() refuses what it cannot trust: no key, a hostile kid, a private key or a broken key in the store", async () => {
  const adapter = new MemoryAdapter();
  const { privateJwk, publicJwk } = await createKeyPair("labkey");
  await assert.rejects(getPublicKey(adapter, "spins"), NotFoundError);
  await uploadConfig(adapter, testBackendConfig("spins", { sign: true }), {
    privateJwk,
  });
  // The config names a key that is not stored.
  await assert.rejects(
    getPublicKey(adapter, "spins"),
    (error: unknown) =>
      error instanceof NotFoundError &&
      /There is no public key "labkey"/.test(error.message),
  );
  // Another tool stored the private key where the public one belongs.
  await adapter.upload(PUBLIC_KEYS, "labkey", privateJwk);
  await assert.rejects(
    getPublicKey(adapter, "spins"),
    (error: unknown) =>
      error instanceof CorruptRecordError &&
      error.record === "backends/public_keys/labkey.json" &&
      !error.message.includes(privateJwk.d),
  );
  await adapter.update(PUBLIC_KEYS, "labkey", { ...publicJwk, crv: "P-256" });
  await assert.rejects(getPublicKey(adapter, "spins"), CorruptRecordError);
  // Another tool wrote a config whose kid would leave the folder.
  await adapter.upload(CONFIGS, "evil", {
    ...testBackendConfig("evil"),
    kid: "../configs/spins",
  });
  await assert.rejects(getPublicKey(adapter, "evil"), InvalidNameError);
  for (const kid of ["../x", "", "a/b", "x.json"]) {
    await assert.rejects(getPublicKeyFromKid(adapter, kid), InvalidNameError);
  }
});

Deno.test("deletePublicKey() removes a key, and says when there is none", async () => {
  const adapter = new MemoryAdapter();
  await uploadPublicKey(adapter, (await createKeyPair("useralice")).publicJwk);
  await deletePublicKey(adapter, "useralice");
  await assert.rejects(
    getPublicKeyFromKid(adapter, "useralice"),
    NotFoundError,
  );
  await assert.rejects(deletePublicKey(adapter, "useralice"), NotFoundError);
  await assert.rejects(deletePublicKey(adapter, "../x"), InvalidNameError);
});

Deno.test("privateJwkFromEnv() reads SQOOLER_PRIVATE_JWK, and is undefined when it is not set", async () => {
  const { privateJwk } = await createKeyPair("labkey");
  const env = new Map([[SQOOLER_PRIVATE_JWK, encodePrivateJwkEnv(privateJwk)]]);
  assert.deepEqual(privateJwkFromEnv(env), privateJwk);
  assert.equal(privateJwkFromEnv(new Map()), undefined);
  // sqooler's own variable is not read: the worker's is named for this library.
  assert.equal(
    privateJwkFromEnv(
      new Map([["PRIVATE_JWK_STR", encodePrivateJwkEnv(privateJwk)]]),
    ),
    undefined,
  );
});

Deno.test("privateJwkFromEnv() reads Deno.env by default", async () => {
  const { privateJwk } = await createKeyPair("labkey");
  const before = Deno.env.get(SQOOLER_PRIVATE_JWK);
  Deno.env.set(SQOOLER_PRIVATE_JWK, encodePrivateJwkEnv(privateJwk));
  try {
    assert.deepEqual(privateJwkFromEnv(), privateJwk);
  } finally {
    if (before === undefined) Deno.env.delete(SQOOLER_PRIVATE_JWK);
    else Deno.env.set(SQOOLER_PRIVATE_JWK, before);
  }
});

Deno.test("privateJwkFromEnv() refuses a value that is not a private key, naming the variable and never the value", async () => {
  const { privateJwk, publicJwk } = await createKeyPair("labkey");
  const encode = (text: string) =>
    btoa(text).replaceAll("+", "-").replaceAll("/", "_");
  const secret = encodePrivateJwkEnv(privateJwk);
  for (
    const value of [
      "",
      " ",
      secret.slice(0, -3),
      encode(JSON.stringify(publicJwk)),
      encode("not json"),
    ]
  ) {
    assert.throws(
      () => privateJwkFromEnv(new Map([[SQOOLER_PRIVATE_JWK, value]])),
      (error: unknown) => {
        assert(error instanceof InvalidRecordError);
        assert.match(error.message, /^SQOOLER_PRIVATE_JWK /);
        assert(!error.message.includes(privateJwk.d));
        assert(value.length < 8 || !error.message.includes(value.slice(0, 8)));
        return true;
      },
    );
  }
});
