"""`make handout`: the student kit has stubs instead of solutions, builds,
and grades to a clean partial score."""

import re
import subprocess
import tarfile
import time

import pytest

from conftest import KIT_ROOT, load_results, run_grade

from tools.make_handout import INSTRUCTOR_ONLY, NAME, make_handout, marker_for


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    return make_handout(KIT_ROOT, out)


def handout_files(handout):
    return sorted(p.relative_to(handout).as_posix() for p in handout.rglob("*") if p.is_file())


def test_no_instructor_only_file_and_no_marker_is_left(handout):
    files = handout_files(handout)
    # The handout's slides/ holds only the rendered student decks.
    decks = [f for f in files if f.startswith("slides/")]
    assert all(re.fullmatch(r"slides/[\w.-]+\.(html|pdf)", f) for f in decks), decks
    for entry in INSTRUCTOR_ONLY:
        leaks = [f for f in files if (f == entry or f.startswith(entry)) and f not in decks]
        assert not leaks, entry
    for rel in files:
        marker = marker_for(rel)
        if marker is not None:
            for line in (handout / rel).read_text().splitlines():
                assert not marker.match(line), f"{rel}: marker left: {line}"


def test_student_files_hold_stubs_not_solutions(handout):
    wrap = (handout / "lab01_wrap/wrap.cpp").read_text()
    assert 'not_implemented("lab01: Accept", fd, sa, salenptr);' in wrap
    assert "accept_should_retry" not in wrap
    assert "memchr" not in wrap
    for stub in re.findall(r'not_implemented\("(lab\d\d: \w+)"', wrap):
        assert stub.startswith("lab01: ")


def test_tarball_holds_the_same_files(handout):
    with tarfile.open(handout.parent / f"{NAME}.tar.gz") as tar:
        names = sorted(m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile())
    assert names == handout_files(handout)


def test_handout_builds_and_grades_to_a_clean_partial_score(handout, tmp_path):
    build = subprocess.run(["make", "-C", str(handout), "all"], capture_output=True, text=True,
                           timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    out = tmp_path / "r.json"
    started = time.monotonic()
    proc = run_grade("--json", out, "--logs", tmp_path / "logs", grader=handout / "grader",
                     timeout=900)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    results = load_results(out)
    assert 0 < results["score"] < results["extra_data"]["max_score"]
    for test in results["tests"]:
        if test["name"].endswith(": builds (warnings are errors)"):
            assert test["status"] == "passed", test
        else:
            assert test["status"] == "failed", test
    stubbed = [t for t in results["tests"] if "is not implemented yet" in t["output"]]
    assert stubbed, "no test reported reaching a stub"
    assert elapsed < 600
