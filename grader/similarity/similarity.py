"""`grader/grade --batch DIR --similarity`: which students' files are alike.

For each student file of the graded labs (lab04_sigchld/server.cpp...), the
copies the students handed in are compared by Dolos (compare.mjs, Node.js;
installed by `make deps-similarity`), with the handout's version of
that file as the template: code the handout gives every student -- the
stubs, the includes, the function heads -- counts for no pair.

compare() gives, per pair of students with a file at or above the threshold,
one StudentPair: the files alike, the highest and mean similarity over the
files both handed in.  report() is the class report's one entry: it returns
the HTML of the section (the top pairs of students only, each file linked to
its shared regions) and writes every pair to OUT/similarity.csv, so that the
page does not grow with the square of the class.  The default threshold is
calibrated on the kit's own files: grader/selftest/similarity_calibrate.py.

What a similarity score is, and is not: see EXPLANATION (the report shows it).
"""

import csv
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

HERE = Path(__file__).resolve().parent
KIT_ROOT = HERE.parent.parent
COMPARE = HERE / "compare.mjs"
# Calibrated on the kit's own files: `python3 -m grader.selftest.similarity_calibrate`
# (the figures are in grader/README.md, "Similar submissions").
DEFAULT_THRESHOLD = 0.8
DEFAULT_TOP = 20  # pairs of students shown in report.html (--similarity-top); all in the CSV
CSV_NAME = "similarity.csv"
MAX_FILE_BYTES = 1 << 20  # what the grader takes from a submission (harness/kit.py)
REGIONS_SHOWN = 3  # the largest shared regions of a file pair, in the page
LINES_SHOWN = 12  # of each

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
    """Two students' copies of one file, at or above the threshold."""
    file: str  # the student file, e.g. lab04_sigchld/server.cpp
    left: str  # students
    right: str
    similarity: float
    longest: int  # fingerprints (k-grams) in the longest shared run
    regions: list = field(default_factory=list)  # Region: the REGIONS_SHOWN largest
    spans: list = field(default_factory=list)  # ((from, to), (from, to)) of every region


@dataclass
class StudentPair:
    """Two students: every file both handed in, and those alike."""
    left: str
    right: str
    scores: dict  # {file: similarity} of every file both handed in
    files: list  # Pair: the files at or above the threshold, most similar first

    @property
    def highest(self) -> float:
        return max(self.scores.values())

    @property
    def mean(self) -> float:
        return sum(self.scores.values()) / len(self.scores)


@dataclass
class Result:
    threshold: float
    pairs: list  # Pair, per file, most similar first
    explanation: str = EXPLANATION
    problem: str = ""
    # StudentPair: the pairs of students with a file at or above the
    # threshold, by highest similarity, then mean; and how many were compared.
    students: list = field(default_factory=list)
    compared: int = 0
    top: int = DEFAULT_TOP  # pairs of students report() shows in the page


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


def run_dolos(paths: list, template: Path, timeout: float = 600,
              regions_from: float = 0.0) -> list:
    """Dolos's pairs of the files (compare.mjs): every pair's similarity,
    the shared regions of those at or above regions_from."""
    request = json.dumps({"files": [str(p.resolve()) for p in paths],
                          "template": str(template.resolve()), "regions_from": regions_from})
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
    """The pairs of students with a file at or above threshold (Result.students,
    most similar first), and the file pairs themselves (Result.pairs)."""
    pairs, scores = [], {}
    with tempfile.TemporaryDirectory(prefix="forklab-similarity-") as scratch:
        for rel in student_files:
            copies = student_copies(submissions, rel)
            if len(copies) < 2:
                continue
            template = Path(scratch) / f"handout-{Path(rel).name}"
            template.write_text(handout_version(rel))
            students = sorted(copies)
            texts = {}
            for found in run_dolos([copies[s] for s in students], template,
                                   regions_from=threshold):
                left, right = students[found["left"]], students[found["right"]]
                spans = [(tuple(r["left"]), tuple(r["right"])) for r in found["regions"]]
                if left > right:
                    left, right = right, left
                    spans = [(b, a) for a, b in spans]
                scores.setdefault((left, right), {})[rel] = found["similarity"]
                if found["similarity"] < threshold:
                    continue
                for student in (left, right):
                    if student not in texts:
                        texts[student] = copies[student].read_text(errors="replace")
                largest = sorted(spans, key=lambda s: s[0][0] - s[0][1])[:REGIONS_SHOWN]
                pairs.append(Pair(rel, left, right, found["similarity"], found["longest"], [
                    Region(a, b, _lines(texts[left], a), _lines(texts[right], b))
                    for a, b in largest], spans))
    pairs.sort(key=lambda p: (-p.similarity, p.file, p.left, p.right))
    alike = {}
    for pair in pairs:
        alike.setdefault((pair.left, pair.right), []).append(pair)
    students = [StudentPair(left, right, scores[left, right], files)
                for (left, right), files in alike.items()]
    students.sort(key=lambda p: (-p.highest, -p.mean, p.left, p.right))
    return Result(threshold, pairs, students=students, compared=len(scores))


