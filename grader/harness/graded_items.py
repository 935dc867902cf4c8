"""What a graded test declares, and what it tells the grader as it runs.

A test function becomes a graded item with @graded (points, hint, the tests
it requires, its deadline); its title is its docstring's first line
(title_of), what it does the second paragraph (description_of); its module
may say things in the lab's own words (LabWords), and titles and hints are
shown translated (translated).  While it runs, a test may note something
that costs no points (note), replace its hint (replace_hint) or name a cause
it observed itself (observed_cause); the grading plugin (harness/scoring.py,
which offers these names too) reads and clears them around each test.
"""

import inspect
from dataclasses import dataclass

from grader.i18n import _


@dataclass(frozen=True)
class GradeInfo:
    points: int
    hint: str
    requires: tuple
    timeout: float


# A test's own time limit, in seconds (scaled): a backstop only.  The waits
# inside a test end on their own when nothing progresses (timing.py); a
# test that moves megabytes sets a limit above timing.CEILING_SECONDS.
DEFAULT_TIMEOUT = 60


def graded(points: int, hint: str, *, requires=(), timeout: float = DEFAULT_TIMEOUT):
    """Mark a test function as a graded item."""
    if isinstance(requires, str):
        requires = (requires,)

    def mark(function):
        function.forklab_grade = GradeInfo(points, hint, tuple(requires), timeout)
        return function

    return mark


def title_of(function) -> str:
    doc = (function.__doc__ or function.__name__).strip()
    return doc.splitlines()[0].strip()


def description_of(function) -> str:
    """What the test does, in one line: its docstring's second paragraph
    ("" if it has none).  The lab READMEs' tables of graded tests show it."""
    paragraphs = inspect.cleandoc(function.__doc__ or "").split("\n\n")
    return " ".join(paragraphs[1].split()) if len(paragraphs) > 1 else ""


# Notes the current test made with note(), shown under its result line.
_notes = []
# A hint the current test chose instead of its own (replace_hint()).
_hint = []
# A cause the current test observed itself (observed_cause()): (key, text).
_cause = []


def note(text: str) -> None:
    """Tell the student something the test observed that costs no points,
    e.g. lab03's zombies, which lab04 will reap.  Shown even on PASS."""
    _notes.append(text)


def replace_hint(text: str) -> None:
    """Show `text` instead of the test's hint when it fails: the test saw
    that its usual hint's premise does not hold (the port was not taken...)."""
    _hint[:] = [text]


def observed_cause(key: str, text: str) -> None:
    """The test saw a cause the harness's diagnosis does not look for (a
    server that ends its children at once on SIGTERM): shown as "cause:"
    when no diagnosis finds one, and the failures of the lab with the same
    key are one cause."""
    _cause[:] = [(key, text)]


@dataclass(frozen=True)
class LabWords:
    """What a lab's test module says in its own words (all optional): HINTS,
    the hints of shared tests by title; DESCRIPTIONS, their one-line
    descriptions by title (its README's table); CAUSES, the kinds of causes
    its programs can show (harness/diagnose.py's KINDS; default: all);
    CAUSE_HINTS, its advice for a cause by kind."""
    hints: dict
    descriptions: dict
    causes: tuple
    cause_hints: dict

    @classmethod
    def of(cls, module) -> "LabWords":
        return cls(getattr(module, "HINTS", {}), getattr(module, "DESCRIPTIONS", {}),
                   getattr(module, "CAUSES", None), getattr(module, "CAUSE_HINTS", {}))


def translated(text: str) -> str:
    """A test's title or hint (or a diagnosis's hint) in the student's
    language: the graded modules' titles and hints are the .po's msgids
    (tools/check_translations.py checks them); results keep the English title."""
    return _(text)
