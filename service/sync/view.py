"""What a sync round reads once for all its peers (`Puller._view`): a copy another peer's
pull moved on meanwhile only costs a pull that finds nothing new."""

from dataclasses import dataclass

from federation.storage import content, cosignatures, heads, replica
from federation.storage.tables import LogRow
from service.storage.database import Database


@dataclass(frozen=True)
class RoundView:
    logs: dict[str, LogRow]
    lacking: set[str]  # origins whose content this node lacks some of
    heads: dict[str, dict[str, int]]  # peer -> origin -> size, as last recorded
    cosigned: set[tuple[str, str]]  # (origin, witness): a cosignature kept on its newest size


async def read_view(db: Database) -> RoundView:
    async with db.read() as session:
        return RoundView(
            {log.origin: log for log in await replica.logs(session)},
            await content.origins_missing_content(session),
            await heads.peer_heads(session),
            await cosignatures.witnesses_of_newest(session),
        )
