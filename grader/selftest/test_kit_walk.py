"""The maintainer's documents walked as test_handout_walk.py walks the
student's: README.md, ARCHITECTURE.md, grader/README.md,
grader/locale/README.md, bench/README.md and slides/README.md, with the
helpers of that walk (sh_blocks, programs_of).

What is checked, for every command line of their ```sh blocks (from the
kit's folder; bench/README.md's "or in bench/" ones from bench/ too):
  - the programs it starts exist, in the kit or on PATH;
  - each `make [-C DIR] TARGET... [VAR=value]` names targets of the Makefile
    it runs in: `make -n` with the same arguments succeeds (nothing is built);
  - each option a `grader/grade` command gives is one `grader/grade --help`
    lists.
What runs as written: only RUN below, the cheap commands without side
effects (`grader/grade --list`, `make check-translations`).  Every other
command is only checked, for the reason STATIC_ONLY gives (minutes of work,
a terminal, Debian packages, npm, a class to grade, files written; the
Slurm and Actions recipes run in test_shards.py); a new command that is in
neither table fails the test, so that someone decides.

Every inline `tools/python -m MODULE ...` or `tools/python PATH ...` of those
documents, of the lab READMEs, PITFALLS, the handout's READMEs and the decks
(Chinese twins included): the module or file exists, and `tools/python
... --help` exits 0 with a bare python3 first on PATH (one that cannot import
pytest: `python3 -S`), FORKLAB_PYTHON unset; in a fresh handout too, for
the student's documents.  And no Markdown document of the
kit says `python3 -m`, `python3 tools/...` or `python3 grader/...` any more,
nor a module's message that says to run it so: the first python3 on PATH
may not be the Python `make deps` equipped.
"""

import functools
import os
import re
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import KIT_ROOT
from test_handout_walk import SHELL_WORDS, programs_of, sh_blocks
from tools.make_handout import instructor_only, make_handout

DOCS = ("README.md", "ARCHITECTURE.md", "grader/README.md", "grader/locale/README.md",
        "bench/README.md", "slides/README.md")
TOOLS_PYTHON = KIT_ROOT / "tools" / "python"
SKIP_DIRS = {".git", "node_modules", "build", "dist", "grade-logs", "__pycache__"}

# Run as written, from the kit's folder: cheap and without side effects.
RUN = ("grader/grade --list", "make check-translations")

# Commands only checked (programs, make -n, grade's options), and why.  Each
# sh-block command must be in RUN or start with one of these words (a key
# ending in $: be exactly it).
STATIC_ONLY = {
    "sh tools/install-deps": "installs Debian packages (root, the network)",
    "make demo": "a live demo of about a minute",
    "make test": "everything CI runs: an hour",
    "make grade": "grades every lab (or one): minutes",
    "make handout": "minutes, and writes dist/",
    "make gradescope": "minutes, and writes dist/",
    "make slides": "npm and Chromium: minutes",
    "make -C slides": "npm and Chromium: minutes (clean removes the built decks)",
    "make deps-similarity": "installs Dolos with npm",
    "make pot": "rewrites grader/locale/forklab.pot",
    "make catalogues": "writes the compiled catalogues",
    "make bench": "about 2 minutes of load",
    "make -C bench test": "builds the bench's servers",
    "grader/grade --batch": "needs a class of submissions (test_shards.py, test_batch.py run it)",
    "grader/grade --merge": "needs the shards' folders (test_shards.py runs the recipes)",
    "grader/grade --submission": "needs a submission, grades it: minutes",
    "grader/grade --lab": "grades: minutes",
    "grader/grade --seed": "grades: minutes",
    "grader/grade --profile": "grades: minutes, and writes profile.json",
    "grader/grade \"${labs[@]}\"": "the GitHub Actions recipe (test_platforms.py runs it)",
    "grader/grade$": "grades this checkout: minutes",
    "tools/python -m grader.selftest.similarity_calibrate": "a minute of CPU, Dolos (its "
                                                            "--help runs below)",
}


def static_reason(command: str) -> str:
    """Why command is only checked ('' if STATIC_ONLY does not say)."""
    for key, why in STATIC_ONLY.items():
        if command == key.rstrip("$") or (not key.endswith("$")
                                          and command.startswith(key + " ")):
            return why
    return ""


def command_parts(command: str):
    """The parts of a command line joined by && ; ||, each as its words
    (shell arithmetic $((...)) made a plain word)."""
    command = re.sub(r"\$\(\(.*?\)\)", "N", command)
    for part in re.split(r"&&|\|\||;", command):
        words = shlex.split(part, comments=True)
        if words:
            yield words


def doc_commands():
    """[(doc, command, comment)] of the ```sh blocks of DOCS."""
    found = []
    for doc in DOCS:
        for command, comment in sh_blocks(KIT_ROOT / doc):
            if not command.startswith("#"):
                found.append((doc, command, comment))
    return found


