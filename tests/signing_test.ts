// Tests of src/signing.ts: sqooler 0.9's Ed25519 signatures, against the
// records sqooler signed and, where python3 has pydantic and cryptography,
// against a Python verifier and signer written from sqooler's format.

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { InvalidNameError, InvalidRecordError } from "../src/errors.ts";
import {
  parseExactJson,
  parseJson,
  pythonDumps,
  stringifyJson,
} from "../src/json.ts";
import {
  createKeyPair,
  decodePrivateJwkEnv,
  encodePrivateJwkEnv,
  JwkPrivate,
  JwkPublic,
  type JwsDict,
  publicFromPrivate,
  signPayload,
  verifySignature,
} from "../src/signing.ts";
import { SQOOLER_PYTHON } from "./support/python.ts";
import { flip, payloadRegion } from "./support/sqooler09.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const SIGNED = `${FIXTURES}sqooler-signed/store/`;
const FLOATS = `${FIXTURES}sqooler-signed-floats/store/`;

/** The signed records of both fixture stores, with their public keys. */
const SIGNED_RECORDS = [
  { record: `${SIGNED}backends/configs/signed.json`, key: "fermkey" },
  {
    record: `${SIGNED}results/signed/de6953badf344d05a0a31a40.json`,
    key: "fermkey",
  },
  { record: `${FLOATS}backends/configs/floats.json`, key: "floatkey" },
  {
    record: `${FLOATS}results/floats/0123456789abcdef01234567.json`,
    key: "floatkey",
  },
].map(({ record, key }) => ({
  path: record,
  text: Deno.readTextFileSync(record),
  key: parseJson(
    Deno.readTextFileSync(
      `${
        record.startsWith(SIGNED) ? SIGNED : FLOATS
      }backends/public_keys/${key}.json`,
    ),
  ) as JwkPublic,
}));

// A result payload as stored text: the floats that printers disagree on,
// non-ASCII text (raw, as stringifyJson() writes it), nested lists, and keys
// that JavaScript would put first.
const FLOAT_PAYLOAD =
  `{"backend_name": null, "display_name": "floats", "backend_version": "0.2.0", "job_id": "feedfacefeedfacefeedface", "qobj_id": null, "success": true, "status": "DONE", "header": {"note": "Zürich – ½ µK ✓ 🧊 \\"quoted\\" \\\\ \\n", "one": 1.0, "negzero": -0.0, "tiny": 1e-05, "tenth": 0.1, "huge": 1e+22, "exact": 123456789.125, "big": 18446744073709551616, "nested": [[1.5, 2.0, [-0.0, [1e-05]]], {"angle": 0.7853981633974483, "empty": []}], "b": 1, "10": 2, "2": 3}, "results": [{"header": {"name": "experiment_0"}, "shots": 2, "success": true, "data": {"memory": ["0 1", "1 0"], "instructions": null}}]}`;

// ---------------------------------------------------------------------------
// The Python side

const HAS_PYTHON_CRYPTO = SQOOLER_PYTHON !== undefined;

