"""Forged entry pages, for the tests of sync (in-process, and between real processes through
tests/faultproxy.py): each way a peer can lie about a page of a log."""

import base64
import json
from typing import Any

from federation.core.entry import Draft, parse_time, seal, subject_of
from keys.ed25519 import KeyPair

HOWS = ("signature", "leaf", "content", "gap", "reorder", "origin", "federation")


def resealed(item: dict[str, Any], key: KeyPair, **header: str) -> None:
    """Replace a page entry with one validly signed by `key` (the origin's signing key) whose
    header differs as given: another origin or another federation, same seq and content (the
    audience takes in the other origin, as a well-formed entry of that origin would)."""
    signed = json.loads(base64.b64decode(json.loads(item["envelope"])["payload"]))
    origin = header.get("origin", signed["origin"])
    draft = Draft(
        signed["type"],
        base64.b64decode(item["content"]["body"]),
        tuple(sorted({*signed["audience"], origin})),
        parse_time(signed["issued_at"]),
        subject_of(signed),
    )
    sealed = seal(
        federation=header.get("federation", signed["federation"]),
        origin=origin,
        seq=item["seq"],
        draft=draft,
        key=key,
        salt=base64.b64decode(item["content"]["salt"]),
    )
    item["envelope"] = sealed.envelope.decode()
    item["leaf_hash"] = base64.b64encode(sealed.leaf_hash).decode()


def tamper_page(doc: dict[str, Any], index: int, how: str, key: KeyPair | None = None) -> None:
    item = doc["entries"][index]
    if how in ("origin", "federation"):
        if key is None:
            raise ValueError(f"tampering with the {how} re-signs: give the origin's key")
        changed = {"origin": "nl-cdiu"} if how == "origin" else {"federation": "other.test"}
        resealed(item, key, **changed)
    elif how == "signature":
        env = json.loads(item["envelope"])
        sig = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
        sig[0] ^= 1
        env["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
        item["envelope"] = json.dumps(env, separators=(",", ":"), sort_keys=True)
    elif how == "leaf":
        leaf = bytearray(base64.b64decode(item["leaf_hash"]))
        leaf[0] ^= 1
        item["leaf_hash"] = base64.b64encode(bytes(leaf)).decode()
    elif how == "content":
        body = bytearray(base64.b64decode(item["content"]["body"]))
        body[-2] ^= 1
        item["content"]["body"] = base64.b64encode(bytes(body)).decode()
    elif how == "gap":
        del doc["entries"][index]
        doc["next"] -= 1
    elif how == "reorder":
        doc["entries"][index], doc["entries"][index + 1] = (
            doc["entries"][index + 1],
            doc["entries"][index],
        )
