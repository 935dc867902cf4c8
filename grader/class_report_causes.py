"""The causes of the class report (class_report.py): the causes the grader
named, grouped over the class for triage.  Two students' failures have one
cause when its text is the same but for the program's last output, the names
it quotes and its numbers (cause_key); a test failed with the same cause as
an earlier one of its lab (a cascade) counts under that cause (class_causes).
"""

import re

from grader.i18n import _


def _template(message: str) -> re.Pattern:
    """A regex of a message of the grader's, in the language spoken: its
    placeholders match any text (the last one, the rest of the line)."""
    parts = re.split(r"{[^{}]*}", _(message))
    return re.compile(".+?".join(re.escape(part) for part in parts[:-1]) + ".*"
                      + re.escape(parts[-1]))


QUOTED = re.compile(r"(?<!\w)'[^'\n]*'(?!\w)|`[^`\n]*`|\u201c[^\u201d\n]*\u201d")


def cause_key(cause: str) -> str:
    """What makes the causes of two students' failures one: the cause's text
    without the program's last output, the names it quotes and its numbers
    (pids, ports, lines).  "the server (pid 412) died of SIGSEGV -- ... -- at
    server.cpp:88 in serve_client" is "the server (pid #) died of SIGSEGV --
    ... -- at server.cpp:# in serve_client" for every student."""
    cause = QUOTED.sub("'\u2026'", without_said(cause))
    return " ".join(re.sub(r"\d+", "#", cause).split())


def without_said(cause: str) -> str:
    """A cause without the last output of the program it names."""
    said = _template("; the {name}'s output ended with: {tail}").search(cause)
    return cause[:said.start()] if said else cause


class Cause:
    """One cause named over the class: its failures (student, test), the
    cascades among them, and its first occurrence's text and hint."""

    def __init__(self, key, example, hint, where):
        self.key, self.example, self.hint, self.where = key, without_said(example), hint, where
        self.students, self.tests, self.cascades, self.labs = [], 0, 0, []

    def add(self, student, test) -> None:
        if student not in self.students:
            self.students.append(student)
        if test["lab"] not in self.labs:
            self.labs.append(test["lab"])
        self.tests += 1
        self.cascades += bool(test.get("same_cause_as"))


def class_causes(students) -> list:
    """The causes of the failed tests of the labs started, most students
    first; the failures with no cause named are the last, key ""."""
    causes = {}
    for s in students:
        keys = {}  # (lab, title) -> key, for the cascades
        for t in s.failed(started_only=True):
            first = t.get("same_cause_as")
            key = keys.get((t["lab"], first)) if first else None
            if key is None:
                key = cause_key(t.get("cause", ""))
            keys[(t["lab"], t["title"])] = key
            if key not in causes:
                causes[key] = Cause(key, t.get("cause", ""), t.get("hint", ""),
                                    f"{s.name}, {t['lab']}: {t['title']}")
            causes[key].add(s.name, t)
    return sorted(causes.values(), key=lambda c: (c.key == "", -len(c.students), -c.tests,
                                                 c.key))
