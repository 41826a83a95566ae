"""Folding free text for search terms: Unicode NFKC, case-folded, whitespace collapsed."""

import unicodedata


def fold(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())
