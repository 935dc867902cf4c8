"""Deadlines, and how busy the machine was while a test waited on one.

FORKLAB_TIMEOUT_SCALE multiplies every timeout, for slow machines.  Waits
that can see progress (a reply still arriving, clients still being served)
do not use a fixed timeout: they go on while progress goes on, and end when
nothing has moved for STALL_SECONDS, or at a generous ceiling (net.Client).

A failed test whose verdict came from a deadline -- a wait_for() that ran
out, a reply that stalled, the test's own time limit -- is a timing-type
failure; scoring.py confirms it with a second run when the machine was busy
during the test (busy_share()), so that load alone never costs points.
"""

import os
import time

from grader.i18n import _
from grader.settings import positive_number

TIMEOUT_SCALE = positive_number("FORKLAB_TIMEOUT_SCALE", 1.0)

# A reply or a transfer that makes no progress for this long has stalled.
STALL_SECONDS = 5
# However steady the progress, a wait ends here: a reply of a few MiB still
# arriving after two minutes comes slower than 35 kB/s.
CEILING_SECONDS = 120

# The deadlines that passed in the current test (scoring.py clears it).
deadlines_passed = []


def scale() -> float:
    return TIMEOUT_SCALE


def scaled(seconds: float) -> float:
    return seconds * TIMEOUT_SCALE


def deadline_passed(what: str) -> None:
    """Record that a wait of the current test ended at its deadline."""
    if len(deadlines_passed) < 20:
        deadlines_passed.append(what)


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
    """wait_until with the grader's deadline: `timeout` scaled.  A wait that
    ends at its deadline is recorded (deadline_passed)."""
    value = wait_until(predicate, scaled(timeout), interval)
    if not value:
        deadline_passed(_("a wait of {seconds} s").format(seconds=f"{scaled(timeout):g}"))
    return value


# ------------------------------------------------------------ machine load

def _cpu_pressure_microseconds():
    """/proc/pressure/cpu's `some total`: microseconds during which at least
    one task of the machine was runnable but waited for a core (PSI), or
    None where the kernel has no PSI."""
    try:
        with open("/proc/pressure/cpu") as pressure:
            for line in pressure:
                if line.startswith("some "):
                    return int(line.rsplit("total=", 1)[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


class LoadMeter:
    """How busy the machine is over an interval: the share of the time some
    task waited for a core (PSI's cpu pressure, 0 to 1), or where the kernel
    has no PSI, the 1-minute load average per core above 1, capped at 1."""

    def __init__(self):
        self.started = time.monotonic()
        self.pressure = _cpu_pressure_microseconds()

    def share(self) -> float:
        elapsed = time.monotonic() - self.started
        now = _cpu_pressure_microseconds()
        if now is not None and self.pressure is not None and elapsed > 0:
            return min(1.0, max(0.0, (now - self.pressure) / 1e6 / elapsed))
        cores = os.cpu_count() or 1
        return min(1.0, max(0.0, os.getloadavg()[0] / cores - 1))


# A test disturbed by load more than this share of its time has its
# timing-type failures confirmed by a second run.
BUSY_SHARE = 0.10


class GradingLoad:
    """How busy the machine was during a whole grading (results.json's
    extra_data.load, and the line the grader prints at the end)."""

    def __init__(self):
        self.meter = LoadMeter()
        self.load_before = os.getloadavg()[0]

    def report(self, confirmed: int = 0) -> dict:
        return {"cores": os.cpu_count() or 1,
                "cpu_pressure": round(self.meter.share(), 3),
                "load_average": [round(self.load_before, 2), round(os.getloadavg()[0], 2)],
                "confirmed_by_second_run": confirmed}
