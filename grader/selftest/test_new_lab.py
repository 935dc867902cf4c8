"""tools/new_lab.py (`make new-lab LAB=... TITLE=...`), run in a clone of the
kit: the new lab passes lab-check, builds, passes its unit tests, grades full
marks, and touches nothing but its own files, labs.txt and generated files."""

import os
import subprocess
import sys

from conftest import KIT_ROOT, run_grade

LAB, TITLE = "lab99_sample", "a sample lab (2 steps)"

# What new-lab may change besides the lab's own files: labs.txt, the grader's
# catalogue of Chinese messages, and generated files.
CHANGED = {"labs.txt", "grader/locale/zh/LC_MESSAGES/forklab.po", "README.md",
           "handout/README.md", "handout/README.zh.md", "slides/README.md",
           "grader/README.md", "tools/translations.lock.json"}
OWN = {f"{LAB}/", f"grader/tests/test_{LAB}.py", f"grader/mutants/{LAB}/",
       f"grader/spec/{LAB}.txt", f"grader/spec/{LAB}.md", "slides/decks/99-sample.md",
       "slides/decks/99-sample.zh.md"}


def clone_of_the_kit(target):
    """A git clone of the kit, with the working tree's uncommitted changes to
    tracked files applied (untracked files are not carried)."""
    subprocess.run(["git", "clone", "-q", str(KIT_ROOT), str(target)], check=True, timeout=120)
    diff = subprocess.run(["git", "diff", "--binary", "HEAD"], cwd=KIT_ROOT, capture_output=True,
                          check=True).stdout
    if diff:
        subprocess.run(["git", "apply", "--whitespace=nowarn"], cwd=target, input=diff,
                       check=True)
        subprocess.run(["git", "commit", "-qam", "the working tree", "--no-verify"], cwd=target,
                       check=True, env=dict(os.environ, GIT_AUTHOR_NAME="selftest",
                                            GIT_AUTHOR_EMAIL="selftest@localhost",
                                            GIT_COMMITTER_NAME="selftest",
                                            GIT_COMMITTER_EMAIL="selftest@localhost"))
    return target


def python(root, *argv, timeout=300):
    return subprocess.run([sys.executable, "-P", *argv], cwd=root, capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ, PYTHONPATH=str(root)))


def test_a_new_lab_is_complete_builds_and_grades_full_marks(tmp_path):
    root = clone_of_the_kit(tmp_path / "kit")
    made = python(root, "-m", "tools.new_lab", LAB, TITLE)
    assert made.returncode == 0, made.stdout + made.stderr

    checked = python(root, "-m", "tools.lab_check", LAB)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"note: {LAB}/README.zh.md still says 【待翻译】" in checked.stdout
    # As the maintainer runs it (the Makefile runs the checker as a file).
    translations = subprocess.run(["make", "-s", "-C", str(root), "check-translations"],
                                  capture_output=True, text=True, timeout=300)
    assert translations.returncode == 0, translations.stdout + translations.stderr

    for goal in ("all", "test"):
        built = subprocess.run(["make", "-s", "-C", str(root / LAB), goal], capture_output=True,
                               text=True, timeout=300)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]

    subprocess.run(["make", "-s", "-C", str(root), "catalogues"], capture_output=True,
                   timeout=60, check=True)
    graded = run_grade("--lab", LAB, "--json", tmp_path / "r.json", grader=root / "grader",
                       timeout=300)
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    assert "Score: 2/2" in graded.stdout, graded.stdout

    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=normal"],
                            cwd=root, capture_output=True, text=True, check=True).stdout
    touched = {line[3:] for line in status.splitlines()}
    others = sorted(path for path in touched if path not in CHANGED and path not in OWN)
    assert not others, f"new-lab touched more than its own files: {others}"
    assert {f"{LAB}/", "labs.txt"} <= touched, touched


def test_a_taken_name_or_number_is_refused(tmp_path):
    for lab in ("lab04_sigchld", "lab04_other"):
        refused = python(KIT_ROOT, "-m", "tools.new_lab", lab, "a title")
        assert refused.returncode != 0
        assert "exists already" in refused.stderr or "is taken" in refused.stderr
