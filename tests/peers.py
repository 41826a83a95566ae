"""A second identity that a test node trusts as a roster peer, and signing as it.

`Partner.make("fr-sbdu")` is a node that exists only as keys and a card (root and signing
KeyPairs, a root-signed card). `await befriend(live, partner)` adds it to `live`'s roster the
way `denex peer add` does (service.roster.add_peer, audit record included), and
`partner.auth(clock)` is the httpx.Auth that signs requests as that peer (RFC 9421, with the
node's clock for `created`). `await peer_auth(live)` does all three for the common case.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from federation.core.entry import format_time
from federation.network.client import PeerAuth
from federation.storage.tables import PeerRow
from keys.card import card_body, make_card
from keys.ed25519 import KeyPair
from service.roster import add_peer
from tests.nodes import START, LiveNode


@dataclass
class Partner:
    node_id: str
    root: KeyPair
    signing: KeyPair
    federation: str = "denex.test"
    regimes: tuple[str, ...] = ("EU", "HRI", "WA")
    url: str = ""

    @classmethod
    def make(cls, node_id: str = "fr-sbdu", **fields: object) -> "Partner":
        partner = cls(node_id, KeyPair.generate(), KeyPair.generate(), **fields)  # type: ignore[arg-type]
        partner.url = partner.url or f"https://{node_id}.denex.example"
        return partner

    def card(
        self,
        *,
        version: int = 1,
        signing: list[bytes] | None = None,
        root: KeyPair | None = None,
        issued_at: datetime = START,
        **overrides: object,
    ) -> bytes:
        """This partner's card, root-signed; `overrides` replace body fields."""
        signer = root or self.root
        body = card_body(
            federation=self.federation,
            node_id=self.node_id,
            country=self.node_id[:2].upper(),
            name=f"Partner authority {self.node_id}",
            url=self.url,
            root_key=signer.public,
            signing_keys=signing if signing is not None else [self.signing.public],
            regimes=list(self.regimes),
            card_version=version,
            issued_at=format_time(issued_at),
        )
        body.update(overrides)
        return make_card(body, signer)

    def auth(self, clock: Callable[[], datetime], key: KeyPair | None = None) -> PeerAuth:
        return PeerAuth(key or self.signing, clock=clock)


async def befriend(live: LiveNode, partner: Partner | bytes) -> PeerRow:
    """Put `partner` (or the node whose card this is) in `live`'s roster as
    `denex peer add --yes` would, in development mode (test nodes have http:// URLs)."""
    card = partner if isinstance(partner, bytes) else partner.card()
    async with live.db.write() as session:
        return await add_peer(
            session, card, identity=live.node.identity, insecure_http=True, now=live.state.clock()
        )


async def peer_auth(live: LiveNode, node_id: str = "fr-sbdu") -> PeerAuth:
    """A new partner in `live`'s roster, and the auth that signs requests as it."""
    partner = Partner.make(node_id)
    await befriend(live, partner)
    return partner.auth(live.state.clock)
