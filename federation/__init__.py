"""federation: how nodes talk — signed entries, the per-origin logs, their Merkle trees and
checkpoints, proofs, sync, witnessing and peer authentication.

Payload-agnostic in its storage and network code: it moves and verifies signed entries of any
type; `service` knows what a notice means. Imports `keys`, never `service`, never FastAPI.

* `federation.core`: the pure core — canonical entries, Merkle maths, signed notes and
  checkpoints, key state, HTTP message signature maths, and the verifiers built on them. No
  database, no network, no processes (an import-linter contract holds it so).
* `federation.storage`: the tables and the code that keeps logs, trees and peers' copies in
  them (SQLAlchemy).
* `federation.network`: talking to peers (httpx), pulling their logs, and the process pool
  that verifies pages.
"""
