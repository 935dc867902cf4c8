"""One grading's results: the model every platform's file is rendered from.

The plugin (scoring.py) collects a Result per test as it runs; at the end the
grader turns them into one Grading -- the tests in the order they ran, each
with its lab, title, points, status, observation, hint and log, and the totals
-- and report.py renders that same Grading as Gradescope's results.json, JUnit
XML, GitHub's job summary and annotations, and PrairieLearn's results.json.
A platform's file never recounts: its points are the Grading's.
"""

from dataclasses import dataclass

from grader.i18n import _


@dataclass(frozen=True)
class TestResult:
    lab: str
    number: str  # "4.3": the lab's place among the graded labs, then the test's
    title: str
    points: int
    max_points: int
    status: str  # passed | failed | not run
    observation: str  # what the test saw (failed), or why it did not run
    hint: str
    log: str  # the failed test's log file, "" when there is none
    seconds: float
    details: str  # what the student reads under the result line (see details_of)

    @property
    def name(self) -> str:
        return f"{self.lab}: {self.title}"


@dataclass(frozen=True)
class LabTotal:
    lab: str
    points: int
    max_points: int
    failed: int
    not_run: int


@dataclass(frozen=True)
class Grading:
    tests: tuple
    seed: int
    seconds: float
    # Student files that could not be taken from the submission: (path, why).
    problems: tuple = ()
    # How student code was contained (sandbox.Containment.as_json()), if known.
    sandbox: dict = None
    # How busy the machine was (timing.load_report()), if known.
    load: dict = None

    @property
    def score(self) -> int:
        return sum(t.points for t in self.tests)

    @property
    def max_score(self) -> int:
        return sum(t.max_points for t in self.tests)

    @property
    def labs(self) -> list:
        """One LabTotal per graded lab, in the order graded."""
        names = list(dict.fromkeys(t.lab for t in self.tests))
        totals = []
        for lab in names:
            mine = [t for t in self.tests if t.lab == lab]
            totals.append(LabTotal(lab, sum(t.points for t in mine),
                                   sum(t.max_points for t in mine),
                                   sum(t.status == "failed" for t in mine),
                                   sum(t.status == "not run" for t in mine)))
        return totals

    @property
    def failed(self) -> list:
        return [t for t in self.tests if t.status == "failed"]

    @classmethod
    def from_scoring(cls, results, *, seed: int, seconds: float, missing=None, sandbox=None,
                     load=None):
        """The Grading of the plugin's Results; missing: {student file: why}."""
        lab_index, counts, tests = {}, {}, []
        for r in results:
            lab_index.setdefault(r.lab, len(lab_index) + 1)
            counts[r.lab] = counts.get(r.lab, 0) + 1
            tests.append(TestResult(
                lab=r.lab, number=f"{lab_index[r.lab]}.{counts[r.lab]}", title=r.title,
                points=r.points, max_points=r.max_points, status=r.status,
                observation=r.observed, hint=r.hint, log=r.log, seconds=r.seconds,
                details=details_of(r)))
        return cls(tuple(tests), seed, seconds, tuple((missing or {}).items()), sandbox, load)


def details_of(r) -> str:
    """A Result's text for the student: its notes; unless it passed, what was
    observed and the programs' last output; if it failed, the hint."""
    notes = [_("note: ") + text for text in r.notes]
    if r.status == "passed":
        return "\n".join(notes)
    parts = ([_("cause: ") + r.cause] if getattr(r, "cause", "") else []) + [r.observed] + notes
    for name, tail in r.output_tails:
        parts.append(_("{name} said: ").format(name=name).rstrip() + "\n" + tail)
    if r.status == "failed":
        parts.append(_("hint: ") + r.hint)
    return "\n".join(parts)
