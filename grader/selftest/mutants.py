"""The catalogue of buggy solutions (grader/mutants/), read and applied.

A .mutant file describes one classic mistake as an edit of a lab's reference
student file; the format is documented in grader/README.md.  The beginners'
catalogue (grader/beginners/) uses the same format, with two more keys:
`first:` words the grader's first message must contain (one line each) and
`independent:` the most failures with a cause of their own it may report.  `python3
grader/selftest/mutants.py --table` prints the catalogue as the Markdown
table kept in grader/README.md.
"""

import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

GRADER_DIR = Path(__file__).resolve().parents[1]
KIT_ROOT = GRADER_DIR.parent
MUTANTS_DIR = GRADER_DIR / "mutants"
BEGINNERS_DIR = GRADER_DIR / "beginners"
sys.path.insert(0, str(GRADER_DIR))

from harness import kit  # noqa: E402


class MutantError(Exception):
    pass


@dataclass
class Mutant:
    path: Path
    mistake: str = ""
    file: str = ""
    grade: list = field(default_factory=list)
    fails: list = field(default_factory=list)
    edits: list = field(default_factory=list)  # (old, new)
    first: list = field(default_factory=list)  # words the first message must contain
    independent: int = None  # the most failures with a cause of their own

    @property
    def name(self) -> str:
        return f"{self.path.parent.name}/{self.path.stem}"


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
            match = re.fullmatch(r"(mistake|file|grade|fails|first|independent):\s*(.+)",
                                 marker)
            if match is None:
                raise MutantError(f"{where}: expected 'key: value', got {marker!r}")
            key, value = match.groups()
            if key in ("fails", "first"):
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
    if not mutant.mistake or not mutant.file or not mutant.edits:
        raise MutantError(f"{path}: needs 'mistake:', 'file:' and at least one edit")
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
        fails = "<br>".join(f.split(": ", 1)[1] if ": " in f else f for f in m.fails)
        rows.append(f"| `{m.name}` | {m.mistake} | {fails} |")
    return "\n".join(rows) + "\n"


README = GRADER_DIR / "README.md"
TABLE_START, TABLE_END = "<!-- catalogue -->\n", "<!-- /catalogue -->"


def update_readme() -> None:
    """Put the current table between the catalogue comments of grader/README.md."""
    text = README.read_text()
    head, rest = text.split(TABLE_START, 1)
    _old, tail = rest.split(TABLE_END, 1)
    README.write_text(head + TABLE_START + markdown_table(catalogue()) + TABLE_END + tail)


if __name__ == "__main__":
    if sys.argv[1:] == ["--table"]:
        print(markdown_table(catalogue()), end="")
    elif sys.argv[1:] == ["--update-readme"]:
        update_readme()
    else:
        print("usage: mutants.py --table | --update-readme", file=sys.stderr)
        sys.exit(2)
