"""keys: who we are and whom we trust — key pairs, custody, canonical bytes and DSSE envelopes.

This package imports nothing else of denex. Everything here is pure except `custody`, which
reads and writes key files.
"""
