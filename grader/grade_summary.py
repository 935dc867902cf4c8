"""The last line of `make grade` (grader/grade-for-make), in the grader's language.

    python3 -m grader.grade_summary STATUS LOG [grade's arguments...]   (kit folder on sys.path)

STATUS is grade's exit status, LOG the file holding what grade printed (its
"Score: got/total" line, in either language); the language is grade's own
choice: --lang among the arguments, else the environment (see i18n.py).
"""

import re
import sys

from grader import i18n
from grader.i18n import _


def score_in(text: str) -> str:
    """The got/total of the last score line in text, or ''."""
    prefixes = {"Score: ", _("Score: {got}/{total}  ({seconds} s)").split("{")[0]}
    found = ""
    for line in text.splitlines():
        for prefix in prefixes:
            match = re.match(re.escape(prefix) + r"\s*(\d+/\d+)", line)
            if match:
                found = match.group(1)
    return found


def main(argv) -> int:
    status, log, grade_args = argv[0], argv[1], argv[2:]
    requested = i18n.language_from_argv(grade_args)
    i18n.setup(requested if requested in i18n.LANGUAGES else i18n.language_from_environment(),
               warn=False)
    try:
        with open(log, encoding="utf-8", errors="replace") as file:
            score = score_in(file.read())
    except OSError:
        score = ""
    if status == "0":
        print(_("make grade: {score} -- full marks").format(score=score))
    elif status == "1":
        print(_("make grade: {score} -- not full marks yet: the FAIL lines above say why. "
                "(make's 'Error 1' below only passes this on; it is not a build error.)").format(
                    score=score or _("no score")))
    else:
        print(_("make grade: the grading did not finish (status {status}): see the messages "
                "above.").format(status=status))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
