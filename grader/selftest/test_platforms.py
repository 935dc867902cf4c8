"""The platforms: Gradescope's autograder zip, the GitHub Actions workflow of
the handout, PrairieLearn's image and questions; and the renderings of one
grading they are built from.  Nothing here runs on those platforms' servers:
each is simulated by the files and environment it gives the grader."""

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile

import pytest

from conftest import KIT_ROOT, failed_tests, load_results, run_grade
import catalogue
from github_workflow import (CURRENT, DEPRECATED, WORKFLOW, WORKFLOWS, job_env, run_step,
                             the_workflow, triggers_of)

from grader.harness import kit, report
from grader.harness.results import Grading
from grader.harness.scoring import Result
from tools.make_gradescope import GRADED_LABS, make_zip
from tools.make_prairielearn import ENTRYPOINT, IMAGE_CACHE, grade_packages, make_prairielearn


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
    assert "No lab folder (lab01_wrap, lab02_single, ...)" in results["output"]


def test_gradescope_one_lab_zip_grades_only_that_lab(tmp_path, submission):
    """`make gradescope LAB=lab02_single`: an assignment of one lab."""
    target = make_zip(KIT_ROOT, tmp_path / "dist", ["lab02_single"])
    assert target.name == "gradescope-autograder-lab02_single.zip"
    root = tmp_path / "autograder"
    with zipfile.ZipFile(target) as archive:
        assert archive.read(GRADED_LABS).decode() == "lab02_single\n"
        extract(archive, root / "source")
    (root / "submission").mkdir()
    submission.rename(root / "submission" / "forklab")
    env = {k: v for k, v in os.environ.items() if k != "FORKLAB_GRADE_ARGS"}
    proc = subprocess.run([str(root / "source" / "run_autograder")],
                          env=dict(env, AUTOGRADER_ROOT=str(root)),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert list(results["extra_data"]["labs"]) == ["lab02_single"]
    assert {t["name"].split(":")[0] for t in results["tests"]} == {"lab02_single"}
    assert results["score"] == results["extra_data"]["max_score"] > 0


@pytest.mark.parametrize("target", ["gradescope", "prairielearn"])
def test_make_targets_pass_the_lab_on(target):
    dry = subprocess.run(["make", "-n", target, "LAB=lab04_sigchld"], cwd=KIT_ROOT,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    command = dry.stdout.replace("\\\n", " ")
    assert re.search(rf"-m tools\.make_{target} --out dist .*--lab lab04_sigchld", command)
    every = subprocess.run(["make", "-n", target], cwd=KIT_ROOT, capture_output=True, text=True,
                           timeout=60)
    assert "--lab" not in every.stdout


def listed_points(lab: str):
    """(the lab's total, {"LAB: title": points}) as `grade --list` shows them."""
    listed = run_grade("--list", "--lab", lab)
    assert listed.returncode == 0, listed.stderr
    listing = listed.stdout
    total = int(re.search(rf"^{lab}: (\d+) points$", listing, re.MULTILINE).group(1))
    points = {f"{lab}: {title}": int(p)
              for p, title in re.findall(r"^\s+(\d+)  (.+)$", listing, re.MULTILINE)}
    assert sum(points.values()) == total
    return total, points


def single_failure_mutant(name: str):
    """A mutant of the catalogue that fails exactly one test of its lab."""
    mutant = catalogue.parse(catalogue.MUTANTS_DIR / f"{name}.mutant")
    assert len(mutant.fails) == 1 and mutant.grade == [name.split("/")[0]], mutant.fails
    return mutant


# ------------------------------------------------------- one grading, rendered

def a_grading():
    results = [
        Result("lab01_wrap", "builds", 1, 1, "passed", 1.5, notes=["a note"]),
        Result("lab04_sigchld", "keeps accepting, even | when: interrupted", 2, 0, "failed",
               0.25, "saw ``` and 100%\nsecond line", "Use `while`, 100% of the time.",
               "/logs/lab04_sigchld/keeps.log", [("server", "last words")]),
        Result("lab04_sigchld", "later test", 3, 0, "not run", 0.0,
               "not run: it needs 'keeps accepting', which did not pass", "a hint"),
    ]
    return Grading.from_scoring(results, seed=42, seconds=3.21,
                                missing={"lab02_single/server.cpp": "lab02_single/server.cpp "
                                                                    "is missing"})


def test_every_rendering_shows_the_same_points():
    g = a_grading()
    assert (g.score, g.max_score) == (1, 6)

    gradescope = report.gradescope_json(g)
    assert set(gradescope) == {"score", "execution_time", "output", "tests", "extra_data"}
    assert gradescope["score"] == 1 and gradescope["extra_data"]["max_score"] == 6
    assert gradescope["extra_data"]["labs"] == {"lab01_wrap": {"score": 1, "max_score": 1},
                                                "lab04_sigchld": {"score": 0, "max_score": 5}}
    assert [t["number"] for t in gradescope["tests"]] == ["1.1", "2.1", "2.2"]
    assert [t["status"] for t in gradescope["tests"]] == ["passed", "failed", "failed"]
    assert "lab02_single/server.cpp is missing" in gradescope["output"]

    junit = report.junit_xml(g)
    suite = junit.find("testsuite[@name='lab04_sigchld']")
    assert (suite.get("failures"), suite.get("skipped")) == ("1", "1")

    pl = report.prairielearn_json(g)
    assert pl["gradable"] is True and pl["score"] == pytest.approx(1 / 6)
    assert [(t["points"], t["max_points"]) for t in pl["tests"]] == [(1, 1), (0, 2), (0, 3)]
    assert pl["tests"][1]["message"] == "failed: saw ``` and 100%"
    assert "hint: Use `while`" in pl["tests"][1]["output"]
    assert "FAIL   0/2   keeps accepting" in pl["output"]

    summary = report.github_summary(g)
    assert "| **total** | **1/6** | 1 | 1 |" in summary
    assert "| lab04_sigchld: reaping children with SIGCHLD | 0/5 | 1 | 1 |" in summary
    # A | in a title cannot split its table cell; ``` in an observation
    # cannot close the block that shows it.
    assert "| FAIL | 0/2 | 0.25 s | keeps accepting, even \\| when: interrupted |" in summary
    assert "````text\nsaw ``` and 100%\nsecond line\nserver said:\nlast words\n" in summary

    assert report.github_annotations(g) == [
        "::error file=lab04_sigchld/server.cpp,title=lab04_sigchld%3A keeps accepting%2C "
        "even | when%3A interrupted (0/2)::saw ``` and 100%25%0Ahint: Use `while`, 100%25 "
        "of the time."]
    assert report.github_outputs(g) == "score=1\nmax-score=6\nlab01_wrap=1/1\nlab04_sigchld=0/5\n"


def test_github_and_prairielearn_files_stay_under_their_size_limits():
    chatty = [Result("lab02_single", f"test {i}", 1, 0, "failed", 0.1, "x" * 100_000, "hint",
                     output_tails=[("server", "y" * 100_000)]) for i in range(40)]
    g = Grading.from_scoring(chatty, seed=1, seconds=1)
    text = json.dumps(report.prairielearn_json(g))
    assert len(text.encode()) < 1_000_000
    assert all(t["output"].endswith("[... cut]") for t in report.prairielearn_json(g)["tests"])
    assert len(report.github_summary(g).encode()) < 1 << 20
    assert all(len(line) < 1000 for line in report.github_annotations(g))


# -------------------------------------------------------------- GitHub Actions

def test_workflow_parses_and_names_no_deprecated_action():
    assert [p.name for p in WORKFLOWS.iterdir()] == ["grade.yml"]
    data = the_workflow()
    assert "push" in triggers_of(data)
    steps = [step for job in data["jobs"].values() for step in job["steps"]]
    actions = [step["uses"] for step in steps if "uses" in step]
    assert actions
    for action in actions:
        assert not DEPRECATED.search(action), action
        name, version = action.split("@")
        assert name in CURRENT, action
        assert re.fullmatch(r"v\d+", version) and int(version[1:]) >= CURRENT[name], action
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "make deps-grade" in runs
    assert runs.count("grader/grade") == 1, "the grader runs once"
    assert "max-score" not in WORKFLOW.read_text(), "the points are the grader's"
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()"
    assert {"results.json", "results.xml", "grade-logs/"} <= set(upload["with"]["path"].split())


def test_workflow_runs_for_lab_changes_once_per_branch():
    data = the_workflow()
    paths = triggers_of(data)["push"]["paths"]
    assert paths == [f"{lab}/**" for lab in kit.LABS] + [".github/workflows/grade.yml"]
    assert "workflow_dispatch" in triggers_of(data)
    assert data["concurrency"] == {"group": "${{ github.workflow }}-${{ github.ref }}",
                                   "cancel-in-progress": True}
    env = data["jobs"]["grade"]["env"]
    assert env["FORKLAB_LABS"] == "${{ vars.FORKLAB_LABS || 'all' }}"


def test_workflow_labs_variable_becomes_lab_options(tmp_path):
    """FORKLAB_LABS, unset ("all"), one lab, or a list: the grader's --lab options."""
    job = the_workflow()["jobs"]["grade"]
    step = next(s for s in job["steps"] if s.get("id") == "grade")
    checkout = tmp_path / "checkout"
    (checkout / "grader").mkdir(parents=True)
    recorder = checkout / "grader" / "grade"
    recorder.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$ARGV_FILE"\n')
    recorder.chmod(0o755)
    for variables, labs in (({}, []), ({"FORKLAB_LABS": "lab03_fork"}, ["lab03_fork"]),
                            ({"FORKLAB_LABS": "lab01_wrap, lab02_single"},
                             ["lab01_wrap", "lab02_single"])):
        env = dict(os.environ, **job_env(job, variables), GITHUB_STEP_SUMMARY="/dev/null",
                   GITHUB_OUTPUT="/dev/null", ARGV_FILE=str(tmp_path / "argv"))
        proc = run_step(step, checkout, env)
        assert proc.returncode == 0, proc.stderr
        argv = (tmp_path / "argv").read_text().split("\n")
        assert [argv[i + 1] for i, word in enumerate(argv) if word == "--lab"] == labs


def test_workflow_grading_step_shows_partial_credit(tmp_path):
    mutant = single_failure_mutant("lab04_sigchld/sigpipe_not_ignored")
    failing = mutant.fails[0]
    lab_total, points = listed_points("lab04_sigchld")
    expected = lab_total - points[failing]
    submission = tmp_path / "submission"
    catalogue.apply(mutant, submission)

    job = the_workflow()["jobs"]["grade"]
    step = next(s for s in job["steps"] if s.get("id") == "grade")
    assert step["shell"] == "bash"
    # The runner's checkout of a student repository: the kit's grader and
    # tools; the student files come from the mutant, through the variable the
    # workflow sets for courses that grade some labs only.
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("grader", "tools"):
        (checkout / name).symlink_to(KIT_ROOT / name)
    summary, outputs = tmp_path / "step_summary.md", tmp_path / "output"
    summary.write_text("an earlier step's summary\n")
    outputs.write_text("")
    # The course's variable names the lab; FORKLAB_GRADE_ARGS adds an option.
    env = dict(os.environ, **job_env(job, {"FORKLAB_LABS": "lab04_sigchld"}))
    env.update(GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(outputs),
               FORKLAB_GRADE_ARGS=f"--submission {submission}")
    proc = run_step(step, checkout, env)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    sandbox_step = next(s for s in job["steps"] if "sandbox" in s.get("name", ""))
    assert sandbox_step["if"] == "always()"
    said = run_step(sandbox_step, checkout, env)
    assert said.returncode == 0, said.stderr

    text = summary.read_text()
    assert text.startswith("an earlier step's summary\n"), "the summary is appended to"
    assert f"| lab04_sigchld: reaping children with SIGCHLD | {expected}/{lab_total} | 1 | 0 |" \
        in text
    assert f"| **total** | **{expected}/{lab_total}** |" in text
    assert f"| FAIL | 0/{points[failing]} |" in text
    assert outputs.read_text().splitlines() == [
        f"score={expected}", f"max-score={lab_total}", f"lab04_sigchld={expected}/{lab_total}"]
    # After the table: which sandbox contained the programs, as the grader said.
    graded_under = load_results(checkout / "results.json")["extra_data"]["sandbox"]
    assert text.index("| **total** |") < text.index(f"**{graded_under['summary']}**")
    assert ("AppArmor" in text) == (graded_under["mode"] == "uid")

    results = load_results(checkout / "results.json")
    assert failed_tests(results) == {failing}
    assert results["score"] == expected
    output = next(t["output"] for t in results["tests"] if t["name"] == failing)
    hint = output.split("\nhint: ", 1)[1]
    annotations = [line for line in proc.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == 1, annotations
    title = f"{failing} (0/{points[failing]})".replace(":", "%3A").replace(",", "%2C")
    assert annotations[0].startswith(f"::error file=lab04_sigchld/server.cpp,title={title}::")
    assert annotations[0].endswith(
        "hint: " + hint.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))
    # What the artifact uploads.
    junit = ET.parse(checkout / "results.xml").getroot()
    assert junit.find("testsuite").get("failures") == "1"
    assert len(list((checkout / "grade-logs" / "lab04_sigchld").glob("*.log"))) == 1


# ---------------------------------------------------------------- PrairieLearn

@pytest.fixture(scope="module")
def prairielearn(tmp_path_factory):
    return make_prairielearn(KIT_ROOT, tmp_path_factory.mktemp("dist"), "myorg/forklab-grader")


def test_prairielearn_image_and_questions(prairielearn):
    image = prairielearn / "image"
    dockerfile = (image / "Dockerfile").read_text()
    assert re.search(r"^FROM debian:\S+$", dockerfile, re.MULTILINE)
    install = re.search(r"apt-get install[^\n]*\\\n\s+(.+?) \\", dockerfile).group(1).split()
    assert install == grade_packages(KIT_ROOT) and "g++" in install
    assert f"COPY run_grader {ENTRYPOINT}\n" in dockerfile
    # The kit's compiled parts, built into the image: no grading compiles them.
    assert f"ENV FORKLAB_CACHE={IMAGE_CACHE}\n" in dockerfile
    assert "kit.cached_kit_objects()" in dockerfile.split(f"ENV FORKLAB_CACHE={IMAGE_CACHE}")[1]
    assert os.access(image / "run_grader", os.X_OK)
    wrap = (image / "source" / "lab01_wrap" / "wrap.cpp").read_text()
    assert "not_implemented(" in wrap and "accept_should_retry" not in wrap
    for instructor_only in ("grader/selftest", "grader/mutants", "grader/prairielearn"):
        assert not (image / "source" / instructor_only).exists()

    questions = sorted((prairielearn / "questions" / "forklab").iterdir())
    assert [q.name for q in questions] == list(kit.LABS)
    uuids = set()
    for question in questions:
        info = json.loads((question / "info.json").read_text())
        uuids.add(info["uuid"])
        assert info["gradingMethod"] == "External"
        options = info["externalGradingOptions"]
        assert options["enabled"] and options["image"] == "myorg/forklab-grader"
        assert options["entrypoint"] == ENTRYPOINT and options["timeout"] <= 600
        config = json.loads((question / "tests" / "forklab.json").read_text())
        assert config["labs"] == [question.name]
        names = re.search(r'<pl-file-upload file-names="([^"]+)"',
                          (question / "question.html").read_text()).group(1).split(", ")
        assert names == list(config["files"])
        assert set(kit.LABS[question.name].student_files) <= set(config["files"].values())
        assert "<pl-external-grader-results>" in (question / "question.html").read_text()
    assert len(uuids) == len(questions)


def grade_on_prairielearn(prairielearn, tmp_path, lab, uploads: dict, env=None):
    """Run the entrypoint as PrairieLearn does, in a /grade tree under tmp_path."""
    root = tmp_path / "grade"
    (root / "student").mkdir(parents=True)
    (root / "tests").mkdir()
    shutil.copy(prairielearn / "questions" / "forklab" / lab / "tests" / "forklab.json",
                root / "tests")
    for name, text in uploads.items():
        (root / "student" / name).write_text(text)
    proc = subprocess.run([str(prairielearn / "image" / "run_grader")],
                          env=dict(os.environ, FORKLAB_GRADE_ROOT=str(root), **(env or {})),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text())


def uploads_of(prairielearn, submission, lab):
    """A submission's files as a student uploads them to one lab's question."""
    config = json.loads((prairielearn / "questions" / "forklab" / lab / "tests" /
                         "forklab.json").read_text())
    assert set(config["files"]) == {"wrap.cpp", "server.cpp"}
    return {name: (submission / rel).read_text() for name, rel in config["files"].items()}


def lost(results) -> set:
    return {t["name"] for t in results["tests"] if t["points"] < t["max_points"]}


def test_prairielearn_reference_scores_one(prairielearn, tmp_path, submission):
    results = grade_on_prairielearn(prairielearn, tmp_path, "lab02_single",
                                    uploads_of(prairielearn, submission, "lab02_single"))
    assert results["gradable"] is True and results["score"] == 1.0
    assert results["tests"] and not lost(results)


def test_prairielearn_mutant_scores_its_fraction(prairielearn, tmp_path):
    mutant = single_failure_mutant("lab02_single/no_reuseaddr")
    total, points = listed_points("lab02_single")
    submission = tmp_path / "submission"
    catalogue.apply(mutant, submission)
    results = grade_on_prairielearn(prairielearn, tmp_path, "lab02_single",
                                    uploads_of(prairielearn, submission, "lab02_single"))
    assert results["score"] == pytest.approx((total - points[mutant.fails[0]]) / total)
    assert lost(results) == set(mutant.fails)
    failed = next(t for t in results["tests"] if t["name"] == mutant.fails[0])
    assert failed["message"].startswith("failed: ") and "hint: " in failed["output"]
    assert f"FAIL {mutant.fails[0]}" in results["output"]


def test_prairielearn_build_failure_is_not_gradable_with_the_errors(prairielearn, tmp_path,
                                                                    submission):
    """Nothing could be tested: no score, no attempt lost, the compiler's errors shown."""
    uploads = uploads_of(prairielearn, submission, "lab02_single")
    uploads["server.cpp"] = "int main() { return no_such_variable; }\n"
    results = grade_on_prairielearn(prairielearn, tmp_path, "lab02_single", uploads)
    assert results["gradable"] is False and results["score"] == 0
    assert "did not compile" in results["message"] and "costs no attempt" in results["message"]
    errors = results["format_errors"]
    assert len(errors) == 1 and errors[0].startswith("lab02_single: builds")
    assert re.search(r"server\.cpp:1:\d+: error: .*no_such_variable", errors[0]), errors
    builds = results["tests"][0]
    assert builds["name"].startswith("lab02_single: builds") and builds["points"] == 0
    assert all(t["message"].startswith("not run") for t in results["tests"][1:])


def test_prairielearn_grading_past_its_deadline_is_not_gradable(prairielearn, tmp_path,
                                                                submission):
    """Stopped before PrairieLearn's timeout kills the container, with a reason."""
    results = grade_on_prairielearn(prairielearn, tmp_path, "lab02_single",
                                    uploads_of(prairielearn, submission, "lab02_single"),
                                    env={"FORKLAB_GRADE_DEADLINE": "2"})
    assert results["gradable"] is False
    assert "the grading took longer than 2 s and was stopped" in results["message"]


def test_prairielearn_one_lab_package(tmp_path):
    """`make prairielearn LAB=lab04_sigchld`: that lab's question only, the same image."""
    target = make_prairielearn(KIT_ROOT, tmp_path / "dist", "myorg/forklab-grader",
                               ["lab04_sigchld"])
    questions = target / "questions" / "forklab"
    assert [q.name for q in questions.iterdir()] == ["lab04_sigchld"]
    config = json.loads((questions / "lab04_sigchld" / "tests" / "forklab.json").read_text())
    assert config["labs"] == ["lab04_sigchld"]
    assert (target / "image" / "Dockerfile").is_file()
    assert (target / "image" / "source" / "lab06_limits").is_dir()  # the image grades any lab


def test_prairielearn_without_uploads_is_not_gradable(prairielearn, tmp_path):
    results = grade_on_prairielearn(prairielearn, tmp_path, "lab02_single", {})
    assert results["gradable"] is False
    assert "upload server.cpp, wrap.cpp" in results["message"]
    (tmp_path / "grade" / "tests" / "forklab.json").write_text("{")
    proc = subprocess.run([str(prairielearn / "image" / "run_grader")],
                          env=dict(os.environ, FORKLAB_GRADE_ROOT=str(tmp_path / "grade")),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    results = json.loads((tmp_path / "grade" / "results" / "results.json").read_text())
    assert results["gradable"] is False and "tests/forklab.json" in results["message"]


@pytest.mark.parametrize("option", ["--github-summary", "--github-output", "--prairielearn"])
def test_platform_file_onto_a_folder_is_a_usage_error(tmp_path, option):
    proc = run_grade("--lab", "lab01_wrap", option, tmp_path)
    assert proc.returncode == 2
    assert f"cannot write {tmp_path}: it is a folder" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("option", [["--annotations"], ["--prairielearn", "r.json"]])
def test_batch_does_not_take_one_gradings_files(tmp_path, option):
    (tmp_path / "class" / "alice").mkdir(parents=True)
    proc = run_grade("--batch", tmp_path / "class", "--out", tmp_path / "grades", *option)
    assert proc.returncode == 2
    assert "--batch does not combine with" in proc.stderr
    assert not (tmp_path / "grades").exists()
