"""Check that the kit's two languages are in step.

    tools/check_translations.py [--root DIR] [--update [ENGLISH.md ...]]

For every X.md with a Chinese twin X.zh.md (READMEs, PITFALLS, decks):
  - no English section has changed since its Chinese was last brought in
    step: tools/translations.lock.json records a digest of every English
    section as it was then, and `--update` (run once the Chinese says what
    the English says) records the English as it is now;
  - the same headings: as many, in the same order, at the same levels;
  - in each section (a heading and the text up to the next one):
    the same fenced code blocks (below); the same inline code spans
    that hold a command (`make grade`, `nc -N localhost 6666`); the same
    numbers; the same link targets (X.zh.md counts as X.md); the same HTML comment markers
    (`<!-- BEGIN HIDDEN -->`, Marp directives).  A test-name citation
    `中文`（`English`） counts as its English title.
The code blocks, by the language named after the opening fence:
  - sh, bash, shell, console, text or none: a command block, or a diagram if
    it draws with box-drawing characters (U+2500-U+257F: ─ │ ┐ ▼ ...);
  - any other (c, cpp, ...): code, byte for byte.
  A command block has as many lines as its twin, each with the same code,
  byte for byte up to its comment: the text from an unquoted # that starts a
  word (quotes do not span lines).  A line has a comment in both languages or
  in neither; the Chinese comment is translated (one with an English word
  may not be the English comment unchanged) and keeps its numbers.
  A diagram has as many lines as its twin, the same fence lines, and on each
  line the same drawing characters in the same order (a run of one character
  counts as one, so an arrow may grow or shrink to realign); its labels may
  be translated, keeping the block's numbers and code words (ALL-CAPS names,
  names with _, calls such as pause()).
In a Chinese twin, no English prose is left where a reader meets it in
place of the Chinese: in command blocks' comments, in diagrams' labels and
in test-name citations.  English prose is a run of three or more words --
letters only, lower case after the first -- outside `code spans` and
"double quotes" (quoted code or output); a word joined to code characters
(reap_children, server.cpp, -n, Ctrl-C, waitpid(), back-off) is code, and
ALL-CAPS names (SIGCHLD, EINTR) and single capitals are names, not words.
A test-name citation is a code span after 计分测试： (PITFALLS.zh.md) or
评分程序： (the labs' pitfall tables), up to the next ；, | or the line's
end: it is `中文`（`English`）, the English title `grade --list --lang en`
prints and, before it, that title's msgstr in the grader's catalogue (the
title the Chinese grader prints).  tools/graded_tables.py writes them
(`make graded-tables`).
For the grader: every message it prints has a Chinese translation with the
same {placeholders} (tools/message_catalogue.py says which messages, and where).

A mismatch prints one line per problem, naming the file and the section,
and the exit status is 1; otherwise one line of counts and status 0.
"""

import argparse
import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent
LOCK_FILE = Path("tools/translations.lock.json")
SKIP_DIRS = {".git", "node_modules", "build", "dist", "grade-logs"}

# The grader's message catalogue (the .po, the messages of the sources, the
# template): tools/message_catalogue.py, its names importable from here too.
if __package__:
    from tools.message_catalogue import (PO_FILE, check_messages, chinese_catalogue,  # noqa: F401
                                         placeholders, po_quote, read_po, source_messages,
                                         write_template)
else:  # run as a file (make check-translations): tools/ is first on sys.path
    from message_catalogue import (PO_FILE, check_messages, chinese_catalogue,  # noqa: F401
                                   placeholders, po_quote, read_po, source_messages,
                                   write_template)

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

# Code blocks whose comments (command blocks) or labels (diagrams) are translated.
COMMAND_LANGUAGES = {"", "sh", "bash", "shell", "console", "text"}
BOX_DRAWING = re.compile(r"[\u2500-\u257f]")
# What draws a diagram: arrows, box drawing, blocks and geometric shapes (▶ ◄ ▼).
DRAWING = re.compile(r"[\u2190-\u21ff\u2500-\u25ff]")
# Code words of a diagram's labels: ALL-CAPS names, names with _, calls.
CODE_WORD = re.compile(r"\b(?:[A-Z][A-Z0-9_]+|\w*_\w*|\w+\()")
# An English word (see the top of this file); ASCII classes, as \w takes in Chinese.
WORD = r"(?<![A-Za-z0-9_./\\$=@%-])(?:[A-Za-z][a-z]+|a)(?:'[a-z]+)?(?![A-Za-z0-9_/(=@%-]|\.\w)"
ENGLISH_RUN = re.compile(WORD + r"(?:[,;:!?]?[ \t]+" + WORD + r"){2,}")
ENGLISH_WORD = re.compile(WORD)
QUOTED = re.compile(r"(`+).+?\1|\"[^\"\n]*\"")
# A code span (one backtick, or two around a title that holds one) and a
# test-name citation: `中文`（`English`）.
SPAN = r"(?:`([^`\n]+)`|`` ?([^\n]+?) ?``)"
CODE_SPAN = re.compile(SPAN)
CITATION = re.compile(SPAN + "（" + SPAN + "）")
GRADED_CLAUSE = re.compile(r"(?:计分测试|评分程序)：[^；|\n]*")


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


