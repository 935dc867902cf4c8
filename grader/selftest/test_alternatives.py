"""The grader's tests of itself: correct code is never failed.

Each file of grader/alternatives/ is a valid way to write a lab that differs
from the reference (the .mutant format, without `fails:`).  Every one must
score full marks, and pass the unit tests of its lab (`make test` in a scratch
copy of the kit holding it), so that the grader and the unit tests agree on
what is correct.  Gradings run as one batch per lab (`grade --batch -j 2`),
unit-test builds two at a time; the kit's test support objects (doctest's
main, testing.o, fakesys.o), which no student file touches, are built once."""

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


SUPPORT_OBJECTS = ("test_main.o", "testing.o", "fakesys.o")
OBJECT_DIR = "build/g++"


def make(*args, timeout=900):
    return subprocess.run(["make", "-s", *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def build_support_objects(base, labs) -> None:
    """Build the test support objects of each lab once, in a kit copy of their own."""
    base.mkdir()
    kit.copy_kit(base)
    for lab in labs:
        done = make("-C", base / lab, *(f"{OBJECT_DIR}/{o}" for o in SUPPORT_OBJECTS))
        assert done.returncode == 0, f"{lab}: {done.stdout}{done.stderr}"


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
    # Copies keep their times, newer than the kit's sources (copy_kit keeps
    # those too): make takes them as built.
    (kit_copy / lab / OBJECT_DIR).mkdir(parents=True)
    for name in SUPPORT_OBJECTS:
        shutil.copy2(base / lab / OBJECT_DIR / name, kit_copy / lab / OBJECT_DIR / name)
    try:
        done = make("-C", kit_copy / lab, "test")
    except subprocess.TimeoutExpired:
        return f"{alternative.name}: `make test` in {lab} did not finish within 900 s"
    if done.returncode != 0:
        return (f"{alternative.name}: `make test` in {lab} exited {done.returncode}:\n"
                f"{(done.stdout + done.stderr)[-3000:]}")
    return ""


def test_every_alternative_passes_its_labs_unit_tests(tmp_path):
    base = tmp_path / "support"
    build_support_objects(base, sorted({alt.file.split("/")[0] for alt in ALTERNATIVES}))
    with ThreadPoolExecutor(max_workers=AT_A_TIME) as pool:
        problems = list(pool.map(
            lambda alt: unit_test_problem(alt, tmp_path / folder_name(alt), base),
            ALTERNATIVES))
    problems = [p for p in problems if p]
    assert not problems, "\n\n".join(problems)
