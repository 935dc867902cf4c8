"""Deadlines.  FORKLAB_TIMEOUT_SCALE multiplies every timeout, for slow machines."""

import os
import time


def scale() -> float:
    try:
        value = float(os.environ.get("FORKLAB_TIMEOUT_SCALE", "1"))
    except ValueError:
        return 1.0
    return value if value > 0 else 1.0


def scaled(seconds: float) -> float:
    return seconds * scale()


def wait_for(predicate, timeout: float, interval: float = 0.01):
    """Poll predicate() until it returns a true value or `timeout` (scaled)
    seconds pass.  Returns the last value it returned."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)  # polling interval, not synchronisation
