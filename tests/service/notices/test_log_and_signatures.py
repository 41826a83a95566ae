"""What the API writes into the node's own log, checked by an independent verifier.

The verifier below shares no code with denex's signing path: it takes the keys from the node
card printed by `denex node card`, re-implements DSSE's PAE and the checks of DESIGN §3–§4,
and verifies with `cryptography` directly. The derived notice tables are then dropped and
rebuilt from the log, and must come back identical.
"""

import asyncio
import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from federation.storage.tables import EntryRow, LogRow
from service.cli.main import main as denex
from service.derivation import rebuild_all
from service.storage.models import NoticeRow, NoticeVersionRow
from tests.nodes import DEV_KEYS, START, FakeClock, LiveNode
from tests.service.notice_data import insert_foreign_notice, notice

ENTRY_TYPE = b"application/vnd.denex.entry+json; v=1"
CARD_TYPE = b"application/vnd.denex.card+json; v=1"
HEADER_FIELDS = {
    "v",
    "federation",
    "origin",
    "seq",
    "type",
    "issued_at",
    "audience",
    "content_hash",
}
NOTICES = "/api/v1/notices"


# --- an independent verifier -------------------------------------------------------------


class Rejected(Exception):
    """The independent verifier refuses an envelope."""


def pae(payload_type: bytes, body: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding, written out from the DSSE specification."""
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(body), body)


def jcs(value: Any) -> bytes:
    """RFC 8785 for the values found here (ASCII keys, strings, integers, lists, objects)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def key_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass
class Opened:
    key_id: str
    payload: bytes
    body: dict[str, Any]


def verify(envelope: bytes, trusted: dict[str, bytes], payload_type: bytes) -> Opened:
    obj = json.loads(envelope)
    if set(obj) != {"payloadType", "payload", "signatures"}:
        raise Rejected("envelope fields")
    if jcs(obj) != envelope:
        raise Rejected("envelope is not canonical")
    if obj["payloadType"].encode() != payload_type:
        raise Rejected("payloadType")
    if len(obj["signatures"]) != 1 or set(obj["signatures"][0]) != {"keyid", "sig"}:
        raise Rejected("signatures")
    signature = obj["signatures"][0]
    public = trusted.get(signature["keyid"])
    if public is None:
        raise Rejected("unknown key")
    payload = unb64(obj["payload"])
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(
            unb64(signature["sig"]), pae(payload_type, payload)
        )
    except InvalidSignature as exc:
        raise Rejected("bad signature") from exc
    body = json.loads(payload)
    if jcs(body) != payload:
        raise Rejected("payload is not canonical")
    return Opened(signature["keyid"], payload, body)


# --- the node's card, as `denex node card` prints it -----------------------------------------


async def node_card(
    live: LiveNode, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    for name, value in DEV_KEYS.items():
        monkeypatch.setenv(name, value)
    if live.settings.database_url:
        monkeypatch.setenv("DENEX_DATABASE_URL", live.settings.database_url)
    else:
        monkeypatch.delenv("DENEX_DATABASE_URL", raising=False)
    capsys.readouterr()
    status = await asyncio.to_thread(
        denex, ["node", "card", "--data-dir", str(live.settings.data_dir)]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    envelope = out.strip().encode("utf-8")
    assert len(out.strip().splitlines()) == 1, "the card alone on stdout"
    root = unb64(json.loads(unb64(json.loads(envelope)["payload"]))["root_key"])
    card = verify(envelope, {key_id(root): root}, CARD_TYPE).body
    return card


async def entries(live: LiveNode, origin: str = "de-bafa") -> list[EntryRow]:
    async with live.db.read() as session:
        return list(
            await session.scalars(
                select(EntryRow).where(EntryRow.origin == origin).order_by(EntryRow.seq)
            )
        )


async def publish(live: LiveNode, **overrides: Any) -> str:
    response = await live.client.post(
        NOTICES, json=notice(**overrides), headers=live.auth("officer")
    )
    assert response.status_code == 201, response.text
    notice_id: str = response.json()["notice_id"]
    return notice_id


async def amend(live: LiveNode, notice_id: str, **overrides: Any) -> None:
    response = await live.client.post(
        f"{NOTICES}/{notice_id}/amend", json=notice(**overrides), headers=live.auth("officer")
    )
    assert response.status_code == 200, response.text


async def revoke(live: LiveNode, notice_id: str) -> None:
    response = await live.client.post(
        f"{NOTICES}/{notice_id}/revoke", json={"reason": "withdrawn"}, headers=live.auth("officer")
    )
    assert response.status_code == 200, response.text


# --- tests ------------------------------------------------------------------------------------


async def test_card_is_root_signed_and_names_the_keys(
    live: LiveNode, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    card = await node_card(live, monkeypatch, capsys)

    ident = live.node.identity
    assert card["node_id"] == "de-bafa"
    assert card["federation"] == "denex.test"
    assert card["regimes"] == ["EU", "HRI", "WA"]
    assert unb64(card["root_key"]) == ident.root_key
    [signing] = card["signing_keys"]
    assert unb64(signing["key"]) == ident.signing_key
    assert signing["key_id"] == key_id(unb64(signing["key"]))
    assert signing["key_id"] != key_id(ident.root_key)


async def test_every_stored_entry_verifies_independently(
    live: LiveNode,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = await publish(live)
    clock.advance(hours=1, seconds=30)
    second = await publish(live, reference="BAFA-2026-0118", destination="RU")
    clock.advance(days=1)
    await amend(live, first, reference="BAFA-2026-0117-A")
    await revoke(live, second)
    card = await node_card(live, monkeypatch, capsys)
    root = unb64(card["root_key"])
    signing = unb64(card["signing_keys"][0]["key"])
    root_id, signing_id = key_id(root), key_id(signing)
    trusted = {root_id: root, signing_id: signing}

    rows = await entries(live)

    assert [r.seq for r in rows] == list(range(len(rows)))
    assert len(rows) == 5
    async with live.db.read() as session:
        log = await session.get(LogRow, "de-bafa")
    assert log is not None and log.size == len(rows)
    issued = [START, START, START + timedelta(hours=1, seconds=30)]
    issued += [START + timedelta(days=1, hours=1, seconds=30)] * 2
    types = ["key.added", "notice.published", "notice.published", "notice.amended"]
    types.append("notice.revoked")
    for row, when, entry_type in zip(rows, issued, types, strict=True):
        opened = verify(row.envelope, trusted, ENTRY_TYPE)
        header = opened.body
        if entry_type in ("notice.amended", "notice.revoked"):  # decision 0032: version 2
            assert set(header) == {*HEADER_FIELDS, "subject"} and header["v"] == 2
            publications = {r.leaf_hash for r in rows if r.type == "notice.published"}
            assert base64.b64decode(header["subject"]) in publications
        else:
            assert set(header) == HEADER_FIELDS and header["v"] == 1
        assert header["federation"] == "denex.test"
        assert header["origin"] == "de-bafa"
        assert header["seq"] == row.seq
        assert header["type"] == entry_type == row.type
        assert header["issued_at"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert header["audience"] == row.audience
        assert opened.key_id == row.key_id
        assert row.content_salt is not None and row.content_body is not None
        assert len(row.content_salt) == 16
        digest = hashlib.sha256(row.content_salt + row.content_body).digest()
        assert header["content_hash"] == b64(digest)
        assert row.leaf_hash == hashlib.sha256(b"\x00" + row.envelope).digest()
        body = json.loads(row.content_body)
        assert jcs(body) == row.content_body
        if row.seq == 0:
            assert opened.key_id == root_id
            assert header["audience"] == ["*"]
            assert body == {"key": b64(signing), "key_id": signing_id, "purpose": "signing"}
        else:
            assert opened.key_id == signing_id
            assert header["audience"] == ["de-bafa"]
    salts = {r.content_salt for r in rows}
    assert len(salts) == len(rows), "every entry has its own random salt"
    bodies = [json.loads(r.content_body or b"") for r in rows[1:]]
    assert [b["notice_id"] for b in bodies] == [first, second, first, second]
    assert bodies[2]["version"] == 2
    assert bodies[3] == {"notice_id": second, "reason": "withdrawn", "revoked_on": "2026-11-29"}


async def test_concurrent_publications_get_contiguous_seqs(live: LiveNode) -> None:
    results = await asyncio.gather(*(publish(live, reference=f"C-{n}") for n in range(8)))

    rows = await entries(live)
    assert [r.seq for r in rows] == list(range(9))
    ident = live.node.identity
    trusted = {key_id(ident.root_key): ident.root_key, key_id(ident.signing_key): ident.signing_key}
    published = set()
    for row in rows[1:]:
        header = verify(row.envelope, trusted, ENTRY_TYPE).body
        assert header["seq"] == row.seq
        published.add(json.loads(row.content_body or b"")["notice_id"])
    assert published == set(results)


async def test_the_independent_verifier_rejects_tampering(live: LiveNode) -> None:
    await publish(live)
    rows = await entries(live)
    ident = live.node.identity
    trusted = {key_id(ident.root_key): ident.root_key, key_id(ident.signing_key): ident.signing_key}
    good = rows[1].envelope
    verify(good, trusted, ENTRY_TYPE)
    obj = json.loads(good)
    header = json.loads(unb64(obj["payload"]))

    def altered(**changes: Any) -> bytes:
        return jcs({**obj, **changes})

    sig = bytearray(unb64(obj["signatures"][0]["sig"]))
    sig[0] ^= 1
    forged_header = jcs({**header, "audience": ["de-bafa", "fr-sbdu"]})
    tampered = {
        "signature bit": altered(signatures=[{**obj["signatures"][0], "sig": b64(bytes(sig))}]),
        "header changed": altered(payload=b64(forged_header)),
        "claims root key": altered(
            signatures=[{**obj["signatures"][0], "keyid": key_id(ident.root_key)}]
        ),
        "unknown key": altered(signatures=[{**obj["signatures"][0], "keyid": "00" * 32}]),
        "other type": altered(payloadType="application/vnd.denex.card+json; v=1"),
        "not canonical": good.replace(b'{"payload"', b'{ "payload"'),
    }
    for what, envelope in tampered.items():
        with pytest.raises(Rejected):
            verify(envelope, trusted, ENTRY_TYPE)
            pytest.fail(f"accepted: {what}")
    # content swapped for another entry's content no longer matches the signed hash
    other = rows[0]
    assert other.content_salt is not None and other.content_body is not None
    swapped = hashlib.sha256(other.content_salt + other.content_body).digest()
    assert b64(swapped) != header["content_hash"]


# --- rebuilding derived state ---------------------------------------------------------------


def _rows(model: type[Any], found: list[Any]) -> list[dict[str, Any]]:
    columns = [c.key for c in model.__table__.columns]
    primary = [c.key for c in model.__table__.primary_key.columns]
    rows = [{c: getattr(r, c) for c in columns} for r in found]
    return sorted(rows, key=lambda r: tuple(r[k] for k in primary))


async def derived_state(live: LiveNode) -> dict[str, list[dict[str, Any]]]:
    state = {}
    async with live.db.read() as session:
        for model in (NoticeRow, NoticeVersionRow):
            state[model.__tablename__] = _rows(model, list(await session.scalars(select(model))))
    return state


async def test_rebuild_reproduces_the_derived_tables(live: LiveNode, clock: FakeClock) -> None:
    items = [
        {"control_entry": "5.A.2.a", "description": "encryption module"},
        {"control_entry": "ML21.b", "description": "software"},
    ]
    a = await publish(live)
    b = await publish(live, reference="B", destination="RU", items=items, regimes=["WA"])
    c = await publish(live, reference="C", valid_until="2027-01-15")
    d = await publish(live, reference="D", decision="annulment")
    await amend(live, a, reference="A-2", destination="KP")
    await amend(live, a, reference="A-3", regimes=["EU"], valid_until="2031-01-01")
    await revoke(live, c)
    await amend(live, d, reference="D-2")
    await revoke(live, d)
    foreign = await insert_foreign_notice(live, clock, reference="SBDU-1", destination="IR")
    before = await derived_state(live)
    assert len(before["notices"]) == 5
    assert len(before["notice_versions"]) == 10
    assert {r["notice_id"] for r in before["notices"]} == {a, b, c, d, foreign}

    # damage the derived tables; the log alone must bring them back
    async with live.db.write() as session:
        row = await session.scalar(select(NoticeRow).where(NoticeRow.notice_id == b))
        assert row is not None
        row.reference = "tampered"
        row.body = {"tampered": True}
        other = await session.scalar(select(NoticeRow).where(NoticeRow.notice_id == a))
        assert other is not None and other.party_terms
        other.party_terms = ""
    assert await derived_state(live) != before

    async with live.db.write() as session:
        count = await rebuild_all(session)

    assert count == 5
    after = await derived_state(live)
    for table in before:
        assert after[table] == before[table], table
    assert all(not e.flagged for e in await entries(live))
    fetched = await live.client.get(f"{NOTICES}/{a}", headers=live.auth("auditor"))
    assert fetched.json()["version"] == 3
    assert fetched.json()["notice"]["reference"] == "A-3"
