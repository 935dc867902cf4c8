"""A student's outcome in a batch (batch.py, which offers these names too):
the Outcome of one submission, and how it is read from its worker's
results.json and grade.txt -- each failed test's cause and hint, whether it
ran, whether it names one of its lab's own stubs, and which earlier failed
test of its lab had the same cause (read_results).
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.harness.scoring import translated
from grader.i18n import _


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
    # Every graded test, in the order graded, as a dict (plain JSON: shards.py
    # keeps outcomes in batch.json): lab, title, status (passed | failed |
    # not run), points, max_points; a failed test also has cause (the
    # grader's diagnosis, "" if none), same_cause_as (the earlier failed test
    # of its lab with the same cause, "" if none), hint, and stub (it names
    # one of its own lab's stubs: "lab02: main is not implemented yet").
    tests: list = field(default_factory=list)
    lab_max: dict = field(default_factory=dict)  # lab -> its maximum points
    not_started: list = field(default_factory=list)  # labs not started (not_started())


# ------------------------------------------------ what each failed test says
#
# results.json (Gradescope's format) holds a failed test's cause and hint only
# in its output text, in the grader's language (the workers speak the
# batch's), and not which earlier test had the same cause: grade.txt's FAIL
# lines say that ("(the same cause as '...')").

def _prefixes(message: str) -> tuple:
    """A message of the grader, in English and in the language spoken."""
    return tuple(dict.fromkeys((message, _(message))))


def is_not_run(output: str) -> bool:
    """A test that did not run (results.json calls it failed)."""
    needs = _("not run: it needs '{required}', which did not pass").split("{")[0]
    return output.startswith(_prefixes("not run") + (needs,))


def cause_in(output: str) -> str:
    """The cause a failed test's output names first ("cause: ..."), or ""."""
    for prefix in _prefixes("cause: "):
        if output.startswith(prefix):
            return output[len(prefix):].split("\n", 1)[0].strip()
    return ""


def hint_in(output: str) -> str:
    """A failed test's hint: the last part of its output ("hint: ..."), or ""."""
    for prefix in _prefixes("hint: "):
        if output.startswith(prefix):
            return output[len(prefix):].strip()
        at = output.rfind("\n" + prefix)
        if at >= 0:
            return output[at + 1 + len(prefix):].strip()
    return ""


# "lab02: main is not implemented yet", "lab04: serve_client (from lab03) is
# not implemented yet": the line a stub of the handout prints (labNN/todo.h).
STUB_SAYS = re.compile(r"\b(lab\d+): [^\n]*? is not implemented yet")


def names_own_stub(text: str, lab: str) -> bool:
    """The text quotes a stub of this lab (lab02_single: "lab02: ...")."""
    prefix = lab.split("_")[0]
    return any(found.group(1) == prefix for found in STUB_SAYS.finditer(text))


# A result line of grade.txt: "  FAIL   0/1    0.05s  title[  (the same cause as '...')]"
RESULT_LINE = re.compile(r"^  (\S+)\s+\d+/\d+\s+[\d.]+s  (.*)$")


def same_cause_marks(transcript: str) -> list:
    """For each FAIL line of a grade.txt, in order: the title (as printed)
    of the earlier test it names as having the same cause, or ""."""
    before, _title, after = _("(the same cause as '{title}')").partition("{title}")
    fail, marks = _("FAIL"), []
    for line in transcript.splitlines():
        found = RESULT_LINE.match(line)
        if found is None or found.group(1) != fail:
            continue
        text, first = found.group(2).rstrip(), ""
        at = text.rfind("  " + before)
        if at >= 0 and text.endswith(after):
            first = text[at + 2 + len(before):len(text) - len(after)]
        marks.append(first)
    return marks


def mark_cascades(tests: list, transcript: str) -> None:
    """Set same_cause_as of the failed tests from grade.txt's FAIL lines
    (which follow results.json's failed tests, in order); nothing when the
    two do not match one to one."""
    failed = [t for t in tests if t["status"] == "failed"]
    marks = same_cause_marks(transcript)
    if len(marks) != len(failed):
        return
    for i, (test, mark) in enumerate(zip(failed, marks)):
        if not mark:
            continue
        earlier = [t["title"] for t in failed[:i] if t["lab"] == test["lab"]]
        test["same_cause_as"] = next((title for title in earlier
                                      if mark in (title, translated(title))), mark)


def read_results(path: Path, outcome: Outcome, transcript: str = "") -> None:
    """Fill outcome in from a worker's results.json (and its grade.txt, for
    the failures with the same cause as an earlier one).  Raises OSError,
    ValueError, LookupError, TypeError or AttributeError when the file is
    unreadable, e.g. half written by a worker killed at its timeout."""
    data = json.loads(path.read_text())
    score, max_score = data["score"], data["extra_data"]["max_score"]
    labs = {lab: v["score"] for lab, v in data["extra_data"]["labs"].items()}
    lab_max = {lab: v["max_score"] for lab, v in data["extra_data"]["labs"].items()}
    failed, not_run, tests = [], 0, []
    for test in data["tests"]:
        lab, title = test["name"].split(": ", 1)
        record = {"lab": lab, "title": title, "status": "passed", "points": test["score"],
                  "max_points": test["max_score"]}
        tests.append(record)
        if test["status"] == "passed":
            continue
        output = test["output"]
        if is_not_run(output):
            not_run += 1
            record["status"] = "not run"
        else:
            failed.append(test["name"])
            record.update(status="failed", cause=cause_in(output), same_cause_as="",
                          hint=hint_in(output), stub=names_own_stub(output, lab))
    mark_cascades(tests, transcript)
    outcome.score, outcome.max_score, outcome.labs = score, max_score, labs
    outcome.failed, outcome.not_run = failed, not_run
    outcome.tests, outcome.lab_max = tests, lab_max
    load = data["extra_data"].get("load")
    if load is not None:
        outcome.cpu_pressure = float(load["cpu_pressure"])
