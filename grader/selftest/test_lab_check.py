"""tools/lab_check.py (`make lab-check LAB=...`): every lab of labs.txt has all
it needs, and a lab that lacks several pieces is told of all of them at
once, each with its fix."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import KIT_ROOT

from grader.harness import manifest
from tools import lab_check


@pytest.mark.parametrize("lab", [entry.folder for entry in manifest.read()])
def test_every_lab_is_complete(lab):
    problems = lab_check.check(lab)
    assert not problems, "\n".join(problems)


def copy_of_the_kit(target):
    """The kit's files as they are in the working tree (tracked, and untracked
    ones git does not ignore), without its builds."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=KIT_ROOT, capture_output=True, check=True).stdout
    for rel in sorted(set(filter(None, listed.decode().split("\0")))):
        source = KIT_ROOT / rel
        if source.is_file():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)
    return target


def run_lab_check(root, lab):
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([sys.executable, "-P", "-m", "tools.lab_check", lab], cwd=root,
                          env=env, capture_output=True, text=True, timeout=300)


def test_a_broken_lab_is_told_everything_it_lacks_at_once(tmp_path):
    root = copy_of_the_kit(tmp_path / "kit")
    lab = root / "lab03_fork"
    (lab / "README.zh.md").unlink()
    (root / "slides" / "decks" / "03-fork.zh.md").unlink()
    (root / "grader" / "spec" / "lab03_fork.txt").unlink()
    for mutant in (root / "grader" / "mutants" / "lab03_fork").glob("*.mutant"):
        mutant.unlink()
    readme = lab / "README.md"
    readme.write_text(readme.read_text().replace("## Steps", "## The steps"))
    done = run_lab_check(root, "lab03_fork")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    for expected in ("lab03_fork/README.zh.md: missing", "no section '## Steps'",
                     "slides/decks/03-fork.zh.md: missing", "grader/spec/lab03_fork.txt: missing",
                     "grader/mutants/lab03_fork/: no mutant", "no mutant's fails: line names it"):
        assert expected in out, out
    problems = [line for line in out.splitlines() if line.startswith("lab03_fork: ")]
    fixes = [line for line in out.splitlines() if line.startswith("    fix: ")]
    assert len(problems) >= 6 and len(fixes) == len(problems), out


def test_an_unknown_lab_is_told_how_to_start_one(tmp_path):
    problems = lab_check.check("lab09_nothing")
    assert any("labs.txt: no line for lab09_nothing" in p for p in problems)
    assert any("make new-lab LAB=lab09_nothing" in p for p in problems)
