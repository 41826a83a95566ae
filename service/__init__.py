"""service: the node — notices, tokens, audit trail, storage, JSON API, CLI and wiring.

Knows what a notice means; uses `federation` to append and read signed entries.
"""
