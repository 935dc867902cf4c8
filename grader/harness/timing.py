"""Deadlines.  FORKLAB_TIMEOUT_SCALE multiplies every timeout, for slow machines."""

import time

from .settings import positive_number

TIMEOUT_SCALE = positive_number("FORKLAB_TIMEOUT_SCALE", 1.0)


def scale() -> float:
    return TIMEOUT_SCALE


def scaled(seconds: float) -> float:
    return seconds * TIMEOUT_SCALE


def wait_for(predicate, timeout: float, interval: float = 0.01):
    """Poll predicate() until it returns a true value or `timeout` (scaled)
    seconds pass.  Returns the last value it returned."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)  # polling interval, not synchronisation
