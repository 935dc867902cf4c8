"""`grade --batch`: a class of submissions graded together, each isolated."""

import argparse
import csv
import os
import shutil
import sys
import textwrap

import psutil

import catalogue
from conftest import GRADER_DIR, KIT_ROOT, replace_once, run_grade

from grader import batch
from tools.make_handout import make_handout

# Every test that reads hangs until its own deadline: far longer in all than
# the batch's limit for one submission.
HANG = ("        const ssize_t n = read(fd, buf, nbytes);\n",
        "        for (;;)\n            pause();\n        const ssize_t n = read(fd, buf, nbytes);\n")


def test_a_batch_grades_each_submission_on_its_own(tmp_path):
    batch = tmp_path / "class"
    catalogue.reference_submission(batch / "alice")
    handout = make_handout(KIT_ROOT, tmp_path / "dist", tarball=False)
    (batch / "bob" / "lab01_wrap").mkdir(parents=True)
    shutil.copy(handout / "lab01_wrap" / "wrap.cpp", batch / "bob" / "lab01_wrap")
    by_name = {m.name: m for m in catalogue.catalogue()}
    writen = by_name["lab01_wrap/writen_ignores_short_writes"]
    catalogue.apply(writen, batch / "carol")
    catalogue.reference_submission(batch / "dave")
    (batch / "dave" / "lab01_wrap" / "wrap.cpp").write_text("this is not C++\n")
    catalogue.reference_submission(batch / "erin")
    replace_once(batch / "erin" / "lab01_wrap" / "wrap.cpp", *HANG)
    (batch / "notes.txt").write_text("not a submission folder\n")

    out = tmp_path / "grades"
    proc = run_grade("--batch", batch, "--out", out, "-j", "2", "--lab", "lab01_wrap",
                     "--submission-timeout", "90", timeout=900)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # erin could not be graded
    assert "[5/5]" in proc.stdout
    rows, failed = grades_of(out)
    assert sorted(rows) == ["alice", "bob", "carol", "dave", "erin"]
    assert rows["alice"]["total"] == rows["alice"]["max"] != "0"
    assert rows["alice"]["status"] == "ok" and rows["alice"]["failed"] == "0"
    assert "alice" not in failed
    assert rows["bob"]["total"] == "1"  # the handout builds, and nothing else passes
    assert rows["bob"]["not_started"] == "lab01_wrap"
    assert failed["carol"] == writen.fails
    assert rows["dave"]["total"] == "0" and rows["dave"]["not_started"] == ""
    assert failed["dave"] == ["lab01_wrap: builds (warnings are errors)"]
    assert int(rows["dave"]["not_run"]) > 0
    assert rows["erin"]["status"] == "timeout"
    # Not graded: blank, never 0.
    assert [rows["erin"][k] for k in ("lab01_wrap", "total", "max")] == ["", "", ""]
    for student in rows:
        assert (out / student / "grade.txt").is_file()
    assert (out / "alice" / "results.json").is_file()


def grades_of(out):
    """grades.csv's students' rows by name (its max row left out), and the
    failed tests of failed_tests.csv by student ("lab: test")."""
    rows = {row["student"]: row for row in batch.read_grades(out / "grades.csv")}
    failed = {}
    with open(out / "failed_tests.csv", newline="") as f:
        for row in csv.DictReader(f):
            failed.setdefault(row["student"], []).append(f"{row['lab']}: {row['test']}")
    return rows, failed


