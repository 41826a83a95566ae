"""A notice's status and review dates, computed from its dates, whether its regimes keep a
denial in force until it is revoked (the rule profile), and an explicit `today`."""

from datetime import date, timedelta

REVIEW_WINDOW = timedelta(days=90)
DEFAULT_VALIDITY_YEARS = 3
STATUSES = ("active", "review_overdue", "expired", "revoked", "invalidated")
IN_FORCE = ("active", "review_overdue")  # matched by screening


def default_valid_until(decided_on: date) -> date:
    """`decided_on` plus three years (29 February falls back to 28 February)."""
    return add_years(decided_on, DEFAULT_VALIDITY_YEARS)


def add_years(day: date, years: int) -> date:
    """`day` plus `years` years (29 February falls back to 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def status(
    *,
    valid_until: date,
    revoked: bool,
    today: date,
    invalidated: bool = False,
    lasting: bool = False,
) -> str:
    """`invalidated` (its entry was signed by a revoked key), `revoked`, and past valid_until
    (the review date) `review_overdue` when `lasting` (a regime of the notice keeps denials
    in force until revoked: still matched) or else `expired`; `active` otherwise."""
    if invalidated:
        return "invalidated"
    if revoked:
        return "revoked"
    if today > valid_until:
        return "review_overdue" if lasting else "expired"
    return "active"


def due_for_review(state: str, *, valid_until: date, today: date) -> bool:
    """Is a notice whose status is `state` due for review? One in force is, from 90 days
    before valid_until, and stays due while its review is overdue."""
    return state in IN_FORCE and today >= valid_until - REVIEW_WINDOW
