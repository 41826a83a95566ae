"""Key lifecycle of this node: rotating the signing key with root-signed key statements.

Rotation appends `key.added` (the new key) and `key.retired` (the old one) to the node's own
log in one transaction, signed by the root key, and switches the identity row to the new key
in that same transaction; serving processes pick the new key up at their next append
(service.node.Node.current_signer). Revocation is not here yet (see docs/decisions/0009).
"""

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.entry import Draft
from federation.log import append_own, lock_log
from keys.canonical import canonical_bytes
from keys.custody import save_key
from keys.ed25519 import KeyPair, key_id
from service import audit
from service.errors import ConfigError
from service.node import (
    identity_of,
    key_added_body,
    passphrase_for_new_keys,
    signed_card,
    signing_key_file,
)
from service.settings import Settings
from service.storage.models import NodeRow


async def rotate(
    session: AsyncSession, settings: Settings, root: KeyPair, *, now: datetime
) -> tuple[str, str]:
    """Rotate the signing key; return (old key id, new key id). Writes the new key file
    first and removes it again if the transaction fails."""
    row = await session.scalar(select(NodeRow))
    if row is None:
        raise ConfigError("no node here: run `denex init` first")
    if root.public != row.root_key:
        raise ConfigError("that key is not this node's root key")
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
        await append_own(
            session,
            federation=row.federation,
            origin=row.node_id,
            drafts=drafts,
            signer=lambda _type: root,
            checkpoint_key=new,
            now=now,
        )
        row.signing_key = new.public
        row.card_version += 1
        row.card = signed_card(identity_of(row), root, issued_at=now)
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
