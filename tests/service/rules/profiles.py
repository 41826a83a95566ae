"""Rule profiles for tests: the built-in one with some regimes' rules changed, and a node's
settings made to use it (as `DENEX_RULE_PROFILE` would)."""

import copy
from typing import Any

import orjson

from service.rules.profile import RuleProfile, builtin, parse
from service.settings import Settings


def profile_where(**regimes: dict[str, Any]) -> RuleProfile:
    """The built-in profile with each named regime's rules updated, one level deep
    (`WA={"approval_notification": {"audience": "denier"}}`)."""
    document = copy.deepcopy(builtin().document())
    for code, changes in regimes.items():
        rules = document["regimes"].setdefault(code, copy.deepcopy(document["default"]))
        for name, value in changes.items():
            if isinstance(value, dict):
                rules[name] = {**rules[name], **value}
            else:
                rules[name] = value
    return parse(orjson.dumps(document))


def settings_with(settings: Settings, profile: RuleProfile) -> Settings:
    changed = settings.model_copy()
    changed._rules = profile
    return changed
