"""The federation's rule profile (issue 15, decision 0034): per regime, whether a denial lapses
at its review date or stays in force until revoked, whether an essentially identical
transaction must be consulted on and the reply window, and who is owed an approval
notification by when. One JSON document, one hash (`sha256:` over its RFC 8785 bytes) that
every node shows and that peers compare; not per-node settings.

The built-in profile is `default.json` beside this module; `DENEX_RULE_PROFILE` names another
file. A regime the profile does not list takes its `default` block.
"""

import functools
import hashlib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from keys.canonical import canonical_bytes

PROFILE_FORMAT = "denex-rule-profile/v1"
MAX_PROFILE_BYTES = 256 * 1024
HASH_PREFIX = "sha256:"
PROFILE_HEADER = "Denex-Rule-Profile"  # on every answer of a node: its profile's hash
REGIME_CODE = r"^[A-Z][A-Z0-9]{1,9}$"  # as a notice's `regimes` (service.notices.schema)

Text = Annotated[str, Field(min_length=1, max_length=500)]
Days = Annotated[int, Field(ge=1, le=3650)]


class RuleProfileError(ValueError):
    """A rule profile that cannot be read or does not follow the format: the message says
    which field and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Consultation(_Strict):
    required: bool  # an essentially identical transaction may not be approved unconsulted
    reply_days: Days  # the denier's window, from the request


class ApprovalNotification(_Strict):
    audience: Literal["denier", "members"]  # members: everyone in the notice's audience
    deadline_days: Days | None  # from the licence decision; None: owed, no deadline


class RegimeRules(_Strict):
    name: Text
    basis: Text  # the text the rules come from, for the officer and the auditor
    denials: Literal["lapse", "in_force_until_revoked"]
    review_years: Annotated[int, Field(ge=1, le=20)]
    consultation: Consultation
    approval_notification: ApprovalNotification


class _Document(_Strict):
    profile: Literal["denex-rule-profile/v1"]
    title: Text
    version: Annotated[str, Field(min_length=1, max_length=40)]
    notes: Annotated[str, Field(max_length=4000)] = ""
    default: RegimeRules
    regimes: Annotated[
        dict[Annotated[str, Field(pattern=REGIME_CODE)], RegimeRules], Field(max_length=100)
    ]


class RuleProfile:
    """A validated profile, its exact canonical bytes and their hash."""

    def __init__(self, document: _Document, canonical: bytes) -> None:
        self._document = document
        self.canonical = canonical
        self.hash = HASH_PREFIX + hashlib.sha256(canonical).hexdigest()

    @property
    def version(self) -> str:
        return self._document.version

    @property
    def title(self) -> str:
        return self._document.title

    def document(self) -> dict[str, object]:
        parsed: dict[str, object] = orjson.loads(self.canonical)
        return parsed

    @property
    def default(self) -> RegimeRules:
        """The rules of a regime the profile does not list."""
        return self._document.default

    def regime(self, code: str) -> RegimeRules:
        return self._document.regimes.get(code, self._document.default)

    def listed(self) -> dict[str, RegimeRules]:
        return dict(self._document.regimes)

    # --- what a notice under several regimes owes: the strictest of them -------------------

    def in_force_until_revoked(self, regimes: Iterable[str]) -> bool:
        """Does a denial under these regimes stay in force past its review date?"""
        return any(self.regime(r).denials == "in_force_until_revoked" for r in regimes)

    def consultation_required(self, regimes: Iterable[str]) -> list[str]:
        """The regimes among these whose rules require a consultation before approving an
        essentially identical transaction."""
        return [r for r in regimes if self.regime(r).consultation.required]

    def reply_days(self, regimes: Iterable[str]) -> int:
        """The denier's reply window: the longest of the regimes'."""
        days = [self.regime(r).consultation.reply_days for r in regimes]
        return max(days) if days else self._document.default.consultation.reply_days

    def approval_to_members(self, regimes: Iterable[str]) -> bool:
        return any(self.regime(r).approval_notification.audience == "members" for r in regimes)

    def approval_deadline_days(self, regimes: Iterable[str]) -> int | None:
        """Days after the licence decision within which the approval notification is due:
        the shortest deadline of the regimes; None when none sets one."""
        days = [self.regime(r).approval_notification.deadline_days for r in regimes]
        return min((d for d in days if d is not None), default=None)


def _location(error: object) -> str:
    loc = error["loc"] if isinstance(error, dict) else ()
    return ".".join(str(part) for part in loc) or "the document"


def parse(data: bytes, *, source: str = "the rule profile") -> RuleProfile:
    """Validate a profile document; RuleProfileError names the first offending field."""
    if len(data) > MAX_PROFILE_BYTES:
        raise RuleProfileError(f"{source} is over {MAX_PROFILE_BYTES} bytes")
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RuleProfileError(f"{source} is not valid JSON: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise RuleProfileError(f"{source} must be a JSON object")
    try:
        document = _Document.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        raise RuleProfileError(f"{source}: {_location(first)}: {message}") from None
    return RuleProfile(document, canonical_bytes(raw))


@functools.cache
def builtin() -> RuleProfile:
    data = resources.files("service.rules").joinpath("default.json").read_bytes()
    return parse(data, source="the built-in rule profile")


def load(path: Path | None) -> RuleProfile:
    """The profile in `path`, or the built-in one."""
    if path is None:
        return builtin()
    try:
        with path.open("rb") as file:
            data = file.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        raise RuleProfileError(f"cannot read the rule profile {path}: {exc.strerror}") from None
    return parse(data, source=str(path))
