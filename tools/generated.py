"""What the tools that write generated tables into READMEs share
(tools/graded_tables.py, tools/lab_tables.py): each table sits in a region
between two markers, and each tool either checks the READMEs (exit 1 when
one is stale) or rewrites them (--update)."""

import re
import sys
from pathlib import Path


def fill_region(text: str, begin: str, end: str, region: str, where: str, tool: str) -> str:
    """text with its one region begin...end replaced by region (which carries
    the markers).  SystemExit naming where when there is not exactly one."""
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.DOTALL)
    if len(pattern.findall(text)) != 1:
        raise SystemExit(f"{tool}: {where} needs one region {begin} ... {end}")
    return pattern.sub(lambda _match: region, text)


def check_or_update(expected: dict, update: bool, root: Path, tool: str, what: str) -> int:
    """Compare each README with its expected text ({path: text}); rewrite the
    stale ones (update) or name them on stderr.  Returns the exit status."""
    stale = []
    for path, text in expected.items():
        if path.read_text() == text:
            continue
        if update:
            path.write_text(text)
            print(f"{tool}: updated {path.relative_to(root)}")
        else:
            stale.append(path.relative_to(root))
    for path in stale:
        print(f"{tool}: {path}: {what} is stale: run make graded-tables", file=sys.stderr)
    return 1 if stale else 0
