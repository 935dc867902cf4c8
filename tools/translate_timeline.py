"""Translate a timeline the grader drew in English into the grader's other
language, with the grader's own messages.

    python3 -m tools.translate_timeline --lang zh IN.svg OUT.svg [--title TITLE]

A timeline (grade-logs/LAB/TEST.svg, grader/harness/timeline.py) is a picture
of one real grading; the decks show such pictures (slides/diagrams/
timeline-*.svg).  Each text of it that is one of the messages timeline.py or
the grader's conftest.py writes, its {placeholders} filled in, becomes that
message's translation with the same values; a value that is itself a message
(a test's title) is translated too.  So the Chinese deck shows the same
grading, numbers and all, in the words the Chinese grader prints.  --title
replaces the picture's title (side_by_side's, which no message makes).

A text that matches no message stays as it is and is named on stderr; the
exit status is then 1.
"""

import argparse
import html
import re
import sys
from pathlib import Path

from grader import i18n
from tools import check_translations

KIT_ROOT = Path(__file__).resolve().parent.parent
SOURCES = [KIT_ROOT / "grader/harness/timeline.py", KIT_ROOT / "grader/tests/conftest.py"]
PLACEHOLDER = re.compile(r"\\\{(\w+)\\\}")
TEXT = re.compile(r"(<(title|desc|text|tspan)\b[^>]*>)([^<]+)")
NO_WORD = re.compile(r"[^A-Za-z]*")  # numbers
CHINESE = re.compile(r"[\u4e00-\u9fff]")  # already translated (--title)


def messages(sources=SOURCES) -> list:
    """Every literal message these sources pass to _() (check_translations'
    own list of the grader's messages, kept to these files)."""
    wanted = tuple(str(s.relative_to(KIT_ROOT)) + ":" for s in sources)
    return [text for text, where in check_translations.source_messages(KIT_ROOT)
            if text is not None and where.startswith(wanted)]


def patterns(msgids) -> list:
    """(regex, msgid): the longest messages first, so that a message is not
    taken for a shorter one it contains."""
    return [(re.compile(PLACEHOLDER.sub(r"(?P<\1>.+?)", re.escape(m)) + r"\Z"), m)
            for m in sorted(set(msgids), key=len, reverse=True)]


def translate_text(text: str, known: list):
    """The translation of one text of the picture, or None."""
    if NO_WORD.fullmatch(text) or CHINESE.search(text):
        return text
    for regex, msgid in known:
        match = regex.match(text)
        if match:
            values = {k: i18n._(v) for k, v in match.groupdict().items()}
            return i18n._(msgid).format(**values)
    separator = "; "
    if separator in text:  # the description: messages joined by _("; ")
        parts = [translate_text(part, known) for part in text.split(separator)]
        if None not in parts:
            return i18n._(separator).join(parts)
    return None


def translate_svg(svg: str, known: list):
    """(the translated SVG, the texts no message matched)."""
    missed = []

    def one(match):
        tag, _name, content = match.groups()
        text = html.unescape(content)
        if not text.strip():
            return match.group(0)
        done = translate_text(text, known)
        if done is None:
            missed.append(text)
            return match.group(0)
        return tag + html.escape(done, quote=False)

    return TEXT.sub(one, svg), missed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", default="zh", choices=["zh"])
    parser.add_argument("--title", help="the picture's own title (side_by_side's)")
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    i18n.setup(args.lang)
    known = patterns(messages())
    svg = args.source.read_text()
    if args.title is not None:
        outer = re.search(r"<title>([^<]*)</title>", svg)
        svg = svg[:outer.start(1)] + html.escape(args.title, quote=False) + svg[outer.end(1):]
    translated, missed = translate_svg(svg, known)
    for text in dict.fromkeys(missed):
        print(f"translate_timeline: {args.source}: no message matches {text!r}", file=sys.stderr)
    args.out.write_text(translated)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
