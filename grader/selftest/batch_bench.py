"""The class-scale benchmark: grade a batch of complete submissions at -j N.

    /usr/bin/python3 -m grader.selftest.batch_bench              # 40 submissions, -j 2
    /usr/bin/python3 -m grader.selftest.batch_bench -n 10 -j 2   # fewer
    /usr/bin/python3 -m grader.selftest.batch_bench --short      # 3, lab01 only (the selftest)

(from the kit's folder: -m puts it on sys.path, where the package grader is).

The class is a mix, as a real one is: the reference solutions, the handout's
stubs (every lab fails early), and mutants of the catalogue, in turn.  It is
graded with `grader/grade --batch` as an instructor would; the report gives
the wall time, the seconds per submission, the CPU time the gradings used,
and the load of the machine before and during the run (other work on it
slows a grading down; say what it was when you quote a figure).  A
benchmark, not a test: nothing here fails because it is slow.
"""

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GRADER_DIR = HERE.parent
KIT_ROOT = GRADER_DIR.parent

if __name__ == "__main__" and not __package__:  # run as a file: grader/ is no package then
    print("batch_bench.py: run tools/python -m grader.selftest.batch_bench from the kit's folder, "
          "not this file", file=sys.stderr)
    sys.exit(2)

from grader.harness import kit  # noqa: E402
from grader.selftest import catalogue  # noqa: E402
from tools.make_handout import make_handout  # noqa: E402


def make_class(folder: Path, count: int, labs) -> dict:
    """count submission folders in folder: reference, handout, then mutants of
    the graded labs in turn.  Returns {student: what it is}."""
    handout = make_handout(KIT_ROOT, folder.parent / "handout", tarball=False)
    mutants = [m for m in catalogue.catalogue() if m.name.split("/")[0] in labs]
    kinds = {}
    next_mutant = 0
    for i in range(count):
        student = folder / f"student{i + 1:02d}"
        if i % 4 == 0:
            catalogue.reference_submission(student)
            kinds[student.name] = "reference"
        elif i % 4 == 1:
            for rel in kit.STUDENT_FILES:
                (student / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(handout / rel, student / rel)
            kinds[student.name] = "handout"
        else:
            mutant = mutants[next_mutant % len(mutants)]
            next_mutant += 1
            catalogue.apply(mutant, student)
            kinds[student.name] = f"mutant {mutant.name}"
    return kinds


def grader_command(grader: Path) -> tuple:
    """The command (and environment) that runs the grader of the folder grader/:
    a package run with -m, or a grader older than the package, run as a file."""
    if (grader / "__init__.py").is_file():
        return kit.grader_command(grader.parent)
    return [sys.executable, str(grader / "forklab_grade.py")], dict(os.environ)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=40, help="submissions (default 40)")
    parser.add_argument("-j", type=int, default=2, help="gradings at once (default 2)")
    parser.add_argument("--lab", action="append", default=[], metavar="LAB",
                        help="grade only this lab (repeat; default: every lab)")
    parser.add_argument("--short", action="store_true",
                        help="3 submissions, lab01_wrap only: proves the benchmark works")
    parser.add_argument("--grader", type=Path, default=GRADER_DIR, metavar="DIR",
                        help="the grader/ folder to measure (another checkout's, to compare; "
                             "default: this one)")
    args = parser.parse_args(argv)
    if args.short:
        args.n, args.lab = 3, ["lab01_wrap"]
    if args.n < 1 or args.j < 1:
        parser.error("-n and -j must be at least 1")
    if not (args.grader / "forklab_grade.py").is_file():
        parser.error(f"--grader {args.grader}: no forklab_grade.py there")
    labs = args.lab or list(kit.LABS)
    unknown = [lab for lab in labs if lab not in kit.LABS]
    if unknown:
        parser.error(f"unknown lab {unknown[0]} (labs: {', '.join(kit.LABS)})")

    with tempfile.TemporaryDirectory(prefix="forklab-bench-") as tmp:
        os.chmod(tmp, 0o755)
        batch = Path(tmp) / "class"
        kinds = make_class(batch, args.n, labs)
        command, env = grader_command(args.grader)
        command += ["--batch", str(batch), "-j", str(args.j), "--out", str(Path(tmp) / "grades")]
        for lab in labs:
            command += ["--lab", lab]
        shown = (f"grader/grade --batch CLASS -j {args.j}"
                 + "".join(f" --lab {lab}" for lab in args.lab))
        mix = ", ".join(sorted({kind.split()[0] for kind in kinds.values()}))
        print(f"batch_bench: {args.n} submissions ({mix}), -j {args.j}, labs {', '.join(labs)}; "
              f"load before: {load()}", flush=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        proc = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              env=env)
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_after = load()
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        try:
            with open(Path(tmp) / "grades" / "grades.csv") as f:
                rows = [row for row in csv.DictReader(f) if row["status"]]  # no max row
        except OSError:
            rows = []
    statuses = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    sandbox = next((line for line in proc.stdout.splitlines() if line.startswith("sandbox:")),
                   "sandbox: ?")
    print(sandbox)
    print(f"command: {shown}  (exit status {proc.returncode})")
    print(f"graded: {len(rows)} of {args.n}; statuses: "
          + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())))
    print(f"wall: {wall:.0f} s, {wall / args.n:.1f} s per submission; "
          f"CPU: {cpu:.0f} s, {cpu / args.n:.1f} s per submission; load at the end: {load_after}")
    if proc.returncode not in (0, 1) or len(rows) != args.n:
        print(proc.stdout[-3000:] + proc.stderr[-3000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