def block_kind(lines) -> str:
    """'command', 'diagram' or 'code': how a fenced block (its lines, fences
    included) may differ in its Chinese twin."""
    language = lines[0].strip().lstrip("`~").strip().split(None, 1)
    if (language[0].lower() if language else "") not in COMMAND_LANGUAGES:
        return "code"
    return "diagram" if any(BOX_DRAWING.search(line) for line in lines[1:]) else "command"


def split_comment(line: str):
    """(code, comment): the comment is the text from an unquoted # that starts
    a word (None when there is none)."""
    quote, escaped = None, False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index], line[index:]
    return line, None


def english_runs(text: str) -> list:
    """The runs of English prose in text, code spans and "quotes" aside."""
    return [m.group(0) for m in ENGLISH_RUN.finditer(QUOTED.sub("\0", text))]


def has_english_word(text: str) -> bool:
    return ENGLISH_WORD.search(QUOTED.sub("\0", text)) is not None


def drawing(line: str) -> str:
    """A diagram line's drawing characters, a run of one counted once."""
    return re.sub(r"(.)\1+", r"\1", "".join(DRAWING.findall(line)))


def first_difference(a, b) -> int:
    """The first line (from 1) where two lists of lines differ."""
    return next((i for i, (p, q) in enumerate(zip(a + [""], b + [""])) if p != q), 0) + 1


def compare_block(number: int, english: str, chinese: str) -> list:
    """The problems of one fenced block of a Chinese twin (see the top of this file)."""
    en, zh = english.splitlines(), chinese.splitlines()
    kind = block_kind(en)
    if kind == "code" or en[:1] != zh[:1]:
        return [] if en == zh else [f"code block {number} differs at its line "
                                    f"{first_difference(en, zh)}"]
    if len(en) != len(zh):
        return [f"code block {number} ({kind}) has {len(en)} lines in English, "
                f"{len(zh)} in Chinese"]
    problems = []
    if kind == "diagram":
        if en[-1] != zh[-1]:
            problems.append(f"code block {number} differs at its line {len(en)}")
        for line, (a, b) in enumerate(zip(en, zh), 1):
            if drawing(a) != drawing(b):
                problems.append(f"code block {number} (diagram) line {line}: not the same "
                                f"drawing (translate the labels only)")
            problems += [f"code block {number} (diagram) line {line}: English left in a "
                         f"label: {run!r}" for run in english_runs(DRAWING.sub("\0", b))]
        problems += compare_counters(f"code block {number} (diagram): numbers",
                                     numbers(english), numbers(chinese))
        problems += compare_counters(f"code block {number} (diagram): code words",
                                     Counter(CODE_WORD.findall(english)),
                                     Counter(CODE_WORD.findall(chinese)))
        return problems
    for line, (a, b) in enumerate(zip(en, zh), 1):
        (code_en, comment_en), (code_zh, comment_zh) = split_comment(a), split_comment(b)
        if code_en.rstrip() != code_zh.rstrip():
            problems.append(f"code block {number} differs at its line {line}")
        elif (comment_en is None) != (comment_zh is None):
            problems.append(f"code block {number} line {line}: a comment in "
                            f"{'English' if comment_zh is None else 'Chinese'} only")
        elif comment_en is None:
            continue
        elif comment_zh == comment_en and has_english_word(comment_en):
            problems.append(f"code block {number} line {line}: comment not translated: "
                            f"{comment_en!r}")
        else:
            problems += [f"code block {number} line {line}: English left in the comment: "
                         f"{run!r}" for run in english_runs(comment_zh)]
            problems += compare_counters(f"code block {number} line {line}: numbers in the "
                                         f"comment", numbers(comment_en), numbers(comment_zh))
    return problems


def span_text(match, first: int = 1) -> str:
    """The text of a SPAN whose groups start at group `first`."""
    return match.group(first) if match.group(first) is not None else match.group(first + 1)


def graded_clauses(line: str) -> list:
    """(start, end) of each part of line that cites graded tests: from 计分测试：
    or 评分程序： up to the next ；, | or the end (code spans do not end it)."""
    masked = CODE_SPAN.sub(lambda m: "\0" * len(m.group(0)), line)
    return [m.span() for m in GRADED_CLAUSE.finditer(masked)]


