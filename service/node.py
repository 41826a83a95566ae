"""This node: its identity row, its keys on disk, `init`, and loading everything for serving.

The root key signs only key statements and node cards; the signing key signs everything
else. Key files live in `<data dir>/keys/`, encrypted unless development mode allows otherwise.
"""

import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.entry import KEY_TYPES, Draft, format_time
from federation.storage.log import append_own
from federation.storage.tables import PeerRow
from keys.canonical import canonical_bytes
from keys.card import card_body, make_card
from keys.custody import kdf_of_file, load_key, replace_key, save_key
from keys.ed25519 import KeyPair, b64, key_id
from keys.errors import KeysError
from keys.pkcs8 import ITERATIONS
from service.errors import AlreadyInitialisedError, ConfigError, NotInitialisedError
from service.settings import Settings
from service.storage.models import NodeRow

ROOT_KEY_FILE = "root.pem"
MIN_PASSPHRASE = 12  # characters, outside development mode
log = logging.getLogger("denex.keys")
_SIGNING_KEY = select(NodeRow.signing_key)  # read once per append: built once
_ROSTER = select(PeerRow.node_id, PeerRow.regimes).where(PeerRow.removed_at.is_(None))


def signing_key_file(kid: str) -> str:
    return f"signing-{kid[:16]}.pem"


@dataclass(frozen=True)
class Identity:
    node_id: str
    federation: str
    country: str
    name: str
    url: str
    regimes: tuple[str, ...]
    root_key: bytes
    signing_key: bytes
    card_version: int

    @property
    def origin_line(self) -> str:
        return f"{self.federation}/{self.node_id}"


@dataclass
class Node:
    """What a serving node needs: its identity and its online signing key.

    The signing key can change under a running node (`denex keys rotate` in another
    process); `current_signer` follows the identity row inside the append transaction, so
    no entry is ever signed by a retired key.
    """

    identity: Identity
    signing: KeyPair
    settings: Settings | None = None
    # regime -> roster peers confirmed in it (DESIGN §2), read by `refresh_members`
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    members_read: float | None = None  # monotonic time of the last read

    async def refresh_members(
        self,
        read: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        *,
        max_age: float = 2.0,
    ) -> None:
        """Re-read the regime memberships of the active roster if older than `max_age`
        seconds (the roster changes in another process, `denex peer add`)."""
        if self.members_read is not None and time.monotonic() - self.members_read < max_age:
            return
        async with read() as session:
            rows = (await session.execute(_ROSTER)).all()
        members: dict[str, list[str]] = {}
        for node_id, regimes in rows:
            for regime in regimes:
                members.setdefault(regime, []).append(node_id)
        self.members = {regime: tuple(sorted(ids)) for regime, ids in members.items()}
        self.members_read = time.monotonic()

    def signer(self, entry_type: str) -> KeyPair:
        if entry_type in KEY_TYPES:
            raise ConfigError("key statements need the root key; use `denex keys`")
        return self.signing

    async def current_signer(self, session: AsyncSession) -> KeyPair:
        """The signing key in force now; call with the log's append lock held."""
        current = await session.scalar(_SIGNING_KEY)
        if current is None or current == self.signing.public:
            return self.signing
        if self.settings is None:
            raise ConfigError("the signing key was rotated; restart this process")
        path = self.settings.keys_dir / signing_key_file(key_id(current))
        signing = load_keypair(self.settings, path)
        if signing.public != current:
            raise ConfigError(f"key file {path} does not hold this node's signing key")
        self.signing = signing
        self.identity = replace(self.identity, signing_key=current)
        return signing


def identity_of(row: NodeRow) -> Identity:
    return Identity(
        node_id=row.node_id,
        federation=row.federation,
        country=row.country,
        name=row.name,
        url=row.url,
        regimes=tuple(row.regimes),
        root_key=row.root_key,
        signing_key=row.signing_key,
        card_version=row.card_version,
    )


async def read_identity(session: AsyncSession) -> Identity:
    row = await session.scalar(select(NodeRow))
    if row is None:
        raise NotInitialisedError("no node here: run `denex init` first")
    return identity_of(row)


def load_keypair(settings: Settings, path: Path) -> KeyPair:
    """Load a key file; one encrypted with a weaker KDF than keys.pkcs8 writes is encrypted
    again, in place, with the same passphrase (docs/decisions/0020)."""
    try:
        passphrase = settings.passphrase()
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        key = load_key(path, passphrase, allow_unencrypted=settings.insecure_dev_keys)
    except KeysError as exc:
        raise ConfigError(str(exc)) from exc
    kdf = kdf_of_file(path)
    if passphrase and kdf is not None and not kdf.strong:
        try:
            replace_key(path, key, passphrase)
        except KeysError as exc:
            log.warning("key file %s uses a weak KDF and could not be re-encrypted: %s", path, exc)
        else:
            log.warning(
                "re-encrypted key file %s: %s with %s iterations is now PBKDF2-HMAC-SHA256 with %s",
                path,
                kdf.name,
                f"{kdf.iterations:,}" if kdf.iterations else "unknown",
                f"{ITERATIONS:,}",
            )
    return key