// A verifier and signer written from sqooler's format (security.py): the
// header as pydantic's model_dump_json(), the payload as json.dumps(), both
// in urlsafe base64 with padding, joined by ".".
const SQOOLER_SCRIPT = String.raw`
import base64, binascii, json, sys
from typing import Literal, Optional
from pydantic import BaseModel
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

class Header(BaseModel):
    alg: str = "EdDSA"
    kid: str
    typ: str = "JWS"
    version: str = "0.1"

class Key(BaseModel):
    x: bytes
    key_ops: Literal["sign", "verify"]
    kid: str
    d: Optional[bytes] = None
    kty: Literal["OKP"] = "OKP"
    alg: Literal["EdDSA"] = "EdDSA"
    crv: Literal["Ed25519"] = "Ed25519"

class Signed(BaseModel):
    header: Header
    payload: dict
    signature: str

def message(header, payload):
    return (base64.urlsafe_b64encode(header.model_dump_json().encode()) + b"."
            + base64.urlsafe_b64encode(json.dumps(payload).encode()))

def config_str(key):
    return base64.urlsafe_b64encode(key.model_dump_json().encode()).decode()

def from_config_str(text):
    return Key(**json.loads(base64.urlsafe_b64decode(text.encode()).decode()))

def verify(text, key):
    # True or False as sqooler's verify_signature answers; None where it raises.
    try:
        signed = Signed(**json.loads(text))
        public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(key.x))
        public.verify(base64.urlsafe_b64decode(signed.signature), message(signed.header, signed.payload))
        return True
    except InvalidSignature:
        return False
    except (ValueError, TypeError, binascii.Error):
        return None

for line in sys.stdin:
    request = json.loads(line)
    op = request["op"]
    if op == "verify":
        key = Key.model_validate_json(request["key"])
        answer = [verify(text, key) for text in request["records"]]
    elif op == "parts":
        answer = []
        for text in request["records"]:
            record = json.loads(text)
            answer.append({
                "header": record["header"],
                "headerJson": Header(**record["header"]).model_dump_json(),
                "payloadDumps": json.dumps(record["payload"]),
                "signature": record["signature"],
            })
    elif op == "keyPair":
        private = Ed25519PrivateKey.generate()
        x = base64.urlsafe_b64encode(private.public_key().public_bytes_raw())
        d = base64.urlsafe_b64encode(private.private_bytes_raw())
        answer = {
            "env": config_str(Key(key_ops="sign", kid=request["kid"], d=d, x=x)),
            "public": Key(key_ops="verify", kid=request["kid"], x=x).model_dump_json(),
        }
    elif op == "configStr":
        answer = config_str(Key.model_validate_json(request["key"]))
    elif op == "sign":
        key = from_config_str(request["env"])
        private = Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(key.d))
        answer = []
        for text in request["payloads"]:
            payload = json.loads(text)
            header = Header(kid=key.kid)
            signature = base64.urlsafe_b64encode(private.sign(message(header, payload))).decode()
            answer.append(json.dumps({"header": header.model_dump(), "payload": payload, "signature": signature}))
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
`;

/**
 * Runs the Python side in one process; `ask(request)` sends one request line
 * and reads one answer line.
 */
async function withSqoolerPython<T>(
  talk: (ask: (request: unknown) => Promise<unknown>) => Promise<T>,
): Promise<T> {
  const child = new Deno.Command(SQOOLER_PYTHON!, {
    args: ["-c", SQOOLER_SCRIPT],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const ask = async (request: unknown): Promise<unknown> => {
    await writer.write(
      new TextEncoder().encode(JSON.stringify(request) + "\n"),
    );
    while (!buffered.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) {
        const err = await new Response(child.stderr).text();
        throw new Error(`python3 ended: ${err}`);
      }
      buffered += value;
    }
    const end = buffered.indexOf("\n");
    const line = buffered.slice(0, end);
    buffered = buffered.slice(end + 1);
    return JSON.parse(line);
  };
  try {
    return await talk(ask);
  } finally {
    await writer.close();
    await reader.cancel();
    await child.stderr.cancel();
    await child.status;
  }
}

// ---------------------------------------------------------------------------
// A reference verifier, from the fixture README alone

function base64UrlPadded(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll(
    "/",
    "_",
  );
}

function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(
    atob(text.replaceAll("-", "+").replaceAll("_", "/")),
    (c) => c.charCodeAt(0),
  );
}

/** What Python reads from a stored signed record. */
interface Parts {
  header: { alg: string; kid: string; typ: string; version: string };
  headerJson: string;
  payloadDumps: string;
  signature: string;
}

/**
 * Checks a signature the way the fixture README says:
 * `b64url_padded(compact header JSON) + "." + b64url_padded(payload as
 * Python json.dumps prints it)`, with the parts of the record as Python read
 * them, so that nothing here depends on pythonDumps() or verifySignature().
 */
async function referenceVerify(
  parts: Parts,
  publicJwk: JwkPublic,
  payloadDumps = parts.payloadDumps,
): Promise<boolean> {
  const { alg, kid, typ, version } = parts.header;
  const headerJson =
    `{"alg":"${alg}","kid":"${kid}","typ":"${typ}","version":"${version}"}`;
  const encoder = new TextEncoder();
  const input = encoder.encode(
    `${base64UrlPadded(encoder.encode(headerJson))}.${
      base64UrlPadded(encoder.encode(payloadDumps))
    }`,
  );
  const key = await crypto.subtle.importKey(
    "raw",
    base64UrlBytes(publicJwk.x),
    { name: "Ed25519" },
    false,
    ["verify"],
  );
  return await crypto.subtle.verify(
    "Ed25519",
    key,
    base64UrlBytes(parts.signature),
    input,
  );
}

