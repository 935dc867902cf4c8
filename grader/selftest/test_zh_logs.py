"""A grading in Chinese writes Chinese: what it prints, the failed tests' logs
(grade-logs/LAB/TEST.log) and the text of the timelines (TEST.svg).  No
English sentence or fragment spliced into the Chinese, no half-width "("
right after a Chinese character, no unit left in English ("bytes", "s").

What the student's programs printed, code, identifiers, file paths and the
C library's errno texts are not prose and are left out of the check."""

import errno
import html
import os
import re
import shutil
import signal
import subprocess
import textwrap
from types import SimpleNamespace

import pytest

import catalogue
from conftest import GRADER_DIR, KIT_ROOT, run_grade
from grader import i18n
from grader.harness import expect, procs, scoring, timeline

# ------------------------------------------------------------------ the checks

CJK = "\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
# A half-width parenthesis right after a Chinese character, or around one.
HALF_WIDTH_PAREN = re.compile(f"[{CJK}]\\(|\\([{CJK}]")
# Not prose: `code`, Python reprs of what a program sent or printed ('...',
# b'...'), "quoted" code, file paths, and shell-like words (--forest, x1).
NOT_PROSE = re.compile(r"`[^`\n]*`"
                       r"|(?<![A-Za-z])b?'(?:[^'\\\n]|\\.)*'(?![A-Za-z])"
                       r'|(?<![A-Za-z])"[^"\n]*"(?![A-Za-z])'
                       r"|(?<![\w.])(?:\.{0,2}/)?[\w.+-]+(?:/[\w.+-]+)+/?")
# The C library's texts of errno values ("Interrupted system call"): the
# grader quotes what perror printed.
STRERRORS = sorted({os.strerror(number) for number in errno.errorcode}, key=len, reverse=True)
# Words that are names, not English: the programs, calls, and the kit's code.
IDENTIFIERS = {
    "server", "client", "accept", "close", "writen", "readn", "readline", "fork", "waitpid",
    "while", "if", "nullptr", "connfd", "listenfd", "sigaction", "sigsuspend", "ppoll",
    "pause", "main", "bubblewrap", "soak", "make", "grade", "gdb", "run", "bt", "ps", "nc",
}
WORD = re.compile(r"[A-Za-z][a-z'-]*")
UNTRANSLATED_UNIT = re.compile(r"\d(?:[\d,.]*\d)? (?:bytes?|s|kB/s|seconds?)\b")


def english_runs(text: str) -> list:
    """The runs of three or more English prose words in text, left of code,
    identifiers and errno texts."""
    text = NOT_PROSE.sub(" ", text)
    for message in STRERRORS:
        text = text.replace(message, " ")
    runs = []
    for segment in re.split(f"[{CJK}]+", text):
        run = []
        for token in segment.split() + [""]:
            word = token.strip("([{\"'").rstrip(")]}.,;:!?\"'")
            if WORD.fullmatch(word) and word.lower() not in IDENTIFIERS:
                run.append(word)
                continue
            if len(run) >= 3:
                runs.append(" ".join(run))
            run = []
    return runs


def problems_in(text: str, where: str) -> list:
    """What is not Chinese in text (prose only: the caller left out the programs' output)."""
    found = [f"{where}: English: {run!r}" for run in english_runs(text)]
    prose = NOT_PROSE.sub(" ", text)
    found += [f"{where}: a half-width '(' in Chinese: "
              f"{prose[max(0, m.start() - 20):m.end() + 20]!r}"
              for m in HALF_WIDTH_PAREN.finditer(prose)]
    found += [f"{where}: a unit in English: {m.group(0)!r}"
              for m in UNTRANSLATED_UNIT.finditer(prose)]
    return found


OUTPUT_HEAD = re.compile(r"^ {10}\S+ 的输出：")


def printed_prose(stdout: str) -> str:
    """What the grader printed, without the programs' last lines of output
    (`NAME 的输出：` and the lines indented under it)."""
    kept, in_output = [], False
    for line in stdout.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if OUTPUT_HEAD.match(line):
            in_output = True
            continue
        if in_output and indent > 10:
            continue
        in_output = False
        kept.append(line)
    return "\n".join(kept)


# The head of a program's output in a log; its command line is code.
OUTPUT_SECTION = re.compile(r"^(--- \S+ 的输出（pid \d+：).*?(；它.*）---)$")


def log_prose(text: str) -> str:
    """A test's log without the programs' output, their command lines and the
    grader's traceback: the "--- ... ---" lines and what comes before the
    first of them."""
    kept, in_section = [], False
    for line in text.splitlines():
        if line.startswith("--- ") and line.endswith("---"):
            kept.append(OUTPUT_SECTION.sub(r"\1COMMAND\2", line))
            in_section = True
        elif not in_section:
            kept.append(line)
    return "\n".join(kept)


