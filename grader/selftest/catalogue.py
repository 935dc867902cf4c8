"""The catalogue of buggy solutions (grader/mutants/) and of valid
alternatives (grader/alternatives/), read and applied.

A .mutant file describes one classic mistake as an edit of a lab's reference
student file; an .alt file, in the same format, one correct way to write it
that differs from the reference.  The beginners' catalogue (grader/beginners/)
uses the same format, with two more keys: `first:` words the grader's first
message must contain (one line each) and `independent:` the most failures with
a cause of their own it may report.  The format is documented in
grader/README.md.  `python3 -m grader.selftest.catalogue --table` (from the
kit's folder) prints the Markdown tables kept in grader/README.md: the
mutants, the graded tests with the mutants that fail them, and the
alternatives; `--update-readme` puts them there.
"""

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

GRADER_DIR = Path(__file__).resolve().parents[1]
KIT_ROOT = GRADER_DIR.parent
MUTANTS_DIR = GRADER_DIR / "mutants"
ALTERNATIVES_DIR = GRADER_DIR / "alternatives"

# The seed of the random inputs when the catalogue is graded: which tests a
# mutant fails may depend on the inputs (a server that answers only the first
# line of each read fails only the tests whose data hold a line break in
# mid-send), and `fails:` lists must hold on every run.
SEED = 2026

# Graded tests (by title) that no honest mutant fails, and why.  The
# selftest requires every other title to be failed by some mutant.
NO_HONEST_MUTANT = {
    # "the test's title": "why no honest mistake makes it fail",
}

BEGINNERS_DIR = GRADER_DIR / "beginners"

if __name__ == "__main__" and not __package__:  # run as a file: grader/ is no package then
    print("catalogue.py: run tools/python -m grader.selftest.catalogue from the kit's folder, "
          "not this file", file=sys.stderr)
    sys.exit(2)

from grader.harness import kit  # noqa: E402


class MutantError(Exception):
    pass


@dataclass
class Mutant:
    path: Path
    mistake: str = ""  # a mutant's mistake, or an alternative's description
    file: str = ""
    grade: list = field(default_factory=list)
    fails: list = field(default_factory=list)
    edits: list = field(default_factory=list)  # (old, new)
    first: list = field(default_factory=list)  # words the first message must contain
    independent: int = None  # the most failures with a cause of their own

    @property
    def name(self) -> str:
        return f"{self.path.parent.name}/{self.path.stem}"

    @property
    def is_alternative(self) -> bool:
        return self.path.suffix == ".alt"


def parse(path: Path) -> Mutant:
    mutant = Mutant(path)
    lines = path.read_text().splitlines(keepends=True)
    state, old, new = "header", [], []
    for number, line in enumerate(lines, start=1):
        where = f"{path.relative_to(GRADER_DIR)}:{number}"
        marker = line.rstrip("\n")
        if marker == "@@@ replace":
            if state != "header":
                raise MutantError(f"{where}: '@@@ replace' inside an edit")
            state, old, new = "old", [], []
        elif marker == "@@@ with":
            if state != "old":
                raise MutantError(f"{where}: '@@@ with' without '@@@ replace'")
            state = "new"
        elif marker == "@@@ end":
            if state != "new":
                raise MutantError(f"{where}: '@@@ end' without '@@@ with'")
            mutant.edits.append(("".join(old), "".join(new)))
            state = "header"
        elif state == "old":
            old.append(line)
        elif state == "new":
            new.append(line)
        elif marker.strip() and not marker.startswith("#"):
            match = re.fullmatch(
                r"(mistake|alternative|file|grade|fails|first|independent):\s*(.+)", marker)
            if match is None:
                raise MutantError(f"{where}: expected 'key: value', got {marker!r}")
            key, value = match.groups()
            if key != ("alternative" if mutant.is_alternative else "mistake") and \
                    key in ("mistake", "alternative"):
                raise MutantError(f"{where}: '{key}:' belongs in a "
                                  f"{'.mutant' if key == 'mistake' else '.alt'} file")
            if key == "alternative":
                mutant.mistake = value.strip()
            elif key in ("fails", "first"):
                getattr(mutant, key).append(value.strip())
            elif key == "independent":
                if not value.strip().isdigit():
                    raise MutantError(f"{where}: 'independent:' takes a number, got {value!r}")
                mutant.independent = int(value)
            elif key == "grade":
                mutant.grade = value.split()
            else:
                setattr(mutant, key, value.strip())
    if state != "header":
        raise MutantError(f"{path}: an edit is not closed with '@@@ end'")
    describe = "alternative" if mutant.is_alternative else "mistake"
    if not mutant.mistake or not mutant.file or not mutant.edits:
        raise MutantError(f"{path}: needs '{describe}:', 'file:' and at least one edit")
    if mutant.is_alternative and mutant.fails:
        raise MutantError(f"{path}: an alternative fails no test ('fails:' is for mutants)")
    if mutant.file not in kit.STUDENT_FILES:
        raise MutantError(f"{path}: {mutant.file} is not a student file")
    if not mutant.grade:
        mutant.grade = [mutant.file.split("/")[0]]
    unknown = [lab for lab in mutant.grade if lab not in kit.LABS]
    if unknown:
        raise MutantError(f"{path}: 'grade:' names no lab of the kit: {' '.join(unknown)}")
    return mutant