// ---------------------------------------------------------------------------
// Records that sqooler signed

Deno.test("verifySignature() accepts the signed configs and results of both sqooler fixture stores, from their stored text", async () => {
  for (const { path, text, key } of SIGNED_RECORDS) {
    assert.equal(await verifySignature(text, key), true, path);
    // The same from a record read exactly.
    assert.equal(
      await verifySignature(parseExactJson(text) as JwsDict, key),
      true,
      path,
    );
  }
});

Deno.test({
  name:
    "The fixture records verify with a reference verifier built from the fixture README alone",
  ignore: !HAS_PYTHON_CRYPTO,
  async fn() {
    await withSqoolerPython(async (ask) => {
      const parts = await ask({
        op: "parts",
        records: SIGNED_RECORDS.map((record) => record.text),
      }) as Parts[];
      for (let i = 0; i < parts.length; i++) {
        assert.equal(
          await referenceVerify(parts[i], SIGNED_RECORDS[i].key),
          true,
          SIGNED_RECORDS[i].path,
        );
        // The payload as this library prints it is Python's, byte for byte.
        const record = parseExactJson(SIGNED_RECORDS[i].text) as JwsDict;
        assert.equal(pythonDumps(record.payload), parts[i].payloadDumps);
      }
    });
  },
});

Deno.test("verifySignature() needs the stored text (or an exact parse) where a payload holds 1.0 or -0.0", async () => {
  const { text, key } = SIGNED_RECORDS[3];
  assert(text.includes('"one": 1.0') && text.includes('"negzero": -0.0'));
  assert.equal(await verifySignature(parseJson(text) as JwsDict, key), false);
  assert.equal(await verifySignature(text, key), true);
});

Deno.test("verifySignature() rejects a payload with one changed character, at every position of the payload", async () => {
  let changed = 0;
  for (const { path, text, key } of SIGNED_RECORDS) {
    const [start, end] = payloadRegion(text);
    for (let at = start; at < end; at++) {
      const mutant = flip(text, at);
      let verified: boolean;
      try {
        verified = await verifySignature(mutant, key);
      } catch (error) {
        // The text no longer parses as a JWS dict.
        assert(error instanceof InvalidRecordError, `${path} at ${at}`);
        verified = false;
      }
      assert.equal(
        verified,
        false,
        `${path}: ${mutant.slice(at - 20, at + 20)}`,
      );
      changed++;
    }
  }
  assert(changed > 1500, `${changed}`);
});

Deno.test({
  name:
    "verifySignature() agrees with a Python verifier written from sqooler's format on every one-character change of the fixture records",
  ignore: !HAS_PYTHON_CRYPTO,
  async fn() {
    await withSqoolerPython(async (ask) => {
      for (const { path, text, key } of SIGNED_RECORDS) {
        const mutants = [text];
        for (let at = 0; at < text.length; at++) mutants.push(flip(text, at));
        const python = await ask({
          op: "verify",
          key: JSON.stringify(key),
          records: mutants,
        }) as (boolean | null)[];
        assert.equal(python[0], true, path);
        for (let i = 0; i < mutants.length; i++) {
          const ours = await verifySignature(mutants[i], key).catch(() => null);
          assert.equal(
            ours === true,
            python[i] === true,
            `${path}: ${mutants[i].slice(i - 20, i + 20)}`,
          );
        }
      }
    });
  },
});

Deno.test("verifySignature() returns false for a signature made with another key", async () => {
  const { text } = SIGNED_RECORDS[1];
  const alice = parseJson(
    await Deno.readTextFile(`${SIGNED}backends/public_keys/useralice.json`),
  ) as JwkPublic;
  assert.equal(await verifySignature(text, alice), false);

  const signer = await createKeyPair("signer");
  const other = await createKeyPair("signer");
  const jws = await signPayload({ job_id: "abc", shots: 2 }, signer.privateJwk);
  assert.equal(await verifySignature(jws, signer.publicJwk), true);
  assert.equal(await verifySignature(jws, other.publicJwk), false);
  assert.equal(
    await verifySignature(stringifyJson(jws), other.publicJwk),
    false,
  );
});

