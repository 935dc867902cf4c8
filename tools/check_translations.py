"""Check that the kit's two languages are in step.

    tools/check_translations.py [--root DIR] [--update]

For every X.md with a Chinese twin X.zh.md (READMEs, PITFALLS, decks):
  - no English section has changed since its Chinese was last brought in
    step: tools/translations.lock.json records a digest of every English
    section as it was then, and `--update` (run once the Chinese says what
    the English says) records the English as it is now;
  - the same headings: as many, in the same order, at the same levels;
  - in each section (a heading and the text up to the next one):
    the same fenced code blocks, byte for byte; the same inline code spans
    that hold a command (`make grade`, `nc -N localhost 6666`); the same
    numbers; the same link targets (X.zh.md counts as X.md); the same HTML comment markers
    (`<!-- BEGIN HIDDEN -->`, Marp directives).
For the grader: every string the Python sources wrap in _() (and, in a graded
test module that imports i18n, every test's title, the line of what it does
and its hint), and every lab title of labs.txt, is a msgid of
grader/locale/zh/LC_MESSAGES/forklab.po with a Chinese msgstr (not fuzzy)
and the same {placeholders}.

A mismatch prints one line per problem, naming the file and the section,
and the exit status is 1; otherwise one line of counts and status 0.
"""

import argparse
import ast
import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent
LOCK_FILE = Path("tools/translations.lock.json")
SKIP_DIRS = {".git", "node_modules", "build", "dist", "grade-logs"}
# Where the grader's messages are, and the sources that use them.
PO_FILE = Path("grader/locale/zh/LC_MESSAGES/forklab.po")
# A graded test module that imports i18n has opted in: its tests' titles
# (docstrings) and hint= texts must be translated too, and its other messages
# are wrapped in _() like the rest.
MESSAGE_SOURCES = ["grader/*.py", "grader/harness/*.py", "grader/tests/*.py", "grader/tests/*/*.py",
                   "tools/demo.py"]

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
LINK_TARGET = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HTML_TARGET = re.compile(r"""\b(?:href|src)=["']([^"']+)["']""")
# One-line comments that are markers or Marp directives (`<!-- _class: lead -->`),
# the deck build's directive lines (`@code FILE ANCHOR`) and slide breaks: the
# same, in the same order.  Speaker notes (other comments) are translated.
COMMENT_MARKER = re.compile(r"<!--[ \t]*(BEGIN HIDDEN|END HIDDEN|_?[a-zA-Z]+:[^\n]*?)[ \t]*-->"
                            r"|^(@(?:code|diagram|figure|only|end)\b.*|---)[ \t]*$", re.MULTILINE)
# 100 000 and 100000 are one number; 0x80 and 6666 are numbers too.
NUMBER = re.compile(r"\d+(?:[ \u00a0\u2009\u202f]\d{3}(?!\d))*")
# The first word of an inline code span that makes it a command.
COMMAND = re.compile(
    r"^(?:make|sudo|nc|ps|ls|kill|pgrep|grep|python3|cd|printf|head|cmp|echo|ulimit|ss|"
    r"for|bear|clang-format|npm|node|git|tar|msgfmt|apt-get|ip|strace|ltrace|gdb|"
    r"grader/\S+|tools/\S+|\.{1,2}/\S+|build/\S+)(?:\s|$)")
PLACEHOLDER = re.compile(r"{([^{}:!]*)[^{}]*}")


def closes(line: str, fence: str) -> bool:
    """Whether line closes a block opened with fence (the same character, at least as many)."""
    stripped = line.strip()
    return stripped.startswith(fence[0] * len(fence)) and stripped.strip(fence[0]) == ""


class Section:
    def __init__(self, title: str, level: int):
        self.title = title
        self.level = level
        self.lines = []


def split_sections(text: str):
    """Sections of a Markdown file: the text before the first heading, then one
    per heading.  A line inside a fenced block is never a heading."""
    sections = [Section("(before the first heading)", 0)]
    fence = None
    for line in text.splitlines():
        opened = FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None and closes(line, fence):
            fence = None
        elif fence is None:
            heading = HEADING.match(line)
            if heading:
                sections.append(Section(heading.group(2), len(heading.group(1))))
                continue
        sections[-1].lines.append(line)
    return sections


