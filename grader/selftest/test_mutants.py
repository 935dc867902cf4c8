"""The grader's tests of itself: every mutant of the catalogue fails exactly
the tests it should, and the reference passes all of them.

The mutants of each lab are graded together with the reference in one batch
(`grade --batch`), which also exercises batch grading."""

from collections import defaultdict

import pytest

import mutants
from conftest import GRADER_DIR, failed_tests, load_results, run_grade

CATALOGUE = mutants.catalogue()


def groups():
    by_labs = defaultdict(list)
    for mutant in CATALOGUE:
        by_labs[tuple(mutant.grade)].append(mutant)
    return sorted(by_labs.items())


def non_passing(results_path):
    return failed_tests(load_results(results_path))


def folder_name(mutant):
    return mutant.name.replace("/", "__")


@pytest.mark.parametrize("labs, members", groups(), ids=lambda v: "+".join(v)
                         if isinstance(v, tuple) else None)
def test_every_mutant_fails_exactly_its_tests(labs, members, tmp_path):
    batch = tmp_path / "batch"
    for mutant in members:
        mutants.apply(mutant, batch / folder_name(mutant))
    mutants.reference_submission(batch / "reference")
    out = tmp_path / "out"
    lab_args = [arg for lab in labs for arg in ("--lab", lab)]
    proc = run_grade("--batch", batch, "--out", out, "-j", "2", *lab_args, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    problems = []
    reference_failed = non_passing(out / "reference" / "results.json")
    if reference_failed:
        problems.append(f"the reference does not pass: {sorted(reference_failed)}")
    for mutant in members:
        got = non_passing(out / folder_name(mutant) / "results.json")
        want = set(mutant.fails)
        if got != want:
            problems.append(f"{mutant.name}: expected to fail {sorted(want)}\n"
                            f"    but these did not pass: {sorted(got)}\n"
                            f"    unexpected: {sorted(got - want)}; "
                            f"missing: {sorted(want - got)}")
    assert not problems, "\n".join(problems)


def test_catalogue_table_in_readme_is_up_to_date():
    readme = (GRADER_DIR / "README.md").read_text()
    assert mutants.markdown_table(CATALOGUE) in readme, (
        "grader/README.md's catalogue table is out of date: run "
        "`python3 grader/selftest/mutants.py --update-readme`")


def graded_test_names() -> set:
    """'lab: title' of every graded test, as `grade --list` names them."""
    listing = run_grade("--list", timeout=120)
    assert listing.returncode == 0, listing.stderr
    names, lab = set(), None
    for line in listing.stdout.splitlines():
        if not line.startswith(" "):
            lab = line.split(":", 1)[0]
        elif line.strip():
            names.add(f"{lab}: {line.split(maxsplit=1)[1]}")
    return names


def test_catalogue_files_parse_and_name_real_tests():
    assert CATALOGUE, "the catalogue is empty"
    real = graded_test_names()
    for mutant in CATALOGUE:
        assert mutant.fails, f"{mutant.name} lists no failing test"
        for name in mutant.fails:
            assert name.split(": ", 1)[0] in mutant.grade, f"{mutant.name}: {name}"
            assert name in real, f"{mutant.name}: no graded test is called {name!r}"
