"""The grader's tests of itself: each beginner's failure of the catalogue
(grader/beginners/) is named by the first message the student reads, with
at most a few failures of independent causes, and logs of a few MiB.

A beginner's mistake is one edit of the reference, in the format of the
mutants (selftest/catalogue.py), with `first:` (words the first FAIL block of
the table must contain) and `independent:` (the most FAIL lines that do not
point back to an earlier failure's cause).  The beginners of a lab are graded
in one batch, two at a time."""

from collections import defaultdict

import pytest

import catalogue
from conftest import python_exceptions, run_grade

CATALOGUE = catalogue.catalogue(catalogue.BEGINNERS_DIR)

# What a run of one beginner's submission may leave in its logs folder.
MAX_LOG_BYTES = 4 << 20

SAME_CAUSE = "(the same cause as '"


def by_lab():
    labs = defaultdict(list)
    for beginner in CATALOGUE:
        labs[tuple(beginner.grade)].append(beginner)
    return sorted(labs.items())


def first_failure(table: str) -> str:
    """The first FAIL line of the table and the lines indented under it."""
    lines = table.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  FAIL"):
            block = [line]
            for rest in lines[i + 1:]:
                if not rest.startswith("          "):
                    break
                block.append(rest)
            return "\n".join(block)
    return ""


def independent_failures(table: str) -> list:
    return [line for line in table.splitlines()
            if line.startswith("  FAIL") and SAME_CAUSE not in line]


def folder_name(beginner):
    return beginner.name.replace("/", "__")


def log_bytes(folder) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("labs, members", by_lab(),
                         ids=lambda v: "+".join(v) if isinstance(v, tuple) else None)
def test_each_beginner_failure_is_named_first(labs, members, tmp_path):
    batch = tmp_path / "batch"
    for beginner in members:
        catalogue.apply(beginner, batch / folder_name(beginner))
    out = tmp_path / "out"
    lab_args = [arg for lab in labs for arg in ("--lab", lab)]
    proc = run_grade("--batch", batch, "--out", out, "-j", "2", *lab_args, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    problems = []
    for beginner in members:
        folder = out / folder_name(beginner)
        table = (folder / "grade.txt").read_text(errors="replace")
        first = first_failure(table)
        missing = [words for words in beginner.first if words not in first]
        if missing:
            problems.append(f"{beginner.name}: the first failure does not say {missing}:\n"
                            f"{first or table[-2000:]}")
        independent = independent_failures(table)
        if len(independent) > beginner.independent:
            problems.append(f"{beginner.name}: {len(independent)} failures with causes of "
                            f"their own, at most {beginner.independent} expected:\n"
                            + "\n".join(independent))
        size = log_bytes(folder / "logs")
        if size > MAX_LOG_BYTES:
            problems.append(f"{beginner.name}: its logs hold {size >> 20} MiB")
    problems += [f"a Python exception reached a student: {where}"
                 for where in python_exceptions(out)]
    assert not problems, "\n\n".join(problems)


def test_catalogue_entries_say_what_to_expect():
    assert CATALOGUE, "the beginners' catalogue is empty"
    for beginner in CATALOGUE:
        assert beginner.first, f"{beginner.name}: no 'first:' words"
        assert beginner.independent is not None, f"{beginner.name}: no 'independent:'"
        assert not beginner.fails, f"{beginner.name}: 'fails:' belongs to the mutants"


CRASHING = r"""
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <sys/wait.h>
int *target;
__attribute__((noinline)) void store(int value) { *target = value; }
__attribute__((noinline)) int divide(int a, int b) { return a / b; }
int main(int argc, char **)
{
    std::printf("about to fail\n");
    std::fflush(stdout);
    const pid_t child = fork();
    if (child == 0) {
        store(argc); // line 15
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (argc > 1)
        std::exit(3);
    return divide(argc, argc - 1);
}
"""


def test_crash_reporter_names_process_signal_and_line(tmp_path):
    """The preloaded reporter, read by harness/diagnose.py: a child's
    SIGSEGV (reaped by its parent) and the parent's SIGFPE, each with its
    line; an exit(3) is recorded; the exit statuses are those of the signals."""
    import subprocess

    from grader.harness import diagnose, procs

    source = tmp_path / "crash.cpp"
    source.write_text(CRASHING)
    program = tmp_path / "crash"
    subprocess.run(["g++", "-O2", "-g", "-o", str(program), str(source)], check=True)
    assert procs.build_crash_reporter(tmp_path / "support") is not None
    try:
        log_dir = tmp_path / "run"
        log_dir.mkdir()
        env = procs.launch_env(None, log_dir)
        divided = subprocess.run([str(program)], env=env, capture_output=True, timeout=30)
        exited = subprocess.run([str(program), "x"], env=env, capture_output=True, timeout=30)
    finally:
        procs.crash_reporter = None
    assert divided.returncode == -8 and exited.returncode == 3
    records = diagnose.read_records([procs.records_dir(log_dir)])
    places = {c.signo: diagnose.describe_place(diagnose.symbolize(c))[1]
              for c in records.crashes}
    assert places[11] == "crash.cpp:7" and places[8] == "crash.cpp:8", places
    assert [status for _pid, _ppid, status in records.exits] == [3]