Deno.test("verifySignature() returns false for a signature that is not 64 bytes of base64url", async () => {
  const { text, key } = SIGNED_RECORDS[0];
  const record = parseExactJson(text) as JwsDict;
  for (
    const signature of [
      "",
      "abc",
      record.signature.slice(0, -4),
      "!".repeat(88),
    ]
  ) {
    assert.equal(await verifySignature({ ...record, signature }, key), false);
  }
});

Deno.test("verifySignature() refuses an unsigned record, a record that is not JSON and a header that is not sqooler's", async () => {
  const key = SIGNED_RECORDS[1].key;
  const unsigned = await Deno.readTextFile(
    `${SIGNED}results/plain/334eea6ed5ea442bb43197fc.json`,
  );
  await assert.rejects(
    verifySignature(unsigned, key),
    (error: unknown) =>
      error instanceof InvalidRecordError &&
      /no payload, signature \(an unsigned record\?\)/.test(error.message),
  );
  const signed = parseExactJson(SIGNED_RECORDS[1].text) as JwsDict;
  const bad: unknown[] = [
    "{not json",
    "[]",
    "null",
    { ...signed, payload: [] },
    { ...signed, signature: 42 },
    { ...signed, header: { ...signed.header, alg: "none" } },
    { ...signed, header: { ...signed.header, kid: "../fermkey" } },
    { ...signed, header: { alg: "EdDSA" } },
  ];
  for (const record of bad) {
    await assert.rejects(
      verifySignature(record as JwsDict, key),
      InvalidRecordError,
      JSON.stringify(record),
    );
  }
});

Deno.test("verifySignature() refuses a private key where a public one is expected, and keys that are not Ed25519 JWKs", async () => {
  const { text } = SIGNED_RECORDS[0];
  const { privateJwk, publicJwk } = await createKeyPair("refused");
  await assert.rejects(
    verifySignature(text, privateJwk as unknown as JwkPublic),
    (error: unknown) =>
      error instanceof InvalidRecordError &&
      error.message.startsWith(
        "A private key was given where a public key is expected",
      ),
  );
  const notEd25519: unknown[] = [
    null,
    "key",
    { ...publicJwk, kty: "RSA" },
    { ...publicJwk, crv: "X25519" },
    { ...publicJwk, crv: "P-256", kty: "EC" },
    { ...publicJwk, x: publicJwk.x.slice(4) },
    { ...publicJwk, x: undefined },
    { ...publicJwk, kid: "a/b" },
    { ...publicJwk, key_ops: "encrypt" },
  ];
  for (const key of notEd25519) {
    await assert.rejects(
      verifySignature(text, key as JwkPublic),
      InvalidRecordError,
      JSON.stringify(key),
    );
  }
});

// ---------------------------------------------------------------------------
// Records signed here

