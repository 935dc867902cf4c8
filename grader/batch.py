"""Grading a whole class: `grader/grade --batch DIR`.

Every folder in DIR is one student's submission, named after the student.
Each is graded by its own grader process (python3 -m grader.forklab_grade --submission ...),
so a crash, a hang or a failed build costs only that student's grade; up to
-j at once, each with its own sandbox uid (its own process limit and files)
and its own scratch folder and ports.  Results:

    OUT/grades.csv                 for an LMS: a `max` row, then per student the points
                                   per lab (blank: not graded), total, status, labs not started
    OUT/failed_tests.csv           one row per student and failed test: lab, test, its cause
    OUT/STUDENT/results.json       Gradescope format
    OUT/STUDENT/grade.txt          what the grader printed
    OUT/STUDENT/logs/              logs of the failed tests, timelines of the server tests
    OUT/report.html                the class report (class_report.py)
"""

import csv
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from grader import class_report, shards
from grader.harness import kit, procs, sandbox
from grader.harness.kit import UsageError
from grader.i18n import _
# A submission's Outcome and how it is read from its worker's files
# (batch_outcome.py): its names importable from here too.
from grader.batch_outcome import (  # noqa: F401
    RESULT_LINE, STUB_SAYS, Outcome, cause_in, hint_in, is_not_run, mark_cascades,
    names_own_stub, read_results, same_cause_marks)

# How long a worker that is told to stop (SIGTERM) may take to end its
# programs and remove its scratch folder before it is killed.
WORKER_GRACE_SECONDS = 5


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


# ------------------------------------------------------------- not started

@functools.lru_cache(maxsize=None)
def handout_text(rel: str):
    """The handout's edition of a student file (its solutions replaced by
    their stubs), or None where this copy of the kit cannot make it."""
    try:
        from tools.markers import MarkerError, strip_regions
    except ImportError:
        return None
    try:
        return strip_regions((kit.KIT_ROOT / rel).read_text(), rel)
    except (OSError, MarkerError):
        return None


def untouched(submission: Path, rel: str) -> bool:
    """The submission's file is missing, or the handout's, whitespace aside."""
    path = submission / rel
    if not path.is_file():
        return True
    stub = handout_text(rel)
    try:
        return stub is not None and path.read_text(errors="replace").split() == stub.split()
    except OSError:
        return False


def not_started(lab: str, tests: list, submission: Path = None) -> bool:
    """The rule (grader/README.md, "Class report"): a graded lab is not
    started when its student file is missing or the handout's unchanged
    (whitespace aside), or when no test of it passed but the build, one of
    its failed tests at least names one of the lab's own stubs ("lab02: main
    is not implemented yet") and none names another cause."""
    mine = [t for t in tests if t["lab"] == lab]
    if not mine:
        return False
    if submission is not None and kit.LABS.get(lab) is not None and all(
            untouched(submission, rel) for rel in kit.LABS[lab].student_files):
        return True
    building = [t for t in mine if not t["title"].startswith(class_report.BUILDS)]
    if any(t["status"] == "passed" for t in building):
        return False
    failed = [t for t in building if t["status"] == "failed"]
    return (any(t.get("stub") for t in failed)
            and all(not t.get("cause") or names_own_stub(t["cause"], lab) for t in failed))


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
            read_results(results, outcome,
                         (folder / "grade.txt").read_text(encoding="utf-8", errors="replace"))
        except (OSError, ValueError, LookupError, TypeError, AttributeError) as exc:
            if outcome.status == "ok":
                outcome.status = "error"
                outcome.detail = f"see {folder / 'grade.txt'}"
            outcome.detail += f"; {results} is unreadable ({type(exc).__name__}: {exc})"
        outcome.not_started = [lab for lab in outcome.labs
                               if not_started(lab, outcome.tests, submission)]
    return outcome


# ------------------------------------------------------------ the CSV files

FAILED_TESTS = "failed_tests.csv"
MAX_ROW = "max"  # the student column of grades.csv's first data row


