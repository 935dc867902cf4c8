"""Helpers for the grader's own tests (instructor-only: not in the handout)."""

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

# grader/selftest/ has no __init__.py: pytest puts it on sys.path.  The kit's
# folder must be there too: the selftests run as python3 -m pytest from it.
try:
    import grader  # noqa: F401
except ModuleNotFoundError:
    pytest.exit("the grader's selftests run from the kit's folder: "
                "tools/python -m pytest [options] grader/selftest[/test_X.py]", returncode=4)

import catalogue  # noqa: E402
from grader.harness import kit  # noqa: E402

GRADER_DIR = Path(__file__).resolve().parents[1]
KIT_ROOT = GRADER_DIR.parent


def pytest_addoption(parser):
    parser.addoption("--whole-catalogue", action="store_true",
                     help="grade every mutant of grader/mutants/ (make selftest-long); "
                          "without it, test_mutants grades a cover: catalogue.cover()")


# With pytest-xdist (`make test`: -n CORES --dist loadgroup), a file's tests
# run in one stream, in order, sharing its module fixtures -- except in these
# files, where each test is a grading of its own (a batch per lab) and the
# tests are spread over the streams one by one, the latest lab first.
SPREAD_FILES = {"test_mutants.py", "test_alternatives.py", "test_beginners.py"}
# The files that take longest start first, so that no stream is left with one
# of them at the end (`--durations` of a `make test` run).
FIRST_FILES = ("test_handout_walk.py", "test_handout.py", "test_beginners.py", "test_mutants.py",
               "test_alternatives.py", "test_containment.py", "test_batch.py")


def _latest_lab_first(item) -> int:
    lab = re.search(r"\[lab(\d\d)", item.nodeid)
    return -int(lab.group(1)) if lab and item.path.name in SPREAD_FILES else 0


@pytest.hookimpl(tryfirst=True)  # before xdist names each test by its group
def pytest_collection_modifyitems(config, items):
    rank = {name: number for number, name in enumerate(FIRST_FILES)}
    items.sort(key=lambda item: (rank.get(item.path.name, len(rank)), _latest_lab_first(item)))
    for item in items:
        if item.path.name not in SPREAD_FILES:
            item.add_marker(pytest.mark.xdist_group(item.path.name))


def run_grade(*args, env=None, timeout=600, grader=GRADER_DIR):
    """Run the grader as a user would; returns the CompletedProcess.  grader=
    another copy's grader/ folder (a handout's) grades with that copy.

    Unless the test chooses (--logs, --batch), the logs go to a folder of
    their own, removed afterwards: never to the kit's grade-logs/, which
    another selftest's grader may be emptying at the same moment."""
    args = [str(arg) for arg in args]
    argv, full_env = kit.grader_command(grader.parent, dict(os.environ, **(env or {})))
    own_logs = None
    if not {"--logs", "--batch"} & set(args):
        own_logs = tempfile.mkdtemp(prefix="forklab-selftest-logs-")
        args += ["--logs", own_logs]
    try:
        return subprocess.run([*argv, *args], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout, env=full_env)
    finally:
        if own_logs is not None:
            shutil.rmtree(own_logs, ignore_errors=True)


def unit_test_names() -> set:
    """The names of the doctest cases of every lab (TEST_CASE("..."))."""
    names = set()
    for source in KIT_ROOT.glob("lab*/*"):
        if source.suffix in (".cpp", ".h"):
            names.update(re.findall(r'TEST_CASE\("([^"]+)"\)', source.read_text()))
    return names


def graded_titles() -> set:
    """The titles `grade --list` prints, every lab's."""
    listed = run_grade("--list")
    assert listed.returncode == 0, listed.stderr
    return {m.group(1) for m in re.finditer(r"^\s+\d+\s+(.+)$", listed.stdout, re.MULTILINE)}


def load_results(path: Path) -> dict:
    return json.loads(path.read_text())


# What a Python exception leaves in text a student reads: a traceback, or
# "AttributeError: ..." -- never allowed in what the grader prints.
PYTHON_EXCEPTION = re.compile(
    r"Traceback \(most recent call last\)|\b(?:Attribute|Type|Key|Index|Name|Value|"
    r"ZeroDivision|UnboundLocal|Runtime|Assertion|Lookup|Recursion)Error\b")


def python_exceptions(out: Path) -> list:
    """The grade.txt and results.json files of a batch's output folder that
    hold a Python exception (the grader's, shown to a student), each with
    its first such line."""
    found = []
    for path in sorted(out.glob("*/grade.txt")) + sorted(out.glob("*/results.json")):
        text = path.read_text(errors="replace")
        match = PYTHON_EXCEPTION.search(text)
        if match:
            line = text[text.rfind("\n", 0, match.start()) + 1:text.find("\n", match.end())]
            found.append(f"{path.relative_to(out)}: {line.strip()[:200]}")
    return found


def failed_tests(results: dict) -> set:
    return {t["name"] for t in results["tests"] if t["status"] != "passed"}


@pytest.fixture
def submission(tmp_path):
    """A submission folder holding a copy of the reference student files."""
    folder = tmp_path / "submission"
    catalogue.reference_submission(folder)
    return folder


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: expected exactly one {old!r}"
    path.write_text(text.replace(old, new))
