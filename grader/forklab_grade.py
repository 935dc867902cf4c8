"""forklab's grader: build a submission's labs and grade them.

    grader/grade [--lab LAB ...] [--submission DIR] [--json FILE] [--junit FILE]
                 [--github-summary FILE] [--github-output FILE] [--annotations]
                 [--prairielearn FILE] [--logs DIR] [--seed N] [--quiet] [--keep]
    grader/grade --batch DIR [-j N] [--out DIR] [--lab LAB ...] [--seed N] [--similarity]

With no --submission it grades this checkout of the kit.  Exit status: see
EXIT_STATUS below.  --batch grades every folder in DIR as one student's
submission (see batch.py).
"""

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import pytest

GRADER_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(GRADER_DIR))
# The graded tests; the grader's own tests point this elsewhere to grade
# with test modules of their own.
TESTS_DIR = Path(os.environ.get("FORKLAB_GRADER_TESTS", GRADER_DIR / "tests")).resolve()

import batch  # noqa: E402
import class_report  # noqa: E402
from harness import kit, procs, report, sandbox  # noqa: E402
from harness.kit import UsageError  # noqa: E402
from harness.results import Grading  # noqa: E402
from harness.scoring import GradePlugin  # noqa: E402
from harness.timing import scale  # noqa: E402

