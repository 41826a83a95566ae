"""The lifecycle's pure rules: a denial past its review date lapses or, under a regime that
keeps it in force until revoked, is `review_overdue`; both stay due for review."""

from datetime import date

import pytest

from service.notices.lifecycle import due_for_review, status

UNTIL = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("today", "lasting", "revoked", "invalidated", "expected", "due"),
    [
        (date(2026, 9, 1), False, False, False, "active", False),  # 91 days before
        (date(2026, 9, 2), False, False, False, "active", True),  # 90 days before
        (UNTIL, False, False, False, "active", True),  # the last day
        (date(2026, 12, 2), False, False, False, "expired", False),
        (date(2026, 12, 2), True, False, False, "review_overdue", True),
        (date(2031, 1, 1), True, False, False, "review_overdue", True),
        (date(2026, 12, 2), True, True, False, "revoked", False),
        (date(2026, 11, 1), True, True, True, "invalidated", False),
    ],
)
def test_status_and_review(
    today: date, lasting: bool, revoked: bool, invalidated: bool, expected: str, due: bool
) -> None:
    state = status(
        valid_until=UNTIL, revoked=revoked, today=today, invalidated=invalidated, lasting=lasting
    )
    assert state == expected
    assert due_for_review(state, valid_until=UNTIL, today=today) is due