def write_csv(path: Path, outcomes, labs, roster: dict = None) -> None:
    """grades.csv at path, and failed_tests.csv beside it.

    grades.csv: a column per lab of the kit, in its order (a lab not graded
    -- not in this run, or the student's grading hung or failed -- is blank,
    never 0); first data row, student "max", each lab's maximum; roster
    ({folder: lms_id}) adds an lms_id column after student."""
    kit_labs = list(kit.LABS) + [lab for lab in labs if lab not in kit.LABS]
    lab_max = {}
    for o in outcomes:
        for lab, top in o.lab_max.items():
            lab_max.setdefault(lab, top)
    run_max = [lab_max[lab] for lab in labs if lab in lab_max]
    ids = ["lms_id"] if roster is not None else []
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *ids, *kit_labs, "total", "max", "status", "not_started",
                         "failed", "not_run", "cpu_pressure"])
        total = sum(run_max) if run_max else ""
        writer.writerow([MAX_ROW, *["" for _id in ids],
                         *[lab_max.get(lab, "") if lab in labs else "" for lab in kit_labs],
                         total, total, "", "", "", "", ""])
        for o in outcomes:
            graded = bool(o.labs)
            writer.writerow([o.student, *([roster.get(o.student, "")] if ids else []),
                             *[o.labs.get(lab, "") if lab in labs else "" for lab in kit_labs],
                             o.score if graded else "", o.max_score if graded else "",
                             o.status, " ".join(o.not_started),
                             len(o.failed) if graded else "", o.not_run if graded else "",
                             "" if o.cpu_pressure is None else f"{o.cpu_pressure:.2f}"])
    with open(path.parent / FAILED_TESTS, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "lab", "test", "cause", "same_cause_as"])
        for o in outcomes:
            for t in o.tests:
                if t["status"] == "failed":
                    writer.writerow([o.student, t["lab"], t["title"], t.get("cause", ""),
                                     t.get("same_cause_as", "")])


def read_grades(path: Path) -> list:
    """The students' rows of a grades.csv (dicts), without its max row."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and rows[0]["student"] == MAX_ROW and rows[0]["status"] == "":
        rows = rows[1:]
    return rows


def read_roster(path: Path) -> dict:
    """{folder: lms_id} from a CSV of folder,lms_id lines (a header line
    "folder,lms_id" may come first)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(_("cannot read the roster {path}: {error}").format(
            path=path, error=getattr(exc, "strerror", None) or exc)) from None
    roster = {}
    for number, row in enumerate(rows, start=1):
        row = [cell.strip() for cell in row]
        if not any(row):
            continue
        if number == 1 and [cell.lower() for cell in row] == ["folder", "lms_id"]:
            continue
        if len(row) != 2 or not all(row):
            raise UsageError(_("{path}:{line}: expected 'folder,lms_id', got {row}").format(
                path=path, line=number, row=",".join(row)))
        if row[0] in roster:
            raise UsageError(_("{path}:{line}: the folder {folder} is in the roster twice").format(
                path=path, line=number, folder=row[0]))
        roster[row[0]] = row[1]
    return roster


def check_options(args) -> None:
    """Refuse, before grading, a --roster that cannot work."""
    if getattr(args, "roster", None) is None:
        return
    if args.batch is None:
        raise UsageError(_("--roster gives the LMS ids of the students of a --batch"))
    args.roster_ids = read_roster(args.roster)


def tell_roster_gaps(roster: dict, outcomes) -> None:
    students = [o.student for o in outcomes]
    missing = [name for name in students if name not in roster]
    if missing:
        print(_("roster: no lms_id for {count} student(s): {names}").format(
            count=len(missing), names=", ".join(missing)))


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
    submissions = shards.select(submissions_in(args.batch.resolve()), args)
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
    roster = getattr(args, "roster_ids", None)
    write_csv(out / "grades.csv", outcomes, labs, roster)
    if roster is not None:
        tell_roster_gaps(roster, outcomes)
    class_report.write_for_batch(args, out, outcomes, labs, seed, submissions)  # report.html
    shards.record(args, out, outcomes, labs, seed)  # batch.json, for --merge
    problems = [o for o in outcomes if o.status != "ok"]
    print(f"grades: {out / 'grades.csv'}" + (f"; {len(problems)} could not be graded fully"
                                            if problems else ""))
    return 1 if problems else 0

