"""What the app needs at request time, built once at start-up and passed in (no globals)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from service.idempotency import Keys
from service.metrics import Metrics
from service.node import Node
from service.notices.group import PublishQueue
from service.screening.live import LiveIndex
from service.settings import Settings
from service.storage.database import Database
from service.sync.loop import SyncLoop


@dataclass
class AppState:
    settings: Settings
    db: Database
    node: Node
    clock: Callable[[], datetime]
    metrics: Metrics
    publisher: PublishQueue = field(init=False)
    idempotency: Keys = field(init=False)
    screening: LiveIndex = field(init=False)
    sync_loop: SyncLoop | None = None  # set by `denex serve` in the process that runs it

    def __post_init__(self) -> None:
        self.publisher = PublishQueue(self.db, self.node, self.clock)
        self.idempotency = Keys(self.db, self.clock)
        self.screening = LiveIndex(self.db, rules=self.settings.rules)
