"""`grade --batch`: a class of submissions graded together, each isolated."""

import csv
import shutil
import sys

import mutants
from conftest import KIT_ROOT, replace_once, run_grade

sys.path.insert(0, str(KIT_ROOT / "tools"))

from make_handout import make_handout  # noqa: E402

# Every test that reads hangs until its own deadline: far longer in all than
# the batch's limit for one submission.
HANG = ("        const ssize_t n = read(fd, buf, nbytes);\n",
        "        for (;;)\n            pause();\n        const ssize_t n = read(fd, buf, nbytes);\n")


def test_a_batch_grades_each_submission_on_its_own(tmp_path):
    batch = tmp_path / "class"
    mutants.reference_submission(batch / "alice")
    handout = make_handout(KIT_ROOT, tmp_path / "dist", tarball=False)
    (batch / "bob" / "lab01_wrap").mkdir(parents=True)
    shutil.copy(handout / "lab01_wrap" / "wrap.cpp", batch / "bob" / "lab01_wrap")
    by_name = {m.name: m for m in mutants.catalogue()}
    writen = by_name["lab01_wrap/writen_ignores_short_writes"]
    mutants.apply(writen, batch / "carol")
    mutants.reference_submission(batch / "dave")
    (batch / "dave" / "lab01_wrap" / "wrap.cpp").write_text("this is not C++\n")
    mutants.reference_submission(batch / "erin")
    replace_once(batch / "erin" / "lab01_wrap" / "wrap.cpp", *HANG)
    (batch / "notes.txt").write_text("not a submission folder\n")

    out = tmp_path / "grades"
    proc = run_grade("--batch", batch, "--out", out, "-j", "2", "--lab", "lab01_wrap",
                     "--submission-timeout", "90", timeout=900)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # erin could not be graded
    assert "[5/5]" in proc.stdout
    with open(out / "grades.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert sorted(rows) == ["alice", "bob", "carol", "dave", "erin"]
    assert rows["alice"]["total"] == rows["alice"]["max"] != "0"
    assert rows["alice"]["status"] == "ok" and rows["alice"]["failed_tests"] == ""
    assert rows["bob"]["total"] == "1"  # the handout builds, and nothing else passes
    assert rows["carol"]["failed_tests"].split("; ") == writen.fails
    assert rows["dave"]["total"] == "0"
    assert rows["dave"]["failed_tests"] == "lab01_wrap: builds (warnings are errors)"
    assert int(rows["dave"]["not_run"]) > 0
    assert rows["erin"]["status"] == "timeout"
    for student in rows:
        assert (out / student / "grade.txt").is_file()
    assert (out / "alice" / "results.json").is_file()


def test_batch_of_an_empty_folder_is_a_usage_error(tmp_path):
    proc = run_grade("--batch", tmp_path, "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert "no submission folders" in proc.stderr
