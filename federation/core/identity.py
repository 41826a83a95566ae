"""Node ids and federation ids: their syntax, checked in one place."""

import re

NODE_ID_PATTERN = r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$"
_NODE_ID = re.compile(NODE_ID_PATTERN)
# A schema-less URL: host[:port][/path], no scheme, no spaces, no trailing slash.
_FEDERATION = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*$")


def is_node_id(value: str) -> bool:
    return bool(_NODE_ID.fullmatch(value))


def is_federation_id(value: str) -> bool:
    return len(value) <= 200 and bool(_FEDERATION.fullmatch(value))
