"""The node's one validated settings object (environment prefix DENEX_), passed in, never global."""

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DENEX_", extra="ignore")

    data_dir: Path = Path("./var/node")
    database_url: str | None = None
    key_passphrase: str | None = Field(default=None, repr=False)
    key_passphrase_file: Path | None = None
    sync_interval: float = 30.0
    witness_interval: float = 300.0
    stale_after: float = 6 * 3600.0
    content_deadline: float = 3600.0
    retention_days: int | None = None
    insecure_dev_keys: bool = False
    insecure_dev_http: bool = False
    log_format: str = "console"
    access_log: bool = Field(
        default=True,
        description="One log line per HTTP request (method, route, status, duration, caller "
        "kind; never tokens, query strings or bodies), at INFO on the `denex.access` logger; "
        "0 turns it off.",
    )
    # DESIGN §7, per regime (DOMAIN.md marks these figures as uncertain: configurable)
    screening_interval: float = 5.0  # how often open screenings are re-evaluated
    reply_days: dict[str, int] = Field(default_factory=dict)  # consultation reply window
    default_reply_days: int = 30
    approval_deadline_days: dict[str, int] = Field(default_factory=lambda: {"WA": 60})
    approval_audience: dict[str, str] = Field(default_factory=lambda: {"WA": "members"})

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
