#!/usr/bin/env python3
"""The solution markers of the kit: the one program that reads them.

The kit's files are the reference solutions.  A marker is a whole line that
is a comment in the file's own syntax -- `//` in C and C++, `#` in Python,
shell, Makefiles, INI and YAML, `<!-- ... -->` in Markdown and HTML -- and
opens or closes a region:

    // BEGIN SOLUTION stub: not_implemented("lab01: Accept", fd, sa, salenptr);
    ...reference code...
    // END SOLUTION

    // BEGIN HIDDEN
    ...instructor-only text or tests...
    // END HIDDEN

Every file has three editions:

    student     what the handout gives students: a SOLUTION region becomes
                its stub line at the marker's indentation (without `stub:`
                the region just goes), a HIDDEN region goes;
    autograder  as student, but HIDDEN regions stay (without their markers):
                the kit the Gradescope and PrairieLearn autograders run;
    instructor  the reference: every region stays, without its markers (the
                instructor's slides).

Regions do not nest.  A marker in another file's syntax is not one (a
`// BEGIN SOLUTION` line in a Markdown code block is an example), and a file
whose name has no comment syntax below has no markers.  An unclosed region,
an END without its BEGIN, text after a marker other than `stub: CODE`, and a
comment line that starts with the word BEGIN or END but is none of the four
markers (a misspelt one would leave its solution in the handout) are errors
that name the file and line.

tools/make_handout.py imports this module; slides/tools/kit-code.mjs runs it:

    markers.py extract FILE [--edition student|autograder|instructor]
        print FILE in that edition (default: student)
    markers.py regions FILE...
        one JSON object: each FILE's regions, [{kind, begin, end, stub,
        body}], begin and end the lines of its markers (from 1), stub the
        stub line or null, body the lines between the markers; a file whose
        name takes no markers is not read

A bad marker: one line `markers: FILE:LINE: what is wrong` per file on
stderr and exit status 1.
"""

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

# The comment that starts a marker line, by file suffix, and by whole name.
COMMENT_STYLES = {
    ".cpp": "//", ".h": "//", ".hh": "//", ".c": "//",
    ".py": "#", ".sh": "#", ".mk": "#", ".ini": "#", ".yml": "#", ".yaml": "#",
    ".md": "<!--", ".html": "<!--",
}
NAMED_STYLES = {"Makefile": "#"}
EDITIONS = ("student", "autograder", "instructor")


def marker_pattern(prefix: str):
    """A whole-line marker comment that starts with `prefix`."""
    return re.compile(r"^(?P<indent>\s*)" + re.escape(prefix) +
                      r"\s*(?P<edge>BEGIN|END)\s+(?P<kind>SOLUTION|HIDDEN)\b(?P<rest>.*?)"
                      r"\s*(?:-->)?\s*$")


def lookalike_pattern(prefix: str):
    """A whole-line comment whose first word is BEGIN or END."""
    return re.compile(r"^\s*" + re.escape(prefix) + r"\s*(?P<words>(?:BEGIN|END)\b.*?)"
                      r"\s*(?:-->)?\s*$")


MARKERS = {prefix: marker_pattern(prefix) for prefix in ("//", "#", "<!--")}
LOOKALIKES = {prefix: lookalike_pattern(prefix) for prefix in MARKERS}
STUB = re.compile(r"^\s*stub:\s*(?P<stub>.+)$")


class MarkerError(Exception):
    pass


@dataclass
class Region:
    kind: str  # SOLUTION or HIDDEN
    begin: int  # the line of the BEGIN marker, from 1
    end: int = 0  # the line of the END marker
    stub: str = None  # the stub line at the marker's indentation, or None
    body: list = field(default_factory=list)  # the lines between, with their endings


def comment_style(path):
    path = Path(path)
    return NAMED_STYLES.get(path.name) or COMMENT_STYLES.get(path.suffix)


def marker_for(where: str):
    """The marker pattern of a file, by its name (None: it takes no markers)."""
    style = comment_style(where)
    return MARKERS[style] if style else None


