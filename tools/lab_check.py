"""Everything one lab needs, checked in one run.

    python3 -m tools.lab_check LAB        (from the kit's folder; make lab-check LAB=LAB)

Lists every missing piece of the lab at once, each line naming the file to
write or the command that fixes it, and exits 1 if there is any (0 when the
lab is complete).  What a lab needs is what ARCHITECTURE.md's "Adding a lab"
explains; the checks are the kit's own, called here for one lab:

- its line in labs.txt, and its title's Chinese in the grader's catalogue
  (tools/check_translations.py);
- its folder: README.md and README.zh.md with their required sections, a
  Makefile with `LAB := LAB` whose `make`, `make test` and `make grade` exist,
  the reference solution (solution markers, tools/markers.py), doctest unit
  tests, a .gitignore naming the program;
- its generated tables current: the tables of labs and of decks
  (tools/lab_tables.py), its README's table of graded tests and the Chinese
  citations (tools/graded_tables.py), its spec's table (tools/spec_tables.py);
- its Chinese twins in step and recorded in the lock (tools/check_translations.py);
- its graded tests (grader/tests/test_LAB.py), each title failed by some mutant's
  `fails:` line or excused in catalogue.NO_HONEST_MUTANT (grader/selftest/catalogue.py,
  read statically: nothing is graded);
- its spec (grader/spec/LAB.txt): it parses, quotes the README and the header,
  and quotes every "must" and every pitfalls row (tools/spec_tables.py);
- its deck in both languages (slides/decks/NN-name.md and .zh.md).

`make new-lab` (tools/new_lab.py) writes a lab that passes all of it.
"""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a file: tools/ is no package then
    print("lab_check.py: run tools/python -m tools.lab_check from the kit's folder, not this file",
          file=sys.stderr)
    sys.exit(2)

os.environ.setdefault("FORKLAB_LANG", "en")  # the graded tests' titles, in English

from grader.harness import manifest  # noqa: E402
from grader.selftest import catalogue  # noqa: E402
from tools import check_translations, graded_tables, lab_tables, markers  # noqa: E402
from tools import spec_tables  # noqa: E402

KIT_ROOT = Path(__file__).resolve().parent.parent
TRANSLATE = "translate it, then tools/check_translations.py --update {english}"
TABLES = "make graded-tables"

# The sections every lab README has, in each language (the tests and tools that
# read them: test_pitfalls.py, lab_tables.py, graded_tables.py).
SECTIONS = {
    "README.md": ("## Steps", "## What the grader checks", "## Pitfalls this lab catches"),
    "README.zh.md": ("## 步骤", "## 评分程序检查什么", "## 本实验能发现的易错点"),
}


class Report:
    def __init__(self, lab: str):
        self.lab = lab
        self.lines = []

    def missing(self, what: str, fix: str) -> None:
        self.lines.append(f"{what}\n    fix: {fix}")


def rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def check_manifest(root: Path, lab: str, report: Report):
    """The lab's labs.txt entry (None when it has none)."""
    try:
        entries = manifest.read(root / "labs.txt")
    except manifest.ManifestError as exc:
        report.missing(f"labs.txt: {exc}", "labs.txt (folder file program builds-on title)")
        return None
    entry = next((e for e in entries if e.folder == lab), None)
    if entry is None:
        report.missing(f"labs.txt: no line for {lab}",
                       f"labs.txt: add '{lab}  server.cpp  server  lab01_wrap  its title' "
                       f"(or make new-lab LAB={lab} TITLE=...)")
        return None
    chinese = check_translations.chinese_catalogue(root)
    if entry.title not in chinese:
        report.missing(f"labs.txt: the title {entry.title!r} has no Chinese",
                       f"{check_translations.PO_FILE}: msgid {entry.title!r} with its msgstr")
    return entry


