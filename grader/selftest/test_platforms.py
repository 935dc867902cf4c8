"""Gradescope's autograder zip and the GitHub Classroom workflow."""

import json
import os
import re
import subprocess
import sys
import zipfile

from conftest import GRADER_DIR, KIT_ROOT

sys.path.insert(0, str(KIT_ROOT / "tools"))

from make_gradescope import make_zip  # noqa: E402


def extract(archive: zipfile.ZipFile, target) -> None:
    """extractall() without losing the executable bits, as unzip keeps them."""
    for info in archive.infolist():
        path = archive.extract(info, target)
        mode = (info.external_attr >> 16) & 0o777
        if mode:
            os.chmod(path, mode)


def test_gradescope_zip_grades_an_upload(tmp_path, submission):
    target = make_zip(KIT_ROOT, tmp_path / "dist")
    root = tmp_path / "autograder"
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert "setup.sh" in names and "run_autograder" in names
        assert not any(n.startswith(("grader/selftest/", "grader/mutants/")) for n in names)
        extract(archive, root / "source")
    wrap = (root / "source" / "lab01_wrap" / "wrap.cpp").read_text()
    assert "not_implemented(" in wrap and "accept_should_retry" not in wrap

    # An upload of the whole handout folder, one level down.
    (root / "submission").mkdir()
    submission.rename(root / "submission" / "forklab-handout")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), FORKLAB_GRADE_ARGS="--lab lab01_wrap")
    proc = subprocess.run([str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == results["extra_data"]["max_score"] > 0
    assert all(t["status"] == "passed" for t in results["tests"])


def test_gradescope_upload_without_labs_gets_a_clear_message(tmp_path):
    target = make_zip(KIT_ROOT, tmp_path / "dist")
    root = tmp_path / "autograder"
    with zipfile.ZipFile(target) as archive:
        extract(archive, root / "source")
    (root / "submission").mkdir()
    (root / "submission" / "server.cpp").write_text("int main() {}\n")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root))
    subprocess.run([str(root / "source" / "run_autograder")], env=env, check=True, timeout=60)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0
    assert "No lab folder" in results["output"]


def test_classroom_workflow_runs_every_lab_for_its_points():
    workflow = (KIT_ROOT / ".github" / "workflows" / "classroom.yml").read_text()
    listing = subprocess.run([sys.executable, str(GRADER_DIR / "forklab_grade.py"), "--list"],
                             capture_output=True, text=True, check=True).stdout
    totals = dict(re.findall(r"^(lab\w+): (\d+) points$", listing, re.MULTILINE))
    steps = re.findall(r"command: grader/grade --lab (\w+)\n\s+timeout: \d+\n"
                       r"\s+max-score: (\d+)", workflow)
    assert dict(steps) == totals
    runners = re.search(r"runners: (.+)", workflow).group(1).split(",")
    assert runners == list(totals)
    for lab in totals:
        assert f'{lab.upper()}_RESULTS: "${{{{steps.{lab}.outputs.result}}}}"' in workflow
