"""Same code, same score: grade the same submissions again and again while
the machine is busy, and report every score that moved.

    python3 -m grader.selftest.stability [--set SET] [--runs N] [--jobs J] [--hogs H]
                                         [--lab LAB ...] [--out DIR]     (kit's folder)

SET chooses the submissions:

- `reference` (default): the reference solutions;
- `fairness`: the reference, the slow but correct alternatives of the
  catalogue and the mutants whose catch rests on timing (a short list,
  FAIRNESS_MUTANTS);
- `catalogue`: the reference, every alternative and every mutant.

Each submission is graded RUNS times, J gradings at a time, while H busy
loops (default: 4 per core) keep every core busy.  The reference is graded
on every lab, an alternative or a mutant on its own labs (its `grade:`); each
grading is a `grade --batch` of its own, and J of them run at once from the
first to the last (the longest first), so J graders share the machine from
start to end.  A correct
submission (the reference, an alternative) must score full marks every time;
a mutant must fail, every time, each test its `fails:` lists; and a
submission's score must not change from one grading to the next.  Any other
test a mutant fails under load is reported too (a test that load alone makes
fail).  Exit status 1 if anything of that went wrong.

`make test` runs the fairness set once (`make stability-short`); `make
stability` the reference 20 times; `make load-fairness` the whole catalogue
twice.
"""

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a file: grader/ is no package then
    print("stability.py: run tools/python -m grader.selftest.stability from the kit's folder, "
          "not this file", file=sys.stderr)
    sys.exit(2)

from grader.harness import kit  # noqa: E402
from grader.selftest import catalogue  # noqa: E402

# Mutants whose failure is measured against time: a busy loop at the cap, a
# lost wakeup, a client that spins, a handler that blocks, a server that
# serves one client at a time.  Under load they must fail as they do idle.
FAIRNESS_MUTANTS = ("lab06_limits/busy_wait_at_cap", "lab06_limits/pause_after_check",
                    "lab05_client/polls_stdin_after_eof", "lab04_sigchld/blocking_wait_in_handler",
                    "lab03_fork/iterative_server")
# Alternatives that are correct but slow: graded under load, they show that
# a deadline follows progress.
SLOW_ALTERNATIVES = ("lab04_sigchld/one_byte_per_write",
                     "lab04_sigchld/sleeps_a_millisecond_per_read",
                     "lab05_client/reads_one_byte_at_a_time")
SETS = ("reference", "fairness", "catalogue")


def start_hogs(count: int) -> list:
    """count busy loops, each in its own session."""
    return [subprocess.Popen(["sh", "-c", "while :; do :; done"], start_new_session=True)
            for _ in range(count)]


def stop_hogs(hogs) -> None:
    for hog in hogs:
        hog.kill()
        hog.wait()


def chosen(name: str, only_labs) -> list:
    """(name, entry or None for the reference, labs to grade) of the set."""
    everything = catalogue.catalogue()
    alternatives = catalogue.alternatives()
    members = [("reference", None, None)]
    if name == "fairness":
        members += [(a.name, a, a.grade) for a in alternatives if a.name in SLOW_ALTERNATIVES]
        members += [(m.name, m, m.grade) for m in everything if m.name in FAIRNESS_MUTANTS]
    elif name == "catalogue":
        members += [(a.name, a, a.grade) for a in alternatives]
        members += [(m.name, m, m.grade) for m in everything]
    if only_labs:
        members = [(n, e, [lab for lab in (labs or only_labs) if lab in only_labs])
                   for n, e, labs in members]
        members = [(n, e, labs) for n, e, labs in members if labs is None or labs]
    return members


def gradings(members, runs: int, only_labs) -> list:
    """[(folder name, member name, entry, labs graded)], RUNS of each member;
    the reference's gradings (every lab) first, as they take longest."""
    units = []
    for name, entry, labs in members:
        for run in range(1, runs + 1):
            folder = f"{name.replace('/', '__')}__run{run:02d}"
            units.append((folder, name, entry, tuple(labs or only_labs or ())))
    return sorted(units, key=lambda unit: (unit[3] != tuple(only_labs or ()), unit[0]))


def grade_one(tmp: Path, unit, out: Path, kit_root: Path) -> int:
    """One grading, as a batch of one submission (its grades.csv, its reports)."""
    folder, _name, entry, labs = unit
    batch = tmp / "batches" / folder
    if entry is None:
        catalogue.reference_submission(batch / folder)
    else:
        catalogue.apply(entry, batch / folder)
    argv, env = kit.grader_command(kit_root)
    lab_args = [arg for lab in labs for arg in ("--lab", lab)]
    return subprocess.run([*argv, "--batch", str(batch), "--out", str(out), "-j", "1",
                           "--seed", str(catalogue.SEED), *lab_args], env=env,
                          stdout=subprocess.DEVNULL).returncode


