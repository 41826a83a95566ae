"""Jobs for the worker-pool tests, in a module that imports nothing itself: what a worker
reports having loaded is what the jobs before it needed."""

import sys


def loaded(_: object) -> list[str]:
    return sorted(sys.modules)


def double(value: int) -> int:
    return value * 2


def fail(value: int) -> int:
    raise ValueError(f"no {value}")
