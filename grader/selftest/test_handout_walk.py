"""The handout walked as a student walks it: its README top to bottom, then each
lab's README, in a fresh handout; then the same handout with the reference
student files dropped in, where `make test`, `make grade`, `make demo
SERVER=yours` and a short `make bench` must all succeed.

Commands come from the ```sh blocks of the READMEs.  A command runs when it
can run unattended (`make ...`); its comment says when it is expected to fail
("fails until ...").  A command meant for a terminal of its own (a server,
`nc`, `ps`) is checked for what it needs: the program it names exists in the
handout (after `make` in its folder, as the READMEs say) or on PATH.
`make deps` is not run: it installs Debian packages, which CI has done
already.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import KIT_ROOT
import catalogue
from tools.make_handout import make_handout

SHELL_WORDS = {"for", "do", "done", "if", "then", "fi", "while", "echo", "printf", "cd", "kill",
               "ulimit", "exit", "true", "false", "test", "["}
STEP_TIMEOUT_S = 900


def run_step(argv, cwd, timeout=STEP_TIMEOUT_S) -> subprocess.CompletedProcess:
    """Run one step in a session of its own, as subprocess.run with
    capture_output=True, text=True would; at the deadline the whole process
    group is killed (a server the step started included), not only its shell."""
    with subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    return make_handout(KIT_ROOT, tmp_path_factory.mktemp("walk"), reference_binaries=True,
                        tarball=False)


def sh_blocks(readme: Path):
    """The command lines of the ```sh blocks, continuation lines joined:
    [(command, comment)]."""
    lines, inside, pending = [], False, ""
    for raw in readme.read_text().splitlines():
        if raw.strip().startswith("```"):
            inside = raw.strip() == "```sh" if not inside else False
            continue
        if not inside:
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line, pending = pending + raw, ""
        command, _, comment = line.partition("  #")
        if command.strip():
            lines.append((command.strip(), comment.strip()))
    return lines


def programs_of(command: str):
    """The programs a command line starts, one per part of a pipe or && chain."""
    lexer = shlex.shlex(command.replace("$(", " ; "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    at_start = True
    for token in lexer:
        if token in ("|", "||", "&&", ";", "&", "(", ")", "<", ">"):
            at_start = token not in ("<", ">", ")")
            continue
        if at_start and not re.fullmatch(r"\w+=.*", token):  # not a VAR=value prefix
            yield token
            at_start = False


def check_available(program: str, cwd: Path) -> str:
    """'' when program can be run from cwd (after `make` in its folder), else why not."""
    if program in SHELL_WORDS or program.startswith("-"):
        return ""
    if "/" in program:
        path = cwd / program
        if not path.exists() and (path.parent / "Makefile").is_file():
            run_step(["make", "-C", str(path.parent), "all"], cwd)
        return "" if path.exists() else f"{program} does not exist in {cwd.name}/"
    return "" if shutil.which(program) else f"{program} is not installed"


def walk(readme: Path, root: Path, failures: list) -> None:
    cwd = readme.parent
    for command, comment in sh_blocks(readme):
        where = f"{readme.relative_to(root)}: {command}"
        if command.startswith("make deps"):
            continue
        if command.startswith("cd "):
            cwd = (cwd / command[3:].strip()).resolve()
            continue
        unattended = command.startswith("make") and "&&" not in command
        if not unattended:
            for program in programs_of(command):
                why = check_available(program, cwd)
                if why:
                    failures.append(f"{where}: {why}")
            continue
        should_fail = "fails" in comment
        done = run_step(["bash", "-c", command], cwd)
        output = (done.stdout + done.stderr)[-1500:]
        if "Traceback" in output:
            failures.append(f"{where}: a Python traceback\n{output}")
        elif should_fail and done.returncode == 0:
            failures.append(f"{where}: the README says it fails in a fresh handout; it passed")
        elif not should_fail and done.returncode != 0:
            failures.append(f"{where}: exit status {done.returncode}\n{output}")


def test_a_fresh_handout_does_what_its_readmes_say(handout):
    failures = []
    walk(handout / "README.md", handout, failures)
    for readme in sorted(handout.glob("lab*/README.md")):
        walk(readme, handout, failures)
    assert not failures, "\n\n".join(failures)


def test_every_top_level_command_of_the_readme_exists(handout):
    """The commands of the README's table: each is a target of the handout's
    Makefile (`make -n` knows it)."""
    text = (handout / "README.md").read_text()
    targets = sorted(set(re.findall(r"^\| `make ([\w-]+)", text, re.MULTILINE)))
    assert {"test", "grade", "demo", "bench", "compdb"} <= set(targets)
    for target in targets:
        done = subprocess.run(["make", "-n", target], cwd=handout, capture_output=True,
                              text=True)
        assert done.returncode == 0, f"make {target}: {done.stderr}"


def test_the_handout_holds_no_instructor_target_or_reference_to_missing_files(handout):
    makefile = (handout / "Makefile").read_text()
    for target in ("handout:", "gradescope:", "stability:", "slides:", "grader-selftest:"):
        assert target not in makefile
    for path in [handout / "README.md", handout / "PITFALLS.md", *handout.glob("lab*/README.md")]:
        text = path.read_text()
        assert not re.search(r"\bissue \d", text), path
        assert "grader/mutants" not in text and "mutant:" not in text, path


def test_with_the_reference_files_the_handout_passes_its_own_tests(handout, tmp_path):
    submission = tmp_path / "reference"
    catalogue.reference_submission(submission)
    for student_file in submission.rglob("*.cpp"):
        shutil.copyfile(student_file, handout / student_file.relative_to(submission))

    def make(*args, timeout=STEP_TIMEOUT_S):
        return run_step(["make", *args], handout, timeout)

    tests = make("test")
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert re.search(r"^lab05_client\s+\d+\s+0\s+0$", tests.stdout, re.MULTILINE), tests.stdout
    grade = make("grade")
    assert grade.returncode == 0, grade.stdout[-3000:]
    got, total = map(int, re.search(r"Score: (\d+)/(\d+)", grade.stdout).groups())
    assert got == total > 0
    demo = make("demo", "SERVER=yours")
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "0 zombie(s) left" in demo.stdout
    bench = make("bench", "BENCH_ARGS=--duration 0.5 --rounds 1 --no-forkcost --no-overload --save-as walk")
    assert bench.returncode == 0, bench.stdout[-3000:] + bench.stderr[-2000:]
    for noise in ("left out", "targets", "not built"):
        assert noise not in bench.stdout, bench.stdout
    assert re.search(r"yours", bench.stdout)


def test_make_compdb_lists_every_lab_source_with_its_flags(handout):
    """clangd needs each source's include path and standard: every lab's
    student file and unit tests are in compile_commands.json with them."""
    import json

    done = run_step(["make", "compdb"], handout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    entries = json.loads((handout / "compile_commands.json").read_text())
    by_file = {Path(e["file"]).resolve().relative_to(handout.resolve()).as_posix(): e
               for e in entries}
    for lab in sorted(p.parent.name for p in handout.glob("lab*/Makefile")):
        sources = [f for f in by_file if f.startswith(f"{lab}/")]
        assert any(Path(f).name.startswith("test_") for f in sources), (lab, sources)
        for source in sources:
            arguments = " ".join(by_file[source].get("arguments", []))
            assert "-std=c++17" in arguments and f"-I{handout}/lab01_wrap" in arguments, arguments
