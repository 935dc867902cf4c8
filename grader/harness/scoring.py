"""The pytest plugin that turns test functions into graded items.

A graded test is a function with points, a title (its docstring's first
line), what it does (its docstring's second paragraph: one line of the lab
README's table of graded tests) and a hint for the student, optionally
depending on earlier tests of its lab:

    @graded(points=2, requires="server starts",
            hint="The parent must close connfd after fork(): ...")
    def test_parent_closes_connfd(server):
        \"\"\"the parent closes every accepted socket\"\"\"

A test whose requirement did not pass is reported as not run, with the
reason, instead of failing in its own way.  Every test has a deadline
(SIGALRM); a test that exceeds it fails with "did not finish within N s".
The plugin prints one line per test as it finishes and keeps the results
for the score table, results.json and JUnit XML (see report.py).
"""

import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.i18n import _

from . import diagnose, expect, kit, net, procs, profile, sandbox
from . import timing
from .timing import scaled
from _pytest.runner import runtestprotocol
# What a graded test declares and tells (graded_items.py), and how a test's
# outcome is worded (outcome_words.py): their names importable from here too.
from .graded_items import (  # noqa: F401
    DEFAULT_TIMEOUT, GradeInfo, LabWords, _cause, _hint, _notes, description_of, graded, note,
    observed_cause, replace_hint, title_of, translated)
from .outcome_words import (  # noqa: F401
    HINT_GRADER_ERROR, HINT_TIMED_OUT, LOG_STATUS, TestTimedOut, _exit_at_failure, _on_alarm,
    columns, describe_exception, indent, is_grader_error)


@dataclass
class Result:
    lab: str
    title: str
    max_points: int
    points: int = 0
    status: str = "passed"  # passed | failed | not run
    seconds: float = 0.0
    observed: str = ""
    hint: str = ""
    log: str = ""
    output_tails: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    cause: str = ""  # the diagnosis (harness/diagnose.py), shown first
    same_cause_as: str = ""  # an earlier failed test of the lab with the same cause
    # The share of the test's time some task of the machine waited for a CPU
    # (timing.LoadMeter), and the deadlines that passed in it.
    busy: float = 0.0
    deadlines: list = field(default_factory=list)
    timed_out: bool = False
    runs: int = 1  # 2 when a timing-type failure was confirmed by a second run
    # The grader's own traceback, when the test failed by a bug of the grader.
    grader_error: str = ""

    @property
    def timing_type(self) -> bool:
        """Failed because a deadline passed (no observation of a fault)."""
        return self.status == "failed" and (self.timed_out or bool(self.deadlines))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


