"""federation: how nodes talk — signed entries, the per-origin logs, and (later) the Merkle
tree, checkpoints, proofs, sync and peer authentication.

Payload-agnostic: it moves and verifies signed entries of any type; only `service` knows
what a notice means. Imports `keys`, never `service`, never FastAPI.
"""
