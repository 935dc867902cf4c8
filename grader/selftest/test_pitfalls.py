"""PITFALLS.md and the labs' "Pitfalls this lab catches" tables name real checks:
every unit test they cite is a doctest case of the kit, every graded test a
title of `grade --list`, every mutant a file of grader/mutants/; and the Chinese
twins cite, after each Chinese title, the graded tests the English cite."""

import re

from conftest import GRADER_DIR, KIT_ROOT, graded_titles, unit_test_names

from tools import check_translations

PITFALLS = KIT_ROOT / "PITFALLS.md"


def cited(line: str) -> list:
    return re.findall(r"`([^`]+)`", line)


def test_pitfalls_md_cites_checks_that_exist():
    units, graded = unit_test_names(), graded_titles()
    problems, numbers = [], []
    for line in PITFALLS.read_text().splitlines():
        heading = re.match(r"## (\d+)\. ", line)
        if heading:
            numbers.append(int(heading.group(1)))
        for kind, known in (("- unit test:", units), ("- graded test:", graded)):
            if line.startswith(kind):
                problems += [f"{kind} {name}" for name in cited(line) if name not in known]
        if line.startswith("- mutant:"):
            problems += [f"mutant {name}" for name in cited(line)
                         if not (GRADER_DIR / "mutants" / f"{name}.mutant").is_file()]
    assert not problems, problems
    assert numbers == list(range(1, len(numbers) + 1)), "pitfalls are numbered 1, 2, 3, ..."


def test_each_lab_readme_cites_checks_that_exist():
    units, graded = unit_test_names(), graded_titles()
    count = len(re.findall(r"^## \d+\. ", PITFALLS.read_text(), re.MULTILINE))
    problems = []
    for readme in sorted(KIT_ROOT.glob("lab*/README.md")):
        text = readme.read_text()
        section = text.split("## Pitfalls this lab catches", 1)
        assert len(section) == 2, f"{readme}: no 'Pitfalls this lab catches' section"
        for row in re.findall(r"^\|(.+)\|\s*$", section[1], re.MULTILINE):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)]
            if len(cells) != 3 or cells[0] in ("mistake", "---"):
                continue
            for number in re.findall(r"\d+", cells[1]):
                if not 1 <= int(number) <= count:
                    problems.append(f"{readme.parent.name}: pitfall {number} does not exist")
            for name in cited(cells[2]):
                if name not in units and name not in graded:
                    problems.append(f"{readme.parent.name}: no check named {name!r}")
    assert not problems, "\n".join(problems)


def cited_in_chinese(text: str) -> list:
    """The English titles of a Chinese text's test-name citations `中文`（`English`）."""
    return [check_translations.span_text(m, 3) for m in check_translations.CITATION.finditer(text)]


def by_pitfall(text: str, prefix: str, titles) -> dict:
    """{pitfall number: the tests its lines starting with prefix cite}."""
    found, number = {}, None
    for line in text.splitlines():
        heading = re.match(r"## (\d+)\. ", line)
        if heading:
            number = int(heading.group(1))
        elif line.startswith(prefix):
            found.setdefault(number, []).extend(titles(line))
    return found


def test_pitfalls_zh_md_cites_the_graded_tests_pitfalls_md_cites():
    english = by_pitfall(PITFALLS.read_text(), "- graded test:", cited)
    chinese = by_pitfall((KIT_ROOT / "PITFALLS.zh.md").read_text(), "- 计分测试：",
                         cited_in_chinese)
    assert chinese == english


def test_each_lab_readme_zh_cites_graded_tests_its_english_row_cites():
    problems = []
    for readme in sorted(KIT_ROOT.glob("lab*/README.zh.md")):
        rows = {}
        for name, heading in (("README.md", "## Pitfalls this lab catches"),
                              ("README.zh.md", "## 本实验能发现的易错点")):
            section = (readme.parent / name).read_text().split(heading, 1)[1].split("\n## ")[0]
            rows[name] = re.findall(r"^\|.+\|\s*$", section, re.MULTILINE)[2:]
        assert len(rows["README.md"]) == len(rows["README.zh.md"]), readme
        for english, chinese in zip(rows["README.md"], rows["README.zh.md"]):
            problems += [f"{readme.parent.name}: {title!r} is not in its English row"
                         for title in cited_in_chinese(chinese) if title not in cited(english)]
    assert not problems, "\n".join(problems)
