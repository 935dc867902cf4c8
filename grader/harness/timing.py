"""Deadlines.  FORKLAB_TIMEOUT_SCALE multiplies every timeout, for slow machines."""

import time

from grader.settings import positive_number

TIMEOUT_SCALE = positive_number("FORKLAB_TIMEOUT_SCALE", 1.0)


def scale() -> float:
    return TIMEOUT_SCALE


def scaled(seconds: float) -> float:
    return seconds * TIMEOUT_SCALE


def wait_until(predicate, seconds: float, interval: float = 0.01):
    """Poll predicate() until it returns a true value or `seconds` pass (as
    given: the bench and the demo, which no timeout scale concerns).  Returns
    the last value it returned."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)  # polling interval, not synchronisation


def wait_for(predicate, timeout: float, interval: float = 0.01):
    """wait_until with the grader's deadline: `timeout` scaled."""
    return wait_until(predicate, scaled(timeout), interval)