def check_folder(root: Path, lab: str, entry, report: Report) -> None:
    folder = root / lab
    for name, sections in SECTIONS.items():
        readme = folder / name
        if not readme.is_file():
            report.missing(f"{lab}/{name}: missing", f"write {lab}/{name}")
            continue
        text = readme.read_text()
        if not text.startswith(f"# {lab} — "):
            report.missing(f"{lab}/{name}: its first line is not '# {lab} — title'",
                           f"{lab}/{name}")
        if len(lab_tables.SUMMARY.findall(text)) != 1:
            report.missing(f"{lab}/{name}: no line '<!-- you learn: ... -->' under its title",
                           f"{lab}/{name}")
        for section in sections:
            if not re.search(rf"^{re.escape(section)}", text, re.MULTILINE):
                report.missing(f"{lab}/{name}: no section '{section}'", f"{lab}/{name}")
        if text.count(graded_tables.BEGIN) != 1 or text.count(graded_tables.END) != 1:
            report.missing(f"{lab}/{name}: no region {graded_tables.BEGIN} ... "
                           f"{graded_tables.END} for the table of graded tests",
                           f"{lab}/{name}, then {TABLES}")
    makefile = folder / "Makefile"
    if not makefile.is_file():
        report.missing(f"{lab}/Makefile: missing",
                       f"{lab}/Makefile: LAB := {lab}, NAME := ..., include ../program.mk")
    else:
        text = makefile.read_text()
        if not re.search(rf"^LAB\s*:=\s*{lab}\s*$", text, re.MULTILINE):
            report.missing(f"{lab}/Makefile: no 'LAB := {lab}'", f"{lab}/Makefile")
        for goal in ("all", "test", "grade"):
            dry = subprocess.run(["make", "-n", "-s", "-C", str(folder), goal],
                                 capture_output=True, text=True, timeout=60)
            if dry.returncode != 0:
                report.missing(f"{lab}/Makefile: `make {goal}` fails: "
                               f"{(dry.stderr.strip().splitlines() or ['?'])[-1]}",
                               f"{lab}/Makefile (include ../program.mk gives all three)")
        if entry is not None and not entry.program \
                and not re.search(r"^kit-objects:", text, re.MULTILINE):
            report.missing(f"{lab}/Makefile: no kit-objects target (a lab graded through "
                           f"its unit tests)", f"{lab}/Makefile")
    if entry is not None:
        student = folder / entry.student_file
        if not student.is_file():
            report.missing(f"{lab}/{entry.student_file}: missing (the reference solution)",
                           f"write {lab}/{entry.student_file}")
        else:
            try:
                solutions = [r for r in markers.regions(student.read_text(), student.name)
                             if r.kind == "SOLUTION"]
            except markers.MarkerError as exc:
                solutions = None
                report.missing(f"{lab}/{entry.student_file}: {exc}",
                               f"{lab}/{entry.student_file}")
            if solutions == []:
                report.missing(f"{lab}/{entry.student_file}: no BEGIN SOLUTION ... END SOLUTION "
                               f"region (the handout's stub)", f"{lab}/{entry.student_file}")
        if entry.program:
            ignore = folder / ".gitignore"
            if not ignore.is_file() or f"/{entry.program}" not in ignore.read_text().split():
                report.missing(f"{lab}/.gitignore: does not name /{entry.program}",
                               f"{lab}/.gitignore: a line /{entry.program}")
    # A lab's test_*.cpp may take its cases from a header of the lab (lab03's fork_cases.h).
    cases = [p for p in sorted(folder.glob("*")) if p.suffix in (".cpp", ".h")
             and re.search(r'TEST_CASE\("', p.read_text())]
    if folder.is_dir() and not (list(folder.glob("test_*.cpp")) and cases):
        report.missing(f"{lab}/test_*.cpp: no doctest unit test (TEST_CASE)",
                       f"write {lab}/test_NAME.cpp")


def check_tables(root: Path, lab: str, report: Report) -> None:
    """The generated tables that show the lab, each current."""
    for tool in (lab_tables, graded_tables):
        try:
            expected = tool.expected_readmes(root)
        except SystemExit as exc:
            report.missing(str(exc.code), f"the file it names, then {TABLES}")
            continue
        for path, text in expected.items():
            mine = path.parent.name == lab or path.name in lab_tables.TABLES \
                or path == root / lab_tables.DECKS_README
            if mine and path.read_text() != text:
                report.missing(f"{rel(path, root)}: a generated table is stale "
                               f"({tool.__name__})", TABLES)