EXIT_STATUS = """\
exit status:
  0    full marks (--batch: every submission was graded)
  1    not full marks (--batch: some submission could not be graded)
  2    bad arguments or settings: a one-line message, nothing graded
  3    the grader itself failed, or stopped early: no score, no results file written
  130  interrupted (Ctrl-C); 143 and 129 when stopped by SIGTERM or SIGHUP: no score
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="grade", description="Build and grade the forklab labs of a submission.",
        epilog=EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", action="append", default=[], metavar="LAB",
                        help="grade only this lab (repeat for several); default: every lab")
    parser.add_argument("--submission", type=Path, metavar="DIR",
                        help="folder laid out like the kit (default: this checkout)")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="write Gradescope's results.json format here")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML here")
    platforms = parser.add_argument_group("GitHub Actions and PrairieLearn")
    platforms.add_argument("--github-summary", type=Path, metavar="FILE",
                           help="append the Markdown table to FILE ($GITHUB_STEP_SUMMARY)")
    platforms.add_argument("--github-output", type=Path, metavar="FILE",
                           help="append score=, max-score= and LAB= lines to FILE ($GITHUB_OUTPUT)")
    platforms.add_argument("--annotations", action="store_true",
                           help="print a GitHub '::error' annotation for each failed test")
    platforms.add_argument("--prairielearn", type=Path, metavar="FILE",
                           help="write PrairieLearn's results.json here")
    parser.add_argument("--logs", type=Path, metavar="DIR",
                        help="per-test logs of failed tests (default: grade-logs/ in the kit)")
    parser.add_argument("--seed", type=int, help="seed of the random inputs, to replay a run")
    parser.add_argument("--quiet", action="store_true", help="show only tests that did not pass")
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch build folder and print where it is")
    parser.add_argument("--list", action="store_true",
                        help="list the graded tests and their points, without grading")
    batch_options = parser.add_argument_group("grading a whole class")
    batch_options.add_argument("--batch", type=Path, metavar="DIR",
                               help="grade every submission folder in DIR (one per student)")
    batch_options.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                               metavar="N", help="submissions graded at once (default: cores)")
    batch_options.add_argument("--out", type=Path, metavar="DIR",
                               help="batch results: grades.csv and one folder per student "
                                    "(default: ./grades)")
    batch_options.add_argument("--submission-timeout", type=float, default=1800, metavar="S",
                               help="wall-clock limit for grading one submission (default 1800)")
    class_report.add_options(batch_options)
    return parser.parse_args(argv)


def selected_labs(requested) -> list:
    available = [lab for lab in kit.present_labs()
                 if (TESTS_DIR / f"test_{lab}.py").is_file()]
    if not requested:
        return available
    names = [name.strip().rstrip("/") for item in requested for name in item.split(",")]
    for name in names:
        if name not in kit.LABS:
            raise UsageError(f"unknown lab '{name}' (labs: {', '.join(kit.LABS)})")
        if name not in available:
            raise UsageError(f"{name} is not part of this copy of the kit")
    return [lab for lab in kit.LABS if lab in names]


def check_output_path(path):
    """Refuse, before grading, a --json or --junit file that cannot be written."""
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder")
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {path}: folder {path.parent} does not exist")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise UsageError(f"cannot write {path}: permission denied")


def check_logs_folder(path):
    """Refuse, before grading, a --logs folder that cannot be created or written."""
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"cannot write logs into {path}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write logs into {path}: {existing} is not writable")


def clear_old_logs(logs_dir: Path, labs) -> None:
    """The logs of an earlier run would pass for this one's: each lab graded now
    starts with an empty grade-logs/LAB/ (the other labs' logs stay)."""
    for lab in labs:
        shutil.rmtree(logs_dir / lab, ignore_errors=True)


def grade(args) -> int:
    labs = selected_labs(args.lab)
    submission = (args.submission or kit.KIT_ROOT).resolve()
    if not submission.is_dir():
        raise UsageError(f"submission folder {submission} does not exist")
    for path in (args.json, args.junit, args.github_summary, args.github_output,
                 args.prairielearn):
        check_output_path(path)
    seed = args.seed if args.seed is not None else random.randrange(1, 1 << 31)
    logs_dir = (args.logs or kit.KIT_ROOT / "grade-logs").resolve()
    check_logs_folder(logs_dir)

    clear_old_logs(logs_dir, labs)
    procs.become_subreaper()
    started = time.monotonic()
    watchdog = sandbox.Watchdog().start()
    scratch = Path(tempfile.mkdtemp(prefix="forklab-grade-"))
    try:
        os.chmod(scratch, 0o755)
        kit.copy_kit(scratch)
        missing = kit.take_student_files(submission, scratch)
        plugin = GradePlugin(scratch=scratch, missing=missing, seed=seed, logs_dir=logs_dir,
                             quiet=args.quiet, watchdog=watchdog)
        print(f"forklab grader: {submission} (seed {seed}, timeouts x{scale():g})", flush=True)
        print(f"{sandbox.describe_limits()}\n", flush=True)
        modules = [str(TESTS_DIR / f"test_{lab}.py") for lab in labs]
        code = pytest.main(["-c", str(GRADER_DIR / "pytest.ini"), "--rootdir", str(TESTS_DIR),
                            "-p", "no:cacheprovider", "-p", "no:terminal", "-s",
                            "--assert=plain", *modules],
                           plugins=[plugin])
        left = procs.end_all()
        if code == pytest.ExitCode.INTERRUPTED:
            # pytest caught the Ctrl-C (or SIGTERM, see on_terminate) and
            # stopped: only the tests before it have results.
            raise KeyboardInterrupt
        if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) \
                and not plugin.internal_errors:
            # INTERNAL_ERROR: a hook raised (pytest printed INTERNALERROR lines).
            # NO_TESTS_COLLECTED only follows a collection error, reported already.
            plugin.internal_errors.append(f"grading stopped early (pytest exit status "
                                          f"{int(code)}): the results are incomplete, no score")
        if plugin.internal_errors or left:
            for error in plugin.internal_errors:
                print(f"grade: internal error: {error}", file=sys.stderr)
            if left:
                print(f"grade: internal error: processes left behind: {left}", file=sys.stderr)
            return 3
        elapsed = time.monotonic() - started
        grading = Grading.from_scoring(plugin.results, seed=seed, seconds=elapsed,
                                       missing=missing)
        write_outputs(args, grading)
        got, total = grading.score, grading.max_score
        print(f"Score: {got}/{total}  ({elapsed:.1f} s)")
        if got < total:
            failed = len(grading.failed)
            skipped = sum(lab.not_run for lab in grading.labs)
            print(f"{failed} failed, {skipped} not run; logs of the failures are in {logs_dir}")
            print(f"Replay these inputs with: grader/grade --seed {seed}")
        return 0 if got == total else 1
    finally:
        watchdog.stop()
        procs.end_all()
        if args.keep:
            print(f"scratch folder kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def write_outputs(args, grading) -> None:
    """Every file asked for, each a rendering of the same grading."""
    if args.json:
        report.write_json(args.json, grading)
    if args.junit:
        report.write_junit(args.junit, grading)
    if args.prairielearn:
        report.write_prairielearn(args.prairielearn, grading)
    if args.github_summary:
        report.append_text(args.github_summary, report.github_summary(grading))
    if args.github_output:
        report.append_text(args.github_output, report.github_outputs(grading))
    if args.annotations:
        for line in report.github_annotations(grading):
            print(line)


def list_tests(labs) -> int:
    """Print every graded test with its points (pytest collection only)."""
    plugin = TestLister()
    modules = [str(TESTS_DIR / f"test_{lab}.py") for lab in labs]
    code = pytest.main(["-c", str(GRADER_DIR / "pytest.ini"), "--rootdir", str(TESTS_DIR),
                        "-p", "no:cacheprovider", "-p", "no:terminal", "--collect-only",
                        "--assert=plain", *modules], plugins=[plugin])
    if code not in (0, pytest.ExitCode.NO_TESTS_COLLECTED) or plugin.errors:
        print("grade: internal error: could not collect the tests", file=sys.stderr)
        return 3
    for lab in labs:
        mine = [(title, points) for item_lab, title, points in plugin.items if item_lab == lab]
        print(f"{lab}: {sum(points for _, points in mine)} points")
        for title, points in mine:
            print(f"  {points:>2}  {title}")
    return 0


class TestLister:
    """A pytest plugin that records the graded tests it collects."""

    __name__ = "forklab-lister"

    def __init__(self):
        self.items = []
        self.errors = []

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(report.nodeid)

    def pytest_collection_modifyitems(self, items):
        from harness.scoring import title_of
        for item in items:
            info = item.function.forklab_grade
            self.items.append((item.module.LAB, title_of(item.function), info.points))


# The signal that stopped the grader (SIGTERM, SIGHUP), if one did.
stopped_by = None


def on_terminate(signo, _frame):
    """SIGTERM, SIGHUP (`timeout`, a CI job cancelled): stop as Ctrl-C does,
    so that the clean-up in grade() and batch.py runs.  A KeyboardInterrupt,
    not a SystemExit: pytest stops the run at a KeyboardInterrupt, where it
    counts a SystemExit as one failed test and goes on.  main() then exits
    with 128 + signo."""
    global stopped_by
    stopped_by = signo
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    for signo in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signo) != signal.SIG_IGN:  # under nohup, SIGHUP stays ignored
            signal.signal(signo, on_terminate)
    try:
        if args.list:
            return list_tests(selected_labs(args.lab))
        class_report.check_options(args)
        if args.batch is not None:
            single = (args.json, args.junit, args.github_summary, args.github_output,
                      args.prairielearn)
            if args.submission is not None or any(single) or args.annotations:
                raise UsageError("--batch does not combine with --submission or the options "
                                 "that write one grading's results (--json, --junit, "
                                 "--github-*, --annotations, --prairielearn)")
            labs = selected_labs(args.lab)
            return batch.run_batch(args, labs)
        return grade(args)
    except UsageError as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if stopped_by is not None:
            print(f"grade: stopped by {signal.Signals(stopped_by).name}; no score",
                  file=sys.stderr)
            return 128 + stopped_by
        print("grade: interrupted; no score", file=sys.stderr)
        return 130
    except Exception:  # a bug of the grader's: 3, not the 1 of "not full marks"
        traceback.print_exc()
        print("grade: internal error: the grader failed (traceback above); no score",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