SVG_TEXT = re.compile(r"<(text|title|desc)\b[^>]*>([^<]*)</\1>")


def svg_texts(svg: str) -> list:
    return [html.unescape(m.group(2)) for m in SVG_TEXT.finditer(svg)]


def test_the_checks_catch_what_they_are_for():
    assert english_runs("--- server 的输出（pid 42：/x/server 6666；it exited with status 1）---")
    assert english_runs("服务器 was killed by SIGSEGV")
    assert not english_runs("原因：server 在 `accept` 以 EINTR（Interrupted system call）失败后"
                            "以退出状态 1 退出；它打印了：'the other side has been closed.'")
    assert not english_runs("用 while (waitpid(-1, nullptr, WNOHANG) > 0)——而不是 if。")
    assert not english_runs(log_prose("--- test_wrap 的输出（pid 7：./test_wrap --test-case=Accept: "
                                      "retries after EINTR；它以退出状态 1 退出）---\nTEST CASE"))
    assert problems_in("子进程(pid 4)", "x") and problems_in("收到 13 bytes", "x")
    assert problems_in("  (服务器仍在运行)", "x")
    assert not problems_in("服务器（pid 4）在 5 秒后；1.14s  构建", "x")


# ------------------------------------------------------ a grading in Chinese

# A mutant whose server dies of an EINTR in accept(): a cause, an exit status
# in the logs, later failures "the same cause", and timelines of servers
# that end.  A few of lab04's graded tests, for time.
MUTANT = "lab04_sigchld/accept_interrupted"
SOME_TESTS = textwrap.dedent("""
    from grader.tests.checks.build_tests import builds_test
    from grader.tests.checks import reaping_tests, reply_tests, startup_tests

    LAB = "lab04_sigchld"

    test_builds = builds_test()
    test_server_starts = startup_tests.test_server_starts
    test_one_client = reply_tests.test_one_client
    test_clients_one_after_another = reply_tests.test_clients_one_after_another
    test_children_reaped = reaping_tests.test_children_reaped
    test_many_exit_at_once = reaping_tests.test_many_exit_at_once
""")