@functools.lru_cache(maxsize=None)
def grade_options() -> frozenset:
    done = subprocess.run([str(KIT_ROOT / "grader" / "grade"), "--help"], cwd=KIT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return frozenset(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", done.stdout))


def test_the_documents_have_commands():
    commands = doc_commands()
    assert {doc for doc, _, _ in commands} >= {"README.md", "grader/README.md",
                                              "bench/README.md", "slides/README.md"}
    assert len(commands) > 30


@pytest.mark.parametrize("doc,command,comment", doc_commands(),
                         ids=lambda v: v if isinstance(v, str) and len(v) < 60 else None)
def test_each_command_of_the_documents(doc, command, comment):
    where = f"{doc}: {command}"
    assert command in RUN or static_reason(command), (
        f"{where}: a command in neither RUN nor STATIC_ONLY of {Path(__file__).name}")
    folders = [KIT_ROOT]
    if doc == "bench/README.md" and "or in bench/" in comment:
        folders.append(KIT_ROOT / "bench")
    for cwd in folders:
        for program in programs_of(re.sub(r"\$\(\(.*?\)\)", "N", command)):
            if program in SHELL_WORDS or program.startswith("-"):
                continue
            if "/" in program:
                assert (cwd / program).exists(), f"{where}: {program} is not in {cwd}"
            else:
                assert shutil.which(program), f"{where}: {program} is not installed"
        for words in command_parts(command):
            if words[0] == "sh":
                assert (cwd / words[1]).is_file(), f"{where}: no {words[1]}"
            elif words[0] == "make":
                done = subprocess.run(["make", "-n", *words[1:]], cwd=cwd, capture_output=True,
                                      text=True, stdin=subprocess.DEVNULL, timeout=300)
                assert done.returncode == 0, (
                    f"{where}: make -n in {cwd.relative_to(KIT_ROOT.parent)}: {done.stderr}")
            elif words[0] == "grader/grade":
                unknown = [w.split("=")[0] for w in words[1:] if w.startswith("-")
                           and w.split("=")[0] not in grade_options()]
                assert not unknown, f"{where}: grader/grade --help lists no {unknown}"
    if command in RUN:
        done = subprocess.run(["bash", "-c", command], cwd=KIT_ROOT, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=300)
        assert done.returncode == 0, f"{where}: exit status {done.returncode}\n{done.stderr}"
        assert "Traceback" not in done.stdout + done.stderr, where


# ------------------------------------------------ tools/python, whatever python3 comes first

def markdown_files():
    for dirpath, dirnames, filenames in os.walk(KIT_ROOT):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith(".md"):
                yield Path(dirpath, name)


def inline_documents():
    """DOCS, the lab READMEs, PITFALLS, the handout's READMEs and the decks,
    with their Chinese twins."""
    paths = [KIT_ROOT / doc for doc in DOCS]
    for pattern in ("lab*/README*.md", "PITFALLS*.md", "handout/README*.md",
                    "slides/decks/*.md"):
        paths += sorted(KIT_ROOT.glob(pattern))
    return paths


def inline_commands(paths, root=KIT_ROOT):
    """{what --help runs: [where it is said]}: for `tools/python -m MODULE ...`
    ("-m", MODULE), for `tools/python PATH ...` (PATH,)."""
    found = {}
    for path in paths:
        text = path.read_text()
        for match in re.finditer(r"`tools/python\s+([^`]*)`", text):
            words = match.group(1).split()
            if not words or words == ["-m"] or words[0] in ("...", "…"):  # in a sentence
                continue
            key = tuple(words[:2]) if words[0] == "-m" else (words[0],)
            line = text.count("\n", 0, match.start()) + 1
            found.setdefault(key, []).append(f"{path.relative_to(root)}:{line}")
    return found


def help_failures(commands, root, env):
    """What goes wrong when each of commands (inline_commands) is asked for
    --help in root, through root's tools/python."""
    failures = []
    for key, places in sorted(commands.items()):
        where = f"tools/python {' '.join(key)} ({', '.join(places)})"
        if key[0] == "-m":
            module = key[1]
            if (root / module.split(".")[0] / "__init__.py").is_file():  # one of the kit's
                source = root / (module.replace(".", "/") + ".py")
                if not source.is_file() and not (source.with_suffix("") / "__main__.py").is_file():
                    failures.append(f"{where}: no module {module} in {root.name}")
                    continue
        elif not (root / key[0]).is_file():
            failures.append(f"{where}: no file {key[0]} in {root.name}")
            continue
        done = subprocess.run([str(root / "tools" / "python"), *key, "--help"], cwd=root,
                              env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=300)
        if done.returncode != 0 or "usage" not in done.stdout.lower():
            failures.append(f"{where}: --help exited {done.returncode}\n"
                            f"{done.stdout[-500:]}{done.stderr[-1000:]}")
    return failures


@pytest.fixture(scope="module")
def bare_env(tmp_path_factory):
    """os.environ with a bare python3 (no site-packages: no pytest, no psutil)
    first on PATH, and no FORKLAB_PYTHON."""
    folder = tmp_path_factory.mktemp("bare-python")
    bare = folder / "python3"
    bare.write_text('#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n')
    bare.chmod(bare.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    env = {k: v for k, v in os.environ.items() if k != "FORKLAB_PYTHON"}
    env["PATH"] = f"{folder}:{env.get('PATH', '/usr/bin:/bin')}"
    first = subprocess.run(["sh", "-c", "command -v python3"], env=env, capture_output=True,
                           text=True)
    assert first.stdout.strip() == str(bare)
    # The bare python3 really lacks what the kit needs, or the tests below prove nothing.
    lacking = subprocess.run(["sh", "-c", "python3 -c 'import pytest'"], env=env,
                             capture_output=True, text=True)
    assert lacking.returncode != 0 and "pytest" in lacking.stderr
    return env


def test_tools_python_finds_a_python_with_pytest_from_any_folder(bare_env, tmp_path):
    done = subprocess.run([str(TOOLS_PYTHON), "-c",
                           "import sys, pytest, psutil; print(sys.executable)"],
                          cwd=tmp_path, env=bare_env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and Path(done.stdout.strip()).parent != tmp_path


def test_tools_python_says_so_when_no_python_qualifies(tmp_path):
    tools = tmp_path / "kit" / "tools"
    tools.mkdir(parents=True)
    shutil.copy2(TOOLS_PYTHON, tools / "python")
    finder = tools / "find-python"
    finder.write_text('#!/bin/sh\necho "forklab: no python3 with pytest and psutil found" >&2\n'
                      'exit 1\n')
    finder.chmod(0o755)
    done = subprocess.run([str(tools / "python"), "-c", "print('ran')"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode != 0 and "ran" not in done.stdout
    assert "no python3 with pytest and psutil" in done.stderr


def test_the_inline_commands_are_found_and_answer_help(bare_env):
    commands = inline_commands(inline_documents())
    assert ("-m", "bench.bench") in commands and ("-m", "pytest") in commands
    failures = help_failures(commands, KIT_ROOT, bare_env)
    assert not failures, "\n\n".join(failures)


def test_the_handout_carries_tools_python_and_its_commands_work(bare_env, tmp_path):
    """The lab READMEs tell students `tools/python -m bench.bench --show ...`:
    the handout ships tools/python with find-python and the bench, and there
    the command runs as written (it only reads the reference results)."""
    for rel in ("tools/python", "tools/find-python", "bench/bench.py"):
        assert not instructor_only(Path(rel)), rel
    handout = make_handout(KIT_ROOT, tmp_path, tarball=False)
    assert os.access(handout / "tools" / "python", os.X_OK)
    readmes = sorted(handout.glob("*.md")) + sorted(handout.glob("lab*/README*.md"))
    commands = inline_commands(readmes, handout)
    assert ("-m", "bench.bench") in commands
    failures = help_failures(commands, handout, bare_env)
    assert not failures, "\n\n".join(failures)
    done = subprocess.run(["tools/python", "-m", "bench.bench", "--show",
                           "bench/results/reference.json"], cwd=handout, env=bare_env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "connections/s" in done.stdout, done.stderr


BARE = re.compile(r"(?<![\w/.$-])python3((?:\s+-[A-Za-z]+)*\s+-m\b|\s+(?:tools|grader|bench)/)")


def bare_uses(text: str):
    """The line numbers of text where python3 runs a module or a file of the kit."""
    return [text.count("\n", 0, m.start()) + 1 for m in BARE.finditer(text)]


def test_a_bare_python3_is_found():
    assert bare_uses("a\n`python3 -m bench.bench`\n") == [2]
    assert bare_uses("python3\n  -m grader.x; python3 tools/x.py; python3 -P -m y") == [1, 2, 2]
    assert bare_uses("`tools/python -m x`, /usr/bin/python3 -m x, python3 -c 'x'") == []


def test_no_document_runs_the_kit_with_the_first_python3_on_path():
    found = [f"{path.relative_to(KIT_ROOT)}:{line}" for path in markdown_files()
             for line in bare_uses(path.read_text())]
    assert not found, ("say tools/python (the kit's Python), not python3, at: "
                       + ", ".join(found))


RUN_BARE = "run python3" + " -m"  # (split: this file would find itself)


def test_no_module_tells_to_run_it_with_the_first_python3_on_path():
    found = []
    for folder in ("grader", "tools", "bench"):
        for path in sorted((KIT_ROOT / folder).rglob("*.py")):
            if SKIP_DIRS.isdisjoint(path.relative_to(KIT_ROOT).parts):
                text = path.read_text()
                found += [f"{path.relative_to(KIT_ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
                          for m in re.finditer(RUN_BARE, text)]
    assert not found, "say `run tools/python -m ...`: " + ", ".join(found)

