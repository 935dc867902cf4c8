"""The grader's tests of itself: every mutant of the catalogue fails exactly
the tests it should, the reference passes all of them, and every graded test
is failed by at least one mutant (or is listed in catalogue.NO_HONEST_MUTANT
with the reason).

The mutants of each lab are graded together with the reference in one batch
(`grade --batch -j 2`: two gradings at a time), which also exercises batch
grading.  `make test` grades a cover of the catalogue (catalogue.cover: every
test title that any mutant fails is failed by a graded one); `make
selftest-long` (pytest --whole-catalogue) grades every mutant."""

from collections import defaultdict

import catalogue
from conftest import GRADER_DIR, failed_tests, load_results, python_exceptions, run_grade

CATALOGUE = catalogue.catalogue()


def groups(members):
    by_labs = defaultdict(list)
    for mutant in members:
        by_labs[tuple(mutant.grade)].append(mutant)
    return sorted(by_labs.items())


def pytest_generate_tests(metafunc):
    """`make test` grades a cover of the catalogue (every test title some
    mutant fails, failed by at least one graded mutant); `make selftest-long`
    (--whole-catalogue) grades every mutant."""
    if "members" in metafunc.fixturenames:
        whole = metafunc.config.getoption("whole_catalogue")
        members = CATALOGUE if whole else catalogue.cover(CATALOGUE)
        metafunc.parametrize("labs, members", groups(members),
                             ids=lambda v: "+".join(v) if isinstance(v, tuple) else None)


def non_passing(results_path):
    return failed_tests(load_results(results_path))


def folder_name(mutant):
    return mutant.name.replace("/", "__")


def test_every_mutant_fails_exactly_its_tests(labs, members, tmp_path):
    batch = tmp_path / "batch"
    for mutant in members:
        catalogue.apply(mutant, batch / folder_name(mutant))
    catalogue.reference_submission(batch / "reference")
    out = tmp_path / "out"
    lab_args = [arg for lab in labs for arg in ("--lab", lab)]
    proc = run_grade("--batch", batch, "--out", out, "-j", "2", "--seed", catalogue.SEED,
                     *lab_args, timeout=1800)
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
    problems += [f"a Python exception reached a student: {where}"
                 for where in python_exceptions(out)]
    assert not problems, "\n".join(problems)


def test_the_cover_fails_every_title_the_catalogue_fails():
    covered = {catalogue.title_of(name) for m in catalogue.cover(CATALOGUE) for name in m.fails}
    everything = {catalogue.title_of(name) for m in CATALOGUE for name in m.fails}
    assert covered == everything
    assert len(catalogue.cover(CATALOGUE)) < len(CATALOGUE)


def test_catalogue_table_in_readme_is_up_to_date():
    readme = (GRADER_DIR / "README.md").read_text()
    assert catalogue.tables() in readme, (
        "grader/README.md's catalogue tables are out of date: run "
        "`tools/python -m grader.selftest.catalogue --update-readme` in the kit's folder")


def graded_test_names() -> set:
    """'lab: title' of every graded test, as `grade --list` names them."""
    return {f"{lab}: {title}" for lab, title in catalogue.graded_tests()}


def test_every_graded_test_is_failed_by_a_mutant():
    tests = catalogue.graded_tests()
    by_title = catalogue.failing_mutants(CATALOGUE, tests)
    unproven = [title for title, names in by_title.items()
                if not names and title not in catalogue.NO_HONEST_MUTANT]
    assert not unproven, ("no mutant of grader/mutants/ fails these graded tests (add one, or "
                          "say in catalogue.NO_HONEST_MUTANT why none can):\n  "
                          + "\n  ".join(unproven))
    stale = [title for title in catalogue.NO_HONEST_MUTANT if by_title.get(title)]
    assert not stale, f"NO_HONEST_MUTANT lists tests that a mutant fails: {stale}"
    unknown = [title for title in catalogue.NO_HONEST_MUTANT if title not in by_title]
    assert not unknown, f"NO_HONEST_MUTANT names no graded test: {unknown}"


def test_catalogue_files_parse_and_name_real_tests():
    assert CATALOGUE, "the catalogue is empty"
    real = graded_test_names()
    for mutant in CATALOGUE:
        assert mutant.fails, f"{mutant.name} lists no failing test"
        for name in mutant.fails:
            assert name.split(": ", 1)[0] in mutant.grade, f"{mutant.name}: {name}"
            assert name in real, f"{mutant.name}: no graded test is called {name!r}"
