"""The grader's tests of itself: correct code is never failed.

Each file of grader/alternatives/ is a valid way to write a lab that differs
from the reference (the .mutant format, without `fails:`).  Every one must
score full marks, and pass the unit tests of its lab (`make test` in a scratch
copy of the kit holding it), so that the grader and the unit tests agree on
what is correct.  Gradings run as one batch per lab (`grade --batch -j 2`),
unit-test builds two at a time, a test per lab; each lab is built once with
the reference, and an alternative rebuilds only the objects its file changes."""

import shutil
import subprocess
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

import catalogue
from conftest import failed_tests, load_results, python_exceptions, run_grade
from grader.harness import kit

ALTERNATIVES = catalogue.alternatives()
AT_A_TIME = 2


def folder_name(alternative):
    return alternative.name.replace("/", "__")


def groups():
    by_labs = defaultdict(list)
    for alternative in ALTERNATIVES:
        by_labs[tuple(alternative.grade)].append(alternative)
    return sorted(by_labs.items())


def test_alternatives_parse_and_apply(tmp_path):
    assert ALTERNATIVES, "grader/alternatives/ is empty"
    for alternative in ALTERNATIVES:
        catalogue.apply(alternative, tmp_path / folder_name(alternative))


@pytest.mark.parametrize("labs, members", groups(), ids=lambda v: "+".join(v)
                         if isinstance(v, tuple) else None)
def test_every_alternative_scores_full_marks(labs, members, tmp_path):
    batch = tmp_path / "batch"
    for alternative in members:
        catalogue.apply(alternative, batch / folder_name(alternative))
    out = tmp_path / "out"
    lab_args = [arg for lab in labs for arg in ("--lab", lab)]
    proc = run_grade("--batch", batch, "--out", out, "-j", str(AT_A_TIME), *lab_args,
                     timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    problems = []
    for alternative in members:
        failed = failed_tests(load_results(out / folder_name(alternative) / "results.json"))
        if failed:
            problems.append(f"{alternative.name} ({alternative.mistake}) did not pass: "
                            f"{sorted(failed)}; see {out / folder_name(alternative)}")
    problems += [f"a Python exception reached a student: {where}"
                 for where in python_exceptions(out)]
    assert not problems, "\n".join(problems)


OBJECT_DIR = "build/g++"


def make(*args, timeout=900):
    return subprocess.run(["make", "-s", *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def build_lab_once(base, lab) -> None:
    """The lab built, and its unit tests run, once with the reference in a kit
    copy of its own: an alternative's copy takes these objects and rebuilds
    only those its own file changes (make reads the compiler's .d files)."""
    base.mkdir()
    kit.copy_kit(base)
    reference = base.parent / "reference"
    catalogue.reference_submission(reference)
    assert not kit.take_student_files(reference, base)
    done = make("-C", base / lab, "test")
    assert done.returncode == 0, f"{lab}: {done.stdout[-3000:]}{done.stderr[-3000:]}"


def unit_test_problem(alternative, scratch, base) -> str:
    """Build the alternative's lab in a scratch kit and run its unit tests;
    returns "" when they pass, else what went wrong."""
    submission = scratch / "submission"
    catalogue.apply(alternative, submission)
    kit_copy = scratch / "kit"
    kit_copy.mkdir()
    kit.copy_kit(kit_copy)
    missing = kit.take_student_files(submission, kit_copy)
    if missing:
        return f"{alternative.name}: {missing}"
    lab = alternative.file.split("/")[0]
    # Copies keep their times: newer than the kit's sources (copy_kit keeps
    # those too), older than the alternative's file, which alone is rebuilt.
    shutil.copytree(base / lab / OBJECT_DIR, kit_copy / lab / OBJECT_DIR,
                    copy_function=shutil.copy2)
    try:
        done = make("-C", kit_copy / lab, "test")
    except subprocess.TimeoutExpired:
        return f"{alternative.name}: `make test` in {lab} did not finish within 900 s"
    if done.returncode != 0:
        return (f"{alternative.name}: `make test` in {lab} exited {done.returncode}:\n"
                f"{(done.stdout + done.stderr)[-3000:]}")
    return ""


def by_lab_of_file() -> list:
    """(lab, its alternatives), the lab whose file each alternative changes."""
    labs = defaultdict(list)
    for alternative in ALTERNATIVES:
        labs[alternative.file.split("/")[0]].append(alternative)
    return sorted(labs.items())


@pytest.mark.parametrize("lab, alternatives", by_lab_of_file(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_alternative_passes_its_labs_unit_tests(lab, alternatives, tmp_path):
    base = tmp_path / "support"
    build_lab_once(base, lab)
    with ThreadPoolExecutor(max_workers=AT_A_TIME) as pool:
        problems = list(pool.map(
            lambda alt: unit_test_problem(alt, tmp_path / folder_name(alt), base),
            alternatives))
    problems = [p for p in problems if p]
    assert not problems, "\n\n".join(problems)