def check_translations_of(root: Path, lab: str, number: str, report: Report) -> None:
    _pairs, problems = check_translations.check_documents(root)
    ours = (f"{lab}/", f"slides/decks/{number}-")
    for problem in problems:
        if problem.startswith(ours):
            chinese = problem.split(":", 1)[0]
            english = chinese.replace(".zh.md", ".md")
            report.missing(problem, TRANSLATE.format(english=english))
    _count, problems = check_translations.check_messages(root)
    for problem in problems:
        if problem.startswith(f"grader/tests/test_{lab}.py:") or \
                (problem.startswith("labs.txt:") and lab in problem):
            report.missing(problem, f"{check_translations.PO_FILE}: its msgstr (make pot "
                                    f"adds the msgid)")


def check_graded(root: Path, lab: str, report: Report) -> list:
    """(lab, title) of every graded test of the kit; the lab's checked."""
    module = root / "grader" / "tests" / f"test_{lab}.py"
    if not module.is_file():
        report.missing(f"grader/tests/test_{lab}.py: missing (the lab's graded tests)",
                       f"write grader/tests/test_{lab}.py with LAB = \"{lab}\"")
        return []
    if not re.search(rf'^LAB = "{lab}"$', module.read_text(), re.MULTILINE):
        report.missing(f"grader/tests/test_{lab}.py: no line LAB = \"{lab}\"",
                       f"grader/tests/test_{lab}.py")
    labs = [e.folder for e in manifest.read(root / "labs.txt")
            if (root / "grader" / "tests" / f"test_{e.folder}.py").is_file()]
    try:
        collected = graded_tables.graded_tests(labs)
    except SystemExit as exc:
        report.missing(f"grader/tests: {exc.code}", "grader/grade --list names the error")
        return []
    if not collected.get(lab):
        report.missing(f"grader/tests/test_{lab}.py: no graded test",
                       f"grader/tests/test_{lab}.py: bind builds_test() and an @graded test")
    return [(name, title) for name, rows in collected.items() for title, _p, _d in rows]


def check_mutants(root: Path, lab: str, tests: list, report: Report) -> None:
    folder = root / "grader" / "mutants" / lab
    paths = sorted(folder.glob("*.mutant"))
    if not paths:
        report.missing(f"grader/mutants/{lab}/: no mutant",
                       f"write grader/mutants/{lab}/NAME.mutant (format: grader/README.md)")
    mutants = []
    for path in sorted((root / "grader" / "mutants").glob("*/*.mutant")):
        try:
            mutants.append(catalogue.parse(path))
        except catalogue.MutantError as exc:
            if path.parent.name == lab:
                report.missing(f"{rel(path, root)}: {exc}", rel(path, root))
    known = {f"{name}: {title}" for name, title in tests}
    for mutant in mutants:
        if mutant.path.parent.name == lab:
            for name in mutant.fails:
                if name not in known:
                    report.missing(f"{rel(mutant.path, root)}: fails: {name!r} is no graded test",
                                   f"{rel(mutant.path, root)} (grader/grade --list names them)")
    try:
        current = catalogue.tables() in catalogue.README.read_text()
    except (subprocess.CalledProcessError, catalogue.MutantError):
        current = True  # a broken catalogue is named above, or by grade --list
    if not current:
        report.missing("grader/README.md: the catalogue tables are stale",
                       "tools/python -m grader.selftest.catalogue --update-readme")
    ours = [(name, title) for name, title in tests if name == lab]
    by_title = catalogue.failing_mutants(mutants, ours)
    for _name, title in ours:
        if not by_title.get(title) and title not in catalogue.NO_HONEST_MUTANT:
            report.missing(f"graded test {title!r}: no mutant's fails: line names it",
                           f"grader/mutants/{lab}/NAME.mutant with 'fails: {lab}: {title}' "
                           f"(or catalogue.NO_HONEST_MUTANT with the reason)")


