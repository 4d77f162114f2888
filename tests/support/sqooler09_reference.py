"""
A reference reader for the tests, written from sqooler's public format (its
`schemes.py` of v0.9 and of the seed version 0.5/0.6, its `security.py`), with
pydantic and cryptography: what sqooler's `LocalProviderExtended` does when it
reads a store, and sqooler's signature check. It shares no code with the
library under test.

Reads one JSON request on stdin, writes one JSON answer on stdout:

- {"op": "verify", "key": <public JWK text>, "records": [<stored text>, ...]}
  -> [true | false | null, ...]: null where sqooler's verify_signature raises.
- {"op": "dumps", "records": [<stored text>, ...]}
  -> [{"headerJson": ..., "payloadDumps": ...}, ...]: the bytes sqooler signs.
- {"op": "read", "base": <folder>, "provider": <name>}
  -> every config, status and result of the store, validated by the v0.9
     models (and by the seed's where the record is not signed), with the
     verdict of sqooler's verify_result for signed results.
"""

import base64
import binascii
import json
import os
import sys
from datetime import datetime
from typing import Annotated, Literal, Optional

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, Field

# ---------------------------------------------------------------- sqooler 0.9

StatusStr = Literal["INITIALIZING", "QUEUED", "DONE", "ERROR"]
ColdAtomStr = Literal["fermion", "boson", "spin", "mixed"]
DisplayNameStr = Annotated[str, Field(pattern=r"^[a-z0-9]*$")]
BackendNameStr = Annotated[str, Field(pattern=r"^$|^[a-z0-9]+_[a-z0-9]+_[a-z0-9]+$")]
WireOrderStr = Literal["sequential", "interleaved"]


class StatusMsgDict(BaseModel):
    job_id: str
    status: StatusStr
    detail: str
    error_message: str


class BackendConfigSchemaIn(BaseModel):
    description: str
    version: str
    display_name: Optional[DisplayNameStr]
    cold_atom_type: ColdAtomStr
    gates: list
    max_experiments: int
    max_shots: int
    simulator: bool
    supported_instructions: list[str]
    num_wires: int
    wire_order: WireOrderStr
    num_species: int
    pending_jobs: Optional[int] = None
    status_msg: Optional[str] = None
    last_queue_check: Optional[datetime] = None
    sign: bool = False
    kid: Optional[str] = None
    operational: Optional[bool] = True


class GateDict(BaseModel):
    name: str
    wires: list[int]
    params: list[float]


class DataDict(BaseModel):
    memory: list[str]
    instructions: Optional[list[GateDict]] = None


class ExperimentDict(BaseModel):
    header: dict
    shots: int
    success: bool
    data: DataDict


class ResultDict(BaseModel):
    backend_name: BackendNameStr | None = None
    display_name: DisplayNameStr
    backend_version: str
    job_id: str
    qobj_id: Optional[str] = None
    success: bool = True
    status: StatusStr
    header: dict = {}
    results: list[ExperimentDict] = []


# ------------------------------------------------------ the seed (0.5 / 0.6)


class SeedBackendConfigSchemaIn(BaseModel):
    description: str
    version: str
    display_name: Optional[str] = Field(pattern=r"^[a-z0-9]*$")
    cold_atom_type: ColdAtomStr
    gates: list
    max_experiments: int
    max_shots: int
    simulator: bool
    supported_instructions: list[str]
    num_wires: int
    wire_order: str
    num_species: int
    operational: bool
    pending_jobs: Optional[int] = None
    status_msg: Optional[str] = None


class SeedResultDict(BaseModel):
    backend_name: Optional[str] = Field(
        default=None, pattern=r"^[a-z0-9]*_[a-z0-9]*_[a-z0-9]*$"
    )
    display_name: str = Field(pattern=r"^[a-z0-9]*$")
    backend_version: str
    job_id: str
    qobj_id: Optional[str] = None
    success: bool = True
    status: StatusStr
    header: dict = {}
    results: list[ExperimentDict] = []


# ---------------------------------------------------------------- signatures


