"""The rule profile: the built-in document, its hash, what a notice under several regimes
owes, and a clear error for every malformed profile."""

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from keys.canonical import canonical_bytes
from service.rules.profile import (
    MAX_PROFILE_BYTES,
    RuleProfileError,
    builtin,
    load,
    parse,
)
from service.settings import Settings
from tests.service.rules.profiles import profile_where


def test_the_builtin_profile_and_its_hash_over_its_canonical_bytes() -> None:
    profile = builtin()
    document = profile.document()
    assert document["profile"] == "denex-rule-profile/v1"
    assert profile.canonical == canonical_bytes(document)
    import hashlib

    assert profile.hash == "sha256:" + hashlib.sha256(profile.canonical).hexdigest()
    # the same rules written another way (spacing, key order) are the same profile
    respaced = orjson.dumps(dict(reversed(list(document.items()))), option=orjson.OPT_INDENT_2)
    assert parse(respaced).hash == profile.hash
    assert load(None) is profile


def test_what_a_notice_under_several_regimes_owes() -> None:
    rules = builtin()
    assert not rules.in_force_until_revoked(["WA", "HRI"])
    assert rules.in_force_until_revoked(["WA", "EU"])  # one lasting regime is enough
    assert rules.consultation_required(["WA", "EU", "NSG"]) == ["EU", "NSG"]
    assert rules.consultation_required(["WA", "HRI"]) == []
    assert rules.approval_deadline_days(["WA", "EU"]) == 60
    assert rules.approval_deadline_days(["EU", "HRI"]) is None
    assert rules.approval_to_members(["HRI", "EU"]) and not rules.approval_to_members(["HRI"])
    changed = profile_where(
        NSG={"consultation": {"reply_days": 45}},
        WA={"approval_notification": {"deadline_days": 30}},
    )
    assert changed.reply_days(["EU", "NSG"]) == 45  # the longest window
    assert changed.approval_deadline_days(["WA", "XYZ"]) == 30
    assert changed.hash != rules.hash
    # a regime the profile does not list takes its default
    assert changed.regime("XYZ") == changed.default
    assert not changed.in_force_until_revoked(["XYZ"])


def _broken(change: Any) -> bytes:
    document = copy.deepcopy(builtin().document())
    change(document)
    return orjson.dumps(document)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "is not valid JSON"),
        (b"[]", "must be a JSON object"),
        (_broken(lambda d: d.update(profile="denex-rule-profile/v9")), "profile"),
        (_broken(lambda d: d["regimes"]["WA"].update(denials="forever")), "regimes.WA.denials"),
        (
            _broken(lambda d: d["regimes"]["EU"]["consultation"].update(reply_days=0)),
            "regimes.EU.consultation.reply_days",
        ),
        (
            _broken(lambda d: d["regimes"]["EU"]["consultation"].update(required="yes")),
            "regimes.EU.consultation.required",
        ),
        (
            _broken(lambda d: d["regimes"]["WA"]["approval_notification"].update(audience="all")),
            "regimes.WA.approval_notification.audience",
        ),
        (_broken(lambda d: d["regimes"].update(wa=d["regimes"]["WA"])), "regimes.wa"),
        (_broken(lambda d: d["regimes"]["WA"].update(colour="red")), "regimes.WA.colour"),
        (_broken(lambda d: d.pop("default")), "default"),
        (b" " * (MAX_PROFILE_BYTES + 1), f"over {MAX_PROFILE_BYTES} bytes"),
    ],
)
def test_a_malformed_profile_is_refused_naming_the_field(data: bytes, message: str) -> None:
    with pytest.raises(RuleProfileError, match=message):
        parse(data, source="p.json")


def test_settings_read_the_profile_named_and_refuse_the_retired_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rules.json"
    path.write_bytes(profile_where(WA={"review_years": 5}).canonical)
    assert Settings(rule_profile=path).rules.regime("WA").review_years == 5
    assert Settings().rules.hash == builtin().hash
    path.write_bytes(b"{}")
    with pytest.raises(ValueError, match=r"DENEX_RULE_PROFILE: .*rules\.json: profile"):
        Settings(rule_profile=path)
    with pytest.raises(ValueError, match="cannot read the rule profile"):
        Settings(rule_profile=tmp_path / "missing.json")
    monkeypatch.setenv("DENEX_REPLY_DAYS", '{"NSG": 14}')
    with pytest.raises(ValueError, match="DENEX_REPLY_DAYS is no longer read"):
        Settings()