def load_node(settings: Settings, identity: Identity) -> Node:
    """Load the signing key named by the identity; refuse a key that does not match it."""
    path = settings.keys_dir / signing_key_file(key_id(identity.signing_key))
    signing = load_keypair(settings, path)
    if signing.public != identity.signing_key:
        raise ConfigError(f"key file {path} does not hold this node's signing key")
    return Node(identity=identity, signing=signing, settings=settings)


def passphrase_for_new_keys(settings: Settings) -> bytes | None:
    """The passphrase new key files are encrypted with; ConfigError (before anything is
    written) if there is none, or one shorter than MIN_PASSPHRASE characters, outside
    development mode."""
    try:
        passphrase = settings.passphrase()
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if settings.insecure_dev_keys:
        return passphrase
    if passphrase is None:
        raise ConfigError(
            "no key passphrase: set DENEX_KEY_PASSPHRASE or DENEX_KEY_PASSPHRASE_FILE "
            "(or DENEX_INSECURE_DEV_KEYS=1 for development only)"
        )
    if len(passphrase.decode("utf-8")) < MIN_PASSPHRASE:
        raise ConfigError(
            f"the key passphrase must be at least {MIN_PASSPHRASE} characters long "
            "(DENEX_KEY_PASSPHRASE or DENEX_KEY_PASSPHRASE_FILE)"
        )
    return passphrase


def signed_card(identity: Identity, root: KeyPair, *, issued_at: datetime) -> str:
    """This node's card, signed by its root key (DESIGN §2)."""
    body = card_body(
        federation=identity.federation,
        node_id=identity.node_id,
        country=identity.country,
        name=identity.name,
        url=identity.url,
        root_key=identity.root_key,
        signing_keys=[identity.signing_key],
        regimes=list(identity.regimes),
        card_version=identity.card_version,
        issued_at=format_time(issued_at),
    )
    return make_card(body, root).decode("utf-8")


async def stored_card(session: AsyncSession) -> str:
    card: str | None = await session.scalar(select(NodeRow.card))
    if card is None:
        raise NotInitialisedError("this node has no card yet: run `denex node card`")
    return card


def key_added_body(key: KeyPair) -> bytes:
    return canonical_bytes({"key": b64(key.public), "key_id": key.key_id, "purpose": "signing"})


async def create_node(
    session: AsyncSession, settings: Settings, *, identity_fields: dict[str, object], now: datetime
) -> Identity:
    """Generate keys, write the identity row and entry 0 (root-signed key.added).

    Key files are written first; if the transaction fails they are removed again.
    """
    if await session.scalar(select(NodeRow)) is not None:
        raise AlreadyInitialisedError(f"{settings.data_dir} already holds a node")
    passphrase = passphrase_for_new_keys(settings)
    root, signing = KeyPair.generate(), KeyPair.generate()
    keys_dir = settings.keys_dir
    written: list[Path] = []
    try:
        for name, key in ((ROOT_KEY_FILE, root), (signing_key_file(signing.key_id), signing)):
            path = keys_dir / name
            if path.exists():
                raise AlreadyInitialisedError(f"key file {path} already exists")
            save_key(path, key, passphrase)
            written.append(path)
        row = NodeRow(
            **identity_fields,
            root_key=root.public,
            signing_key=signing.public,
            card_version=1,
            created_at=now,
        )
        identity = identity_of(row)
        row.card = signed_card(identity, root, issued_at=now)
        session.add(row)
        await append_own(
            session,
            federation=identity.federation,
            origin=identity.node_id,
            drafts=[Draft("key.added", key_added_body(signing), ("*",), now)],
            signer=lambda _type: root,
            checkpoint_key=signing,
            now=now,
        )
        await session.flush()
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return identity


# (path, size, modification time) -> the public key of a signing key file (None: unreadable)
_key_files: dict[tuple[str, int, int], bytes | None] = {}


def own_signing_keys(node: Node) -> list[bytes]:
    """Public keys of this node's signing key files (`<keys dir>/signing-*.pem`), the one in
    use first: what `federation.core.own_copy` counts as this node's own beyond its stored key
    state (a database restored from before a key rotation, its key files kept). A file that
    does not load is passed over. Each file is decrypted once per process (blocking: call it
    in a thread), then remembered by path, size and modification time."""
    keys = [node.signing.public]
    if node.settings is None:
        return keys
    settings = node.settings
    in_use = settings.keys_dir / signing_key_file(node.signing.key_id)
    for path in sorted(settings.keys_dir.glob("signing-*.pem")):
        try:
            stat = path.stat()
        except OSError:
            continue
        mark = (str(path), stat.st_size, stat.st_mtime_ns)
        if path == in_use:
            continue
        if mark not in _key_files:
            try:
                _key_files[mark] = load_keypair(settings, path).public
            except ConfigError:
                _key_files[mark] = None
        public = _key_files[mark]
        if public is not None and public not in keys:
            keys.append(public)
    return keys