def grade_all(tmp: Path, units, jobs: int, keep: Path, kit_root: Path) -> dict:
    """Every grading, `jobs` at a time: {folder: (exit status, its out folder)}."""
    pending, done, lock = list(units), {}, threading.Lock()

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                unit = pending.pop(0)
            out = keep / unit[0]
            code = grade_one(tmp, unit, out, kit_root)
            with lock:
                done[unit[0]] = (code, out)

    threads = [threading.Thread(target=worker) for _ in range(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done


def not_passed(out: Path, folder: str):
    """The titles of the tests the grading did not pass, or None if it has no results."""
    try:
        results = json.loads((out / folder / "results.json").read_text())
    except (OSError, ValueError):
        return None
    return {t["name"] for t in results["tests"] if t["status"] != "passed"}


class LoadSampler(threading.Thread):
    """The machine's 1-minute load average, read every few seconds."""

    def __init__(self):
        super().__init__(daemon=True)
        self.seen = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(3):
            self.seen.append(os.getloadavg()[0])

    def stop(self) -> tuple:
        self.stopping.set()
        self.join()
        return (min(self.seen, default=0.0), max(self.seen, default=0.0))


def verdicts(rows, members_by_folder, outs) -> tuple:
    """(problems, table rows): every moved score and every broken expectation."""
    problems, scores = [], defaultdict(list)
    for folder, row in rows.items():
        name, entry = members_by_folder[folder]
        scores[name].append(f"{row['total']}/{row['max']}")
        failed = not_passed(outs[folder], folder)
        if row["status"] != "ok" or failed is None:
            problems.append(f"{folder}: grading {row['status']} ({row['failed']} failed)")
            continue
        mutant = entry is not None and getattr(entry, "fails", None)
        if not mutant and failed:
            problems.append(f"{folder}: correct, but failed {sorted(failed)}")
        elif mutant:
            missed = set(entry.fails) - failed
            if missed:
                problems.append(f"{folder}: the mutant passed {sorted(missed)}")
            extra = failed - set(entry.fails)
            if extra:
                problems.append(f"{folder}: the mutant also failed {sorted(extra)} (not listed)")
    for name, seen in scores.items():
        if len(set(seen)) > 1:
            problems.append(f"{name}: the score moved between gradings: {', '.join(seen)}")
    return problems, scores


def stop_on_sigterm(signo, _frame):
    """SIGTERM ends the run as Ctrl-C does: the busy loops are stopped on the way out."""
    raise SystemExit(128 + signo)


def main(argv=None) -> int:
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=SETS, default="reference")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    cores = os.cpu_count() or 1
    parser.add_argument("--hogs", type=int, default=4 * cores,
                        help="busy loops running meanwhile (default: 4 per core)")
    parser.add_argument("--lab", action="append", default=[])
    parser.add_argument("--out", type=Path,
                        help="keep the batches' grades and reports in this folder (default: a "
                             "temporary folder, removed at the end)")
    parser.add_argument("--grader", type=Path, metavar="KIT", default=kit.KIT_ROOT,
                        help="grade with the grader of another checkout of the kit (to compare)")
    args = parser.parse_args(argv)
    if not (args.grader / "grader" / "forklab_grade.py").is_file():
        parser.error(f"{args.grader} holds no grader/forklab_grade.py")
    if args.runs < 1 or args.jobs < 1 or args.hogs < 0:
        parser.error("--runs and --jobs must be at least 1, --hogs at least 0")
    unknown = [lab for lab in args.lab if lab not in kit.LABS]
    if unknown:
        parser.error(f"unknown lab {unknown[0]} (labs: {', '.join(kit.LABS)})")
    members = chosen(args.set, args.lab)
    units = gradings(members, args.runs, args.lab)
    rows, outs, members_by_folder = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="forklab-stability-") as tmp:
        keep = args.out or Path(tmp) / "out"
        hogs = start_hogs(args.hogs)
        sampler = LoadSampler()
        sampler.start()
        started = time.monotonic()
        try:
            done = grade_all(Path(tmp), units, args.jobs, keep, args.grader.resolve())
        finally:
            stop_hogs(hogs)
            load = sampler.stop()
        codes = [code for code, _out in done.values()]
        for folder, name, entry, _labs in units:
            members_by_folder[folder] = (name, entry)
            code, out = done[folder]
            try:
                with open(out / "grades.csv") as f:
                    for row in (r for r in csv.DictReader(f) if r["status"]):  # no max row
                        rows[row["student"]] = row
                        outs[row["student"]] = out
            except OSError:
                rows[folder] = {"total": "?", "max": "?", "status": f"exit {code}",
                                "failed": "?"}
                outs[folder] = out
        elapsed = time.monotonic() - started
        problems, scores = verdicts(rows, members_by_folder, outs)
        pressures = [float(r["cpu_pressure"]) for r in rows.values() if r.get("cpu_pressure")]

    print(f"stability ({args.set}): {len(rows)} gradings of {len(scores)} submissions, "
          f"{args.runs} each, {args.jobs} at a time, with {args.hogs} CPU hogs on {cores} cores "
          f"(CPU pressure {min(pressures, default=0):.0%}-{max(pressures, default=0):.0%}, "
          f"load average {load[0]:.1f}-{load[1]:.1f}): "
          f"{len(problems)} problems, {elapsed:.0f} s")
    for name, seen in sorted(scores.items()):
        print(f"  {name}: {', '.join(seen)}")
    for problem in problems:
        print(f"  PROBLEM {problem}")
    if args.out is None:
        print("stability: the grades and reports were in a temporary folder, now removed "
              "(--out DIR keeps them)")
    return 1 if problems or any(code != 0 for code in codes) else 0


if __name__ == "__main__":
    sys.exit(main())