def catalogue(folder: Path = MUTANTS_DIR) -> list:
    return [parse(p) for p in sorted(folder.glob("*/*.mutant"))]


def alternatives() -> list:
    return [parse(p) for p in sorted(ALTERNATIVES_DIR.glob("*/*.alt"))]


def graded_tests() -> list:
    """(lab, title) of every graded test, in the order `grade --list` shows them."""
    argv, env = kit.grader_command()
    listing = subprocess.run([*argv, "--list"], stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=120, check=True, env=env)
    tests, lab = [], None
    for line in listing.stdout.splitlines():
        if not line.startswith(" "):
            lab = line.split(":", 1)[0]
        elif line.strip():
            tests.append((lab, line.split(maxsplit=1)[1]))
    return tests


def title_of(name: str) -> str:
    """'lab02_single: server starts' -> 'server starts'."""
    return name.split(": ", 1)[1] if ": " in name else name


def failing_mutants(mutants, tests) -> dict:
    """{title: [names of the mutants that fail a test of that title]}, in the
    order of tests; the same title in several labs is one row."""
    by_title = {title: [] for _lab, title in tests}
    for m in mutants:
        for name in m.fails:
            by_title.setdefault(title_of(name), []).append(m.name)
    return by_title


BUILDS = "builds (warnings are errors)"


def cover(mutants) -> list:
    """The short form of the catalogue that `make test` grades: few mutants
    that together fail every test title some mutant fails, each still checked
    to fail exactly its tests.  Chosen greedily (most titles not yet failed
    first, ties by name), so the same catalogue gives the same cover."""
    titles = {m.name: {title_of(name) for name in m.fails} for m in mutants}
    # A mutant that does not build fails every test only as "not run": it
    # may cover the build test, nothing else.
    titles = {name: ({BUILDS} if BUILDS in failed else failed) for name, failed in titles.items()}
    left = set().union(*titles.values()) if titles else set()
    chosen = []
    while left:
        best = max(sorted(titles), key=lambda name: len(titles[name] & left))
        chosen.append(best)
        left -= titles[best]
    return [m for m in mutants if m.name in chosen]


def reference_submission(submission: Path) -> None:
    """Write a submission folder holding the reference student files."""
    for rel in kit.STUDENT_FILES:
        source = KIT_ROOT / rel
        if source.is_file():
            (submission / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, submission / rel)


def apply(mutant: Mutant, submission: Path) -> None:
    """Write a submission folder: the reference student files, one of them mutated."""
    reference_submission(submission)
    target = submission / mutant.file
    text = target.read_text()
    for old, new in mutant.edits:
        count = text.count(old)
        if count != 1:
            raise MutantError(f"{mutant.name}: the text to replace occurs {count} times in "
                              f"{mutant.file} (must be exactly once):\n{old}")
        text = text.replace(old, new)
    target.write_text(text)


def markdown_table(mutants) -> str:
    rows = ["| mutant | the mistake | tests it fails |", "|---|---|---|"]
    for m in mutants:
        fails = "<br>".join(title_of(f) for f in m.fails)
        rows.append(f"| `{m.name}` | {m.mistake} | {fails} |")
    return "\n".join(rows) + "\n"


def coverage_table(mutants, tests) -> str:
    """Each graded test with the mutants that fail it (or why none does)."""
    labs = {}
    for lab, title in tests:
        labs.setdefault(title, []).append(lab.split("_")[0])
    rows = ["| graded test | labs | mutants that fail it |", "|---|---|---|"]
    for title, names in failing_mutants(mutants, tests).items():
        if names:
            failed_by = "<br>".join(f"`{n}`" for n in names)
        elif title in NO_HONEST_MUTANT:
            failed_by = f"none: {NO_HONEST_MUTANT[title]}"
        else:
            failed_by = "**none**"
        rows.append(f"| {title} | {' '.join(labs.get(title, []))} | {failed_by} |")
    return "\n".join(rows) + "\n"


def alternatives_table(alts) -> str:
    rows = ["| alternative | what it does differently |", "|---|---|"]
    rows += [f"| `{a.name}` | {a.mistake} |" for a in alts]
    return "\n".join(rows) + "\n"


def tables() -> str:
    """The three generated tables of grader/README.md, as they are kept there."""
    mutants = catalogue()
    return (markdown_table(mutants) + "\n" + coverage_table(mutants, graded_tests()) + "\n"
            + alternatives_table(alternatives()))


README = GRADER_DIR / "README.md"
TABLE_START, TABLE_END = "<!-- catalogue -->\n", "<!-- /catalogue -->"


def update_readme() -> None:
    """Put the current table between the catalogue comments of grader/README.md."""
    text = README.read_text()
    head, rest = text.split(TABLE_START, 1)
    _old, tail = rest.split(TABLE_END, 1)
    README.write_text(head + TABLE_START + tables() + TABLE_END + tail)


if __name__ == "__main__":
    if sys.argv[1:] == ["--table"]:
        print(tables(), end="")
    elif sys.argv[1:] == ["--update-readme"]:
        update_readme()
    else:
        asked = sys.argv[1:] in (["-h"], ["--help"])
        print("usage: tools/python -m grader.selftest.catalogue --table | --update-readme",
              file=sys.stdout if asked else sys.stderr)
        sys.exit(0 if asked else 2)
