"""Hostile submissions: the sandbox stops them, reports them, and they leave
nothing behind.  Each submits a lab01 wrap.cpp with one bad habit
built into a wrapper that the unit tests call."""

import os
import shutil
import tempfile
from pathlib import Path

import psutil
import pytest

from conftest import KIT_ROOT, failed_tests, load_results, replace_once, run_grade
from harness import sandbox

SOCKET_LINE = "    const int fd = socket(family, type, protocol);\n"
CLOSE_LINE = "    if (close(fd) < 0)\n        perr_exit(\"close\");\n"


# The sandbox uid of these tests, so that leftovers() sees only their processes.
SANDBOX_UID = sandbox.pick_free_uid() if os.geteuid() == 0 else None


def contained(env=None):
    env = dict(env or {})
    if SANDBOX_UID is not None:
        env["FORKLAB_SANDBOX_UID"] = str(SANDBOX_UID)
    return env


def grade_hostile(submission, tmp_path, env=None):
    out = tmp_path / "r.json"
    proc = run_grade("--lab", "lab01_wrap", "--submission", submission, "--json", out,
                     "--logs", tmp_path / "logs", env=contained(env), timeout=300)
    assert proc.returncode == 1, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc, load_results(out)


def leftovers():
    """Processes of the sandbox uid, or our own descendants: none may remain."""
    me = psutil.Process()
    found = [p.pid for p in me.children(recursive=True)]
    if SANDBOX_UID is not None:
        for p in psutil.process_iter(["uids"]):
            if p.info["uids"] and p.info["uids"].real == SANDBOX_UID:
                found.append(p.pid)
    return found


def output_of(results: dict, name: str) -> str:
    """What results.json says of one test."""
    return next(t["output"] for t in results["tests"] if t["name"] == name)


def test_fork_bomb_is_stopped_and_reported(submission, tmp_path):
    replace_once(submission / "lab01_wrap/wrap.cpp", SOCKET_LINE,
                 "    for (;;)\n        fork();\n" + SOCKET_LINE)
    proc, results = grade_hostile(submission, tmp_path, env={"FORKLAB_MAX_PROCS": "150"})
    socket_test = "lab01_wrap: Socket: returns a TCP socket"
    assert socket_test in failed_tests(results)
    output = output_of(results, socket_test)
    assert "created more than 150 processes" in output
    # The rest of the lab was graded normally once the bomb was ended.
    assert "lab01_wrap: Readline: returns one line per call" not in failed_tests(results)
    assert leftovers() == []


def test_runaway_loop_is_stopped_by_the_cpu_limit(submission, tmp_path):
    replace_once(submission / "lab01_wrap/wrap.cpp", CLOSE_LINE,
                 "    for (volatile int spin = 0;; spin = spin + 1) {\n    }\n" + CLOSE_LINE)
    proc, results = grade_hostile(submission, tmp_path,
                                  env={"FORKLAB_MAX_CPU_SECONDS": "1"})
    output = output_of(results, "lab01_wrap: Close: closes the descriptor")
    assert "SIGXCPU" in output and "more than 1 s of CPU" in output
    assert leftovers() == []


def test_memory_hog_is_stopped_by_the_address_space_limit(submission, tmp_path):
    replace_once(submission / "lab01_wrap/wrap.cpp", SOCKET_LINE,
                 "    char *volatile hog = new char[std::size_t(8) << 30];\n"
                 "    std::memset(hog, 'x', std::size_t(8) << 30);\n"
                 "    delete[] hog;\n" + SOCKET_LINE)
    proc, results = grade_hostile(submission, tmp_path)
    output = output_of(results, "lab01_wrap: Socket: returns a TCP socket")
    assert "bad_alloc" in output or "SIGABRT" in output
    assert leftovers() == []


def test_huge_file_is_stopped_by_the_file_size_limit(submission, tmp_path):
    replace_once(submission / "lab01_wrap/wrap.cpp", SOCKET_LINE,
                 "    if (FILE *f = std::fopen(\"big\", \"w\")) {\n"
                 "        for (int i = 0; i < (1 << 30); ++i)\n"
                 "            std::fputc('x', f);\n"
                 "        std::fclose(f);\n"
                 "    }\n" + SOCKET_LINE)
    proc, results = grade_hostile(submission, tmp_path)
    output = output_of(results, "lab01_wrap: Socket: returns a TCP socket")
    assert "SIGXFSZ" in output
    assert leftovers() == []


@pytest.fixture
def open_folder():
    """A folder anyone may enter (pytest's tmp_path is private to root, which
    would make the attacks below fail for the wrong reason)."""
    path = Path(tempfile.mkdtemp(prefix="forklab-selftest-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path)


@pytest.mark.skipif(os.geteuid() != 0, reason="the grader drops privileges only as root")
def test_student_code_cannot_write_into_the_grader_the_kit_or_its_logs(submission, open_folder):
    logs = open_folder / "logs"
    logs.mkdir()
    other = open_folder / "other-student"
    shutil.copytree(submission, other)
    targets = [KIT_ROOT / "grader" / "forklab_grade.py",
               KIT_ROOT / "grader" / "tests" / "injected.py",
               logs / "injected.log",
               other / "lab01_wrap" / "injected.cpp",
               other / "lab01_wrap" / "wrap.cpp"]
    attacks = "".join(
        f"    if (FILE *f = std::fopen(\"{path}\", \"a\")) {{\n"
        f"        std::fputs(\"HACKED\", f);\n"
        f"        std::fclose(f);\n"
        f"    }}\n" for path in targets)
    # ...and the kit files that grade it, next to its own binary.
    attacks += ("    if (FILE *f = std::fopen(\"../../test_wrap.cpp\", \"a\")) {\n"
                "        std::fputs(\"HACKED\", f);\n"
                "        std::fclose(f);\n"
                "    }\n")
    # A file it may write, to prove that the attacks above did run.
    proof = open_folder / "proof"
    proof.mkdir()
    os.chmod(proof, 0o777)
    attacks += (f"    if (FILE *f = std::fopen(\"{proof}/ran\", \"w\"))\n"
                "        std::fclose(f);\n")
    before = {path: path.read_bytes() for path in targets if path.exists()}
    replace_once(submission / "lab01_wrap/wrap.cpp", SOCKET_LINE, attacks + SOCKET_LINE)
    run_grade("--lab", "lab01_wrap", "--submission", submission,
              "--json", open_folder / "r.json", "--logs", logs, env=contained(), timeout=300)
    assert (proof / "ran").exists()
    for path in targets:
        if path in before:
            assert path.read_bytes() == before[path], path
        else:
            assert not path.exists(), path
    assert leftovers() == []
