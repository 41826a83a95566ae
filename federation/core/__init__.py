"""The pure core of the federation: what an entry, a log, a checkpoint, a key's life and a
signed request are, and how each is verified. Functions of their inputs only: no database,
no network, no files, no processes. `federation.storage` and `federation.network` build on
it; it imports neither (pyproject.toml's import contracts).
"""
