"""How the grading plugin (harness/scoring.py) words a test's outcome: the
exception a test ended with (describe_exception; is_grader_error: a bug of
the grader's own, not of the program; TestTimedOut, raised at the test's
deadline), the hints of a test out of time and of a grader error, the status
line of a test's log, how a program stood when its test failed, and the
layout of the lines under a result (indent, columns: a Chinese character
takes two).
"""

import unicodedata

import pytest

from grader.i18n import _

from .kit import _N


class TestTimedOut(Exception):
    pass


HINT_TIMED_OUT = _N("The test ran out of time before it could decide: your program may be stuck, "
                    "waiting for input that never comes, or very slow. The observed line and the "
                    "output below say how far it got; the timeline (.svg beside the log) shows "
                    "its processes. Run the test's steps by hand, as the lab README's \"try it by "
                    "hand\" does, and watch with `ps -o pid,stat,time,cmd --forest`.")


HINT_GRADER_ERROR = _N("Nothing to change in your program for this: the grader stopped on an "
                       "error of its own. Its score is withheld; tell your instructor.")


# The first line but one of a failed test's log, by the test's status.
LOG_STATUS = {"passed": _N("status:   passed ({points}/{max_points} points)"),
              "failed": _N("status:   failed ({points}/{max_points} points)"),
              "not run": _N("status:   not run ({points}/{max_points} points)")}


def _on_alarm(signum, frame):
    raise TestTimedOut()


def is_grader_error(excinfo) -> bool:
    """An exception no check of the student's program raises: a bug of the
    grader's own (an AttributeError, a KeyError...).  An OSError is not one:
    a connection the student's server reset or refused surfaces as one."""
    value = excinfo.value
    return not isinstance(value, (pytest.skip.Exception, pytest.fail.Exception, AssertionError,
                                  TestTimedOut, OSError, KeyboardInterrupt))


def describe_exception(excinfo) -> str:
    value = excinfo.value
    if isinstance(value, (pytest.skip.Exception, pytest.fail.Exception)):
        return str(value.msg)
    if isinstance(value, AssertionError):
        text = str(value).strip()
        return text if text else _("an assertion failed")
    if isinstance(value, TestTimedOut):
        return _("(timed out)")
    if isinstance(value, OSError) and value.strerror:
        return _("a connection to the program failed: {why}").format(why=value.strerror)
    return f"{type(value).__name__}: {value}"


def _exit_at_failure(program) -> str:
    """How a program stood when its test failed (before clean-up killed it)."""
    if program.running():
        return _("was still running when the test failed (then the grader stopped it)")
    return program.describe_exit()


def columns(text: str) -> int:
    """How many terminal columns text takes: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def indent(text: str, first: str, width: int = 10) -> str:
    """Indent a block under a result line: 'first' on line one, aligned below."""
    pad = " " * width
    lines = str(text).splitlines() or [""]
    head = pad + first + lines[0]
    rest = [pad + " " * columns(first) + line for line in lines[1:]]
    return "\n".join([head] + rest)
