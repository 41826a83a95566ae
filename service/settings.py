"""The node's one validated settings object (environment prefix DENEX_), passed in, never global."""

import re
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DATABASE_DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")  # the async drivers denex ships
SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,30}")  # safe to repeat in a message (no password)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DENEX_", extra="ignore")

    data_dir: Path = Field(
        default=Path("./var/node"),
        description="The node's data directory (made 0700): its key files in `keys/`, the "
        "SQLite database `node.db` (unless `DENEX_DATABASE_URL` names another), the replay "
        "cache of signed requests and the sync lock. `--data-dir` overrides it.",
    )
    database_url: str | None = Field(
        default=None,
        description="The database, as a SQLAlchemy URL. Unset: SQLite, `node.db` in the data "
        "directory. PostgreSQL: `postgresql+asyncpg://USER:PASSWORD@HOST:5432/DATABASE` "
        "(for production and `denex serve --workers N`).",
    )
    key_passphrase: str | None = Field(
        default=None,
        repr=False,
        description="The passphrase of the encrypted key files (at least 12 characters "
        "outside development mode). Give this or `DENEX_KEY_PASSPHRASE_FILE`, not both.",
    )
    key_passphrase_file: Path | None = Field(
        default=None,
        description="A file holding the key passphrase (one trailing newline is dropped); "
        "preferred to `DENEX_KEY_PASSPHRASE`, which child processes inherit.",
    )
    sync_interval: float = Field(
        default=30.0,
        description="Seconds between sync rounds with each peer. A peer that fails is tried "
        "again after 0.5 to 1.5 intervals, doubling with each failure up to 30 intervals "
        "(at most 15 minutes).",
    )
    witness_interval: float = Field(
        default=300.0,
        description="At most how often, in seconds, the node appends a "
        "`checkpoints.witnessed` entry with the newest checkpoints it verified of its peers' "
        "logs (only after a round that verified new entries).",
    )
    stale_after: float = Field(
        default=6 * 3600.0,
        description="Seconds after which a peer whose log was not seen current raises a "
        "`stale` alert in `GET /api/v1/peers`, and screenings mark its origin as stale.",
    )
    content_deadline: float = Field(
        default=3600.0,
        description="Seconds after which entries that this node may see but received without "
        "their content raise a `withheld` alert on their origin in `GET /api/v1/peers`.",
    )
    insecure_dev_keys: bool = Field(
        default=False,
        description="Development only: allow unencrypted key files and any passphrase, or "
        "none. Never on a production node.",
    )
    insecure_dev_http: bool = Field(
        default=False,
        description="Development only: allow an `http://` URL for this node (`denex init "
        "--url`) and in peers' cards. Never on a production node.",
    )
    log_format: str = Field(
        default="console",
        description="`console` (one text line an event) or `json` (one JSON object a line, "
        "start-up included, each with an RFC 3339 UTC timestamp in milliseconds).",
    )
    access_log: bool = Field(
        default=True,
        description="One log line per HTTP request (method, route, status, duration, caller "
        "kind; never tokens, query strings or bodies), at INFO on the `denex.access` logger; "
        "0 turns it off.",
    )
    # DESIGN §7, per regime (DOMAIN.md marks these figures as uncertain: configurable)
    screening_interval: float = Field(
        default=5.0,
        description="Seconds between re-evaluations of open screenings against the notices "
        "that arrived or changed since.",
    )
    reply_days: dict[str, int] = Field(
        default_factory=dict,
        description="Consultation reply window in days per regime, a JSON object such as "
        '`{"NSG": 14}`; a notice under several regimes takes the longest window, a regime '
        "not listed `DENEX_DEFAULT_REPLY_DAYS`.",
    )
    default_reply_days: int = Field(
        default=30,
        description="Consultation reply window in days for regimes not in "
        "`DENEX_REPLY_DAYS` (at least 1).",
    )
    approval_deadline_days: dict[str, int] = Field(
        default_factory=lambda: {"WA": 60},
        description="Days after a licence approved despite a denial (a `consult` match) "
        "within which the `approval.notified` is due, per regime, a JSON object; a notice "
        "under several regimes takes the shortest. Regimes not listed owe no notification.",
    )
    approval_audience: dict[str, str] = Field(
        default_factory=lambda: {"WA": "members"},
        description="Who receives an approval notification, per regime, a JSON object: "
        "`denier` (the denying node) or `members` (every node in the notice's audience). "
        "Regimes not listed: `denier`.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str | None) -> str | None:
        """One of the drivers denex ships; the URL itself is never repeated (its password)."""
        if not url:
            return url
        scheme, separator, _rest = url.partition("://")
        if not separator or scheme not in DATABASE_DRIVERS:
            named = f", not {scheme}://" if SCHEME.fullmatch(scheme) else ""
            raise ValueError(
                "must be postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DATABASE or "
                f"sqlite+aiosqlite:///PATH{named}"
            )
        try:
            make_url(url)
        except (ArgumentError, ValueError):
            raise ValueError(f"is not a valid {scheme} URL (its host, port or path)") from None
        return url

    @model_validator(mode="after")
    def _check(self) -> "Settings":
        if self.log_format not in {"json", "console"}:
            raise ValueError("DENEX_LOG_FORMAT must be json or console")
        if self.key_passphrase is not None and self.key_passphrase_file is not None:
            raise ValueError("set DENEX_KEY_PASSPHRASE or DENEX_KEY_PASSPHRASE_FILE, not both")
        if any(rule not in {"denier", "members"} for rule in self.approval_audience.values()):
            raise ValueError("DENEX_APPROVAL_AUDIENCE values must be denier or members")
        if any(days < 1 for days in [*self.reply_days.values(), self.default_reply_days]):
            raise ValueError("consultation reply windows must be at least one day")
        return self

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'node.db').resolve()}"

    def passphrase(self) -> bytes | None:
        """The key passphrase, from the variable or the file (trailing newline dropped)."""
        if self.key_passphrase is not None:
            return self.key_passphrase.encode("utf-8") or None
        if self.key_passphrase_file is not None:
            try:
                text = self.key_passphrase_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(
                    f"cannot read DENEX_KEY_PASSPHRASE_FILE {self.key_passphrase_file}: {exc.strerror}"
                ) from exc
            return text.rstrip("\r\n").encode("utf-8") or None
        return None
