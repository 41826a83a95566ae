"""federation.network.pull's backoff and retry_bounds: how long a node waits before it tries
a peer again after network failures in a row (decision 0013).

The delay is `min(cap, base * 2**(failures - 1))` times a jitter factor `0.5 + jitter`, with
`jitter` drawn by the caller in [0, 1): the randomness is injected, so the properties below
range over every jitter rather than over draws. tests/service/sync/test_backoff.py covers
retry_bounds for named intervals and back-off through a running node.
"""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.network.pull import (
    MIN_RETRY,
    RETRY_CAP_INTERVALS,
    RETRY_CAP_SECONDS,
    backoff,
    retry_bounds,
)

JITTERS = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)
FAILURES = st.integers(min_value=0, max_value=1000)
BOUNDS = st.tuples(
    st.floats(min_value=0.01, max_value=3600.0), st.floats(min_value=1.0, max_value=64.0)
).map(lambda pair: (pair[0], pair[0] * pair[1]))  # (base, cap) with cap >= base
INTERVALS = st.floats(min_value=0.0, max_value=86_400.0)
TICK = 1e-6  # a timedelta's resolution: delays are rounded to it


def seconds(failures: int, base: float = 30.0, cap: float = 900.0, jitter: float = 0.5) -> float:
    return backoff(failures, base=base, cap=cap, jitter=jitter).total_seconds()


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(0, 30.0), (1, 30.0), (2, 60.0), (3, 120.0), (4, 240.0), (5, 480.0), (6, 900.0),
     (7, 900.0), (40, 900.0)],
)  # fmt: skip
def test_the_delay_doubles_with_each_failure_until_the_cap(failures: int, expected: float) -> None:
    """At the middle jitter (factor 1, the expected delay) the delay is the base after the
    first failure, and zero failures waits as long as one."""
    assert seconds(failures) == pytest.approx(expected)


@pytest.mark.parametrize(("jitter", "factor"), [(0.0, 0.5), (0.25, 0.75), (0.999, 1.499)])
def test_jitter_scales_the_capped_delay_by_one_half_to_three_halves(
    jitter: float, factor: float
) -> None:
    assert seconds(1, jitter=jitter) == pytest.approx(30.0 * factor)
    assert seconds(50, jitter=jitter) == pytest.approx(900.0 * factor)  # the cap is jittered too


def test_the_result_is_a_timedelta() -> None:
    delay = backoff(3, base=2.5, cap=100.0, jitter=0.5)
    assert isinstance(delay, timedelta) and delay == timedelta(seconds=10)


@given(failures=FAILURES, bounds=BOUNDS, jitter=JITTERS)
def test_the_delay_stays_within_half_the_base_and_one_and_a_half_caps(
    failures: int, bounds: tuple[float, float], jitter: float
) -> None:
    base, cap = bounds
    delay = seconds(failures, base, cap, jitter)
    assert 0.5 * base - TICK <= delay <= 1.5 * cap + TICK


@given(failures=FAILURES, bounds=BOUNDS, jitter=JITTERS)
def test_more_failures_never_shorten_the_delay(
    failures: int, bounds: tuple[float, float], jitter: float
) -> None:
    base, cap = bounds
    assert seconds(failures + 1, base, cap, jitter) >= seconds(failures, base, cap, jitter)


@given(failures=FAILURES, bounds=BOUNDS, low=JITTERS, high=JITTERS)
def test_a_larger_jitter_never_shortens_the_delay(
    failures: int, bounds: tuple[float, float], low: float, high: float
) -> None:
    base, cap = bounds
    low, high = sorted((low, high))
    assert seconds(failures, base, cap, low) <= seconds(failures, base, cap, high)


@pytest.mark.parametrize("failures", [1025, 10**6])
def test_a_peer_down_for_very_long_waits_the_cap_without_overflowing(failures: int) -> None:
    """1025 failures take about 8.5 hours at the smallest bounds (1 s, capped at 30 s)."""
    assert seconds(failures) == pytest.approx(900.0)


@given(interval=INTERVALS)
def test_retry_bounds_start_at_one_interval_and_cap_at_most_fifteen_minutes(
    interval: float,
) -> None:
    base, cap = retry_bounds(interval)
    assert base == max(interval, MIN_RETRY)
    assert base <= cap <= max(base, RETRY_CAP_SECONDS)
    assert cap <= RETRY_CAP_INTERVALS * base


@given(interval=INTERVALS, failures=FAILURES, jitter=JITTERS)
def test_a_peer_that_failed_once_is_tried_again_within_half_to_one_and_a_half_intervals(
    interval: float, failures: int, jitter: float
) -> None:
    base, cap = retry_bounds(interval)
    once = seconds(1, base, cap, jitter)
    assert 0.5 * base - TICK <= once <= 1.5 * base + TICK
    assert seconds(failures, base, cap, jitter) <= 1.5 * max(base, RETRY_CAP_SECONDS) + TICK


@given(low=INTERVALS, high=INTERVALS)
def test_a_longer_interval_never_gives_shorter_bounds(low: float, high: float) -> None:
    low, high = sorted((low, high))
    (base_low, cap_low), (base_high, cap_high) = retry_bounds(low), retry_bounds(high)
    assert base_low <= base_high and cap_low <= cap_high