def check_spec(root: Path, lab: str, tests: list, report: Report) -> None:
    path = root / "grader" / "spec" / f"{lab}.txt"
    if not path.is_file():
        report.missing(f"grader/spec/{lab}.txt: missing (what the README requires, and "
                       f"what checks it)", f"write grader/spec/{lab}.txt (format: "
                                           f"tools/spec_tables.py), then {TABLES}")
        return
    try:
        requirements = spec_tables.parse(path)
    except spec_tables.SpecError as exc:
        report.missing(f"grader/spec/{exc}", f"grader/spec/{lab}.txt")
        return
    if not requirements:
        report.missing(f"grader/spec/{lab}.txt: no requirement",
                       f"grader/spec/{lab}.txt: '## requirement', says:, graded:")
    if (root / lab / "README.md").is_file():
        for problem in spec_tables.text_problems(lab, requirements, root):
            report.missing(f"grader/spec/{lab}.txt: {problem}", f"grader/spec/{lab}.txt")
    titles = {title for _name, title in tests}
    for r in requirements:
        for title in r.graded:
            if titles and title not in titles:
                report.missing(f"grader/spec/{lab}.txt: '{r.title}': no graded test {title!r}",
                               f"grader/spec/{lab}.txt")
    table = path.with_suffix(".md")
    if not table.is_file() or table.read_text() != spec_tables.table(lab, requirements):
        report.missing(f"grader/spec/{lab}.md: stale or missing", TABLES)


def check_deck(root: Path, lab: str, number: str, report: Report) -> None:
    decks = [p for p in sorted((root / "slides" / "decks").glob(f"{number}-*.md"))
             if not p.name.endswith(".zh.md")]
    if not decks:
        report.missing(f"slides/decks/{number}-*.md: no deck",
                       f"write slides/decks/{number}-NAME.md (front matter with description:)")
        return
    for deck in decks:
        twin = deck.with_name(deck.name[:-len(".md")] + ".zh.md")
        if not twin.is_file():
            report.missing(f"{rel(twin, root)}: missing (the deck's Chinese twin)",
                           f"write {rel(twin, root)}, then "
                           f"tools/check_translations.py --update {rel(deck, root)}")
        try:
            lab_tables.deck_description(deck, root)
        except SystemExit as exc:
            report.missing(str(exc.code), f"{rel(deck, root)}, then {TABLES}")


def check(lab: str, root: Path = KIT_ROOT) -> list:
    """Every problem of the lab, each with its fix."""
    report = Report(lab)
    match = re.fullmatch(r"lab(\d\d)_[a-z0-9_]+", lab)
    if not match:
        report.missing(f"{lab}: a lab's folder is labNN_name", "the folder's name")
        return report.lines
    number = match.group(1)
    entry = check_manifest(root, lab, report)
    if not (root / lab).is_dir():
        report.missing(f"{lab}/: no folder", f"make new-lab LAB={lab} TITLE=...")
    check_folder(root, lab, entry, report)
    tests = check_graded(root, lab, report)
    check_mutants(root, lab, tests, report)
    check_spec(root, lab, tests, report)
    check_deck(root, lab, number, report)
    check_tables(root, lab, report)
    check_translations_of(root, lab, number, report)
    return report.lines


def untranslated(lab: str, root: Path = KIT_ROOT) -> list:
    """The lab's Chinese files that still carry make new-lab's placeholder
    mark: complete for this check, but the selftests keep them from landing
    (test_hygiene.py)."""
    match = re.fullmatch(r"lab(\d\d)_[a-z0-9_]+", lab)
    places = [root / lab / "README.zh.md", *root.glob(f"slides/decks/{match.group(1)}-*.zh.md")] \
        if match else []
    return [rel(path, root) for path in places
            if path.is_file() and "【待翻译】" in path.read_text()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Everything a lab needs, checked in one run.")
    parser.add_argument("lab", help="the lab's folder, e.g. lab04_sigchld")
    args = parser.parse_args(argv)
    problems = check(args.lab.rstrip("/"))
    for problem in problems:
        print(f"{args.lab}: {problem}")
    for path in untranslated(args.lab.rstrip("/")):
        print(f"{args.lab}: note: {path} still says 【待翻译】 (to translate): the selftests "
              f"refuse it in the kit")
    if problems:
        print(f"lab_check: {args.lab}: {len(problems)} missing", file=sys.stderr)
        return 1
    print(f"lab_check: {args.lab}: complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