class GradePlugin:
    """Registered with pytest.main(plugins=[...]) by forklab_grade.py."""

    __name__ = "forklab"  # pytest registers the plugin under this name

    def __init__(self, *, scratch: Path, missing: dict, seed: int, logs_dir: Path,
                 quiet: bool = False, stream=None, watchdog=None):
        self.scratch = scratch
        self.watchdog = watchdog
        self.missing = missing
        self.seed = seed
        self.logs_dir = logs_dir
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.results = []
        self.internal_errors = []
        self._builds = {}
        self._outcomes = {}
        self._phases = {}
        self._current_lab = None
        self._causes = {}  # (lab, diagnosis key) -> title of the first test it failed
        self._reporter_built = False
        self._last_skip = None  # the reason of the not-run test printed last
        self._attempt = 1
        self._finished = None  # the Result of the test's last run, not yet recorded
        self.load = timing.LoadMeter()

    # ------------------------------------------------------------ services

    def build(self, lab_name: str) -> kit.BuildResult:
        """Build a lab once per grading run."""
        if lab_name not in self._builds:
            self._builds[lab_name] = kit.build_lab(self.scratch, kit.LABS[lab_name],
                                                   self.missing)
        return self._builds[lab_name]

    def build_unit_tests(self, lab_name: str, target: str) -> kit.BuildResult:
        """Build a lab's unit-test binary (`target`, in the lab folder) once per
        grading run, after its program."""
        key = (lab_name, target)
        if key not in self._builds:
            self._builds[key] = kit.build_lab(self.scratch, kit.LABS[lab_name], self.missing,
                                              target=target)
        return self._builds[key]

    def lab_dir(self, lab_name: str) -> Path:
        return self.scratch / lab_name

    def test_log_dir(self, item) -> Path:
        run = slug(title_of(item.function)) + (f"-run{self._attempt}" if self._attempt > 1 else "")
        return self.scratch / "runs" / item.module.LAB / run

    def print(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    # --------------------------------------------------------- pytest hooks

    def pytest_collectreport(self, report):
        if report.failed:
            self.internal_errors.append(f"{report.nodeid}: {report.longreprtext}")

    def pytest_collection_modifyitems(self, items):
        for item in items:
            if getattr(item.function, "forklab_grade", None) is None:
                self.internal_errors.append(f"{item.nodeid} is not marked @graded")
            if not hasattr(item.module, "LAB"):
                self.internal_errors.append(f"{item.module.__name__} does not set LAB")
        if self.internal_errors:
            items[:] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item, nextitem):
        """Run the test; a timing-type failure on a busy machine is run once
        more (same seed, fresh programs) before it costs points."""
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        # Each test, set-up, clean-up and second run included, is one row of the profile.
        profile.current.end()
        profile.current.begin(item.module.LAB, title_of(item.function))
        self._attempt = 1
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        result = self._finished
        if result is not None and result.timing_type and result.busy > timing.BUSY_SHARE:
            first = result
            self._attempt = 2
            # The first run's causes go with it: only the second run's verdict counts.
            self._causes = {k: v for k, v in self._causes.items()
                            if (k[0], v) != (first.lab, first.title)}
            item._initrequest()  # fresh function fixtures: a new server, the same inputs
            reports = runtestprotocol(item, nextitem=nextitem, log=False)
            result = self._finished
            result.runs = 2
            if result.status == "passed":
                result.notes.insert(0, _(
                    "passed on a second run: the first run failed when a deadline passed while "
                    "the machine was busy (some task waited for a CPU {share} of the time): "
                    "{observed}").format(share=f"{first.busy:.0%}", observed=first.observed))
            else:
                result.observed += "\n" + _("(failed on a second run too; the first run said: "
                                            "{observed})").format(observed=first.observed)
        for report in reports:
            item.ihook.pytest_runtest_logreport(report=report)
        self._finished = None
        self._record(result)
        profile.current.end()
        profile.current.begin("", "(around the tests)")
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        lab = item.module.LAB
        if lab != self._current_lab:
            self._end_lab()
            self._current_lab = lab
            title = kit.LABS[lab].title  # translated where the .po has it
            self.print(_("== {lab}: {title} ==").format(lab=lab, title=_(title)))
        if not self._reporter_built:
            self._reporter_built = True
            procs.build_crash_reporter(self.scratch / "grader-support",
                                       _safely(kit.prebuilt_objects))
        procs.started_in_this_test.clear()
        net.sent_in_this_test.clear()
        timing.deadlines_passed.clear()
        expect.observations.clear()
        _notes.clear()
        _hint.clear()
        _cause.clear()
        if self.watchdog is not None:
            self.watchdog.reset()
        self._phases[item.nodeid] = {"start": time.monotonic(), "load": timing.LoadMeter()}
        for required in item.function.forklab_grade.requires:
            status = self._outcomes.get((lab, required))
            if status != "passed":
                pytest.skip(_("not run: it needs '{required}', which did not pass").format(
                    required=_(required)))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        limit = scaled(item.function.forklab_grade.timeout)
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        phases = self._phases.setdefault(item.nodeid, {"start": time.monotonic(),
                                                       "load": timing.LoadMeter()})
        if call.when != "teardown":
            phases["programs"] = list(procs.started_in_this_test)
        if report.failed or report.skipped:
            if "problem" not in phases:
                phases["problem"] = (call.when, report.outcome, call.excinfo)
                phases["deadlines"] = list(timing.deadlines_passed)
                # Capture the programs' output and state now, before clean-up ends them.
                phases["tails"] = [(p, p.tail()) for p in procs.started_in_this_test]
                phases["exits"] = {p.pid: _exit_at_failure(p) for p in procs.started_in_this_test}
                if report.failed:
                    phases["observation"] = _safely(
                        diagnose.observe, procs.started_in_this_test, net.sent_in_this_test,
                        bool(expect.observations.get("no_reply")
                             and not expect.observations.get("some_reply")),
                        bool(timing.deadlines_passed))
        if call.when == "teardown":
            # Popped: a kept traceback would keep the failed test's frames --
            # its sockets, pipes and programs -- alive until the run ends.
            self._finish(item, self._phases.pop(item.nodeid))

    def pytest_sessionfinish(self):
        self._end_lab()

    # ------------------------------------------------------------ reporting

    def _finish(self, item, phases) -> None:
        info = item.function.forklab_grade
        title = title_of(item.function)
        words = LabWords.of(item.module)
        result = Result(lab=item.module.LAB, title=title, max_points=info.points,
                        hint=translated(words.hints.get(title, info.hint)),
                        seconds=time.monotonic() - phases["start"], notes=list(_notes),
                        busy=phases["load"].share(), deadlines=phases.get("deadlines", []))
        problem = phases.get("problem")
        if self.watchdog is not None and self.watchdog.tripped:
            result.status = "failed"
            result.observed = _("your program created more than {count} processes (a fork "
                                "bomb? a child that goes on forking?); the grader ended all "
                                "of them").format(count=sandbox.MAX_PROCESSES)
            if problem is not None and problem[2] is not None:
                result.observed += "\n" + _("then: {what}").format(
                    what=describe_exception(problem[2]))
            self._diagnose(result, phases.get("observation"), words)
            result.log = str(self._write_log(result, phases.get("tails", []),
                                             phases.get("exits", {})))
        elif problem is None:
            crashed = _safely(diagnose.crashes_during, phases.get("programs", []), words.causes,
                              words.cause_hints)
            if crashed is None:
                result.points = info.points
            else:
                # The checks passed, but a process of the program crashed:
                # a crash is a failure, however the test's checks went.
                result.status = "failed"
                result.observed = _("every check of this test passed, but a process of your "
                                    "program crashed during it")
                self._use_diagnosis(result, crashed)
                result.log = str(self._write_log(result, [], {}))
        else:
            when, outcome, excinfo = problem
            if outcome == "skipped":
                result.status = "not run"
                result.observed = describe_exception(excinfo) if excinfo else _("not run")
            else:
                result.status = "failed"
                if excinfo is not None and isinstance(excinfo.value, TestTimedOut):
                    result.timed_out = True
                    result.hint = translated(HINT_TIMED_OUT)
                    result.observed = _("did not finish within {seconds} s (the program may "
                                        "be stuck, or waiting for input that never comes)"
                                        ).format(seconds=f"{scaled(info.timeout):.0f}")
                    if result.deadlines:
                        result.observed += "\n" + _("before that: {what}").format(
                            what=result.deadlines[-1])
                elif excinfo is not None and is_grader_error(excinfo):
                    result.grader_error = str(excinfo.getrepr(style="short"))
                    result.hint = translated(HINT_GRADER_ERROR)
                    result.observed = _("the grader itself failed during this test -- its own "
                                        "error, not your program's ({error}); the instructor "
                                        "has the details in the log").format(
                                            error=type(excinfo.value).__name__)
                else:
                    result.observed = describe_exception(excinfo) if excinfo else outcome
                if when == "teardown":
                    result.observed = _("during clean-up: {what}").format(what=result.observed)
                self._diagnose(result, phases.get("observation"), words)
            result.output_tails = [(p.name, tail) for p, tail in phases.get("tails", [])
                                   if tail.strip()]
            if result.status == "failed":
                result.log = str(self._write_log(result, phases.get("tails", []),
                                                 phases.get("exits", {})))
        for program in phases.get("programs", []):
            procs.trim_log(program.log_path)
        self._finished = result

    def _record(self, result: Result) -> None:
        if result.grader_error:
            self.internal_errors.append(_("the grader failed in '{lab}: {title}' (its log: {log})"
                                          ).format(lab=result.lab, title=result.title,
                                                   log=result.log))
        self._outcomes[(result.lab, result.title)] = result.status
        self.results.append(result)
        self._print_result(result)

    def _diagnose(self, result: Result, observation, words: "LabWords") -> None:
        """Name the cause first, among the causes the lab can have; the same
        cause as an earlier failure of the lab is said once (the later test
        points back to it)."""
        if _hint:
            result.hint = translated(_hint[0])
        found = _safely(diagnose.diagnose, observation, words.causes, words.cause_hints)
        if found is None and _cause:
            found = diagnose.Diagnosis(_cause[0][0], _cause[0][1], "")
        if found is not None:
            self._use_diagnosis(result, found)

    def _use_diagnosis(self, result: Result, found) -> None:
        result.cause = found.text
        if found.hint:
            result.hint = translated(found.hint)
        first = self._causes.setdefault((result.lab, found.key), result.title)
        if first != result.title:
            result.same_cause_as = first

    def _write_log(self, result: Result, tails, exits=None) -> Path:
        path = self.logs_dir / result.lab / f"{slug(result.title)}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        template = LOG_STATUS[result.status]
        status = _(template).format(points=result.points, max_points=result.max_points)
        parts = [_("test:     {lab}: {title}").format(lab=result.lab,
                                                      title=translated(result.title)),
                 status, _("seed:     {seed}").format(seed=self.seed), ""]
        if result.cause:
            parts += [_("cause:"), result.cause, ""]
        parts += [_("observed:"), result.observed, "", _("hint: {hint}").format(hint=result.hint)]
        if result.grader_error:
            parts += ["", _("--- the grader's own error (report it to the kit's maintainers) ---"),
                      result.grader_error]
        for program, _tail in tails:
            ended = (exits or {}).get(program.pid) or program.describe_exit()
            parts += ["", _("--- output of {name} (pid {pid}: {command}; it {ended}) ---").format(
                          name=program.name, pid=program.pid,
                          command=" ".join(map(str, program.argv)), ended=ended),
                      procs.capped_output(program.log_path)]
        path.write_text("\n".join(parts) + "\n", errors="replace")
        return path

    def _print_result(self, r: Result) -> None:
        if self.quiet and r.status == "passed" and not r.notes:
            return
        label = {"passed": _("PASS"), "failed": _("FAIL"), "not run": _("SKIP")}[r.status]
        line = (f"  {label}  {r.points:>2}/{r.max_points:<2} {r.seconds:6.2f}s  "
                f"{translated(r.title)}")
        if r.status == "failed" and r.same_cause_as:
            line += "  " + _("(the same cause as '{title}')").format(
                title=translated(r.same_cause_as))
        if r.status == "not run":
            needs = _("not run: it needs '{required}', which did not pass").split("{")[0]
            same = r.observed == self._last_skip and r.observed.startswith(needs)
            line += "  " + (_("(not run: the same reason)") if same
                            else _("({why})").format(why=r.observed))
            self._last_skip = r.observed
        else:
            self._last_skip = None
        self.print(line)
        for text in r.notes:
            self.print(indent(text, _("note: ")))
        if r.status == "failed" and not r.same_cause_as:
            if r.cause:
                self.print(indent(r.cause, _("cause: ")))
            self.print(indent(r.observed, _("observed: ")))
            for name, tail in r.output_tails:
                self.print(indent(tail, _("{name} said: ").format(name=name)))
            self.print(indent(r.hint, _("hint: ")))
            if r.log:
                self.print(indent(r.log, _("log: ")))

    def _end_lab(self) -> None:
        if self._current_lab is None:
            return
        mine = [r for r in self.results if r.lab == self._current_lab]
        got = sum(r.points for r in mine)
        total = sum(r.max_points for r in mine)
        for first in dict.fromkeys(r.same_cause_as for r in mine if r.same_cause_as):
            more = sum(r.same_cause_as == first for r in mine)
            self.print("  " + _("{count} more test(s) failed the same way as '{title}': "
                                "fix that first").format(count=more, title=_(first)))
        self.print("  " + _("{lab}: {got}/{total}").format(lab=self._current_lab, got=got,
                                                        total=total))
        self.print()
        self._current_lab = None


def _safely(function, *args):
    """function(*args), or None if it fails: a diagnosis is a help, and
    never the reason a grading stops."""
    try:
        return function(*args)
    except Exception:  # noqa: BLE001
        return None