def test_batch_of_an_empty_folder_is_a_usage_error(tmp_path):
    proc = run_grade("--batch", tmp_path, "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert "no submission folders" in proc.stderr


def test_an_unreadable_results_json_costs_only_that_grade(tmp_path, monkeypatch):
    """A worker that leaves results.json half written (killed while writing
    it) gives its student the status error, instead of ending the batch."""
    worker = tmp_path / "half_writer.py"
    worker.write_text(textwrap.dedent("""
        import sys
        path = sys.argv[sys.argv.index("--json") + 1]
        with open(path, "w") as f:
            f.write('{"score": 3, "tests": [')
        sys.exit(1)
        """))
    monkeypatch.setattr(batch.kit, "grader_command",
                        lambda: ([sys.executable, str(worker)], dict(os.environ)))
    (tmp_path / "class" / "alice").mkdir(parents=True)
    args = argparse.Namespace(submission_timeout=60)
    outcome = batch.grade_one(tmp_path / "class" / "alice", tmp_path / "grades", args,
                              ["lab01_wrap"], 1, batch.SandboxUids(), batch.Workers())
    assert outcome.status == "error"
    assert "results.json is unreadable (JSONDecodeError" in outcome.detail
    assert (outcome.score, outcome.max_score, outcome.failed) == (0, 0, [])


# Graded tests of our own (FORKLAB_GRADER_TESTS), built on nothing: fast.
HANGING_TESTS = """
    import os
    import signal
    import sys
    import time

    from grader.harness import graded, procs

    LAB = "lab01_wrap"

    @graded(points=1, hint="none", timeout=600)
    def test_hangs(run_dir):
        \"\"\"starts a program, then hangs\"\"\"
        procs.start("sleeper", ["sleep", "{mark}"], cwd=run_dir, log_dir=run_dir)
        {then}
        time.sleep(600)
"""
# A sleep length no other process on the machine uses, to find our sleepers.
MARK = "313.4343"


def batch_of_hanging_tests(tmp_path, then, students, *options):
    """Students graded by HANGING_TESTS, two at once; returns the
    CompletedProcess and the folder the workers make their scratch folders in."""
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy(GRADER_DIR / "tests" / "conftest.py", tests)
    (tests / "test_lab01_wrap.py").write_text(
        textwrap.dedent(HANGING_TESTS).format(mark=MARK, then=then))
    for student in students:
        (tmp_path / "class" / student).mkdir(parents=True)
    temp = tmp_path / "temp"
    temp.mkdir()
    proc = run_grade("--batch", tmp_path / "class", "--out", tmp_path / "grades", "-j", "2",
                     "--lab", "lab01_wrap", *options, timeout=120,
                     env={"FORKLAB_GRADER_TESTS": str(tests), "TMPDIR": str(temp)})
    return proc, temp


def sleepers():
    return [p.pid for p in psutil.process_iter(["cmdline"])
            if MARK in " ".join(p.info["cmdline"] or [])]


def test_a_worker_past_its_timeout_cleans_up_before_it_ends(tmp_path):
    """SIGTERM first: the worker ends its programs and removes its scratch folder."""
    proc, temp = batch_of_hanging_tests(tmp_path, "pass", ["alice", "bob"],
                                        "--submission-timeout", "5")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rows, _failed = grades_of(tmp_path / "grades")
    assert [row["status"] for row in rows.values()] == ["timeout", "timeout"]
    for student in ("alice", "bob"):
        transcript = (tmp_path / "grades" / student / "grade.txt").read_text()
        assert "grade: stopped by SIGTERM" in transcript
    assert list(temp.iterdir()) == []
    assert sleepers() == []


def test_a_stopped_batch_ends_its_workers_and_starts_no_more(tmp_path):
    """The batch is stopped (SIGTERM, as Ctrl-C) while two workers run."""
    alice_stops_the_batch = ('if sys.argv[sys.argv.index("--submission") + 1].endswith("alice"): '
                             'os.kill(os.getppid(), signal.SIGTERM)')
    proc, temp = batch_of_hanging_tests(tmp_path, alice_stops_the_batch,
                                        ["alice", "bob", "carol"])
    assert proc.returncode == 143, proc.stdout + proc.stderr
    assert "batch interrupted: 0 of 3 submissions graded" in proc.stderr
    assert "grade: stopped by SIGTERM; no score" in proc.stderr
    assert not (tmp_path / "grades" / "grades.csv").exists()
    assert not (tmp_path / "grades" / "carol").exists()  # never started
    assert list(temp.iterdir()) == []
    assert sleepers() == []
