"""`grader/grade --batch DIR --similarity`: which students' files are alike.

For each student file of the graded labs (lab04_sigchld/server.cpp...), the
copies the students handed in are compared by Dolos (compare.mjs, Node.js;
installed by `make deps-similarity`), with the handout's version of
that file as the template: code the handout gives every student -- the
stubs, the includes, the function heads -- counts for no pair.

What a similarity score is, and is not: see EXPLANATION (the report shows it).
"""

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
KIT_ROOT = HERE.parent.parent
COMPARE = HERE / "compare.mjs"
DEFAULT_THRESHOLD = 0.6
MAX_FILE_BYTES = 1 << 20  # what the grader takes from a submission (harness/kit.py)
REGIONS_SHOWN = 6  # the largest shared regions of a pair
LINES_SHOWN = 30  # of each

EXPLANATION = (
    "A similarity score is the share of two files' code fingerprints -- "
    "hashes of short runs of syntax tokens, so renamed variables and changed "
    "comments or layout do not hide a match -- that the two files have in "
    "common, once the handout's own code is left out (Dolos, winnowing over "
    "tree-sitter parses). It says how much code two students handed in alike. "
    "It is not proof of copying and not a grade: short programs written to the "
    "same interface, from the same lectures, share code by nature, a pair may "
    "share a source they were allowed to use, and code copied and then "
    "rewritten enough scores low. It tells you which pairs to read side by "
    "side; the shared regions say where to look.")


class SimilarityUnavailable(Exception):
    pass


@dataclass
class Region:
    left_lines: tuple
    right_lines: tuple
    left_text: str
    right_text: str


@dataclass
class Pair:
    file: str  # the student file, e.g. lab04_sigchld/server.cpp
    left: str  # students
    right: str
    similarity: float
    longest: int  # tokens in the longest shared run
    regions: list = field(default_factory=list)


@dataclass
class Result:
    threshold: float
    pairs: list
    explanation: str = EXPLANATION
    problem: str = ""


def check_available() -> None:
    """Raise SimilarityUnavailable, saying what to do, unless Dolos can run."""
    if shutil.which("node") is None:
        raise SimilarityUnavailable("--similarity needs Node.js (Debian: apt-get install nodejs)")
    for package in ("@dodona/dolos-lib", "tree-sitter-cpp"):
        if not (HERE / "node_modules" / package / "package.json").is_file():
            raise SimilarityUnavailable(f"--similarity needs Dolos: run `make deps-similarity` "
                                        f"(missing {package})")


def handout_version(rel: str) -> str:
    """The handout's text of a student file: the kit's file with its
    solutions replaced by their stubs (tools/make_handout.py)."""
    from tools.make_handout import strip_regions
    return strip_regions((KIT_ROOT / rel).read_text(), rel)


def student_copies(submissions: list, rel: str) -> dict:
    """{student: path} of the submissions that hold the file as the grader
    would take it (a regular file, not a link, at most 1 MiB)."""
    found = {}
    for folder in submissions:
        path = folder / rel
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_FILE_BYTES:
            found[folder.name] = path
    return found


def _lines(text: str, span) -> str:
    """The region's lines, numbered; at most LINES_SHOWN of them."""
    lines = text.splitlines()
    first, last = span[0], min(span[1], len(lines))
    shown = [f"{n:4} {lines[n - 1]}" for n in range(first, min(last, first + LINES_SHOWN - 1) + 1)]
    if last >= first + LINES_SHOWN:
        shown.append(f"     ... to line {last}")
    return "\n".join(shown)


def run_dolos(paths: list, template: Path, timeout: float = 600) -> list:
    request = json.dumps({"files": [str(p.resolve()) for p in paths],
                          "template": str(template.resolve())})
    proc = subprocess.run(["node", str(COMPARE)], input=request, capture_output=True,
                          text=True, cwd=HERE, timeout=timeout)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["no message"]
        # Node prints the error, its stack, then its own version: the error.
        why = next((line for line in lines if "Error" in line), lines[-1])
        raise SimilarityUnavailable(f"Dolos failed (exit status {proc.returncode}): {why}")
    return json.loads(proc.stdout)["pairs"]


def compare(submissions: list, student_files: list, threshold: float = DEFAULT_THRESHOLD
            ) -> Result:
    """The pairs of students at or above threshold, per student file, most
    similar first."""
    pairs = []
    with tempfile.TemporaryDirectory(prefix="forklab-similarity-") as scratch:
        for rel in student_files:
            copies = student_copies(submissions, rel)
            if len(copies) < 2:
                continue
            template = Path(scratch) / f"handout-{Path(rel).name}"
            template.write_text(handout_version(rel))
            students = sorted(copies)
            texts = {s: copies[s].read_text(errors="replace") for s in students}
            for found in run_dolos([copies[s] for s in students], template):
                if found["similarity"] < threshold:
                    continue
                left, right = students[found["left"]], students[found["right"]]
                regions = sorted(found["regions"],
                                 key=lambda r: r["left"][0] - r["left"][1])[:REGIONS_SHOWN]
                if left > right:
                    left, right = right, left
                    regions = [{"left": r["right"], "right": r["left"]} for r in regions]
                pairs.append(Pair(rel, left, right, found["similarity"], found["longest"], [
                    Region(tuple(r["left"]), tuple(r["right"]), _lines(texts[left], r["left"]),
                           _lines(texts[right], r["right"])) for r in regions]))
    pairs.sort(key=lambda p: (-p.similarity, p.file, p.left, p.right))
    return Result(threshold, pairs)
