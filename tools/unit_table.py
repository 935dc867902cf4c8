"""`make test` in a handout: every lab's unit tests, one table at the end.

A lab's own `make test` stops at the first failing case, and a handout stub
ends the whole test program (`lab01: Accept is not implemented yet`).  Here
each doctest case runs alone, so one stub costs only its own cases, and every
lab is tried even when an earlier one is unfinished:

    lab             passed  failed  not started
    lab01_wrap          38       0            0
    lab02_single         3       0           14
    ...

"not started" counts the cases that reached a stub.  Exit status 0 when every
case of every lab passed, 1 otherwise, 2 for bad arguments.

    python3 -m tools.unit_table LAB...      (from the kit's folder; `make test` runs it)
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__" and not __package__:  # run as a file: tools/ is no package then
    print("unit_table.py: run tools/python -m tools.unit_table from the kit's folder, "
          "not this file", file=sys.stderr)
    sys.exit(2)

from grader.harness.kit import first_errors  # noqa: E402  (the grader's, for the same build output)
CASE_TIMEOUT_S = 60
STUB_LINE = re.compile(r"^.*is not implemented yet$", re.MULTILINE)


@dataclass
class LabResult:
    name: str
    passed: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # (case, first lines of its report)
    not_started: list = field(default_factory=list)  # (case, the stub's line)
    problem: str = ""  # why no case could run (the build failed, ...)


def build(lab_dir: Path) -> str:
    """Build the lab (program and unit tests); '' or the compiler's first errors."""
    done = subprocess.run(["make", "-C", str(lab_dir), "all"], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return "" if done.returncode == 0 else first_errors(done.stdout, limit=8)


def test_binary(lab_dir: Path):
    found = sorted(p for p in (lab_dir / "build" / "g++").glob("test_*")
                   if p.is_file() and not p.suffix)
    return found[0] if found else None


def case_names(binary: Path) -> list:
    out = subprocess.run([str(binary), "--list-test-cases", "--no-colors"],
                         capture_output=True, text=True, timeout=CASE_TIMEOUT_S).stdout
    return [line for line in out.splitlines()
            if line.strip() and not line.startswith(("[doctest]", "===="))]


def doctest_filter(name: str) -> str:
    """doctest separates filters with commas and treats * and ? as wildcards."""
    return re.sub(r"([,*?\\])", r"\\\1", name)


def run_case(binary: Path, name: str):
    """('passed' | 'failed' | 'not started', detail).  A stub reached in any
    process of the test, even a child whose stderr the test keeps, writes its
    name to FORKLAB_STUB_LOG (lab01_wrap/todo.h)."""
    with tempfile.TemporaryDirectory(prefix="forklab-unit-") as scratch:
        stub_log = Path(scratch) / "stubs"
        try:
            done = subprocess.run([str(binary), f"--test-case={doctest_filter(name)}",
                                   "--no-intro", "--no-colors"], stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, errors="replace",
                                  timeout=CASE_TIMEOUT_S, cwd=binary.parent.parent.parent,
                                  env={**os.environ, "FORKLAB_STUB_LOG": str(stub_log)})
        except subprocess.TimeoutExpired:
            return "failed", f"did not finish within {CASE_TIMEOUT_S} s"
        stubs = stub_log.read_text().split("\n") if stub_log.exists() else []
    output = done.stdout + done.stderr
    if stubs and stubs[0]:
        return "not started", f"{stubs[0]} is not implemented yet"
    stub = STUB_LINE.search(output)
    if stub:
        return "not started", stub.group(0)
    if done.returncode == 0 and re.search(r"test cases:\s*1 \|\s*1 passed", output):
        return "passed", ""
    report = [line for line in output.splitlines()
              if line.strip() and not line.startswith(("[doctest]", "====", "----"))]
    if done.returncode < 0:
        report.insert(0, f"killed by signal {-done.returncode}")
    return "failed", "\n".join(report[:6])


def run_lab(lab: str) -> LabResult:
    result = LabResult(lab)
    lab_dir = KIT_ROOT / lab
    result.problem = build(lab_dir)
    if result.problem:
        return result
    binary = test_binary(lab_dir)
    if binary is None:
        result.problem = "no unit-test program was built"
        return result
    for name in case_names(binary):
        status, detail = run_case(binary, name)
        if status == "passed":
            result.passed.append(name)
        elif status == "not started":
            result.not_started.append((name, detail))
        else:
            result.failed.append((name, detail))
    return result


def print_lab(result: LabResult) -> None:
    print(f"== {result.name}", flush=True)
    if result.problem:
        print("   does not build:\n" + "\n".join("     " + line
                                                  for line in result.problem.splitlines()))
        return
    for name, detail in result.failed:
        print(f"   FAIL  {name}")
        for line in detail.splitlines():
            print(f"           {line}")
    if result.not_started:
        first = result.not_started[0][1]
        print(f"   {len(result.not_started)} not started (first stub reached: {first})")


def print_table(results) -> None:
    print(f"\n{'lab':<16}{'passed':>8}{'failed':>8}{'not started':>13}")
    for r in results:
        if r.problem:
            print(f"{r.name:<16}{'does not build':>29}")
        else:
            print(f"{r.name:<16}{len(r.passed):>8}{len(r.failed):>8}{len(r.not_started):>13}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Every lab's unit tests, one table.")
    parser.add_argument("labs", nargs="+", metavar="LAB")
    args = parser.parse_args(argv)
    unknown = [lab for lab in args.labs if not (KIT_ROOT / lab / "Makefile").is_file()]
    if unknown:
        print(f"unit_table: no such lab: {' '.join(unknown)}", file=sys.stderr)
        return 2
    results = []
    for lab in args.labs:
        results.append(run_lab(lab))
        print_lab(results[-1])
    print_table(results)
    done = all(not r.problem and not r.failed and not r.not_started for r in results)
    if not done:
        print("\nNot every unit test passes yet: work lab by lab, `make test` in a lab folder "
              "shows the first failure in full.")
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