Deno.test({
  name:
    "A result signed here verifies with a reference verifier built from the fixture README, over Python's json.dumps of the stored payload",
  ignore: !HAS_PYTHON_CRYPTO,
  async fn() {
    const { privateJwk, publicJwk } = await createKeyPair("labkey");
    const payloads: object[] = [
      parseExactJson(FLOAT_PAYLOAD) as object,
      {
        job_id: "0123456789abcdef01234567",
        angle: 0.1,
        huge: 1e22,
        negzero: -0,
        int: 7,
        nan: NaN,
        note: "Zürich ✓ 🧊",
        lists: [[1.5, 2], [], [[null]]],
      },
    ];
    const stored: string[] = [];
    for (const payload of payloads) {
      const jws = await signPayload(payload, privateJwk);
      assert.deepEqual(jws.header, {
        alg: "EdDSA",
        kid: "labkey",
        typ: "JWS",
        version: "0.1",
      });
      stored.push(stringifyJson(jws));
    }
    // The stored payload of the exact record keeps 1.0, -0.0 and key order.
    assert(stored[0].includes('"one":1.0,"negzero":-0.0'));
    assert(stored[0].includes('"b":1,"10":2,"2":3'));

    await withSqoolerPython(async (ask) => {
      const parts = await ask({ op: "parts", records: stored }) as Parts[];
      const python = await ask({
        op: "verify",
        key: JSON.stringify(publicJwk),
        records: stored,
      }) as (boolean | null)[];
      for (let i = 0; i < stored.length; i++) {
        // pydantic's compact header JSON, as sqooler signs it.
        assert.equal(
          parts[i].headerJson,
          '{"alg":"EdDSA","kid":"labkey","typ":"JWS","version":"0.1"}',
        );
        assert.equal(await referenceVerify(parts[i], publicJwk), true);
        assert.equal(python[i], true, stored[i]);
        assert.equal(await verifySignature(stored[i], publicJwk), true);
        // Another payload under the same signature fails the reference.
        assert.equal(
          await referenceVerify(
            parts[i],
            publicJwk,
            parts[i].payloadDumps.replace("1", "2"),
          ),
          false,
        );
      }
      const dumps = parts.map((part) => part.payloadDumps);
      assert.equal(dumps[0], pythonDumps(parseExactJson(FLOAT_PAYLOAD)));
      assert(dumps[0].includes(
        '"one": 1.0, "negzero": -0.0, "tiny": 1e-05, "tenth": 0.1, "huge": 1e+22, "exact": 123456789.125, "big": 18446744073709551616',
      ));
      assert(dumps[0].includes('"note": "Z\\u00fcrich \\u2013'));
      assert(dumps[0].includes('"b": 1, "10": 2, "2": 3}'));
    });
  },
});

Deno.test({
  name:
    "Records that a Python signer signs with a PRIVATE_JWK_STR verify here, and carry the very signature this library makes with that key",
  ignore: !HAS_PYTHON_CRYPTO,
  async fn() {
    await withSqoolerPython(async (ask) => {
      const pair = await ask({ op: "keyPair", kid: "pykey" }) as {
        env: string;
        public: string;
      };
      const privateJwk = decodePrivateJwkEnv(pair.env);
      const publicJwk = parseJson(pair.public) as JwkPublic;
      assert.deepEqual(await publicFromPrivate(privateJwk), publicJwk);
      const payloadTexts = [FLOAT_PAYLOAD, '{"a": NaN, "0": [Infinity]}'];
      const signed = await ask({
        op: "sign",
        env: pair.env,
        payloads: payloadTexts,
      }) as string[];
      for (let i = 0; i < signed.length; i++) {
        assert.equal(await verifySignature(signed[i], publicJwk), true);
        // Ed25519 signatures are deterministic: the same key and bytes give
        // the same signature.
        const ours = await signPayload(
          parseExactJson(payloadTexts[i]) as object,
          privateJwk,
        );
        assert.equal(
          ours.signature,
          (parseJson(signed[i]) as JwsDict).signature,
        );
      }
      // And this library's PRIVATE_JWK_STR is Python's, byte for byte.
      const made = await createKeyPair("samekey");
      assert.equal(
        encodePrivateJwkEnv(made.privateJwk),
        await ask({ op: "configStr", key: JSON.stringify(made.privateJwk) }),
      );
    });
  },
});

Deno.test("signPayload() refuses a payload that is not an object and keys that are not private Ed25519 JWKs", async () => {
  const { privateJwk, publicJwk } = await createKeyPair("signer");
  for (const payload of [null, [], "text", 42]) {
    await assert.rejects(
      signPayload(payload as object, privateJwk),
      InvalidRecordError,
    );
  }
  const loop: Record<string, unknown> = {};
  loop.self = loop;
  await assert.rejects(signPayload(loop, privateJwk), InvalidRecordError);
  await assert.rejects(
    signPayload({ a: 1 }, publicJwk as unknown as JwkPrivate),
    /no private part d/,
  );
  const other = await createKeyPair("other");
  await assert.rejects(
    signPayload({ a: 1 }, { ...privateJwk, x: other.publicJwk.x }),
    /x is not the public key of d/,
  );
  await assert.rejects(
    signPayload({ a: 1 }, { ...privateJwk, kid: "no/slash" }),
    InvalidRecordError,
  );
});