def english_locale(**more):
    return {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8", "FORKLAB_LANG": "", **more}


@pytest.fixture(scope="module")
def chinese_grading(tmp_path_factory):
    """(stdout, logs folder) of the mutant graded in Chinese."""
    subprocess.run(["make", "-s", "-C", str(KIT_ROOT), "catalogues"], check=True,
                   capture_output=True, timeout=60)
    root = tmp_path_factory.mktemp("zh-logs")
    tests = root / "tests"
    tests.mkdir()
    shutil.copy(GRADER_DIR / "tests" / "conftest.py", tests)
    (tests / "test_lab04_sigchld.py").write_text(SOME_TESTS)
    submission = root / "submission"
    catalogue.apply(catalogue.parse(catalogue.MUTANTS_DIR / f"{MUTANT}.mutant"), submission)
    logs = root / "logs"
    proc = run_grade("--submission", submission, "--lab", "lab04_sigchld", "--lang", "zh",
                     "--logs", logs, "--seed", "2026", timeout=300,
                     env=english_locale(FORKLAB_GRADER_TESTS=str(tests)))
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "失败" in proc.stdout and "原因：" in proc.stdout, proc.stdout
    return proc.stdout, logs / "lab04_sigchld"


def test_what_it_prints_is_chinese(chinese_grading):
    stdout, _logs = chinese_grading
    problems = problems_in(printed_prose(stdout), "printed")
    assert not problems, "\n".join(problems) + "\n\n" + stdout


def test_the_logs_are_chinese(chinese_grading):
    _stdout, logs = chinese_grading
    paths = sorted(logs.glob("*.log"))
    assert paths, f"no log in {logs}"
    problems = []
    for path in paths:
        text = path.read_text()
        lines = text.splitlines()
        assert lines[0].startswith("测试：lab04_sigchld："), (path.name, lines[0])
        assert lines[1].startswith("状态：失败（") and lines[1].endswith(" 分）"), lines[1]
        assert lines[2] == "种子：2026", lines[2]
        assert "观察结果：" in lines and any(line.startswith("提示：") for line in lines)
        assert re.search(r"^--- server 的输出（pid \d+：.*；它.+）---$", text, re.M), text
        problems += problems_in(log_prose(text), path.name)
    assert not problems, "\n".join(problems)


def test_the_timelines_are_chinese(chinese_grading):
    _stdout, logs = chinese_grading
    paths = sorted(logs.glob("*.svg"))
    assert paths, f"no timeline in {logs}"
    problems = []
    for path in paths:
        texts = svg_texts(path.read_text())
        for label in ("存活的子进程", "僵尸进程", "打开的描述符", "客户端连接（向上）"):
            assert label in texts, (path.name, label, texts)
        assert any(text.endswith(" 秒") for text in texts), texts
        problems += [p for text in texts for p in problems_in(text, path.name)]
    assert not problems, "\n".join(problems)


# ---------------------------------- what one grading may not show, in-process

@pytest.fixture
def chinese():
    """The harness speaking Chinese in this process, English again afterwards."""
    assert i18n.setup("zh", warn=False) == "zh", "no compiled catalogue: make catalogues"
    yield
    i18n.setup("en")


def traces():
    samples = [timeline.Sample(0.0, 1, 0, 4), timeline.Sample(0.6, 2, 3, 6),
               timeline.Sample(1.2, 0, 3, 5)]
    running = timeline.Trace("server", 41, 6666, samples, [0.1, 0.2, 0.2], [0.5])
    ended = timeline.Trace("server", 42, 6667, samples[:2], [0.1], [0.3], ended=0.9)
    return [running, ended]


def test_every_timeline_label_is_chinese(chinese):
    texts = svg_texts(timeline.svg(traces(), "lab04_sigchld：服务器能够启动"))
    problems = [p for text in texts for p in problems_in(text, "svg")]
    assert not problems, "\n".join(problems)
    assert any(text.startswith("最后一次采样（第 1.2 秒）") for text in texts), texts
    assert any("服务器在第 0.9 秒结束" in text for text in texts), texts


def test_a_timeline_in_english_says_what_it_said():
    svg = timeline.svg(traces(), "lab04_sigchld: server starts")
    texts = svg_texts(svg)
    assert ("server (pid 41, port 6666): 3 samples, at most 5 children, at most 3 zombies"
            in texts)
    assert ("server (pid 42, port 6667): 2 samples, at most 5 children, at most 3 zombies; "
            "the server ended at 0.9 s" in texts)
    assert "last sample (1.2 s): 0 alive, 3 zombies, 5 fds" in texts
    assert "<title>2 client connects</title>" in svg and "<title>1 client close</title>" in svg
    assert ["children alive", "zombies", "open descriptors", "clients connecting (up)",
            "clients closing (down)"] == texts[-5:]
    assert "0.0 s" in texts and "children" in texts and "fds" in texts and "clients" in texts
    assert ("<desc>server: peak 3 zombies, 3 connects, 1 closes; "
            "server: peak 3 zombies, 1 connects, 1 closes</desc>") in svg


def log_of(tmp_path, still_running: bool) -> str:
    """The log the grader writes for a failed test of a server that printed
    one line, and was still running when the test failed or had been killed
    by SIGXCPU."""
    output = tmp_path / "server.log"
    output.write_text("Accepting connections on port 6666 ...\n")
    program = SimpleNamespace(name="server", pid=4242, argv=["/scratch/server", 6666],
                              log_path=output, running=lambda: still_running,
                              describe_exit=lambda: procs.describe_returncode(-signal.SIGXCPU))
    plugin = scoring.GradePlugin(scratch=tmp_path, missing={}, seed=7, logs_dir=tmp_path / "logs")
    result = scoring.Result(lab="lab04_sigchld", title="server starts", max_points=1,
                            status="failed", observed="…", hint="…", cause="…",
                            grader_error="Traceback (most recent call last): ...")
    ended = {program.pid: scoring._exit_at_failure(program)}
    return plugin._write_log(result, [(program, "")], ended).read_text()


def test_every_log_header_is_chinese(chinese, tmp_path):
    for still_running in (True, False):
        text = log_of(tmp_path, still_running)
        problems = problems_in(log_prose(text), "log")
        assert not problems, "\n".join(problems) + "\n\n" + text
        assert text.startswith("测试：lab04_sigchld：服务器能够启动\n状态：失败（0/1 分）\n种子：7\n")
        assert "\n--- 评分程序自身的错误（请报告给本套件的维护者）---\n" in text
    assert "；它被 SIGXCPU 杀死：它用了超过" in log_of(tmp_path, False)
    assert "；它在测试失败时仍在运行（随后被评分程序停止））---" in log_of(tmp_path, True)


def test_a_log_header_in_english_says_what_it_said(tmp_path):
    text = log_of(tmp_path, False)
    assert text.startswith("test:     lab04_sigchld: server starts\n"
                           "status:   failed (0/1 points)\nseed:     7\n\ncause:\n…\n\n"
                           "observed:\n…\n\nhint: …\n\n--- the grader's own error (report it to "
                           "the kit's maintainers) ---\n")
    assert ("--- output of server (pid 4242: /scratch/server 6666; it was killed by SIGXCPU: "
            "it used more than ") in text
    assert "; it was still running when the test failed (then the grader stopped it)) ---" in (
        log_of(tmp_path, True))


def test_a_shortened_reply_says_its_unit_in_chinese(chinese):
    shown = expect.show(b"x" * 100)
    assert "（中间省略 52 字节）" in shown and not problems_in(shown, "show")