def parse(text: str, where: str) -> list:
    """The lines of one file's text (with their endings), each region gathered
    into one Region; a MarkerError names `where` and the line."""
    lines = text.splitlines(keepends=True)
    style = comment_style(where)
    if style is None:
        return lines
    parts = []
    open_region = None
    for number, line in enumerate(lines, start=1):
        match = MARKERS[style].match(line)
        if match is None:
            lookalike = LOOKALIKES[style].match(line)
            if lookalike:
                raise MarkerError(f"{where}:{number}: unknown marker {lookalike['words']!r} "
                                  "(the markers: BEGIN SOLUTION, END SOLUTION, BEGIN HIDDEN, "
                                  "END HIDDEN)")
            (parts if open_region is None else open_region.body).append(line)
            continue
        kind, edge, rest = match["kind"], match["edge"], match["rest"].strip()
        if edge == "BEGIN":
            if open_region is not None:
                raise MarkerError(f"{where}:{number}: BEGIN {kind} inside the "
                                  f"{open_region.kind} region opened at line {open_region.begin}")
            open_region = Region(kind, number)
            if rest:
                stub_match = STUB.match(rest)
                if kind != "SOLUTION" or stub_match is None:
                    raise MarkerError(f"{where}:{number}: unexpected text after BEGIN {kind}: "
                                      f"{rest!r} (only BEGIN SOLUTION takes 'stub: CODE')")
                open_region.stub = match["indent"] + stub_match["stub"]
        else:
            if open_region is None or open_region.kind != kind:
                raise MarkerError(f"{where}:{number}: END {kind} without BEGIN {kind}")
            if rest:
                raise MarkerError(f"{where}:{number}: unexpected text after END {kind}")
            open_region.end = number
            parts.append(open_region)
            open_region = None
    if open_region is not None:
        raise MarkerError(f"{where}:{open_region.begin}: BEGIN {open_region.kind} is never closed")
    return parts


def regions(text: str, where: str) -> list:
    return [part for part in parse(text, where) if isinstance(part, Region)]


def extract(text: str, where: str, edition: str = "student") -> str:
    """One file's text in one edition (see the top of this file)."""
    if edition not in EDITIONS:
        raise ValueError(f"unknown edition {edition!r}")
    out = []
    for part in parse(text, where):
        if isinstance(part, str):
            out.append(part)
        elif edition == "instructor" or (edition == "autograder" and part.kind == "HIDDEN"):
            out.extend(part.body)
        elif part.stub is not None:
            out.append(part.stub + "\n")
    return "".join(out)


def strip_regions(text: str, where: str, keep_hidden: bool = False) -> str:
    """The student edition, or with keep_hidden the autograder's."""
    return extract(text, where, "autograder" if keep_hidden else "student")


def read(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MarkerError(f"{name}: cannot read it: {exc}") from None


def region_json(region: Region) -> dict:
    fields = asdict(region)
    fields["body"] = [line[:-1] if line.endswith("\n") else line for line in region.body]
    return fields


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="markers.py",
                                     description="Read the solution markers of kit files.")
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("extract", help="print a file in one edition")
    one.add_argument("file")
    one.add_argument("--edition", choices=EDITIONS, default="student")
    many = commands.add_parser("regions", help="the regions of files, as JSON")
    many.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    errors = []
    if args.command == "extract":
        try:
            text = extract(read(args.file), args.file, args.edition)
        except MarkerError as exc:
            errors.append(str(exc))
    else:
        found = {}
        for name in args.files:
            try:
                marked = comment_style(name) is not None
                found[name] = [region_json(r) for r in regions(read(name), name)] if marked else []
            except MarkerError as exc:
                errors.append(str(exc))
        text = json.dumps(found) + "\n"
    for error in errors:
        print(f"markers: {error}", file=sys.stderr)
    if errors:
        return 1
    sys.stdout.buffer.write(text.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
