"""The grader ends every process a test started, however the test ends."""

import shutil
import textwrap

import psutil

from conftest import GRADER_DIR, run_grade

# A sleep length no other process on the machine uses, to find our sleepers.
MARK = "313.1337"

HOSTILE_TESTS = textwrap.dedent(f"""
    import time
    from grader.harness import graded, procs

    LAB = "lab01_wrap"
    TREE = "sleep {MARK} & (setsid sleep {MARK} &) ; sleep {MARK}"

    @graded(points=1, hint="none", timeout=2)
    def test_hangs_after_starting_a_tree(run_dir):
        \"\"\"starts a process tree, then hangs past its deadline\"\"\"
        procs.start("tree", ["sh", "-c", TREE], cwd=run_dir, log_dir=run_dir)
        time.sleep(60)

    @graded(points=1, hint="none")
    def test_leaves_a_daemon_behind(run_dir):
        \"\"\"passes, leaving a double-forked daemon in its own session\"\"\"
        procs.start("daemon", ["sh", "-c", "(setsid sleep {MARK} &)"], cwd=run_dir,
                    log_dir=run_dir)

    @graded(points=1, hint="none")
    def test_fails_after_starting_a_tree(run_dir):
        \"\"\"starts a process tree, then fails\"\"\"
        procs.start("tree", ["sh", "-c", TREE], cwd=run_dir, log_dir=run_dir)
        assert False, "failing on purpose"
""")


def sleepers():
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if MARK in " ".join(proc.info["cmdline"] or []):
            found.append(proc.pid)
    return found


def test_no_process_survives_a_timeout_a_failure_or_a_daemon(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy(GRADER_DIR / "tests" / "conftest.py", tests)
    (tests / "test_lab01_wrap.py").write_text(HOSTILE_TESTS)
    assert sleepers() == []
    proc = run_grade("--lab", "lab01_wrap", "--logs", tmp_path / "logs",
                     env={"FORKLAB_GRADER_TESTS": str(tests)}, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "did not finish within 2 s" in proc.stdout
    assert "failing on purpose" in proc.stdout
    assert "Score: 1/3" in proc.stdout
    assert sleepers() == []
