"""forklab's grader: build a submission's labs and grade them.

    grader/grade [--lab LAB ...] [--submission DIR] [--json FILE] [--junit FILE] [--lang zh|en]
                 [--github-summary FILE] [--github-output FILE] [--annotations]
                 [--prairielearn FILE] [--logs DIR] [--seed N] [--quiet] [--keep]
    grader/grade --batch DIR [-j N] [--out DIR] [--lab LAB ...] [--seed N] [--roster FILE]
                 [--similarity [--similarity-threshold P] [--similarity-top N]]
                 [--shard K/N]
    grader/grade --merge OUT ... --out DIR [--batch DIR] [--roster FILE]
                 [--similarity [--similarity-threshold P] [--similarity-top N]]

With no --submission it grades this checkout of the kit.  Exit status: see
EXIT_STATUS below.  --batch grades every folder in DIR as one student's
submission (see batch.py); --shard grades one slice of it, --merge joins
the slices (see shards.py).

It speaks English or Chinese: --lang, else the locale (LANG=zh_CN.UTF-8 is
Chinese); see i18n.py.
"""

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a file: grader/ is no package then
    print("forklab_grade.py: run grader/grade, or tools/python -m grader.forklab_grade from the "
          "kit's folder, not this file", file=sys.stderr)
    sys.exit(2)

import pytest

from grader import batch, class_report, i18n, settings, shards
from grader.harness import kit, procs, profile, report, sandbox
from grader.i18n import _
from grader.harness.kit import UsageError
from grader.harness.results import Grading
from grader.harness.scoring import GradePlugin
from grader.harness import timing
from grader.harness.timing import scale

GRADER_DIR = Path(__file__).resolve().parent
# The graded tests; the grader's own tests point this elsewhere to grade
# with test modules of their own.
TESTS_DIR = settings.folder("FORKLAB_GRADER_TESTS", GRADER_DIR / "tests")


def _N(message: str) -> str:
    """A message translated where it is used (it is defined before the language is known)."""
    return message


EXIT_STATUS = _N("""\
exit status:
  0    full marks (--batch: every submission was graded)
  1    not full marks (--batch: some submission could not be graded)
  2    bad arguments or settings: a one-line message, nothing graded
  3    the grader itself failed, or stopped early: no score, no results file written
  130  interrupted (Ctrl-C); 143 and 129 when stopped by SIGTERM or SIGHUP: no score
""")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="grade", description=_("Build and grade the forklab labs of a submission."),
        epilog=_(EXIT_STATUS), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", action="append", default=[], metavar="LAB",
                        help=_("grade only this lab (repeat for several); default: every lab"))
    parser.add_argument("--submission", type=Path, metavar="DIR",
                        help=_("folder laid out like the kit (default: this checkout)"))
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help=_("write Gradescope's results.json format here"))
    parser.add_argument("--junit", type=Path, metavar="FILE", help=_("write JUnit XML here"))
    parser.add_argument("--lang", choices=i18n.LANGUAGES, default=i18n.language(),
                        help=_("the language of the grader's messages (default: from LC_ALL "
                               "or LANG: zh_* is Chinese)"))
    platforms = parser.add_argument_group(_("GitHub Actions and PrairieLearn"))
    platforms.add_argument("--github-summary", type=Path, metavar="FILE",
                           help=_("append the Markdown table to FILE ($GITHUB_STEP_SUMMARY)"))
    platforms.add_argument("--github-output", type=Path, metavar="FILE",
                           help=_("append score=, max-score= and LAB= lines to FILE "
                                  "($GITHUB_OUTPUT)"))
    platforms.add_argument("--annotations", action="store_true",
                           help=_("print a GitHub '::error' annotation for each failed test"))
    platforms.add_argument("--prairielearn", type=Path, metavar="FILE",
                           help=_("write PrairieLearn's results.json here"))
    parser.add_argument("--logs", type=Path, metavar="DIR",
                        help=_("per-test logs of failed tests (default: grade-logs/ in the kit)"))
    parser.add_argument("--seed", type=int, help=_("seed of the random inputs, to replay a run"))
    parser.add_argument("--quiet", action="store_true",
                        help=_("show only tests that did not pass"))
    parser.add_argument("--keep", action="store_true",
                        help=_("keep the scratch build folder and print where it is"))
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help=_("write where the grading's time went (per lab, per test, per "
                               "kind of work) to FILE as JSON, and print it as a table"))
    parser.add_argument("--list", action="store_true",
                        help=_("list the graded tests and their points, without grading"))
    batch_options = parser.add_argument_group(_("grading a whole class"))
    batch_options.add_argument("--batch", type=Path, metavar="DIR",
                               help=_("grade every submission folder in DIR (one per student)"))
    batch_options.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                               metavar="N", help=_("submissions graded at once (default: cores)"))
    batch_options.add_argument("--out", type=Path, metavar="DIR",
                               help=_("batch results: grades.csv and one folder per student "
                                      "(default: ./grades)"))
    batch_options.add_argument("--submission-timeout", type=float, default=1800, metavar="S",
                               help=_("wall-clock limit for grading one submission "
                                      "(default 1800)"))
    class_report.add_options(batch_options)
    batch_options.add_argument("--roster", type=Path, metavar="FILE",
                               help=_("a CSV of folder,lms_id lines: grades.csv gets an lms_id "
                                      "column for the LMS"))
    shards.add_options(batch_options)
    return parser.parse_args(argv)


