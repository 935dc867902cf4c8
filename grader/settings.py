"""The grader's FORKLAB_* settings, read from the environment and checked one
way: a bad value ends the grader with a one-line message and exit status 2, as
a bad argument does.  They are read at import, before forklab_grade's main()
could report an error, hence SystemExit here.

The harness's own settings are read where they are used (sandbox.py,
timing.py, i18n.py); the one the labs' graded tests read is here, so that a
bad value stops the grader before pytest collects a test.
"""

import math
import os
import sys
from pathlib import Path


def _refuse(name: str, text: str, wanted: str):
    print(f"grade: {name} must be {wanted}, not {text!r}", file=sys.stderr)
    raise SystemExit(2)


def whole_number(name: str, default):
    """A whole number of at least 1, or default when the setting is absent."""
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        _refuse(name, text, "a whole number of at least 1")
    return value


def positive_number(name: str, default: float) -> float:
    """A finite number above 0 (2, 0.5, 1e1), or default when absent."""
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (value > 0 and math.isfinite(value)):
        _refuse(name, text, "a number above 0")
    return value


def folder(name: str, default: Path) -> Path:
    """An existing folder, or default when the setting is absent or empty."""
    text = os.environ.get(name)
    if not text:
        return default
    if not Path(text).is_dir():
        _refuse(name, text, "an existing folder")
    return Path(text).resolve()


def optional_folder(name: str, default: Path):
    """A folder (made when first used), None for the word `off`, or default
    when the setting is absent or empty."""
    text = os.environ.get(name)
    if not text:
        return default
    if text == "off":
        return None
    path = Path(text)
    if path.exists() and not path.is_dir():
        _refuse(name, text, "a folder or off")
    return path.resolve()


def one_of(name: str, choices: tuple, default: str, environ=None) -> str:
    """One of choices, or default when the setting is absent or empty."""
    text = (os.environ if environ is None else environ).get(name) or default
    if text not in choices:
        _refuse(name, text, f"one of {', '.join(choices)}")
    return text


# `make soak` in lab04_sigchld: the long soak (100 000 connections) instead
# of the short one every grading runs.
SOAK = one_of("FORKLAB_SOAK", ("short", "long"), "short")

# Where the grader keeps the kit's compiled parts between gradings (the
# kit's side of lab01's unit tests, the support libraries, the crash
# reporter): compiled once, not once per grading.  `off`: compile them in
# each grading's scratch folder.
CACHE = optional_folder("FORKLAB_CACHE", Path(os.environ.get("XDG_CACHE_HOME")
                                              or Path.home() / ".cache") / "forklab")
