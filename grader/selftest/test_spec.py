"""Every promise a lab makes is checked, or says why not: each lab's spec
(grader/spec/LAB.txt, tools/spec_tables.py) quotes its README and header, and
names the graded tests, unit tests and alternatives that check each
requirement.

- every quote stands in the lab's README.md or its header;
- every sentence of the README and the header that says "must", and every
  row of the README's pitfalls table, is quoted by a requirement;
- every graded test, doctest case and alternative named exists;
- the generated tables (grader/spec/LAB.md) are up to date."""

from conftest import GRADER_DIR, graded_titles, unit_test_names

from grader.harness import kit
from tools import spec_tables


def specs() -> dict:
    return {path.stem: spec_tables.parse(path) for path in spec_tables.spec_files()}


def test_every_lab_has_a_spec_and_its_table_is_up_to_date():
    assert sorted(specs()) == sorted(kit.present_labs())
    assert spec_tables.main([]) == 0, "run tools/python -m tools.spec_tables --update"


def test_every_quote_stands_in_the_lab_text():
    problems = [p for lab, requirements in specs().items()
                for p in spec_tables.text_problems(lab, requirements) if " quotes what " in p]
    assert not problems, "\n".join(problems)


def test_every_must_and_every_pitfall_is_a_requirement():
    problems = [p for lab, requirements in specs().items()
                for p in spec_tables.text_problems(lab, requirements) if " quotes what " not in p]
    assert not problems, "\n".join(problems)


def test_every_check_named_exists():
    units, graded = unit_test_names(), graded_titles()
    problems = []
    for lab, requirements in specs().items():
        for r in requirements:
            problems += [f"{lab}: '{r.title}': no graded test {t!r}" for t in r.graded
                         if t not in graded]
            problems += [f"{lab}: '{r.title}': no doctest case {t!r}" for t in r.unit
                         if t not in units]
            problems += [f"{lab}: '{r.title}': no alternative {a}" for a in r.alternative
                         if not (GRADER_DIR / "alternatives" / f"{a}.alt").is_file()]
    assert not problems, "\n".join(problems)


def test_a_requirement_without_a_check_or_a_reason_is_refused(tmp_path):
    spec = tmp_path / "lab09_demo.txt"
    spec.write_text("## something promised\nsays: a promise\n")
    try:
        spec_tables.parse(spec)
    except spec_tables.SpecError as exc:
        assert "no graded:, unit: or not graded:" in str(exc)
    else:
        raise AssertionError("a requirement with no check was accepted")