def selected_labs(requested) -> list:
    available = [lab for lab in kit.present_labs()
                 if (TESTS_DIR / f"test_{lab}.py").is_file()]
    if not requested:
        return available
    names = [name.strip().rstrip("/") for item in requested for name in item.split(",")]
    for name in names:
        if name not in kit.LABS:
            raise UsageError(_("unknown lab '{name}' (labs: {labs})").format(
                name=name, labs=", ".join(kit.LABS)))
        if name not in available:
            raise UsageError(_("{name} is not part of this copy of the kit").format(name=name))
    return [lab for lab in kit.LABS if lab in names]


def check_output_path(path):
    """Refuse, before grading, a --json or --junit file that cannot be written."""
    if path is None:
        return
    if path.is_dir():
        raise UsageError(_("cannot write {path}: it is a folder").format(path=path))
    if not path.parent.is_dir():
        raise UsageError(_("cannot write {path}: folder {folder} does not exist").format(
            path=path, folder=path.parent))
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise UsageError(_("cannot write {path}: permission denied").format(path=path))


def check_logs_folder(path):
    """Refuse, before grading, a --logs folder that cannot be created or written."""
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(_("cannot write logs into {path}: {existing} is not a folder").format(
            path=path, existing=existing))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(_("cannot write logs into {path}: {existing} is not writable").format(
            path=path, existing=existing))


def clear_old_logs(logs_dir: Path, labs) -> None:
    """The logs of an earlier run would pass for this one's: each lab graded now
    starts with an empty grade-logs/LAB/ (the other labs' logs stay)."""
    for lab in labs:
        shutil.rmtree(logs_dir / lab, ignore_errors=True)


def grade(args) -> int:
    labs = selected_labs(args.lab)
    submission = (args.submission or kit.KIT_ROOT).resolve()
    if not submission.is_dir():
        raise UsageError(_("submission folder {submission} does not exist").format(
            submission=submission))
    for path in (args.json, args.junit, args.github_summary, args.github_output,
                 args.prairielearn, args.profile):
        check_output_path(path)
    seed = args.seed if args.seed is not None else random.randrange(1, 1 << 31)
    logs_dir = (args.logs or kit.KIT_ROOT / "grade-logs").resolve()
    check_logs_folder(logs_dir)

    clear_old_logs(logs_dir, labs)
    profile.current.enabled = args.profile is not None
    profile.current.begin("", "(around the tests)")
    containment = sandbox.choose()
    procs.become_subreaper()
    started = time.monotonic()
    load = timing.GradingLoad()
    started_at = time.time() - 1  # for the sweep: a file's ctime has coarse ticks
    watchdog = sandbox.Watchdog().start()
    scratch = Path(tempfile.mkdtemp(prefix="forklab-grade-", dir=sandbox.scratch_parent()))
    try:
        os.chmod(scratch, 0o755)
        kit.copy_kit(scratch)
        missing = kit.take_student_files(submission, scratch)
        plugin = GradePlugin(scratch=scratch, missing=missing, seed=seed, logs_dir=logs_dir,
                             quiet=args.quiet, watchdog=watchdog)
        print(_("forklab grader: {submission} (seed {seed}, timeouts x{scale})").format(
            submission=submission, seed=seed, scale=f"{scale():g}"), flush=True)
        print(f"{sandbox.describe_limits()}\n{sandbox.describe()}\n", flush=True)
        given = kit.given_kit_objects()
        sandbox.confine(scratch, readonly=[given] if given else [])
        modules = [str(TESTS_DIR / f"test_{lab}.py") for lab in labs]
        code = pytest.main(["-c", str(GRADER_DIR / "pytest.ini"), "--rootdir", str(TESTS_DIR),
                            "-p", "no:cacheprovider", "-p", "no:terminal", "-s",
                            "--assert=plain", *modules],
                           plugins=[plugin])
        left = procs.end_all()
        swept = sandbox.sweep_shared_tmp(started_at)
        if swept:
            print(f"sandbox: removed what student programs left behind: {', '.join(swept)}",
                  flush=True)
        if code == pytest.ExitCode.INTERRUPTED:
            # pytest caught the Ctrl-C (or SIGTERM, see on_terminate) and
            # stopped: only the tests before it have results.
            raise KeyboardInterrupt
        if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) \
                and not plugin.internal_errors:
            # INTERNAL_ERROR: a hook raised (pytest printed INTERNALERROR lines).
            # NO_TESTS_COLLECTED only follows a collection error, reported already.
            plugin.internal_errors.append(
                _("grading stopped early (pytest exit status {code}): the results are "
                  "incomplete, no score").format(code=int(code)))
        if plugin.internal_errors or left:
            for error in plugin.internal_errors:
                print(_("grade: internal error: {error}").format(error=error), file=sys.stderr)
            if left:
                print(_("grade: internal error: processes left behind: {left}").format(left=left),
                      file=sys.stderr)
            return 3
        elapsed = time.monotonic() - started
        profile.current.end()
        if args.profile:
            profile.current.write(args.profile, elapsed)
            print(profile.current.table(elapsed))
        machine = load.report(confirmed=sum(r.runs > 1 for r in plugin.results))
        grading = Grading.from_scoring(plugin.results, seed=seed, seconds=elapsed,
                                       missing=missing,
                                       sandbox=dict(containment.as_json(), removed=swept),
                                       load=machine)
        write_outputs(args, grading)
        got, total = grading.score, grading.max_score
        print(describe_load(machine))
        print(_("Score: {got}/{total}  ({seconds} s)").format(
            got=got, total=total, seconds=f"{elapsed:.1f}"))
        if got < total:
            failed = len(grading.failed)
            skipped = sum(lab.not_run for lab in grading.labs)
            print(_("{failed} failed, {skipped} not run; logs of the failures are in {logs}")
                  .format(failed=failed, skipped=skipped, logs=logs_dir))
            print(_("Replay these inputs with: grader/grade --seed {seed}").format(seed=seed))
        return 0 if got == total else 1
    finally:
        watchdog.stop()
        procs.end_all()
        sandbox.sweep_shared_tmp(started_at)
        if args.keep:
            print(_("scratch folder kept: {scratch}").format(scratch=scratch))
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def describe_load(machine: dict) -> str:
    """One line on how busy the machine was while it graded."""
    line = _("machine: some task waited for a CPU {share} of the time; load average {before} "
             "-> {after} on {cores} cores").format(
                 share=f"{machine['cpu_pressure']:.0%}", before=machine["load_average"][0],
                 after=machine["load_average"][1], cores=machine["cores"])
    if machine["confirmed_by_second_run"]:
        line += "; " + _("{count} test(s) failed at a deadline while the machine was busy and "
                         "were run a second time").format(count=machine["confirmed_by_second_run"])
    return line


