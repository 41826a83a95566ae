"""A notice's status and review dates, computed from its dates and an explicit `today`."""

from datetime import date, timedelta

REVIEW_WINDOW = timedelta(days=90)
DEFAULT_VALIDITY_YEARS = 3


def default_valid_until(decided_on: date) -> date:
    """`decided_on` plus three years (29 February falls back to 28 February)."""
    year = decided_on.year + DEFAULT_VALIDITY_YEARS
    try:
        return decided_on.replace(year=year)
    except ValueError:
        return decided_on.replace(year=year, day=28)


def status(*, valid_until: date, revoked: bool, today: date, invalidated: bool = False) -> str:
    """`invalidated` (its entry was signed by a revoked key), `revoked`, `expired` (the day
    after valid_until) or `active`."""
    if invalidated:
        return "invalidated"
    if revoked:
        return "revoked"
    if today > valid_until:
        return "expired"
    return "active"


def review_due(*, valid_until: date, revoked: bool, today: date, invalidated: bool = False) -> bool:
    """An active notice is due for review from 90 days before it expires."""
    state = status(valid_until=valid_until, revoked=revoked, today=today, invalidated=invalidated)
    return state == "active" and (today >= valid_until - REVIEW_WINDOW)
