"""lab01_wrap: every doctest case of lab01_wrap/test_wrap.cpp is one graded item
(its points and hint: checks/wrap_cases.py).

The cases run one at a time (`test_wrap --test-case=NAME`), so a wrapper that
crashes or reaches a handout stub costs only its own cases.
"""

import pytest

from grader.harness.kit import _N
from grader.i18n import _  # noqa: F401 -- its titles and hints are translated

from checks import unit_cases
from checks.build_tests import builds_test
from checks.wrap_cases import CASE_DESCRIPTION, CASES, TEST_BINARY

LAB = "lab01_wrap"

# lab01's program is the kit's unit-test binary: no server, no children of
# a server, no port (harness/diagnose.py's KINDS).
CAUSES = ("crash", "stub", "flood", "cpu-burn")
CAUSE_HINTS = {
    "crash": _N("Look at {where}. Run the one case under gdb to see it happen: `gdb --args "
                "build/g++/test_wrap --test-case='NAME'` (the case's name, as the table shows "
                "it), then `set follow-fork-mode child` (the case runs the wrapper in a child "
                "process), `run`, and `bt` after the crash; `make SANITIZE=1 test` names a bad "
                "memory access where it happens."),
}

test_builds = builds_test()


HUNG = _N("the test did not finish within {seconds} s: the wrapper hung -- it loops for ever "
          "(retrying an error that is not EINTR? reading again after end of file?) or waits for "
          "bytes that never come")


@pytest.fixture
def unit_test_binary(lab_dir):
    """lab01's program: the unit-test binary its build makes."""
    return lab_dir / TEST_BINARY


unit_cases.bind_cases(globals(), CASES, "unit_test_binary", CASE_DESCRIPTION, HUNG)
