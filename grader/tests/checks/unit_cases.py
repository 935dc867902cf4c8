"""Doctest cases graded one by one: lab01's (its program is its unit-test
binary) and lab06's own (the contract of its server.h).  A case runs alone
(`BINARY --test-case=NAME`), so a function that crashes, hangs or is still
a stub costs only its own cases.
"""

import re
import subprocess

from grader.harness import graded, procs
from grader.harness.expect import expect, fail
from grader.harness.kit import _N
from grader.harness.timing import scaled
from grader.i18n import _  # noqa: F401 -- its messages are translated

# A case's own time limit (scaled).  The kit's run_in_child stops code under
# test that hangs after 10 s without output and says so, well before this.
CASE_SECONDS = 20


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


# What the kit's run_in_child (lab01_wrap/testing.cpp) prints when it stops
# code under test that hung, in the student's language.
TESTING_KILLED = re.compile(r"^\[testing\] the code under test was killed after (\d+) s "
                            r"(without any output|at the test's ceiling): it hung \(blocked for "
                            r"ever -- a lost wakeup\? a read that never returns\? a loop that "
                            r"never ends\?\); what it printed before may be missing$", re.MULTILINE)
TESTING_KILLED_WORDS = {
    "without any output": _N("[testing] the code under test was killed after {seconds} s without "
                             "any output: it hung (blocked for ever -- a lost wakeup? a read "
                             "that never returns? a loop that never ends?); what it printed "
                             "before may be missing"),
    "at the test's ceiling": _N("[testing] the code under test was killed after {seconds} s at "
                                "the test's ceiling: it hung (blocked for ever -- a lost wakeup? "
                                "a read that never returns? a loop that never ends?); what it "
                                "printed before may be missing"),
}


def testing_said(text: str) -> str:
    """text, with run_in_child's report of a hung case in the student's language."""
    def translate(match):
        words = TESTING_KILLED_WORDS[match.group(2)]
        return _(words).format(seconds=match.group(1))
    return TESTING_KILLED.sub(translate, text)


def run_case(binary, run_dir, name: str, hung: str) -> None:
    """Run one doctest case and fail with what it reported; `hung`: what
    the failure says when the case does not finish."""
    # doctest splits a filter at commas: a comma of the name is escaped.
    argv = [str(binary), "--test-case=" + name.replace(",", "\\,"), "--no-intro", "--no-colors"]
    done = procs.run(binary.name, argv, log_dir=run_dir, timeout=CASE_SECONDS)
    if done.timed_out:
        fail(_(hung).format(seconds=f"{scaled(CASE_SECONDS):.0f}"))
    output = (done.stdout + done.stderr).decode(errors="replace")
    if done.returncode < 0:
        fail(_("the test program {ended} (a crash in the code under test?)").format(
            ended=done.describe()) + "\n" + doctest_failure_lines(output))
    stub = re.search(r"^.*is not implemented yet$", output, re.MULTILINE)
    if stub:
        fail(stub.group(0))
    killed = re.search(r"^\[testing\] .*$", output, re.MULTILINE)
    if done.returncode != 0:
        report = doctest_failure_lines(output) or _("{program} {ended}").format(
            program=binary.name, ended=done.describe())
        fail(testing_said(killed.group(0) + "\n" + report if killed else report))
    expect(re.search(r"test cases:\s*1 \|\s*1 passed", output),
           _("the kit's test binary did not run the case '{name}' (a grader bug)").format(
               name=name))


def case_test(name: str, points: int, hint: str, binary, description: str, hung: str,
              requires=()):
    """A graded test that runs one case of the unit-test binary the fixture
    `binary` gives (a path in the built lab)."""
    @graded(points=points, hint=hint, requires=requires)
    def test_case(request, run_dir):
        run_case(request.getfixturevalue(binary), run_dir, name, hung)

    test_case.__doc__ = f"{name}\n\n{description}"
    return test_case


def bind_cases(namespace: dict, cases, binary: str, description: str, hung: str,
               requires=()) -> None:
    """Bind a graded test per (name, points, hint) of cases in a test
    module's namespace, in order: test_case_01, test_case_02..."""
    for number, (name, points, hint) in enumerate(cases, start=1):
        namespace[f"test_case_{number:02d}"] = case_test(name, points, hint, binary,
                                                         description, hung, requires)


def listed_cases(binary) -> list:
    """The doctest case names the built binary has, in its order."""
    listing = subprocess.run([str(binary), "--list-test-cases", "--no-colors"],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=60, check=True).stdout
    return [line for line in listing.splitlines()
            if line.strip() and not line.startswith(("[doctest]", "====="))]


def unaccounted(listed, cases, excluded) -> tuple:
    """(cases neither graded nor excluded, names graded or excluded that the
    binary does not list).  excluded: {name or name prefix ending in '*': why}."""
    graded_names = [name for name, _points, _hint in cases]

    def known(name):
        return name in graded_names or name in excluded or any(
            key.endswith("*") and name.startswith(key[:-1]) for key in excluded)
    return ([name for name in listed if not known(name)],
            [name for name in graded_names + [k for k in excluded if not k.endswith("*")]
             if name not in listed])


__all__ = ["run_case", "case_test", "bind_cases", "listed_cases", "unaccounted",
           "doctest_failure_lines", "_N"]
