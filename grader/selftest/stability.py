"""The stability run: grade the reference solutions again and again while a
CPU hog runs on every core, and count the failures (there must be none).

    python3 -m grader.selftest.stability [--runs N] [--jobs J] [--lab LAB ...]   (kit's folder)

`make test` runs a short form (`make stability-short`), `make stability` the
long one.  The reference is graded through `grade --batch`, J copies at a
time, so the run also loads the machine with parallel grading.
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a file: grader/ is no package then
    print("stability.py: run python3 -m grader.selftest.stability from the kit's folder, "
          "not this file", file=sys.stderr)
    sys.exit(2)

from grader.harness import kit  # noqa: E402
from grader.selftest import catalogue  # noqa: E402


def start_hogs(count: int) -> list:
    """One busy loop per core, each in its own session."""
    return [subprocess.Popen(["sh", "-c", "while :; do :; done"], start_new_session=True)
            for _ in range(count)]


def stop_hogs(hogs) -> None:
    for hog in hogs:
        hog.kill()
        hog.wait()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--lab", action="append", default=[])
    parser.add_argument("--out", type=Path,
                        help="keep the batch's grades and report in this folder (default: a "
                             "temporary folder, removed at the end)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.jobs < 1:
        parser.error("--runs and --jobs must be at least 1")
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="forklab-stability-") as tmp:
        batch = Path(tmp) / "batch"
        for run in range(args.runs):
            catalogue.reference_submission(batch / f"run{run + 1:03d}")
        out = args.out or Path(tmp) / "out"
        lab_args = [arg for lab in args.lab for arg in ("--lab", lab)]
        hogs = start_hogs(cores)
        started = time.monotonic()
        try:
            argv, env = kit.grader_command()
            proc = subprocess.run([*argv, "--batch", str(batch), "--out", str(out),
                                   "-j", str(args.jobs), *lab_args], env=env)
        finally:
            stop_hogs(hogs)
        elapsed = time.monotonic() - started
        with open(out / "grades.csv") as f:
            rows = list(csv.DictReader(f))
    failures = [r for r in rows if r["status"] != "ok" or r["total"] != r["max"]]
    print(f"stability: {len(rows)} gradings of the reference, {args.jobs} at a time, "
          f"with {cores} CPU hogs: {len(failures)} failed, {elapsed:.0f} s")
    for row in failures:
        print(f"  {row['student']}: {row['total']}/{row['max']} {row['status']} "
              f"failed: {row['failed_tests']}")
    if args.out is None:
        print("stability: the grades and the report above were in a temporary folder, now "
              "removed (--out DIR keeps them)")
    return 1 if failures or proc.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
