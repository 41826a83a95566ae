"""The node's one validated settings object (environment prefix DENEX_), passed in, never global."""

import os
import re
from pathlib import Path

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from service.rules.profile import RuleProfile, RuleProfileError
from service.rules.profile import load as load_rules

DATABASE_DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")  # the async drivers denex ships
# per-regime settings before the rule profile (decision 0034): refused rather than ignored
RETIRED = (
    "DENEX_REPLY_DAYS",
    "DENEX_DEFAULT_REPLY_DAYS",
    "DENEX_APPROVAL_DEADLINE_DAYS",
    "DENEX_APPROVAL_AUDIENCE",
)
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
    screening_interval: float = Field(
        default=5.0,
        description="Seconds between re-evaluations of open screenings against the notices "
        "that arrived or changed since.",
    )
    rule_profile: Path | None = Field(
        default=None,
        description="The federation's rule profile, a JSON file (docs/rules.md): per regime, "
        "whether denials lapse at their review date or stay in force until revoked, whether "
        "a consultation is required and its reply window, and who is owed an approval "
        "notification by when. Unset: the built-in profile. Every node of a federation "
        "should run the same one: `GET /api/v1/rules` shows its hash, and peers on another "
        "are flagged in `GET /api/v1/peers`.",
    )
    _rules: RuleProfile | None = PrivateAttr(default=None)

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
        retired = sorted(name for name in RETIRED if name in os.environ)
        if retired:
            raise ValueError(
                f"{retired[0]} is no longer read: per-regime rules are in the rule profile "
                "(DENEX_RULE_PROFILE, docs/rules.md); unset it"
            )
        try:
            self._rules = load_rules(self.rule_profile)
        except RuleProfileError as exc:
            raise ValueError(f"DENEX_RULE_PROFILE: {exc}") from None
        return self

    @property
    def rules(self) -> RuleProfile:
        """The rule profile, read and checked when the settings were."""
        return self._rules if self._rules is not None else load_rules(self.rule_profile)

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
