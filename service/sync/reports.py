"""What a sync round found, per peer and per origin (for the CLI, the logs and the tests)."""

from dataclasses import dataclass, field


@dataclass
class OriginReport:
    origin: str
    before: int
    after: int
    checkpoint: bool = False  # the peer's checkpoint was verified and kept
    error: str | None = None
    substantive: int = 0  # new entries other than witness statements
    filled: int = 0  # entries whose withheld content this peer supplied
    equivocations: list[str] = field(default_factory=list)  # found in witness entries
    ignored: str | None = None  # this node's own log: a claim its keys do not back (logged)

    @property
    def fetched(self) -> int:
        return self.after - self.before


@dataclass
class PeerReport:
    peer: str
    origins: list[OriginReport] = field(default_factory=list)  # those pulled or filled
    error: str | None = None
    heads: int = 0  # logs the peer listed (unchanged ones included)

    @property
    def fetched(self) -> int:
        return sum(o.fetched for o in self.origins)
