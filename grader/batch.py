"""Grading a whole class: `grader/grade --batch DIR`.

Every folder in DIR is one student's submission, named after the student.
Each is graded by its own grader process (forklab_grade.py --submission ...),
so a crash, a hang or a failed build costs only that student's grade; up to
-j at once, each with its own sandbox uid (its own process limit and files)
and its own scratch folder and ports.  Results:

    OUT/grades.csv                 student, score per lab, total, status, failed tests
    OUT/STUDENT/results.json       Gradescope format
    OUT/STUDENT/grade.txt          what the grader printed
    OUT/STUDENT/logs/              logs of the failed tests
"""

import csv
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from harness import procs, sandbox
from harness.kit import UsageError

GRADER = Path(__file__).resolve().parent / "forklab_grade.py"


@dataclass
class Outcome:
    student: str
    status: str = "ok"  # ok | timeout | error
    score: int = 0
    max_score: int = 0
    labs: dict = field(default_factory=dict)
    failed: list = field(default_factory=list)
    not_run: int = 0
    seconds: float = 0.0
    detail: str = ""


def submissions_in(folder: Path) -> list:
    if not folder.is_dir():
        raise UsageError(f"batch folder {folder} does not exist")
    found = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not found:
        raise UsageError(f"no submission folders in {folder}")
    return found


def end_worker(popen: subprocess.Popen, uid) -> None:
    """Kill a worker grader and everything below it (re-parented to us)."""
    procs.kill_tree(popen.pid)
    popen.wait()
    if uid is not None:
        for proc in psutil.process_iter(["uids"]):
            uids = proc.info["uids"]
            if uids is not None and uids.real == uid:
                try:
                    proc.kill()
                except psutil.Error:
                    pass
    procs.reap_orphans()


def grade_one(submission: Path, out: Path, args, labs, seed: int, sandbox_uids) -> Outcome:
    outcome = Outcome(student=submission.name)
    folder = out / submission.name
    folder.mkdir(parents=True, exist_ok=True)
    results = folder / "results.json"
    results.unlink(missing_ok=True)
    argv = [sys.executable, str(GRADER), "--submission", str(submission), "--json", str(results),
            "--logs", str(folder / "logs"), "--seed", str(seed), "--quiet"]
    for lab in labs:
        argv += ["--lab", lab]
    env = dict(os.environ)
    uid = None
    if os.geteuid() == 0:
        uid = sandbox_uids.take()
        env["FORKLAB_SANDBOX_UID"] = str(uid)
    started = time.monotonic()
    try:
        with open(folder / "grade.txt", "wb") as transcript:
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=transcript,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
            try:
                code = popen.wait(timeout=args.submission_timeout)
            except subprocess.TimeoutExpired:
                end_worker(popen, uid)
                code = None
    finally:
        if uid is not None:
            sandbox_uids.give_back(uid)
    outcome.seconds = time.monotonic() - started
    if code is None:
        outcome.status = "timeout"
        outcome.detail = f"grading took longer than {args.submission_timeout:.0f} s"
    elif code not in (0, 1) or not results.is_file():
        outcome.status = "error"
        outcome.detail = f"the grader exited with status {code}; see {folder / 'grade.txt'}"
    if results.is_file():
        data = json.loads(results.read_text())
        outcome.score = data["score"]
        outcome.max_score = data["extra_data"]["max_score"]
        outcome.labs = {lab: v["score"] for lab, v in data["extra_data"]["labs"].items()}
        for test in data["tests"]:
            if test["status"] == "passed":
                continue
            if test["output"].startswith("not run"):
                outcome.not_run += 1
            else:
                outcome.failed.append(test["name"])
    return outcome


def write_csv(path: Path, outcomes, labs) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *labs, "total", "max", "status", "failed_tests",
                         "not_run"])
        for o in outcomes:
            writer.writerow([o.student, *[o.labs.get(lab, 0) for lab in labs], o.score,
                             o.max_score, o.status, "; ".join(o.failed), o.not_run])


class SandboxUids:
    """The sandbox uids the batch's running workers use: each worker gets one
    that no process uses and no other worker holds."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held = set()

    def take(self) -> int:
        with self._lock:
            uid = sandbox.pick_free_uid(avoid=self._held)
            self._held.add(uid)
            return uid

    def give_back(self, uid: int) -> None:
        with self._lock:
            self._held.discard(uid)


def run_batch(args, labs) -> int:
    submissions = submissions_in(args.batch.resolve())
    out = (args.out or Path("grades")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    seed = args.seed if args.seed is not None else int(time.time()) % (1 << 31)
    jobs = max(1, args.jobs)
    procs.become_subreaper()
    print(f"forklab batch: {len(submissions)} submissions from {args.batch}, {jobs} at once, "
          f"seed {seed}, labs {', '.join(labs)}", flush=True)
    sandbox_uids = SandboxUids()
    lock = threading.Lock()
    done = []

    def grade_and_report(submission):
        outcome = grade_one(submission, out, args, labs, seed, sandbox_uids)
        with lock:
            done.append(outcome)
            status = "" if outcome.status == "ok" else f"  [{outcome.status}: {outcome.detail}]"
            print(f"[{len(done)}/{len(submissions)}] {outcome.student}: "
                  f"{outcome.score}/{outcome.max_score} ({outcome.seconds:.0f} s){status}",
                  flush=True)
        return outcome

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(grade_and_report, submissions))
    write_csv(out / "grades.csv", outcomes, labs)
    problems = [o for o in outcomes if o.status != "ok"]
    print(f"grades: {out / 'grades.csv'}" + (f"; {len(problems)} could not be graded fully"
                                            if problems else ""))
    return 1 if problems else 0

