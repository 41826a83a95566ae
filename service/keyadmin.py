"""Key lifecycle of this node: rotating the signing key with root-signed key statements.

Rotation appends `key.added` (the new key) and `key.retired` (the old one) to the node's own
log in one transaction, signed by the root key, and switches the identity row to the new key
in that same transaction; serving processes pick the new key up at their next append
(service.node.Node.current_signer). Revocation invalidates what a compromised key signed.
"""

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core import keystate
from federation.core.entry import KEY_TYPES, Draft
from federation.core.errors import EntryError
from federation.storage.log import append_own, lock_log, log_size
from federation.storage.tables import EntryRow
from keys.canonical import canonical_bytes, parse_canonical
from keys.custody import destroy, save_key
from keys.ed25519 import KeyPair, key_id
from keys.errors import KeysError
from service import audit
from service.derivation import rebuild_all
from service.errors import ConfigError
from service.node import (
    identity_of,
    key_added_body,
    load_keypair,
    passphrase_for_new_keys,
    signed_card,
    signing_key_file,
)
from service.notices.text import text_problem
from service.peer_keys import GRACE
from service.settings import Settings
from service.storage.models import NodeRow

MAX_REASON = 1000  # a revocation's reason is signed and seen by every peer


async def _node_row(session: AsyncSession, root: KeyPair) -> NodeRow:
    row: NodeRow | None = await session.scalar(select(NodeRow))
    if row is None:
        raise ConfigError("no node here: run `denex init` first")
    if root.public != row.root_key:
        raise ConfigError("that key is not this node's root key")
    return row


async def _append_statements(
    session: AsyncSession,
    row: NodeRow,
    root: KeyPair,
    drafts: list[Draft],
    *,
    checkpoint_key: KeyPair,
    now: datetime,
) -> None:
    """Append root-signed key statements to this node's own log."""
    await append_own(
        session,
        federation=row.federation,
        origin=row.node_id,
        drafts=drafts,
        signer=lambda _type: root,
        checkpoint_key=checkpoint_key,
        now=now,
    )


def _switch_signing_key(row: NodeRow, new: KeyPair, root: KeyPair, *, now: datetime) -> None:
    """Make `new` the key in use, and re-sign the card that names it."""
    row.signing_key = new.public
    row.card_version += 1
    row.card = signed_card(identity_of(row), root, issued_at=now)


async def rotate(
    session: AsyncSession, settings: Settings, root: KeyPair, *, now: datetime
) -> tuple[str, str]:
    """Rotate the signing key; return (old key id, new key id). Writes the new key file
    first and removes it again if the transaction fails."""
    row = await _node_row(session, root)
    await lock_log(session, row.node_id)
    await session.refresh(row)
    old_id = key_id(row.signing_key)
    new = KeyPair.generate()
    path: Path = settings.keys_dir / signing_key_file(new.key_id)
    save_key(path, new, passphrase_for_new_keys(settings))
    try:
        drafts = [
            Draft("key.added", key_added_body(new), ("*",), now),
            Draft("key.retired", canonical_bytes({"key_id": old_id}), ("*",), now),
        ]
        await _append_statements(session, row, root, drafts, checkpoint_key=new, now=now)
        _switch_signing_key(row, new, root, now=now)
        await audit.record(
            session,
            actor="cli:keys",
            action="keys.rotate",
            target=new.key_id,
            detail={"retired": old_id},
            now=now,
        )
        await session.flush()
    except BaseException:
        path.unlink(missing_ok=True)  # noqa: ASYNC240 (one local file, failure path only)
        raise
    return old_id, new.key_id


def unneeded_key_files(
    state: keystate.KeyState, *, current: str, now: datetime, grace: timedelta = GRACE
) -> list[str]:
    """Key ids of this node's signing keys whose private files nothing needs any more: revoked
    keys at once; retired keys once peers stop accepting them on HTTP requests (`grace`
    after the retirement). Never the key in use. Nothing loads a key file but the key in use
    (a serving process switches at its next append), so these may go."""
    gone = []
    for life in state.keys.values():
        if life.key_id == current:
            continue
        if life.revoked_seq is not None or (
            life.retired_at is not None and now - life.retired_at >= grace
        ):
            gone.append(life.key_id)
    return gone


async def destroy_unneeded_keys(
    session: AsyncSession, settings: Settings, *, now: datetime
) -> list[str]:
    """Destroy (overwrite, then unlink) the private key files `unneeded_key_files` names, if
    they are still there; return the key ids whose files were destroyed. Call after the
    transaction that revoked or retired a key has committed."""
    row = await session.scalar(select(NodeRow))
    if row is None:
        raise ConfigError("no node here: run `denex init` first")
    state = await own_key_state(session, row.node_id)
    destroyed = []
    for kid in unneeded_key_files(state, current=key_id(row.signing_key), now=now):
        try:
            if destroy(settings.keys_dir / signing_key_file(kid)):
                destroyed.append(kid)
        except KeysError as exc:
            raise ConfigError(str(exc)) from exc
    return destroyed


