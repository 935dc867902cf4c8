"""Checks whose failure message says what was observed, in a student's words.

A graded test fails through these (or pytest.fail(..., pytrace=False)), so
the report shows "observed: ..." and the test's hint -- never a traceback.
"""

import pytest
from grader.i18n import _

from .kit import _N

PREVIEW_BYTES = 48

# What the current test's checks saw, for harness/diagnose.py (scoring.py
# clears it before each test): "no_reply" when a reply was owed and not one
# byte of it came, "some_reply" when any reply came.
observations = {}


def fail(observed: str):
    pytest.fail(observed, pytrace=False)


def expect(condition, observed: str) -> None:
    if not condition:
        fail(observed)


def show(data: bytes, limit: int = PREVIEW_BYTES) -> str:
    """repr() of data, shortened in the middle: b'abc'...(+1000 bytes)...b'xyz'."""
    if len(data) <= limit:
        return repr(bytes(data))
    half = limit // 2
    return _("{head}...(+{count} bytes)...{tail}").format(
        head=repr(bytes(data[:half])), count=len(data) - limit, tail=repr(bytes(data[-half:])))


def first_difference(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def expect_reply(sent: bytes, received: bytes, expected: bytes,
                 what=_N("the reply"), ended: str = "") -> None:
    """Fail unless received == expected (the lab's protocol says what the
    reply to sent is), showing the input, the expected and the received bytes;
    `ended`: how the wait for the reply ended (net.Waited.describe())."""
    if received:
        observations["some_reply"] = True
    if received == expected:
        return
    if expected and not received:
        observations["no_reply"] = True
    at = first_difference(received, expected)
    lines = [_("{what} differs from what was expected:").format(what=_(what)),
             "  " + _("sent     ({count} bytes): {data}").format(count=len(sent), data=show(sent)),
             "  " + _("expected ({count} bytes): {data}").format(count=len(expected),
                                                                  data=show(expected)),
             "  " + _("received ({count} bytes): {data}").format(count=len(received),
                                                                  data=show(received))]
    if len(received) < len(expected) and received == expected[:len(received)]:
        if not received and ended:
            lines.append("  " + ended)
        elif ended:
            lines.append("  " + _("the first {count} bytes were right, then {ended}").format(
                count=f"{len(received):,}", ended=ended))
        else:
            lines.append("  " + _("the first {count} bytes were right, then nothing more came"
                                  ).format(count=len(received)))
    else:
        lo = max(0, at - 8)
        lines.append("  " + _("first difference at byte {at}: expected {expected}, received "
                              "{received}").format(at=at, expected=show(expected[lo:at + 8]),
                                                   received=show(received[lo:at + 8])))
    fail("\n".join(lines))
