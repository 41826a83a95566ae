"""What the app needs at request time, built once at start-up and passed in (no globals)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from service.metrics import Metrics
from service.node import Node
from service.settings import Settings
from service.storage.database import Database


@dataclass
class AppState:
    settings: Settings
    db: Database
    node: Node
    clock: Callable[[], datetime]
    metrics: Metrics