async def adopt_key_in_force(session: AsyncSession, settings: Settings) -> str | None:
    """After `denex recover`: a database restored from before a key rotation names, in its
    identity row, a signing key that the recovered log has since retired (or revoked), and
    peers would refuse what it signs. Switch the row to a key the log has in force for its
    next entry whose file this node holds; return that key id (None if nothing changed or
    no such file is here). The stored card is left as it is: re-signing it takes the root
    key (`denex node card`); peers go by the key statements in the log."""
    row = await session.scalar(select(NodeRow))
    if row is None:
        raise ConfigError("no node here: run `denex init` first")
    state = await own_key_state(session, row.node_id)
    in_force = state.valid_keys(await log_size(session, row.node_id))
    if not in_force or key_id(row.signing_key) in in_force:
        return None
    for kid, key in sorted(in_force.items()):
        if (settings.keys_dir / signing_key_file(kid)).exists():
            row.signing_key = key
            return kid
    return None


async def own_key_state(session: AsyncSession, origin: str) -> keystate.KeyState:
    """Replay this node's own key statements (the log is trusted: the node wrote it)."""
    rows = await session.scalars(
        select(EntryRow).where(EntryRow.origin == origin, EntryRow.type.in_(KEY_TYPES))
    )  # ordered here: ORDER BY seq would make SQLite walk the whole log
    return keystate.replay(
        keystate.Statement(r.seq, r.type, parse_canonical(r.content_body or b"{}"), r.issued_at)
        for r in sorted(rows, key=lambda r: r.seq)
    )


async def revoke(
    session: AsyncSession,
    settings: Settings,
    root: KeyPair,
    *,
    revoked_key: str,
    valid_below: int,
    reason: str,
    now: datetime,
) -> tuple[int, str | None]:
    """Revoke a signing key from `valid_below` on (a compromise). Entries at seqs in
    [valid_below, revocation) signed by it become invalid: they stay in the log, are marked,
    and the notice tables are rebuilt without them. Revoking the key in use first adds a new
    one. Returns (entries invalidated, new key id or None)."""
    row = await _node_row(session, root)
    if not reason.strip() or len(reason) > MAX_REASON:
        raise ConfigError(
            f"--reason must say in 1 to {MAX_REASON} characters why the key is revoked"
        )
    if (problem := text_problem(reason)) is not None:
        raise ConfigError(f"--reason {problem}")
    log = await lock_log(session, row.node_id)
    await session.refresh(row)
    state = await own_key_state(session, row.node_id)
    if revoked_key not in state.keys:
        raise ConfigError(f"{revoked_key[:16]}... is not a signing key of this node")
    drafts: list[Draft] = []
    new: KeyPair | None = None
    if revoked_key == key_id(row.signing_key):
        new = KeyPair.generate()
        drafts.append(Draft("key.added", key_added_body(new), ("*",), now))
    body = {"key_id": revoked_key, "valid_below_seq": valid_below, "reason": reason}
    revocation_seq = log.size + len(drafts)
    try:
        keystate.apply(state, keystate.Statement(revocation_seq, "key.revoked", body, now))
    except EntryError as exc:
        raise ConfigError(str(exc).split(": ", 1)[-1]) from exc
    drafts.append(Draft("key.revoked", canonical_bytes(body), ("*",), now))
    path: Path | None = None
    if new is not None:
        path = settings.keys_dir / signing_key_file(new.key_id)
        save_key(path, new, passphrase_for_new_keys(settings))
        checkpoint_key = new
    else:
        checkpoint_key = load_keypair(
            settings, settings.keys_dir / signing_key_file(key_id(row.signing_key))
        )
    try:
        await _append_statements(session, row, root, drafts, checkpoint_key=checkpoint_key, now=now)
        marked = await session.execute(
            update(EntryRow)
            .where(
                EntryRow.origin == row.node_id,
                EntryRow.key_id == revoked_key,
                EntryRow.seq >= valid_below,
                EntryRow.seq < revocation_seq,
                EntryRow.type.not_in(KEY_TYPES),
            )
            .values(
                invalid_reason=f"signed by key {revoked_key[:16]}..., revoked below seq {valid_below}: {reason}"
            )
        )
        if new is not None:
            _switch_signing_key(row, new, root, now=now)
        await session.flush()
        await rebuild_all(session)
        invalidated = int(marked.rowcount or 0)  # type: ignore[attr-defined]
        await audit.record(
            session,
            actor="cli:keys",
            action="keys.revoke",
            target=revoked_key,
            detail={
                "valid_below_seq": valid_below,
                "invalidated": invalidated,
                "new_key": new.key_id if new else None,
            },
            now=now,
        )
    except BaseException:
        if path is not None:
            path.unlink(missing_ok=True)
        raise
    return invalidated, new.key_id if new else None
