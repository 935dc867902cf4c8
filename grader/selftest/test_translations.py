"""tools/check_translations.py: the kit's Chinese twins are in step with the
English, and a twin that falls behind fails, naming the file and the section."""

import json
import os
import shutil
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest
from conftest import GRADER_DIR, KIT_ROOT, run_grade

CHECKER = KIT_ROOT / "tools" / "check_translations.py"

ENGLISH = textwrap.dedent("""\
    # lab99 — an example

    Run `make grade` twice; port 6666, [the pitfalls](../PITFALLS.md).

    ## Steps

    ```sh
    nc -N localhost 6666
    ```

    <!-- BEGIN HIDDEN -->
    100 000 connections.
    <!-- END HIDDEN -->
    """)

CHINESE = textwrap.dedent("""\
    # lab99 — 示例

    运行 `make grade` 两遍；端口 6666，[易错点](../PITFALLS.md)。

    ## 步骤

    ```sh
    nc -N localhost 6666
    ```

    <!-- BEGIN HIDDEN -->
    100000 个连接。
    <!-- END HIDDEN -->
    """)


def run_checker(root):
    return subprocess.run([sys.executable, str(CHECKER), "--root", str(root)],
                          capture_output=True, text=True, timeout=60)


def write_twins(root, english, chinese, record=True):
    """lab99/README.md and its twin; record: the English as the lock's (see
    test_a_changed_english_section_fails_until_recorded)."""
    folder = root / "lab99"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(english)
    (folder / "README.zh.md").write_text(chinese)
    if record:
        subprocess.run([sys.executable, str(CHECKER), "--root", str(root), "--update"],
                       check=True, capture_output=True, timeout=60)