def code_blocks(lines):
    """The fenced blocks of a section, each with its fence lines, as text."""
    blocks, current, fence = [], None, None
    for line in lines:
        opened = FENCE.match(line)
        if fence is None and opened:
            fence, current = opened.group(1), [line]
        elif fence is not None:
            current.append(line)
            if closes(line, fence):
                blocks.append("\n".join(current))
                fence = None
    if fence is not None:
        blocks.append("\n".join(current))
    return blocks


def prose(lines) -> str:
    """A section's text outside its fenced blocks."""
    kept, fence = [], None
    for line in lines:
        opened = FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None:
            if closes(line, fence):
                fence = None
        else:
            kept.append(line)
    return "\n".join(kept)


def commands(text: str) -> Counter:
    spans = (m.group(2).strip() for m in INLINE_CODE.finditer(text))
    return Counter(span for span in spans if COMMAND.match(span))


def links(text: str) -> Counter:
    """Link targets; a Chinese twin may link to X.zh.md where the English links to X.md."""
    targets = LINK_TARGET.findall(text) + HTML_TARGET.findall(text)
    return Counter(re.sub(r"\.zh\.md(?=$|#)", ".md", target) for target in targets)


def numbers(text: str) -> Counter:
    text = LINK_TARGET.sub("]()", text)
    return Counter(re.sub(r"\D", "", n) for n in NUMBER.findall(text))


def markers(text: str) -> list:
    return [(m.group(1) or m.group(2)).strip() for m in COMMENT_MARKER.finditer(text)]


def describe(counter: Counter) -> str:
    return ", ".join(f"{item!r}" + (f" x{n}" if n > 1 else "") for item, n in counter.items())


def compare_counters(what, english: Counter, chinese: Counter):
    problems = []
    if english - chinese:
        problems.append(f"{what} missing in Chinese: {describe(english - chinese)}")
    if chinese - english:
        problems.append(f"{what} only in Chinese: {describe(chinese - english)}")
    return problems


def compare_documents(english_text: str, chinese_text: str):
    """(section title, problem) pairs: empty when the twins are in step."""
    en, zh = split_sections(english_text), split_sections(chinese_text)
    en_levels = [s.level for s in en[1:]]
    zh_levels = [s.level for s in zh[1:]]
    if en_levels != zh_levels:
        for index, (a, b) in enumerate(zip(en, zh)):
            if a.level != b.level:
                return [(a.title, f"heading {index}: level {a.level} in English, "
                                  f"{b.level} in Chinese ({b.title!r})")]
        longer = en if len(en) > len(zh) else zh
        extra = longer[min(len(en), len(zh))]
        side = "English" if longer is en else "Chinese"
        return [(extra.title, f"{len(en) - 1} headings in English, {len(zh) - 1} in "
                              f"Chinese: this one is only in the {side}")]
    problems = []
    for a, b in zip(en, zh):
        found = []
        blocks_en, blocks_zh = code_blocks(a.lines), code_blocks(b.lines)
        if blocks_en != blocks_zh:
            if len(blocks_en) != len(blocks_zh):
                found.append(f"{len(blocks_en)} code blocks in English, "
                             f"{len(blocks_zh)} in Chinese")
            else:
                for number, (x, y) in enumerate(zip(blocks_en, blocks_zh), 1):
                    if x != y:
                        line = next((i for i, (p, q) in enumerate(
                            zip(x.splitlines() + [""], y.splitlines() + [""])) if p != q), 0)
                        found.append(f"code block {number} differs at its line {line + 1}")
        text_en, text_zh = prose(a.lines), prose(b.lines)
        found += compare_counters("commands", commands(text_en), commands(text_zh))
        found += compare_counters("numbers", numbers(text_en), numbers(text_zh))
        found += compare_counters("links", links(text_en), links(text_zh))
        if markers(text_en) != markers(text_zh):
            found.append(f"comment markers differ: {markers(text_en)} in English, "
                         f"{markers(text_zh)} in Chinese")
        problems += [(a.title, problem) for problem in found]
    return problems


