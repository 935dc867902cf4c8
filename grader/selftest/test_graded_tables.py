"""Each lab README's table of graded tests is generated (tools/graded_tables.py)
from what `grader/grade --list` lists, and is up to date in both languages."""

import re

import pytest

from conftest import KIT_ROOT, run_grade

from tools import graded_tables


def listed_by_grade() -> dict:
    """{lab: [(title, points)]} as `grade --list` prints them."""
    done = run_grade("--list", "--lang", "en")
    assert done.returncode == 0, done.stderr
    tests, lab = {}, None
    for line in done.stdout.splitlines():
        heading = re.fullmatch(r"(\S+): \d+ points", line)
        if heading:
            lab = heading.group(1)
            tests[lab] = []
        else:
            points, title = line.split(None, 1)
            tests[lab].append((title, int(points)))
    return tests


def test_every_readme_table_is_what_the_tool_generates():
    stale = [str(path.relative_to(KIT_ROOT)) for path, text in
             graded_tables.expected_readmes().items() if path.read_text() != text]
    assert not stale, f"run make graded-tables: {stale}"


def test_the_tables_list_what_grade_lists():
    listed = listed_by_grade()
    collected = graded_tables.graded_tests(list(listed))
    assert {lab: [(title, points) for title, points, _what in rows]
            for lab, rows in collected.items()} == listed


def test_every_graded_test_says_what_it_does_in_one_line():
    collected = graded_tables.graded_tests([lab for lab in listed_by_grade()])
    silent = [f"{lab}: {title}" for lab, rows in collected.items()
              for title, _points, what in rows if not what]
    assert not silent, f"no second paragraph in the docstring: {silent}"


def test_a_readme_without_the_region_is_a_clear_error(tmp_path):
    for rel in ["labs.txt", str(graded_tables.check_translations.PO_FILE),
                *(str(path.relative_to(KIT_ROOT)) for path in KIT_ROOT.glob("lab*/README*.md"))]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text((KIT_ROOT / rel).read_text())
    readme = tmp_path / "lab02_single" / "README.md"
    readme.write_text(readme.read_text().replace(graded_tables.BEGIN, ""))
    with pytest.raises(SystemExit, match="lab02_single/README.md needs one region"):
        graded_tables.expected_readmes(tmp_path)