# ------------------------------------------------------------ the report

CSV_COLUMNS = ("rank", "left", "right", "highest", "mean", "files_compared", "files_alike",
               "file", "similarity", "longest", "regions")


def write_csv(result: Result, path: Path) -> None:
    """Every pair of students of the result, one row per file of theirs at or
    above the threshold (the pair's figures repeated); regions as
    "LEFT_FROM-LEFT_TO:RIGHT_FROM-RIGHT_TO" separated by spaces."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for rank, student_pair in enumerate(result.students, start=1):
            for pair in student_pair.files:
                writer.writerow([
                    rank, student_pair.left, student_pair.right, f"{student_pair.highest:.3f}",
                    f"{student_pair.mean:.3f}", len(student_pair.scores), len(student_pair.files),
                    pair.file, f"{pair.similarity:.3f}", pair.longest,
                    " ".join(f"{a[0]}-{a[1]}:{b[0]}-{b[1]}" for a, b in pair.spans)])


def _percent(x: float) -> str:
    return f"{100 * x:.0f} %"


def report(result: Result, out: Path, top: int = None) -> str:
    """The similarity section of report.html, as HTML: the top pairs of
    students (top, or else result.top), each linked to the shared regions of
    its files; writes every pair to out/similarity.csv (CSV_NAME).  The page
    holds at most top pairs of students whatever the size of the class."""
    top = result.top if top is None else top
    write_csv(result, out / CSV_NAME)
    t = _percent(result.threshold)
    html = ['<h2 id="similarity">Similar submissions</h2>',
            f"<p>{escape(result.explanation)}</p>"]
    if result.problem:
        html.append(f'<p class="status-error">{escape(result.problem)}</p>')
    shown = result.students[:max(top, 0)]
    html.append(
        f'<p id="similarity-summary" data-listed="{len(result.students)}" '
        f'data-shown="{len(shown)}" data-compared="{result.compared}" '
        f'data-threshold="{result.threshold:.2f}">'
        f"{len(result.students)} of {result.compared} pairs of students have a file at or "
        f"above {t}"
        + (f"; the {len(shown)} most similar are below" if shown else "")
        + f'. Every pair listed is in <a href="{CSV_NAME}">{CSV_NAME}</a>, one row per file '
        "alike, with the line ranges of its shared regions.</p>")
    if not shown:
        return "\n".join(html)
    html.append('<table id="similarity-table"><tr><th>#</th><th>students</th>'
                '<th>highest</th><th>mean</th><th>files at or above ' + t + '</th></tr>')
    for rank, sp in enumerate(shown, start=1):
        files = "<br>".join(
            f'<a href="#similar-{rank}-{k}"><code>{escape(p.file)}</code></a> '
            f"{_percent(p.similarity)}" for k, p in enumerate(sp.files, start=1))
        html.append(
            f'<tr class="pair" id="similar-{rank}" data-left="{escape(sp.left)}" '
            f'data-right="{escape(sp.right)}" data-similarity="{sp.highest:.3f}" '
            f'data-mean="{sp.mean:.3f}" data-files="{len(sp.files)}">'
            f'<td class="num">{rank}</td><td>{escape(sp.left)}<br>{escape(sp.right)}</td>'
            f'<td class="num">{_percent(sp.highest)}</td>'
            f'<td class="num">{_percent(sp.mean)}<br><small>over {len(sp.scores)} '
            f'file{"s" if len(sp.scores) != 1 else ""}</small></td><td>{files}</td></tr>')
    html.append("</table>")
    html.append('<h3 id="similarity-regions">Shared regions</h3>')
    for rank, sp in enumerate(shown, start=1):
        for k, p in enumerate(sp.files, start=1):
            regions = "".join(
                f"<details><summary>{escape(p.left)} lines {r.left_lines[0]}-"
                f"{r.left_lines[1]} \u2194 {escape(p.right)} lines {r.right_lines[0]}-"
                f"{r.right_lines[1]}</summary><pre>{escape(r.left_text)}</pre>"
                f"<pre>{escape(r.right_text)}</pre></details>" for r in p.regions)
            more = len(p.spans) - len(p.regions)
            html.append(
                f'<div class="similar-file" id="similar-{rank}-{k}" data-file="{escape(p.file)}">'
                f'<h4><a href="#similar-{rank}">{rank}.</a> {escape(p.left)} \u2194 '
                f"{escape(p.right)}: <code>{escape(p.file)}</code>, {_percent(p.similarity)}, "
                f"longest shared run {p.longest} fingerprints</h4>{regions}"
                + (f'<p class="muted">{more} smaller region{"s" if more != 1 else ""}: '
                   f"see {CSV_NAME}</p>" if more > 0 else "")
                + "</div>")
    return "\n".join(html)
