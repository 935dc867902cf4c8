"""The grader's command line: bad input, broken and incomplete submissions."""

import shutil
import signal
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import psutil
import pytest

from conftest import GRADER_DIR, failed_tests, load_results, replace_once, run_grade


def test_the_grader_run_as_a_file_says_what_to_run_instead():
    proc = subprocess.run([sys.executable, str(GRADER_DIR / "forklab_grade.py"), "--list"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "grader/grade" in proc.stderr and "tools/python -m grader.forklab_grade" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr


@pytest.mark.skipif(sys.version_info < (3, 11), reason="python3 -P is Python 3.11's")
def test_grade_is_not_fooled_by_a_grader_folder_where_it_is_run(tmp_path):
    """grader/grade grades with its own copy's grader, whatever the current
    folder holds (no cd: a relative --submission stays relative to it)."""
    (tmp_path / "grader").mkdir()
    (tmp_path / "grader" / "__init__.py").write_text('raise SystemExit("the wrong grader")\n')
    proc = subprocess.run([str(GRADER_DIR / "grade"), "--list", "--lab", "lab01_wrap"],
                          cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("lab01_wrap: ")
    proc = subprocess.run([str(GRADER_DIR / "grade"), "--submission", "nowhere"], cwd=tmp_path,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and str(tmp_path / "nowhere") in proc.stderr


def test_unknown_lab_is_a_usage_error():
    proc = run_grade("--lab", "lab99_nothing")
    assert proc.returncode == 2
    assert "unknown lab 'lab99_nothing'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_submission_folder_is_a_usage_error(tmp_path):
    proc = run_grade("--submission", tmp_path / "nope")
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr


def test_output_into_a_missing_folder_is_a_usage_error(tmp_path):
    proc = run_grade("--lab", "lab01_wrap", "--json", tmp_path / "no" / "r.json")
    assert proc.returncode == 2
    assert "cannot write" in proc.stderr


@pytest.mark.parametrize("option", ["--json", "--junit"])
def test_output_onto_a_folder_is_a_usage_error(tmp_path, option):
    proc = run_grade("--lab", "lab01_wrap", option, tmp_path)
    assert proc.returncode == 2
    assert f"cannot write {tmp_path}: it is a folder" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_logs_under_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "file").write_text("")
    proc = run_grade("--lab", "lab01_wrap", "--logs", tmp_path / "file" / "logs")
    assert proc.returncode == 2
    assert f"{tmp_path / 'file'} is not a folder" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("name, value, message", [
    ("FORKLAB_MAX_PROCS", "abc", "a whole number of at least 1, not 'abc'"),
    ("FORKLAB_MAX_MEMORY_MB", "0", "a whole number of at least 1, not '0'"),
    ("FORKLAB_TIMEOUT_SCALE", "fast", "a number above 0, not 'fast'"),
    ("FORKLAB_TIMEOUT_SCALE", "-2", "a number above 0, not '-2'"),
    ("FORKLAB_TIMEOUT_SCALE", "nan", "a number above 0, not 'nan'"),
    ("FORKLAB_SANDBOX", "docker", "one of auto, bwrap, uid, not 'docker'"),
    ("FORKLAB_SOAK", "longer", "one of short, long, not 'longer'"),
    ("FORKLAB_LANG", "fr", "one of en, zh, not 'fr'"),
    ("FORKLAB_GRADER_TESTS", "/no/such/folder", "an existing folder, not '/no/such/folder'"),
])
def test_a_bad_setting_is_a_usage_error(name, value, message):
    """Every FORKLAB_* setting is checked the same way: one line, exit 2."""
    proc = run_grade("--lab", "lab01_wrap", env={name: value})
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"grade: {name} must be {message}"


def test_batch_results_onto_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "class" / "alice").mkdir(parents=True)
    (tmp_path / "grades").write_text("")
    proc = run_grade("--batch", tmp_path / "class", "--out", tmp_path / "grades")
    assert proc.returncode == 2
    assert "is not a folder" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_submission_timeout_of_zero_is_a_usage_error(tmp_path):
    (tmp_path / "class" / "alice").mkdir(parents=True)
    proc = run_grade("--batch", tmp_path / "class", "--out", tmp_path / "grades",
                     "--submission-timeout", "0")
    assert proc.returncode == 2
    assert "--submission-timeout must be more than 0 seconds" in proc.stderr
    assert not (tmp_path / "grades").exists()


# Graded tests of our own (FORKLAB_GRADER_TESTS), built on nothing: fast.
# The first passes; the second stops the run, as {stop} says.
STOPPED_TESTS = """
    import os
    import signal

    from grader.harness import graded, procs

    LAB = "lab01_wrap"

    @graded(points=1, hint="none")
    def test_passes():
        \"\"\"passes\"\"\"

    @graded(points=1, hint="none")
    def test_stops_the_run(run_dir):
        \"\"\"starts a program, then stops the run\"\"\"
        procs.start("sleeper", ["sleep", "{mark}"], cwd=run_dir, log_dir=run_dir)
        {stop}

    @graded(points=1, hint="none")
    def test_never_runs():
        \"\"\"never runs\"\"\"
"""
# A sleep length no other process on the machine uses, to find our sleeper.
MARK = "313.4242"


def grade_stopped(tmp_path, stop, conftest_extra=""):
    """Grade STOPPED_TESTS; returns the CompletedProcess and the folder the
    grader makes its scratch folder in."""
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy(GRADER_DIR / "tests" / "conftest.py", tests)
    with open(tests / "conftest.py", "a") as f:
        f.write(textwrap.dedent(conftest_extra))
    (tests / "test_lab01_wrap.py").write_text(
        textwrap.dedent(STOPPED_TESTS).format(mark=MARK, stop=stop))
    temp = tmp_path / "temp"
    temp.mkdir()
    # The grader starts as from a terminal, SIGINT at its default: a selftest
    # run started in the background (`make test &`, some CI runners) ignores
    # SIGINT, and a Python started with it ignored never raises
    # KeyboardInterrupt (signal(7): an ignored disposition survives execve).
    inherited = signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        proc = run_grade("--lab", "lab01_wrap", "--json", tmp_path / "r.json",
                         "--logs", tmp_path / "logs", timeout=120,
                         env={"FORKLAB_GRADER_TESTS": str(tests), "TMPDIR": str(temp)})
    finally:
        signal.signal(signal.SIGINT, inherited)
    return proc, temp


def sleepers():
    return [p.pid for p in psutil.process_iter(["cmdline"])
            if MARK in " ".join(p.info["cmdline"] or [])]


@pytest.mark.parametrize("signo, status, message", [
    (signal.SIGINT, 130, "grade: interrupted; no score"),
    (signal.SIGTERM, 143, "grade: stopped by SIGTERM; no score"),
])
def test_a_stopped_grading_claims_no_score_and_cleans_up(tmp_path, signo, status, message):
    """Ctrl-C, or `timeout`'s SIGTERM, in mid-run: the tests before it all
    passed, yet there is no score, and nothing is left behind."""
    assert sleepers() == []
    proc, temp = grade_stopped(tmp_path, f"os.kill(os.getpid(), {int(signo)})")
    assert proc.returncode == status, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert "PASS" in proc.stdout and "Score:" not in proc.stdout
    assert not (tmp_path / "r.json").exists()
    assert list(temp.iterdir()) == []  # the scratch folder was removed
    assert sleepers() == []


def test_an_internal_error_in_mid_run_claims_no_score(tmp_path):
    """A hook that raises stops pytest after the first test (its exit status
    3): the one test that ran passed, yet there is no score."""
    proc, temp = grade_stopped(tmp_path, "pass", conftest_extra="""

        def pytest_runtest_logfinish(nodeid, location):
            raise RuntimeError("a hook of the graded tests failed")
        """)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "grade: internal error: grading stopped early (pytest exit status 3)" in proc.stderr
    assert "Score:" not in proc.stdout
    assert not (tmp_path / "r.json").exists()
    assert list(temp.iterdir()) == []


def test_broken_accept_fails_exactly_the_accept_retry_tests(submission, tmp_path):
    """The first acceptance check of the kit: Accept that gives up on EINTR."""
    replace_once(submission / "lab01_wrap/wrap.cpp",
                 "return err == EINTR || err == ECONNABORTED || err == EPROTO;",
                 "return err == ECONNABORTED || err == EPROTO;")
    out = tmp_path / "r.json"
    junit = tmp_path / "r.xml"
    proc = run_grade("--lab", "lab01_wrap", "--submission", submission, "--json", out,
                     "--junit", junit, "--logs", tmp_path / "logs")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    results = load_results(out)
    assert failed_tests(results) == {
        "lab01_wrap: Accept: retries after EINTR",
        "lab01_wrap: Accept: resets the address length before each retry",
        "lab01_wrap: Accept: retries after a real signal interrupts it",
    }
    assert results["score"] == results["extra_data"]["max_score"] - 6
    assert "FAIL   0/2" in proc.stdout and "hint: A signal handler" in proc.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("failures") == "3"
    assert (tmp_path / "logs/lab01_wrap/accept-retries-after-eintr.log").is_file()


def test_missing_student_file_fails_the_build_with_a_reason(submission, tmp_path):
    (submission / "lab01_wrap/wrap.cpp").unlink()
    out = tmp_path / "r.json"
    proc = run_grade("--lab", "lab01_wrap", "--submission", submission, "--json", out,
                     "--logs", tmp_path / "logs")
    assert proc.returncode == 1
    results = load_results(out)
    builds = results["tests"][0]
    assert builds["name"] == "lab01_wrap: builds (warnings are errors)"
    assert "lab01_wrap/wrap.cpp is missing from the submission" in builds["output"]
    assert all(t["output"].startswith("not run") for t in results["tests"][1:])
    assert results["score"] == 0


def test_compile_error_shows_the_compiler_message(submission, tmp_path):
    replace_once(submission / "lab01_wrap/wrap.cpp", "void Listen(int fd, int backlog)\n{",
                 "void Listen(int fd, int backlog)\n{\n    undeclared_name();")
    proc = run_grade("--lab", "lab01_wrap", "--submission", submission,
                     "--logs", tmp_path / "logs")
    assert proc.returncode == 1
    assert "undeclared_name" in proc.stdout and "was not declared" in proc.stdout
    assert "Score: 0/" in proc.stdout


def test_a_submission_cannot_replace_the_tests_that_grade_it(submission, tmp_path):
    """Only student files are taken: a doctored test file is ignored."""
    (submission / "lab01_wrap/test_wrap.cpp").write_text("int main() { return 0; }\n")
    replace_once(submission / "lab01_wrap/wrap.cpp",
                 "return err == EINTR || err == ECONNABORTED || err == EPROTO;",
                 "return err == ECONNABORTED || err == EPROTO;")
    out = tmp_path / "r.json"
    run_grade("--lab", "lab01_wrap", "--submission", submission, "--json", out,
              "--logs", tmp_path / "logs")
    assert "lab01_wrap: Accept: retries after EINTR" in failed_tests(load_results(out))
