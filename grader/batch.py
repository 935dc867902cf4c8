"""Grading a whole class: `grader/grade --batch DIR`.

Every folder in DIR is one student's submission, named after the student.
Each is graded by its own grader process (python3 -m grader.forklab_grade --submission ...),
so a crash, a hang or a failed build costs only that student's grade; up to
-j at once, each with its own sandbox uid (its own process limit and files)
and its own scratch folder and ports.  Results:

    OUT/grades.csv                 student, score per lab, total, status, failed tests
    OUT/STUDENT/results.json       Gradescope format
    OUT/STUDENT/grade.txt          what the grader printed
    OUT/STUDENT/logs/              logs of the failed tests, timelines of the server tests
    OUT/report.html                the class report (class_report.py)
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from grader import class_report
from grader.harness import kit, procs, sandbox
from grader.harness.kit import UsageError

# How long a worker that is told to stop (SIGTERM) may take to end its
# programs and remove its scratch folder before it is killed.
WORKER_GRACE_SECONDS = 5


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
    # How busy the machine was while this submission was graded: the share
    # of the time some task waited for a CPU (results.json's extra_data.load).
    cpu_pressure: float = None


def submissions_in(folder: Path) -> list:
    if not folder.is_dir():
        raise UsageError(f"batch folder {folder} does not exist")
    found = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not found:
        raise UsageError(f"no submission folders in {folder}")
    return found


class Workers:
    """The batch's running worker graders, so that an interrupted batch can
    end them (they run in sessions of their own: Ctrl-C does not reach them)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running = {}  # Popen -> its sandbox uid
        self._stopping = False

    def start(self, argv, uid, **popen_args):
        """Popen(argv, **popen_args), or None once end_all() has been called."""
        with self._lock:
            if self._stopping:
                return None
            popen = subprocess.Popen(argv, **popen_args)
            self._running[popen] = uid
            return popen

    def finished(self, popen) -> None:
        with self._lock:
            self._running.pop(popen, None)

    def end(self, popen: subprocess.Popen, uid, terminated=False) -> None:
        """End a worker grader and everything below it (re-parented to us):
        SIGTERM first (unless the caller sent it already), so that the worker
        ends its programs and removes its scratch folder, then SIGKILL for
        whatever is still there after WORKER_GRACE_SECONDS."""
        if not terminated:
            popen.terminate()
        try:
            popen.wait(timeout=WORKER_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
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
        self._reap_orphans()

    def end_all(self) -> None:
        """Start no more workers; end the running ones, all told at once."""
        with self._lock:
            self._stopping = True
            running = dict(self._running)
        for popen in running:
            popen.terminate()
        for popen, uid in running.items():
            self.end(popen, uid, terminated=True)

    def _reap_orphans(self) -> None:
        """procs.reap_orphans() that leaves the running workers alone: the
        exit status of each is for its Popen to collect (one taken from it
        reads as status 0)."""
        with self._lock:
            workers = {popen.pid for popen in self._running}
            try:
                children = psutil.Process().children()
            except psutil.Error:
                return
            for child in children:
                if child.pid not in workers:
                    try:
                        os.waitpid(child.pid, os.WNOHANG)
                    except ChildProcessError:
                        pass


def read_results(path: Path, outcome: Outcome) -> None:
    """Fill outcome in from a worker's results.json.  Raises OSError,
    ValueError, LookupError, TypeError or AttributeError when the file is
    unreadable, e.g. half written by a worker killed at its timeout."""
    data = json.loads(path.read_text())
    score, max_score = data["score"], data["extra_data"]["max_score"]
    labs = {lab: v["score"] for lab, v in data["extra_data"]["labs"].items()}
    failed, not_run = [], 0
    for test in data["tests"]:
        if test["status"] == "passed":
            continue
        if test["output"].startswith("not run"):
            not_run += 1
        else:
            failed.append(test["name"])
    outcome.score, outcome.max_score, outcome.labs = score, max_score, labs
    outcome.failed, outcome.not_run = failed, not_run
    load = data["extra_data"].get("load")
    if load is not None:
        outcome.cpu_pressure = float(load["cpu_pressure"])


def grade_one(submission: Path, out: Path, args, labs, seed: int, sandbox_uids,
              workers, kit_objects=None) -> Outcome:
    outcome = Outcome(student=submission.name)
    folder = out / submission.name
    folder.mkdir(parents=True, exist_ok=True)
    results = folder / "results.json"
    results.unlink(missing_ok=True)
    argv, env = kit.grader_command()
    argv += ["--submission", str(submission), "--json", str(results),
             "--logs", str(folder / "logs"), "--seed", str(seed), "--quiet"]
    for lab in labs:
        argv += ["--lab", lab]
    if kit_objects is not None:
        env[kit.KIT_OBJECTS_SETTING] = str(kit_objects)
    uid = None
    if os.geteuid() == 0:
        uid = sandbox_uids.take()
        env["FORKLAB_SANDBOX_UID"] = str(uid)
    started = time.monotonic()
    try:
        with open(folder / "grade.txt", "wb") as transcript:
            popen = workers.start(argv, uid, stdin=subprocess.DEVNULL, stdout=transcript,
                                  stderr=subprocess.STDOUT, env=env, start_new_session=True)
            if popen is None:
                outcome.status = "error"
                outcome.detail = "not graded: the batch was interrupted"
                return outcome
            try:
                code = popen.wait(timeout=args.submission_timeout)
            except subprocess.TimeoutExpired:
                code = None
            workers.finished(popen)
            if code is None:
                workers.end(popen, uid)
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
        try:
            read_results(results, outcome)
        except (OSError, ValueError, LookupError, TypeError, AttributeError) as exc:
            if outcome.status == "ok":
                outcome.status = "error"
                outcome.detail = f"see {folder / 'grade.txt'}"
            outcome.detail += f"; {results} is unreadable ({type(exc).__name__}: {exc})"
    return outcome


def write_csv(path: Path, outcomes, labs) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *labs, "total", "max", "status", "failed_tests",
                         "not_run", "cpu_pressure"])
        for o in outcomes:
            writer.writerow([o.student, *[o.labs.get(lab, 0) for lab in labs], o.score,
                             o.max_score, o.status, "; ".join(o.failed), o.not_run,
                             "" if o.cpu_pressure is None else f"{o.cpu_pressure:.2f}"])


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
    if not args.submission_timeout > 0:
        raise UsageError(f"--submission-timeout must be more than 0 seconds, "
                         f"not {args.submission_timeout:g}")
    submissions = submissions_in(args.batch.resolve())
    out = (args.out or Path("grades")).resolve()
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the results folder {out}: {exc.strerror}") from None
    seed = args.seed if args.seed is not None else int(time.time()) % (1 << 31)
    jobs = max(1, args.jobs)
    containment = sandbox.choose()
    procs.become_subreaper()
    print(f"forklab batch: {len(submissions)} submissions from {args.batch}, {jobs} at once, "
          f"seed {seed}, labs {', '.join(labs)}\n{sandbox.describe()}", flush=True)
    shared = None
    try:
        # The kit's own objects, built once for the whole class.  Shared only
        # where no student's code can write them: as root (they belong to
        # root) or under bwrap (read-only there); else each worker builds its own.
        if os.geteuid() == 0 or containment.mode == "bwrap":
            shared = Path(tempfile.mkdtemp(prefix="forklab-kit-", dir=sandbox.scratch_parent()))
            os.chmod(shared, 0o755)
            cached = kit.cached_kit_objects()
            if cached is not None:
                shutil.copytree(cached, shared, dirs_exist_ok=True)
            else:
                kit.build_kit_objects(shared, labs)
        return grade_all(args, labs, submissions, out, seed, jobs, shared)
    finally:
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)