def digests(english_text: str) -> list:
    """[section title, digest of its text] for every section of an English document."""
    return [[section.title, hashlib.sha256("\n".join(line.rstrip() for line in section.lines)
                                            .strip().encode()).hexdigest()[:16]]
            for section in split_sections(english_text)]


def stale_sections(recorded: list, english_text: str) -> list:
    """Titles of the sections whose English is not what the lock recorded."""
    known = {}
    for title, digest in recorded:
        known.setdefault(title, set()).add(digest)
    return [title for title, digest in digests(english_text) if digest not in known.get(title, ())]


def twins(root: Path):
    """(English, Chinese) pairs under root: every X.zh.md beside an X.md."""
    for path in sorted(root.rglob("*.zh.md")):
        if SKIP_DIRS & set(path.relative_to(root).parts):
            continue
        yield path.with_name(path.name[:-len(".zh.md")] + ".md"), path


def read_lock(root: Path) -> dict:
    path = root / LOCK_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def check_documents(root: Path):
    problems, pairs = [], 0
    lock = read_lock(root)
    for english, chinese in twins(root):
        name = chinese.relative_to(root)
        if not english.is_file():
            problems.append(f"{name}: no English twin {english.name}")
            continue
        pairs += 1
        english_text = english.read_text()
        for section, problem in compare_documents(english_text, chinese.read_text()):
            problems.append(f"{name}: section {section!r}: {problem}")
        key = english.relative_to(root).as_posix()
        if key not in lock:
            problems.append(f"{name}: not in {LOCK_FILE}: once it says what {english.name} "
                            f"says, record it with tools/check_translations.py --update")
            continue
        for section in stale_sections(lock[key], english_text):
            problems.append(f"{name}: section {section!r}: the English changed since the "
                            f"Chinese was last brought in step (translate the change, then "
                            f"tools/check_translations.py --update)")
    return pairs, problems


def update_lock(root: Path) -> int:
    """Record every English twin's sections as they are now."""
    lock = {english.relative_to(root).as_posix(): digests(english.read_text())
            for english, _chinese in twins(root) if english.is_file()}
    (root / LOCK_FILE).parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for number, (name, sections) in enumerate(sorted(lock.items())):
        rows = ",\n".join(f"  {json.dumps(row, ensure_ascii=False)}" for row in sections)
        lines.append(f"{json.dumps(name)}: [\n{rows}\n ]" + ("," if number < len(lock) - 1 else ""))
    (root / LOCK_FILE).write_text("{\n" + "\n".join(lines) + "\n}\n")
    print(f"check_translations: recorded {len(lock)} English documents in {LOCK_FILE}")
    return 0


# ------------------------------------------------------------ grader messages

def unquote(text: str) -> str:
    return ast.literal_eval(text)


def read_po(path: Path) -> dict:
    """msgid -> (msgstr, fuzzy) of a .po file (plain and msgid_plural entries)."""
    entries, fuzzy, field, current = {}, False, None, {}

    def finish():
        nonlocal current, fuzzy
        if "msgid" in current and current["msgid"] != "":
            msgstrs = [v for k, v in current.items() if k.startswith("msgstr")]
            entries[current["msgid"]] = (msgstrs, fuzzy, current.get("msgid_plural"))
        current, fuzzy = {}, False

    for line in path.read_text().splitlines() + [""]:
        line = line.strip()
        if not line:
            finish()
        elif line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[field] += unquote(line)
        else:
            keyword, _, value = line.partition(" ")
            if keyword == "msgid" and "msgid" in current:
                finish()
            field = keyword
            current[field] = unquote(value)
    return entries