// ---------------------------------------------------------------------------
// Keys

Deno.test("createKeyPair() makes keys in sqooler's JWK layout, padded base64url", async () => {
  const { privateJwk, publicJwk } = await createKeyPair("fermkey2");
  const stored = parseJson(
    await Deno.readTextFile(`${SIGNED}backends/public_keys/fermkey.json`),
  ) as JwkPublic;
  assert.deepEqual(Object.keys(publicJwk), Object.keys(stored));
  assert.deepEqual(Object.keys(privateJwk), Object.keys(stored));
  assert.equal(publicJwk.d, null);
  assert.equal(publicJwk.key_ops, "verify");
  assert.equal(privateJwk.key_ops, "sign");
  assert.match(publicJwk.x, /^[A-Za-z0-9_-]{43}=$/);
  assert.match(privateJwk.d, /^[A-Za-z0-9_-]{43}=$/);
  assert.equal(privateJwk.x, publicJwk.x);
  assert(JwkPublic.safeParse(publicJwk).success);
  assert(JwkPrivate.safeParse(privateJwk).success);
  assert(!JwkPublic.safeParse(privateJwk).success);
  assert(JwkPublic.safeParse(stored).success);
});

Deno.test("createKeyPair() checks the kid like any record id", async () => {
  for (const kid of ["", "../keys", "a b", "k".repeat(129), "fermkey.json"]) {
    await assert.rejects(createKeyPair(kid), InvalidNameError, kid);
  }
});

Deno.test("publicFromPrivate() gives the public key, and refuses an x that is not d's", async () => {
  const { privateJwk, publicJwk } = await createKeyPair("pair");
  assert.deepEqual(await publicFromPrivate(privateJwk), publicJwk);
  const other = await createKeyPair("pair");
  await assert.rejects(
    publicFromPrivate({ ...privateJwk, x: other.publicJwk.x }),
    InvalidRecordError,
  );
  await assert.rejects(
    publicFromPrivate(publicJwk as unknown as JwkPrivate),
    InvalidRecordError,
  );
});

Deno.test("decodePrivateJwkEnv() reads sqooler's PRIVATE_JWK_STR and gives back the key", async () => {
  const { privateJwk } = await createKeyPair("envkey");
  const env = encodePrivateJwkEnv(privateJwk);
  assert.match(env, /^[A-Za-z0-9_-]+={0,2}$/);
  assert.deepEqual(decodePrivateJwkEnv(env), privateJwk);
  assert.deepEqual(decodePrivateJwkEnv(`  ${env}\n`), privateJwk);
  // Python's urlsafe_b64decode also reads the standard alphabet.
  assert.deepEqual(
    decodePrivateJwkEnv(env.replaceAll("-", "+").replaceAll("_", "/")),
    privateJwk,
  );
});

Deno.test("decodePrivateJwkEnv() refuses text that is not a private key, without showing the text", async () => {
  const { privateJwk, publicJwk } = await createKeyPair("envkey");
  const env = encodePrivateJwkEnv(privateJwk);
  const encode = (text: string) =>
    btoa(text).replaceAll("+", "-").replaceAll("/", "_");
  const bad = [
    "",
    "   ",
    env.replace(/=+$/, "") + "A", // padding wrong
    env.slice(0, 8) + "!" + env.slice(9),
    env.slice(0, 8) + " " + env.slice(9),
    encode("not json at all!"),
    encode(JSON.stringify(publicJwk)),
    encode(JSON.stringify({ ...privateJwk, crv: "P-256" })),
    encode(JSON.stringify({ ...privateJwk, kid: undefined })),
    btoa("\xff\xfe\xfd\xfc"),
  ];
  for (const text of bad) {
    assert.throws(
      () => decodePrivateJwkEnv(text),
      (error: unknown) => {
        assert(error instanceof InvalidRecordError, text);
        assert.match(error.message, /^PRIVATE_JWK_STR /);
        assert(!error.message.includes(privateJwk.d), error.message);
        assert(text.length < 8 || !error.message.includes(text.slice(0, 8)));
        return true;
      },
    );
  }
});
