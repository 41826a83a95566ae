"""Fixtures of the security tests: the real-process fixtures of tests/system (`fresh_node`,
`make_node_copy`, `served_node` and the template nodes they copy), re-exported here."""

from tests.system.conftest import (
    backend,
    fresh_node,
    make_node_copy,
    node_template,
    pg_node_template,
    served_node,
)

__all__ = [
    "backend",
    "fresh_node",
    "make_node_copy",
    "node_template",
    "pg_node_template",
    "served_node",
]