class JWK(BaseModel):
    x: bytes
    key_ops: Literal["sign", "verify"]
    kid: str
    d: Optional[bytes] = None
    kty: Literal["OKP"] = "OKP"
    alg: Literal["EdDSA"] = "EdDSA"
    crv: Literal["Ed25519"] = "Ed25519"


class JWSHeader(BaseModel):
    alg: str = "EdDSA"
    kid: str
    typ: str = "JWS"
    version: str = "0.1"


class JWSDict(BaseModel):
    header: JWSHeader
    payload: dict
    signature: str


def signing_input(header: JWSHeader, payload: dict) -> bytes:
    return (
        base64.urlsafe_b64encode(header.model_dump_json().encode())
        + b"."
        + base64.urlsafe_b64encode(json.dumps(payload).encode())
    )


def verify(record: dict, key: JWK) -> bool:
    jws = JWSDict(**record)
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(key.x))
    try:
        public.verify(
            base64.urlsafe_b64decode(jws.signature),
            signing_input(jws.header, jws.payload),
        )
        return True
    except InvalidSignature:
        return False


def verify_text(text: str, key: JWK) -> Optional[bool]:
    try:
        return verify(json.loads(text), key)
    except (ValueError, TypeError, binascii.Error):
        return None


SIGNED_KEYS = {"header", "payload", "signature"}


def unwrap(record: dict) -> dict:
    return record["payload"] if set(record.keys()) == SIGNED_KEYS else record


def load(base: str, *parts: str) -> dict:
    with open(os.path.join(base, *parts), encoding="utf-8") as file:
        return json.load(file)


def read_store(base: str, provider: str) -> dict:
    answer: dict = {"configs": {}, "statuses": {}, "results": {}}
    configs = {}
    for name in sorted(os.listdir(os.path.join(base, "backends", "configs"))):
        if not name.endswith(".json"):
            continue
        display = name[:-5]
        raw = load(base, "backends", "configs", name)
        signed = set(raw.keys()) == SIGNED_KEYS
        config = BackendConfigSchemaIn(**unwrap(raw))
        entry = {"signed": signed, "config": json.loads(config.model_dump_json())}
        if signed:
            key = JWK(**load(base, "backends", "public_keys", f"{config.kid}.json"))
            entry["verified"] = verify(raw, key)
        else:
            SeedBackendConfigSchemaIn(**raw)
        configs[display] = config
        answer["configs"][display] = entry
    for display, config in configs.items():
        kind = "simulator" if config.simulator else "hardware"
        long_name = f"{provider}_{display}_{kind}"
        status_dir = os.path.join(base, "status", display)
        for name in sorted(os.listdir(status_dir)) if os.path.isdir(status_dir) else []:
            status = StatusMsgDict(**unwrap(load(status_dir, name)))
            answer["statuses"][f"{display}/{name[:-5]}"] = status.status
        result_dir = os.path.join(base, "results", display)
        for name in sorted(os.listdir(result_dir)) if os.path.isdir(result_dir) else []:
            raw = load(result_dir, name)
            signed = set(raw.keys()) == SIGNED_KEYS
            payload = dict(unwrap(raw))
            if not signed:
                SeedResultDict(**payload)
            payload["backend_name"] = long_name
            result = ResultDict(**payload)
            entry = {
                "signed": signed,
                "status": result.status,
                "backend_name": result.backend_name,
                "shots": [experiment.shots for experiment in result.results],
            }
            if signed:
                key = JWK(**load(base, "backends", "public_keys", f"{config.kid}.json"))
                entry["verified"] = verify(raw, key)
            answer["results"][f"{display}/{name[:-5]}"] = entry
    return answer


def main() -> None:
    request = json.loads(sys.stdin.read())
    op = request["op"]
    if op == "verify":
        key = JWK.model_validate_json(request["key"])
        answer = [verify_text(text, key) for text in request["records"]]
    elif op == "dumps":
        answer = []
        for text in request["records"]:
            jws = JWSDict(**json.loads(text))
            answer.append(
                {
                    "headerJson": jws.header.model_dump_json(),
                    "payloadDumps": json.dumps(jws.payload),
                }
            )
    elif op == "read":
        answer = read_store(request["base"], request["provider"])
    else:
        raise ValueError(f"unknown op {op}")
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