def graded_texts(tree):
    """(text, line) of each @graded test's title (its docstring) and hint=, in a
    test module that has opted in to translation (it imports i18n)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "graded":
                doc = ast.get_docstring(node)
                if doc:
                    # The title is the docstring's first line (scoring.title_of), what
                    # the test does its second paragraph (scoring.description_of).
                    yield doc.splitlines()[0].strip(), node.lineno
                    paragraphs = doc.split("\n\n")
                    if len(paragraphs) > 1:
                        yield " ".join(paragraphs[1].split()), node.lineno
                for keyword in decorator.keywords:
                    if keyword.arg == "hint" and isinstance(keyword.value, ast.Constant):
                        yield keyword.value.value, decorator.lineno


def imports_i18n(tree) -> bool:
    """Whether the module imports the grader's i18n: `from grader.i18n import _`,
    `from grader import i18n` or `import grader.i18n`."""
    return any(isinstance(node, ast.Import) and any(a.name == "grader.i18n" for a in node.names)
               or isinstance(node, ast.ImportFrom) and (
                   node.module == "grader.i18n"
                   or node.module == "grader" and any(a.name == "i18n" for a in node.names))
               for node in ast.walk(tree))


def source_messages(root: Path):
    """(message, where) for every _("..."), _N("...") (marked, translated later) and
    ngettext("...", "...") in the sources, and the labs' titles in labs.txt (the
    grader prints them translated)."""
    manifest = root / "labs.txt"
    if manifest.is_file():
        for number, line in enumerate(manifest.read_text().splitlines(), start=1):
            fields = line.split("#", 1)[0].split(None, 4)
            if len(fields) == 5:
                yield fields[4].strip(), f"labs.txt:{number}"
    for path in sorted(p for pattern in MESSAGE_SOURCES for p in root.glob(pattern)):
        relative = path.relative_to(root)
        tree = ast.parse(path.read_text(), str(path))
        if relative.parts[:2] == ("grader", "tests") and imports_i18n(tree):
            for text, line in graded_texts(tree):
                yield text, f"{relative}:{line}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in ("_", "_N", "ngettext") and node.args:
                for arg in node.args[:2 if node.func.id == "ngettext" else 1]:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        yield arg.value, f"{relative}:{node.lineno}"
                    elif not isinstance(arg, ast.Name):
                        # _(NAME) translates a message marked with _N() where NAME is set.
                        yield None, f"{relative}:{node.lineno}"


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def check_messages(root: Path):
    problems, count = [], 0
    po = root / PO_FILE
    found = list(source_messages(root))
    if not found:
        return 0, []
    if not po.is_file():
        return len(found), [f"{PO_FILE}: missing"]
    catalogue = read_po(po)
    for message, where in found:
        count += 1
        if message is None:
            problems.append(f"{where}: _() of something that is not a string literal")
            continue
        if message not in catalogue:
            problems.append(f"{where}: no Chinese translation in {PO_FILE}: {message!r}")
            continue
        msgstrs, fuzzy, _plural = catalogue[message]
        if fuzzy or not msgstrs or not all(msgstrs):
            problems.append(f"{where}: the Chinese translation in {PO_FILE} is "
                            f"{'fuzzy' if fuzzy else 'empty'}: {message!r}")
            continue
        for msgstr in msgstrs:
            if set(placeholders(msgstr)) != set(placeholders(message)):
                problems.append(f"{where}: placeholders differ in {PO_FILE}: {message!r}")
                break
    return count, problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Check that each *.zh.md is in step with its "
                                     "English twin, and that every grader message has a "
                                     "Chinese translation.")
    parser.add_argument("--root", type=Path, default=KIT_ROOT, help="the kit (default: this one)")
    parser.add_argument("--update", action="store_true",
                        help=f"record the English as it is now in {LOCK_FILE} (run it once the "
                             f"Chinese twins say what the English says)")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        print(f"check_translations: {args.root} is not a folder", file=sys.stderr)
        return 2
    if args.update:
        return update_lock(args.root)
    pairs, problems = check_documents(args.root)
    messages, message_problems = check_messages(args.root)
    problems += message_problems
    for problem in problems:
        print(problem)
    if problems:
        print(f"check_translations: {len(problems)} problems: the Chinese text is behind "
              f"the English (or the other way round)")
        return 1
    print(f"check_translations: {pairs} documents and {messages} grader messages in step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