def write_outputs(args, grading) -> None:
    """Every file asked for, each a rendering of the same grading."""
    if args.json:
        results = report.gradescope_json(grading)
        results["extra_data"]["language"] = i18n.language()
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.junit:
        suites = report.junit_xml(grading)
        for suite in suites:
            properties = ET.Element("properties")
            properties.append(ET.Element("property", name="language", value=i18n.language()))
            suite.insert(0, properties)
        ET.indent(suites)
        ET.ElementTree(suites).write(args.junit, encoding="unicode", xml_declaration=True)
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
        print(_("grade: internal error: could not collect the tests"), file=sys.stderr)
        return 3
    for lab in labs:
        mine = [(title, points) for item_lab, title, points in plugin.items if item_lab == lab]
        print(_("{lab}: {points} points").format(
            lab=lab, points=sum(points for _title, points in mine)))
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
        from grader.harness.scoring import title_of
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
    requested = i18n.language_from_argv(sys.argv[1:] if argv is None else argv)
    i18n.setup(requested if requested in i18n.LANGUAGES else i18n.language_from_environment())
    args = parse_args(argv)
    # The language chosen, for this process and the graders --batch starts.
    os.environ[i18n.ENVIRONMENT] = i18n.setup(args.lang)
    for signo in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signo) != signal.SIG_IGN:  # under nohup, SIGHUP stays ignored
            signal.signal(signo, on_terminate)
    try:
        if args.list:
            return list_tests(selected_labs(args.lab))
        shards.check_options(args)
        if args.merge is not None:
            return shards.merge(args)
        class_report.check_options(args)
        batch.check_options(args)
        if args.batch is not None:
            single = (args.json, args.junit, args.github_summary, args.github_output,
                      args.prairielearn, args.profile)
            if args.submission is not None or any(single) or args.annotations:
                raise UsageError(_("--batch does not combine with --submission or the options "
                                   "that write one grading's results (--json, --junit, "
                                   "--github-*, --annotations, --prairielearn, --profile)"))
            labs = selected_labs(args.lab)
            return batch.run_batch(args, labs)
        return grade(args)
    except UsageError as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if stopped_by is not None:
            print(_("grade: stopped by {signal}; no score").format(
                signal=signal.Signals(stopped_by).name), file=sys.stderr)
            return 128 + stopped_by
        print(_("grade: interrupted; no score"), file=sys.stderr)
        return 130
    except Exception:  # a bug of the grader's: 3, not the 1 of "not full marks"
        traceback.print_exc()
        print(_("grade: internal error: the grader failed (traceback above); no score"),
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
