"""lab01_wrap: every doctest case of lab01_wrap/test_wrap.cpp is one graded item
(its points and hint: checks/wrap_cases.py).

The cases run one at a time (`test_wrap --test-case=NAME`), so a wrapper that
crashes or reaches a handout stub costs only its own cases.
"""

import re

from grader.harness import graded, procs
from grader.harness.expect import expect, fail
from grader.harness.kit import _N
from grader.harness.timing import scaled
from grader.i18n import _  # noqa: F401 -- its titles and hints are translated

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


def doctest_failure_lines(output: str, limit: int = 12) -> str:
    """The assertion lines of doctest's report, without its banners."""
    keep = []
    for line in output.splitlines():
        if not line.strip() or line.startswith(("===", "[doctest]", "---")):
            continue
        if line.startswith("TEST CASE:") or re.fullmatch(r"\S+\.cpp:\d+:", line.strip()):
            continue
        line = line.rstrip()
        # A failed CHECK on a 100 kB string prints it whole: keep its start.
        keep.append(line if len(line) <= 300 else f"{line[:300]}... ({len(line)} characters)")
    return "\n".join(keep[:limit])


def run_case(lab_dir, run_dir, name: str) -> None:
    """Run one doctest case and fail with what it reported."""
    argv = [str(lab_dir / TEST_BINARY), f"--test-case={name}", "--no-intro", "--no-colors"]
    done = procs.run("test_wrap", argv, log_dir=run_dir, timeout=20)
    if done.timed_out:
        fail(_("the test did not finish within {seconds} s: the wrapper hung -- it loops for "
               "ever (retrying an error that is not EINTR? reading again after end of file?) or "
               "waits for bytes that never come").format(seconds=f"{scaled(20):.0f}"))
    output = (done.stdout + done.stderr).decode(errors="replace")
    if done.returncode < 0:
        fail(_("the test program {ended} (a crash in the wrappers?)").format(
            ended=done.describe()) + "\n" + doctest_failure_lines(output))
    stub = re.search(r"^.*is not implemented yet$", output, re.MULTILINE)
    if stub:
        fail(stub.group(0))
    if done.returncode != 0:
        fail(doctest_failure_lines(output) or _("test_wrap {ended}").format(ended=done.describe()))
    expect(re.search(r"test cases:\s*1 \|\s*1 passed", output),
           _("the kit's test binary did not run the case '{name}' (a grader bug)").format(
               name=name))


def make_case_test(name: str, points: int, hint: str):
    @graded(points=points, hint=hint)
    def test_case(lab_dir, run_dir):
        run_case(lab_dir, run_dir, name)

    test_case.__doc__ = f"{name}\n\n{CASE_DESCRIPTION}"
    return test_case


for _number, (_name, _points, _hint) in enumerate(CASES, start=1):
    globals()[f"test_case_{_number:02d}"] = make_case_test(_name, _points, _hint)
