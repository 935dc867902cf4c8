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


# ------------------------------------ the Chinese twins' citations of graded tests

TITLES = {"no zombies", "Accept: retries after EINTR", "a host name: `client localhost PORT`"}
CHINESE = {"no zombies": "没有僵尸进程", "Accept: retries after EINTR": "Accept：EINTR 之后重试",
           "a host name: `client localhost PORT`": "主机名：`client localhost PORT`"}


def cite(text: str) -> str:
    return graded_tables.cite(text, TITLES, CHINESE, "lab99/README.zh.md")


def test_a_cited_title_gets_the_chinese_grader_s_title_before_it():
    assert cite("- 计分测试：`no zombies`、`Accept: retries after EINTR`\n") == (
        "- 计分测试：`没有僵尸进程`（`no zombies`）、"
        "`Accept：EINTR 之后重试`（`Accept: retries after EINTR`）\n")
    assert cite("评分程序：`` a host name: `client localhost PORT` ``") == (
        "评分程序：`` 主机名：`client localhost PORT` ``（`` a host name: `client localhost PORT` ``）")


def test_citing_is_idempotent_and_follows_the_catalogue():
    once = cite("| x | 2 | 单元测试 `reap: keeps errno`；评分程序：`no zombies` |")
    assert once == "| x | 2 | 单元测试 `reap: keeps errno`；评分程序：`没有僵尸进程`（`no zombies`） |"
    assert cite(once) == once
    assert cite(once.replace("没有僵尸进程", "无僵尸")) == once


def test_unit_test_names_and_code_blocks_are_left_alone():
    text = "- 单元测试：`no zombies`\n```\n计分测试：`no zombies`\n```\n"
    assert cite(text) == text


def test_a_cited_name_that_is_no_graded_test_is_a_clear_error():
    with pytest.raises(SystemExit, match=r"lab99/README.zh.md:2: `no such test` is cited as a "
                                         r"graded test"):
        cite("text\n- 计分测试：`no such test`\n")


def test_what_the_tool_writes_is_what_check_translations_accepts():
    from tools import check_translations
    for path, text in graded_tables.expected_readmes().items():
        if path.name.endswith(".zh.md"):
            problems = check_translations.citation_problems(
                text, graded_tables.chinese_catalogue(KIT_ROOT))
            assert not problems, f"{path.relative_to(KIT_ROOT)}: {problems}"
            assert "（`" in text, f"{path.relative_to(KIT_ROOT)} cites no graded test"