def grade_all(args, labs, submissions, out: Path, seed: int, jobs: int, kit_objects) -> int:
    sandbox_uids = SandboxUids()
    workers = Workers()
    lock = threading.Lock()
    done = []

    def grade_and_report(submission):
        outcome = grade_one(submission, out, args, labs, seed, sandbox_uids, workers,
                            kit_objects)
        with lock:
            done.append(outcome)
            status = "" if outcome.status == "ok" else f"  [{outcome.status}: {outcome.detail}]"
            print(f"[{len(done)}/{len(submissions)}] {outcome.student}: "
                  f"{outcome.score}/{outcome.max_score} ({outcome.seconds:.0f} s){status}",
                  flush=True)
        return outcome

    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        outcomes = list(pool.map(grade_and_report, submissions))
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (forklab_grade.on_terminate)
        # A second one must not cut the clean-up short: it takes at most
        # WORKER_GRACE_SECONDS, then SIGKILL.
        for signo in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signo, signal.SIG_IGN)
        with lock:
            graded = len(done)
        pool.shutdown(wait=False, cancel_futures=True)
        workers.end_all()
        pool.shutdown()
        print(f"batch interrupted: {graded} of {len(submissions)} submissions graded "
              f"(their results are in {out}); grades.csv not written", file=sys.stderr)
        raise
    pool.shutdown()
    write_csv(out / "grades.csv", outcomes, labs)
    class_report.write_for_batch(args, out, outcomes, labs, seed, submissions)  # report.html
    problems = [o for o in outcomes if o.status != "ok"]
    print(f"grades: {out / 'grades.csv'}" + (f"; {len(problems)} could not be graded fully"
                                            if problems else ""))
    return 1 if problems else 0