def citation_problems(text: str, catalogue: dict) -> list:
    """What is wrong with the test-name citations of a Chinese twin's prose;
    catalogue: msgid -> msgstr of the grader's messages."""
    problems = []
    for line in text.splitlines():
        for start, end in graded_clauses(line):
            clause = line[start:end]
            cited = [m.span() for m in CITATION.finditer(clause)]
            for span in CODE_SPAN.finditer(clause):
                if not any(a <= span.start() < b for a, b in cited):
                    problems.append(f"test {span.group(0)} cited without its Chinese title "
                                    f"(make graded-tables writes it)")
            for citation in CITATION.finditer(clause):
                chinese, english = span_text(citation, 1), span_text(citation, 3)
                english = english.replace("\\|", "|")
                if catalogue.get(english) != chinese.replace("\\|", "|"):
                    problems.append(f"test {citation.group(0)}: the Chinese grader prints "
                                    f"{catalogue.get(english)!r} (make graded-tables)")
            problems += [f"English left in a test-name citation: {run!r}"
                         for run in english_runs(CODE_SPAN.sub("\0", clause))]
    return problems


def as_english(text: str) -> str:
    """A Chinese twin's prose with each test-name citation reduced to its English title."""
    return CITATION.sub(lambda m: code_span(span_text(m, 3)), text)


def code_span(text: str) -> str:
    return f"`` {text} ``" if "`" in text else f"`{text}`"


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


def compare_documents(english_text: str, chinese_text: str, catalogue: dict = None):
    """(section title, problem) pairs: empty when the twins are in step;
    catalogue: msgid -> msgstr of the grader's messages (for test-name citations)."""
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
        if len(blocks_en) != len(blocks_zh):
            found.append(f"{len(blocks_en)} code blocks in English, "
                         f"{len(blocks_zh)} in Chinese")
        else:
            for number, (x, y) in enumerate(zip(blocks_en, blocks_zh), 1):
                found += compare_block(number, x, y)
        text_en, text_zh = prose(a.lines), prose(b.lines)
        found += citation_problems(text_zh, catalogue or {})
        text_zh = as_english(text_zh)
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
    catalogue = chinese_catalogue(root) if (root / PO_FILE).is_file() else {}
    for english, chinese in twins(root):
        name = chinese.relative_to(root)
        if not english.is_file():
            problems.append(f"{name}: no English twin {english.name}")
            continue
        pairs += 1
        english_text = english.read_text()
        for section, problem in compare_documents(english_text, chinese.read_text(), catalogue):
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


def update_lock(root: Path, only=None) -> int:
    """Record every English twin's sections as they are now; only: just those
    English documents (paths relative to root), the others' records kept."""
    recorded = {english.relative_to(root).as_posix(): english
                for english, _chinese in twins(root) if english.is_file()}
    if only:
        wanted = {Path(name).as_posix() for name in only}
        unknown = sorted(wanted - set(recorded))
        if unknown:
            print(f"check_translations: no Chinese twin beside {', '.join(unknown)}",
                  file=sys.stderr)
            return 2
        lock = {name: rows for name, rows in read_lock(root).items() if name in recorded}
        lock.update({name: digests(recorded[name].read_text()) for name in wanted})
    else:
        lock = {name: digests(english.read_text()) for name, english in recorded.items()}
    (root / LOCK_FILE).parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for number, (name, sections) in enumerate(sorted(lock.items())):
        rows = ",\n".join(f"  {json.dumps(row, ensure_ascii=False)}" for row in sections)
        lines.append(f"{json.dumps(name)}: [\n{rows}\n ]" + ("," if number < len(lock) - 1 else ""))
    (root / LOCK_FILE).write_text("{\n" + "\n".join(lines) + "\n}\n")
    print(f"check_translations: recorded {len(only) if only else len(lock)} English documents "
          f"in {LOCK_FILE}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Check that each *.zh.md is in step with its "
                                     "English twin, and that every grader message has a "
                                     "Chinese translation.")
    parser.add_argument("--root", type=Path, default=KIT_ROOT, help="the kit (default: this one)")
    parser.add_argument("--update", nargs="*", metavar="ENGLISH.md",
                        help=f"record the English as it is now in {LOCK_FILE} (run it once the "
                             f"Chinese twins say what the English says); with files (relative "
                             f"to the kit), only those English documents")
    parser.add_argument("--pot", type=Path, metavar="FILE",
                        help="write the messages to translate as a gettext template (for "
                             "msgmerge) and exit")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        print(f"check_translations: {args.root} is not a folder", file=sys.stderr)
        return 2
    if args.update is not None:
        return update_lock(args.root, args.update)
    if args.pot:
        return write_template(args.root, args.pot)
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