def test_the_kit_is_in_step():
    result = run_checker(KIT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "in step" in result.stdout


def test_twins_in_step_pass(tmp_path):
    write_twins(tmp_path, ENGLISH, CHINESE)
    result = run_checker(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "1 documents" in result.stdout


def failure_of(tmp_path, english, chinese) -> str:
    write_twins(tmp_path, english, chinese)
    result = run_checker(tmp_path)
    assert result.returncode == 1, result.stdout
    assert "lab99/README.zh.md" in result.stdout
    return result.stdout


def test_a_missing_heading_fails(tmp_path):
    out = failure_of(tmp_path, ENGLISH + "\n## Commands\n\nmore\n", CHINESE)
    assert "'Commands'" in out and "only in the English" in out


def test_a_changed_code_block_fails_naming_the_section(tmp_path):
    out = failure_of(tmp_path, ENGLISH.replace("-N localhost", "-N 127.0.0.1"), CHINESE)
    assert "section 'Steps'" in out and "code block 1 differs at its line 2" in out


def test_a_changed_command_fails(tmp_path):
    out = failure_of(tmp_path, ENGLISH.replace("`make grade`", "`make grade LAB=lab99`"), CHINESE)
    assert "section 'lab99 — an example'" in out and "make grade LAB=lab99" in out


def test_a_changed_number_fails(tmp_path):
    out = failure_of(tmp_path, ENGLISH.replace("100 000", "300 000"), CHINESE)
    assert "section 'Steps'" in out and "'300000'" in out and "'100000'" in out


def test_a_changed_link_fails(tmp_path):
    out = failure_of(tmp_path, ENGLISH.replace("../PITFALLS.md", "../GLOSSARY.md"), CHINESE)
    assert "links" in out and "GLOSSARY.md" in out


def test_a_dropped_hidden_marker_fails(tmp_path):
    out = failure_of(tmp_path, ENGLISH, CHINESE.replace("<!-- END HIDDEN -->\n", ""))
    assert "comment markers differ" in out


def test_a_changed_english_section_fails_until_recorded(tmp_path):
    write_twins(tmp_path, ENGLISH, CHINESE)
    (tmp_path / "lab99" / "README.md").write_text(ENGLISH.replace("twice", "two times"))
    out = run_checker(tmp_path).stdout
    assert "lab99/README.zh.md: section 'lab99 — an example': the English changed" in out
    assert "section 'Steps'" not in out
    subprocess.run([sys.executable, str(CHECKER), "--root", str(tmp_path), "--update"],
                   check=True, capture_output=True, timeout=60)
    assert run_checker(tmp_path).returncode == 0


def test_a_twin_never_recorded_fails(tmp_path):
    write_twins(tmp_path, ENGLISH, CHINESE, record=False)
    assert "not in tools/translations.lock.json" in run_checker(tmp_path).stdout


def test_a_fence_hides_headings(tmp_path):
    english = ENGLISH + "\n```\n# not a heading\n```\n"
    chinese = CHINESE + "\n```\n# 不是标题\n```\n"
    write_twins(tmp_path, english, chinese)
    assert run_checker(tmp_path).returncode == 0, run_checker(tmp_path).stdout


# ------------------------------------- comments, diagrams and citations in Chinese

TRY_EN = textwrap.dedent("""\
    ## Try it

    ```sh
    ./server 6666 &                      # terminal 1: the server in the background
    printf 'a # b' | nc -N localhost 6666   # 2 lines come back
    # then stop it
    kill -TERM $!
    ```

    ```cpp
    pause();  // sleep until a signal
    ```
    """)

TRY_ZH = textwrap.dedent("""\
    ## 试一试

    ```sh
    ./server 6666 &                      # 终端 1：服务器在后台运行
    printf 'a # b' | nc -N localhost 6666   # 返回 2 行
    # 然后停止它
    kill -TERM $!
    ```

    ```cpp
    pause();  // sleep until a signal
    ```
    """)


def test_translated_comments_of_a_command_block_pass(tmp_path):
    write_twins(tmp_path, ENGLISH + TRY_EN, CHINESE + TRY_ZH)
    result = run_checker(tmp_path)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("before, after, expected", [
    # The code of a line is byte for byte; a quoted # starts no comment.
    ("./server 6666 &  ", "./server 7777 &  ", "code block 1 differs at its line 2"),
    ("printf 'a # b'", "printf 'a # c'", "code block 1 differs at its line 3"),
    # A comment left in English, or half-translated.
    ("# 然后停止它", "# then stop it", "line 4: comment not translated: '# then stop it'"),
    ("# 返回 2 行", "# 返回 2 lines come back", "English left in the comment: "
                                              "'lines come back'"),
    ("# 终端 1：", "# 终端 2：", "line 2: numbers in the comment missing in Chinese: '1'"),
    ("kill -TERM $!", "kill -TERM $!   # 停止", "line 5: a comment in Chinese only"),
    # Any other language is code, its comments too.
    ("// sleep until a signal", "// 睡到信号到来", "code block 2 differs at its line 2"),
])
def test_a_command_block_keeps_its_code_and_translates_its_comments(tmp_path, before, after,
                                                                     expected):
    assert before in TRY_ZH
    out = failure_of(tmp_path, ENGLISH + TRY_EN, CHINESE + TRY_ZH.replace(before, after))
    assert "section 'Try it'" in out and expected in out, out


DIAGRAM_EN = textwrap.dedent("""\
    ## Race

    ```
     parent                  child
     children == max? yes ─┐
                           │ ◄─── SIGCHLD ─── kernel: it stays pending
     pause()               ▼ sleeps for ever
    ```
    """)

DIAGRAM_ZH = textwrap.dedent("""\
    ## 竞态

    ```
     父进程                  子进程
     children == max? 是 ──┐
                           │ ◄─── SIGCHLD ─── 内核：它保持未决
     pause()               ▼ 永远睡下去
    ```
    """)


def test_a_diagram_with_translated_labels_passes(tmp_path):
    write_twins(tmp_path, ENGLISH + DIAGRAM_EN, CHINESE + DIAGRAM_ZH)
    result = run_checker(tmp_path)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("before, after, expected", [
    (" pause()               ▼ 永远睡下去\n",
     " pause()               ▼ 永远\n                         睡下去\n",
     "code block 1 (diagram) has 6 lines in English, 7 in Chinese"),
    ("─── 内核", "─── 内核 ▶", "line 4: not the same drawing"),
    ("│ ◄─── SIGCHLD", "◄─── SIGCHLD", "line 4: not the same drawing"),
    ("内核：它保持未决", "kernel: it stays pending", "line 4: English left in a label: "
                                                  "'kernel: it stays pending'"),
    ("SIGCHLD ───", "信号 ───", "code words missing in Chinese: 'SIGCHLD'"),
])
def test_a_diagram_keeps_its_lines_drawing_and_code_and_translates_its_labels(
        tmp_path, before, after, expected):
    assert before in DIAGRAM_ZH
    out = failure_of(tmp_path, ENGLISH + DIAGRAM_EN, CHINESE + DIAGRAM_ZH.replace(before, after))
    assert "section 'Race'" in out and expected in out, out


@pytest.mark.parametrize("text", [
    "reap_children and server.cpp",
    "SIGCHLD EINTR ECONNRESET FIN",
    "make grade LAB=lab01_wrap",
    "nc -N localhost 6666",
    "Ctrl-C 或 netcat-openbsd 的 nc -l -p 6666",
    "waitpid() 和 write() 在列",
    "打印 `Accepting connections on port 6666` 或 \"connect to host: Connection refused\"",
    "父进程为 S，TIME 为 00:00:00",
])
def test_code_names_and_quotes_are_not_english_prose(text):
    from tools import check_translations
    assert check_translations.english_runs(text) == []


@pytest.mark.parametrize("text, run", [
    ("the child is gone", "the child is gone"),
    ("终端 2：type hello, then leave", "type hello, then leave"),
    ("(still arriving at the client)", "still arriving at the client"),
])
def test_three_english_words_in_a_row_are_prose(text, run):
    from tools import check_translations
    assert check_translations.english_runs(text) == [run]


CITING_EN = "\n## Pitfalls\n\n- unit test: `reap: keeps errno`\n- graded test: `no zombies`\n"
CITING_ZH = "\n## 易错点\n\n- 单元测试：`reap: keeps errno`\n- 计分测试：`没有僵尸进程`（`no zombies`）\n"
ZOMBIES = 'msgid "no zombies"\nmsgstr "没有僵尸进程"\n'


def test_a_citation_with_the_grader_s_chinese_title_passes(tmp_path):
    write_messages(tmp_path, "", PO_HEADER + ZOMBIES)
    write_twins(tmp_path, ENGLISH + CITING_EN, CHINESE + CITING_ZH)
    result = run_checker(tmp_path)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("before, after, expected", [
    ("`没有僵尸进程`（`no zombies`）", "`no zombies`",
     "test `no zombies` cited without its Chinese title"),
    ("`没有僵尸进程`", "`无僵尸`", "the Chinese grader prints '没有僵尸进程'"),
    ("`没有僵尸进程`（`no zombies`）", "`没有僵尸进程`（`no zombies`） and then some more",
     "English left in a test-name citation: 'and then some more'"),
])
def test_a_citation_names_the_title_the_chinese_grader_prints(tmp_path, before, after,
                                                              expected):
    write_messages(tmp_path, "", PO_HEADER + ZOMBIES)
    out = failure_of(tmp_path, ENGLISH + CITING_EN, CHINESE + CITING_ZH.replace(before, after))
    assert "section 'Pitfalls'" in out and expected in out, out


def write_messages(root, source, po):
    (root / "grader" / "locale" / "zh" / "LC_MESSAGES").mkdir(parents=True)
    (root / "grader" / "forklab_grade.py").write_text(source)
    (root / "grader" / "locale" / "zh" / "LC_MESSAGES" / "forklab.po").write_text(po)


PO_HEADER = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'


def test_grader_messages_translated_pass(tmp_path):
    write_messages(tmp_path, 'print(_("Score: {got}/{total}").format(got=1, total=2))\n',
                   PO_HEADER + 'msgid "Score: {got}/{total}"\nmsgstr "得分：{got}/{total}"\n')
    result = run_checker(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "1 grader messages" in result.stdout


def test_an_untranslated_grader_message_fails(tmp_path):
    write_messages(tmp_path, 'print(_("Score: {got}/{total}"))\nprint(_("new message"))\n',
                   PO_HEADER + 'msgid "Score: {got}/{total}"\nmsgstr "得分：{got}/{total}"\n'
                   '\nmsgid "new message"\nmsgstr ""\n')
    out = run_checker(tmp_path).stdout
    assert "grader/forklab_grade.py:2" in out and "empty" in out and "'new message'" in out


def test_a_message_missing_from_the_catalogue_fails(tmp_path):
    write_messages(tmp_path, 'print(_("never translated"))\n', PO_HEADER)
    out = run_checker(tmp_path).stdout
    assert "grader/forklab_grade.py:1: no Chinese translation" in out


def test_a_lost_placeholder_fails(tmp_path):
    write_messages(tmp_path, 'print(_("Score: {got}/{total}"))\n',
                   PO_HEADER + 'msgid "Score: {got}/{total}"\nmsgstr "得分：{got}"\n')
    assert "placeholders differ" in run_checker(tmp_path).stdout


GRADED_MODULE = textwrap.dedent('''\
    {imports}
    @graded(points=1, hint="check the port")
    def test_starts():
        """server starts"""
    ''')


def test_a_test_module_that_imports_i18n_needs_its_titles_and_hints_translated(tmp_path):
    write_messages(tmp_path, "", PO_HEADER + 'msgid "server starts"\nmsgstr "服务器能启动"\n')
    tests = tmp_path / "grader" / "tests"
    tests.mkdir()
    (tests / "test_lab99.py").write_text(
        GRADED_MODULE.format(imports="from grader.harness import graded"))
    assert run_checker(tmp_path).returncode == 0  # not opted in: titles stay English
    (tests / "test_lab99.py").write_text(GRADED_MODULE.format(
        imports="from grader.harness import graded\nfrom grader.i18n import _"))
    out = run_checker(tmp_path).stdout
    assert "grader/tests/test_lab99.py:3: no Chinese translation" in out
    assert "'check the port'" in out and "'server starts'" not in out


def test_a_fuzzy_translation_fails(tmp_path):
    write_messages(tmp_path, 'print(_("Score"))\n',
                   PO_HEADER + '#, fuzzy\nmsgid "Score"\nmsgstr "得分"\n')
    assert "fuzzy" in run_checker(tmp_path).stdout


# ------------------------------------------------- the grader in two languages

def english_locale(**more):
    """An environment with no Chinese in it, plus more."""
    return {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8", "FORKLAB_LANG": "", **more}


@pytest.fixture(scope="module")
def catalogue():
    """The compiled Chinese catalogue (`make catalogues`)."""
    subprocess.run(["make", "-s", "-C", str(KIT_ROOT), "catalogues"], check=True,
                   capture_output=True, timeout=60)
    assert (GRADER_DIR / "locale" / "zh" / "LC_MESSAGES" / "forklab.mo").is_file()


@pytest.mark.parametrize("env, args, chinese", [
    (english_locale(), [], False),
    (english_locale(), ["--lang", "zh"], True),
    (english_locale(LANG="zh_CN.UTF-8"), [], True),
    (english_locale(LANG="zh_CN.UTF-8"), ["--lang", "en"], False),
    (english_locale(LANG="zh_CN.UTF-8", LC_ALL="C.UTF-8"), [], False),
    (english_locale(LC_ALL="zh_TW.UTF-8"), [], True),
])
def test_the_grader_speaks_the_language_asked_for(catalogue, env, args, chinese):
    proc = run_grade("--lab", "nope", *args, env=env)
    assert proc.returncode == 2
    expected = "grade: 未知的实验 'nope'" if chinese else "grade: unknown lab 'nope'"
    assert proc.stderr.startswith(expected), proc.stderr


def test_make_grade_lang_asks_for_chinese_even_under_lc_all():
    dry = subprocess.run(["make", "-n", "-C", str(KIT_ROOT), "grade", "LANG=zh_CN.UTF-8"],
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, LC_ALL="C.UTF-8"))
    assert re.search(r"grader/grade(-for-make)? +--lang zh", dry.stdout), dry.stdout


ONE_TEST = """
    from grader.harness import graded

    LAB = "lab01_wrap"

    @graded(points=1, hint="none")
    def test_passes():
        \"\"\"passes\"\"\"
"""


def test_results_carry_the_language(catalogue, tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy(GRADER_DIR / "tests" / "conftest.py", tests)
    (tests / "test_lab01_wrap.py").write_text(textwrap.dedent(ONE_TEST))
    proc = run_grade("--lab", "lab01_wrap", "--lang", "zh", "--json", tmp_path / "r.json",
                     "--junit", tmp_path / "r.xml", "--logs", tmp_path / "logs", timeout=120,
                     env=english_locale(FORKLAB_GRADER_TESTS=str(tests)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "得分：1/1" in proc.stdout
    assert json.loads((tmp_path / "r.json").read_text())["extra_data"]["language"] == "zh"
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert suite.find("properties/property[@name='language']").get("value") == "zh"


# ------------------------------------------------- a handout in one language

def handout_in(tmp_path, languages):
    from tools.make_handout import make_handout
    return make_handout(KIT_ROOT, tmp_path / "-".join(languages), tarball=False,
                        languages=languages)


def test_a_handout_carries_both_languages(catalogue, tmp_path):
    handout = handout_in(tmp_path, ["en", "zh"])
    # The compiled messages, and no rule that would keep them out of a student's git.
    assert (handout / "grader" / "locale" / "zh" / "LC_MESSAGES" / "forklab.mo").is_file()
    assert not (handout / "grader" / "locale" / ".gitignore").exists()
    assert (handout / "README.zh.md").read_text().startswith("# forklab — 你的实验套件")
    assert (handout / "lab03_fork" / "README.zh.md").is_file()
    assert (handout / "PITFALLS.zh.md").is_file() and (handout / "GLOSSARY.md").is_file()
    assert "BEGIN HIDDEN" not in (handout / "PITFALLS.zh.md").read_text()


def test_langs_en_ships_no_chinese(tmp_path):
    handout = handout_in(tmp_path, ["en"])
    assert not [p for p in handout.rglob("*") if ".zh." in p.name]
    assert not (handout / "grader" / "locale").exists()
    assert (handout / "README.md").read_text().startswith("# forklab — your lab kit")


def test_langs_zh_makes_the_chinese_twins_the_readmes(tmp_path):
    handout = handout_in(tmp_path, ["zh"])
    assert not [p for p in handout.rglob("*") if ".zh." in p.name]
    readme = (handout / "README.md").read_text()
    assert readme.startswith("# forklab — 你的实验套件")
    assert "](lab01_wrap/README.md)" in readme and "](lab01_wrap/README.zh.md)" not in readme
    assert "[PITFALLS.md](../PITFALLS.md)" in (handout / "lab01_wrap" / "README.md").read_text()
    pitfalls = (handout / "PITFALLS.md").read_text()
    assert pitfalls.startswith("# 多进程并发服务器的易错点")


def test_update_with_files_records_only_those(tmp_path):
    write_twins(tmp_path, ENGLISH, CHINESE)
    (tmp_path / "lab98").mkdir()
    (tmp_path / "lab98" / "README.md").write_text(ENGLISH)
    (tmp_path / "lab98" / "README.zh.md").write_text(CHINESE)
    (tmp_path / "lab99" / "README.md").write_text(ENGLISH.replace("twice", "two times"))
    subprocess.run([sys.executable, str(CHECKER), "--root", str(tmp_path), "--update",
                    "lab98/README.md"], check=True, capture_output=True, timeout=60)
    out = run_checker(tmp_path).stdout
    assert "lab98" not in out
    assert "lab99/README.zh.md: section 'lab99 — an example': the English changed" in out


def test_a_generated_region_needs_no_approval_but_the_text_around_it_does(tmp_path):
    """A tool writes its region (`<!-- NAME: generated by ... -->` to
    `<!-- /NAME -->`) in both languages: a new row there leaves the lock
    content; a word changed outside it still asks for the Chinese."""
    region = ("<!-- graded: generated by tools/graded_tables.py from the grader's tests -->\n"
              "| `a test` | 2 |\n<!-- /graded -->\n")
    write_twins(tmp_path, ENGLISH + region, CHINESE + region)
    grown = region.replace("| 2 |\n", "| 2 |\n| `another test` | 3 |\n")
    write_twins(tmp_path, ENGLISH + grown, CHINESE + grown, record=False)
    assert run_checker(tmp_path).returncode == 0
    write_twins(tmp_path, ENGLISH.replace("twice", "two times") + grown, CHINESE + grown,
                record=False)
    assert "the English changed" in run_checker(tmp_path).stdout
