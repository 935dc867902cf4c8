"""grade-logs/ holds the logs of the current run only, for the labs graded."""

from conftest import run_grade


def test_a_run_removes_the_old_logs_of_the_labs_it_grades(tmp_path):
    logs = tmp_path / "logs"
    stale = logs / "lab01_wrap" / "an-earlier-failure.log"
    other = logs / "lab02_single" / "not-graded-this-time.log"
    for path in (stale, other):
        path.parent.mkdir(parents=True)
        path.write_text("from an earlier run\n")
    proc = run_grade("--lab", "lab01_wrap", "--logs", logs, "--quiet")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not stale.exists(), "an old log of a lab graded now was kept"
    assert other.exists(), "the log of a lab not graded this time was removed"
