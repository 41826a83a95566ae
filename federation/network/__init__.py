"""Talking to peers: the signed HTTP client, pulling and verifying their logs into storage,
and the worker processes that verify pages. Built on `federation.core` and
`federation.storage`.
"""
