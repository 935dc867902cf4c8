"""The class report's hooks in the grader (forklab_grade.py, batch.py,
shards.py), which are its --similarity: the batch options --similarity,
--similarity-threshold and --similarity-top (add_options), their checks
before grading (check_options), and report.html of a batch just graded,
with the pairs of students whose files are alike when asked
(write_for_batch; the comparison is similarity/similarity.py's).
class_report.py offers these names too.
"""

import subprocess
from pathlib import Path

from grader.i18n import _


def add_options(group) -> None:
    """The batch options of the report (forklab_grade.parse_args)."""
    from grader.similarity.similarity import DEFAULT_THRESHOLD, DEFAULT_TOP
    group.add_argument("--similarity", action="store_true",
                       help=_("also compare the students' files with Dolos and list the pairs "
                              "of students whose files are alike in report.html and "
                              "similarity.csv (needs `make deps-similarity`)"))
    group.add_argument("--similarity-threshold", type=float, default=None, metavar="P",
                       help=_("list the pairs of students with a file at or above this "
                              "similarity, 0 to 1 (default {default})").format(
                                  default=f"{DEFAULT_THRESHOLD:.2f}"))
    group.add_argument("--similarity-top", type=int, default=None, metavar="N",
                       help=_("show the N most similar pairs of students in report.html; "
                              "similarity.csv lists them all (default {default})").format(
                                  default=DEFAULT_TOP))


def check_options(args) -> None:
    """Refuse, before grading, --similarity options that cannot work."""
    from grader.harness.kit import UsageError
    from grader.similarity import similarity
    threshold = getattr(args, "similarity_threshold", None)
    top = getattr(args, "similarity_top", None)
    if (getattr(args, "similarity", False) or threshold is not None or top is not None) \
            and args.batch is None:
        raise UsageError("--similarity compares the submissions of a --batch")
    if threshold is not None and not 0 <= threshold <= 1:
        raise UsageError(f"--similarity-threshold must be from 0 to 1, not {threshold:g}")
    if top is not None and top < 0:
        raise UsageError(f"--similarity-top must be 0 or more, not {top}")
    if getattr(args, "similarity", False):
        try:
            similarity.check_available()
        except similarity.SimilarityUnavailable as exc:
            raise UsageError(str(exc)) from None


def write_for_batch(args, out: Path, outcomes: list, labs: list, seed: int,
                    submissions: list) -> Path:
    """report.html of a batch just graded (batch.run_batch, shards.merge),
    with the similar pairs of students if --similarity was given (the
    --similarity-top of them in the page, all in similarity.csv)."""
    from grader.class_report import write
    from grader.harness import kit
    from grader.similarity import similarity
    found = None
    if getattr(args, "similarity", False):
        threshold = getattr(args, "similarity_threshold", None)
        threshold = similarity.DEFAULT_THRESHOLD if threshold is None else threshold
        top = getattr(args, "similarity_top", None)
        top = similarity.DEFAULT_TOP if top is None else top
        files = [rel for lab in labs for rel in kit.LABS[lab].student_files]
        try:
            found = similarity.compare(submissions, files, threshold)
        except (similarity.SimilarityUnavailable, OSError, ValueError,
                subprocess.TimeoutExpired) as exc:
            found = similarity.Result(threshold, [], problem=f"similarity not computed: {exc}")
        found.top = top
    path = write(out, outcomes, labs, similarity=found, seed=seed)
    print(f"report: {path}" + (
        f" ({len(found.students)} of {found.compared} pairs of students with a file at or "
        f"above {found.threshold:.2f}: {out / similarity.CSV_NAME})" if found else ""))
    return path
