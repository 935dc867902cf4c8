"""The instructor's view of a batch: OUT/report.html.

Written at the end of every `grader/grade --batch` (batch.py calls write()),
from what the batch wrote: grades.csv's rows (the outcomes) and each
student's results.json, the Gradescope rendering of the grader's results
(harness/report.py).  One self-contained page -- inline CSS and SVG, no
script, no network -- that opens from disk:

- the score distribution of each lab;
- every graded test with the share of the class that failed it, most failed
  first, each linked to the pitfall of the kit's PITFALLS.md it shows;
- per student: points per lab, the failed tests with what was observed, and
  links to their results.json, grade.txt, the failed tests' logs and the
  timelines of the failed server tests (harness/timeline.py);
- apart: the students whose grading crashed, hung, or whose labs did not
  build;
- with --similarity: the pairs of students whose files are alike
  (similarity/similarity.py).

Every figure the page shows carries it in a data-* attribute as well, so the
selftest can hold it against grades.csv.
"""

import json
import re
import subprocess
from html import escape
from pathlib import Path

from grader.harness.scoring import slug

KIT_ROOT = Path(__file__).resolve().parent.parent
PITFALLS = KIT_ROOT / "PITFALLS.md"
BUILDS = "builds"  # the title every lab's build test starts with


# ------------------------------------------------------------------ pitfalls

def read_pitfalls(path: Path = PITFALLS) -> dict:
    """{number: {"title", "labs", "tests", "text"}} from the catalogue:
    `## N. title`, then `- lab: ...` and `- graded test: \\`a\\`, \\`b\\``."""
    pitfalls, current = {}, None
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    for line in lines:
        head = re.match(r"## (\d+)\. (.*)", line)
        if head:
            current = {"title": head.group(2).strip(), "labs": [], "tests": [], "text": []}
            pitfalls[int(head.group(1))] = current
        elif current is None:
            continue
        elif line.startswith("- lab:"):
            current["labs"] = [lab.strip() for lab in line[6:].split(",")]
        elif line.startswith("- graded test:"):
            current["tests"] = re.findall(r"`([^`]+)`", line)
        elif not line.startswith(("- ", "<!--")) and (line.strip() or current["text"]):
            if not any(text == "" for text in current["text"]):
                current["text"].append(line.strip())
    for p in pitfalls.values():
        p["text"] = " ".join(t for t in p["text"] if t)
    return pitfalls


def pitfalls_of(lab: str, title: str, pitfalls: dict) -> list:
    """The numbers of the pitfalls whose graded tests include this title;
    those of the test's lab first."""
    found = [n for n, p in pitfalls.items() if title in p["tests"]]
    return sorted(found, key=lambda n: (lab not in pitfalls[n]["labs"], n))


# --------------------------------------------------------------- the batch

class Student:
    def __init__(self, outcome, out: Path):
        self.name = outcome.student
        self.outcome = outcome
        self.folder = out / outcome.student
        self.tests = []  # (lab, title, status, points, max, output)
        results = self.folder / "results.json"
        self.has_results = results.is_file() and outcome.max_score > 0
        if self.has_results:
            try:
                data = json.loads(results.read_text())
                for t in data["tests"]:
                    lab, title = t["name"].split(": ", 1)
                    status = t["status"]
                    if status != "passed":
                        status = "not run" if t["output"].startswith("not run") else "failed"
                    self.tests.append((lab, title, status, t["score"], t["max_score"],
                                       t["output"]))
            except (OSError, ValueError, LookupError, TypeError, AttributeError):
                self.has_results = False
                self.tests = []

    def failed(self) -> list:
        return [t for t in self.tests if t[2] == "failed"]

    def build_failures(self) -> list:
        return [t[0] for t in self.failed() if t[1].startswith(BUILDS)]

    def link(self, *parts) -> str:
        """A link relative to report.html, if that file exists."""
        path = self.folder.joinpath(*parts)
        return "/".join((self.name, *parts)) if path.is_file() else ""


def _lab_max(students, lab) -> int:
    for s in students:
        mine = [t for t in s.tests if t[0] == lab]
        if mine:
            return sum(t[4] for t in mine)
    return 0


# ------------------------------------------------------------------ drawing

def histogram(scores: list, top: int, lab: str) -> str:
    """An inline SVG bar chart of a lab's scores (0..top)."""
    width, height, left, bottom = 360, 140, 28, 22
    bins = min(top + 1, 11) if top > 0 else 1
    counts = [0] * bins
    for score in scores:
        counts[min(int(score * bins / (top + 1)) if top else 0, bins - 1)] += 1
    peak = max(counts + [1])
    bar_w = (width - left - 4) / bins
    parts = [f'<svg class="hist" width="{width}" height="{height}" role="img" '
             f'aria-label="score distribution of {escape(lab)}">']
    for i, count in enumerate(counts):
        lo = i * (top + 1) // bins
        hi = (i + 1) * (top + 1) // bins - 1
        h = (height - bottom - 10) * count / peak
        x = left + i * bar_w
        label = f"{lo}" if lo == hi else f"{lo}-{hi}"
        parts.append(f'<rect x="{x + 1:.1f}" y="{height - bottom - h:.1f}" width="{bar_w - 2:.1f}" '
                     f'height="{h:.1f}" class="bar" data-bin="{label}" data-count="{count}">'
                     f'<title>{count} student{"s" if count != 1 else ""} with {label} points'
                     f'</title></rect>')
        if count:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom - h - 2:.1f}" '
                         f'class="n">{count}</text>')
        if bins <= 6 or i % 2 == 0 or i == bins - 1:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 8}" class="n">{label}</text>')
    parts.append(f'<line x1="{left}" x2="{width - 4}" y1="{height - bottom}" '
                 f'y2="{height - bottom}" stroke="#718096"/></svg>')
    return "".join(parts)


def markdown_code(text: str) -> str:
    """HTML of a catalogue title: escaped, `code` in <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def bar(share: float) -> str:
    return (f'<svg width="120" height="12" class="rate"><rect width="120" height="12" '
            f'fill="#edf2f7"/><rect width="{120 * share:.1f}" height="12" fill="#c53030"/></svg>')


CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#1a202c;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:2px solid #e2e8f0;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #e2e8f0;padding:.25em .5em;
vertical-align:top;text-align:left}th{background:#f7fafc}td.num{text-align:right}
.hist .bar{fill:#2b6cb0}.hist .n{font-size:10px;text-anchor:middle;fill:#4a5568}
.labs{display:flex;flex-wrap:wrap;gap:1.5em}.status-timeout,.status-error{color:#c53030}
pre{white-space:pre-wrap;background:#f7fafc;padding:.5em;margin:.3em 0;font-size:.85em;
max-height:14em;overflow:auto}details{margin:.2em 0}.muted{color:#718096}
.pair td{font-size:.9em}code{font-size:.9em}
"""


# ------------------------------------------------------------------- report

def write(out: Path, outcomes: list, labs: list, similarity=None, seed=None) -> Path:
    """Write out/report.html; similarity: the pairs of similarity.compare(),
    or None when --similarity was not given."""
    students = [Student(o, out) for o in outcomes]
    pitfalls = read_pitfalls()
    html = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>forklab: class report</title><style>{CSS}</style></head><body>",
            "<h1>forklab: class report</h1>",
            f"<p>{len(students)} submissions, labs {escape(', '.join(labs))}"
            + (f", seed {seed}" if seed is not None else "")
            + '. The figures are those of <a href="grades.csv">grades.csv</a>.</p>']
    cited = set()
    html += _distribution(students, labs)
    html += _tests(students, pitfalls, cited)
    html += _apart(students)
    html += _students(students, labs, pitfalls, cited)
    if similarity is not None:
        html += _similarity(similarity)
    html += _pitfalls(pitfalls, cited)
    html.append("</body></html>\n")
    path = out / "report.html"
    path.write_text("\n".join(html))
    return path


def _distribution(students, labs) -> list:
    html = ["<h2 id=\"distribution\">Score distribution</h2>", '<div class="labs">']
    graded = [s for s in students if s.has_results]
    for lab in labs:
        top = _lab_max(graded, lab)
        scores = [s.outcome.labs.get(lab, 0) for s in graded]
        mean = sum(scores) / len(scores) if scores else 0
        html.append(f'<div class="lab" data-lab="{escape(lab)}" data-max="{top}">'
                    f"<h3>{escape(lab)}</h3>{histogram(scores, top, lab)}"
                    f"<p>{len(scores)} graded, mean {mean:.1f} of {top}, "
                    f"{sum(sc == top for sc in scores)} at full marks</p></div>")
    html.append("</div>")
    return html


def _tests(students, pitfalls, cited) -> list:
    graded = [s for s in students if s.has_results]
    counts = {}  # (lab, title) -> [failed, not run, graded]
    for s in graded:
        for lab, title, status, *_rest in s.tests:
            c = counts.setdefault((lab, title), [0, 0, 0])
            c[2] += 1
            c[0] += status == "failed"
            c[1] += status == "not run"
    rows = sorted(counts.items(), key=lambda kv: (-kv[1][0] / max(kv[1][2], 1), kv[0]))
    html = ["<h2 id=\"tests\">What the class got wrong</h2>",
            "<p>Each graded test, most failed first: how many of the graded students failed it "
            "(a test not run because one it needs failed is counted apart), and the pitfall of "
            "the kit's <code>PITFALLS.md</code> it shows.</p>",
            "<table id=\"test-table\"><tr><th>test</th><th>failed</th><th></th><th>not run</th>"
            "<th>pitfall</th></tr>"]
    for (lab, title), (failed, not_run, total) in rows:
        share = failed / total if total else 0
        numbers = pitfalls_of(lab, title, pitfalls)
        cited.update(numbers)
        links = ", ".join(f'<a href="#pitfall-{n}">{n}. {markdown_code(pitfalls[n]["title"])}</a>'
                          for n in numbers) or '<span class="muted">none listed</span>'
        html.append(f'<tr class="test" data-test="{escape(lab)}: {escape(title)}" '
                    f'data-failed="{failed}" data-not-run="{not_run}" data-graded="{total}">'
                    f"<td>{escape(lab)}: {escape(title)}</td>"
                    f'<td class="num">{failed}/{total} ({100 * share:.0f} %)</td>'
                    f"<td>{bar(share)}</td><td class=\"num\">{not_run}</td><td>{links}</td></tr>")
    html.append("</table>")
    return html


def _apart(students) -> list:
    html = ["<h2 id=\"apart\">Not graded fully</h2>"]
    rows = []
    for s in students:
        o = s.outcome
        if o.status != "ok":
            why = {"timeout": "hung", "error": "crashed"}.get(o.status, o.status)
            rows.append((s, why, o.detail))
        elif s.build_failures():
            rows.append((s, "did not build", ", ".join(s.build_failures())))
    if not rows:
        html.append("<p>Every submission was graded, and every lab built.</p>")
        return html
    html.append("<table id=\"apart-table\"><tr><th>student</th><th>what happened</th>"
                "<th>detail</th></tr>")
    for s, why, detail in rows:
        transcript = s.link("grade.txt")
        detail_html = escape(detail) + (f' (<a href="{escape(transcript)}">grade.txt</a>)'
                                        if transcript else "")
        html.append(f'<tr class="apart" data-student="{escape(s.name)}" data-why="{why}">'
                    f'<td><a href="#student-{escape(slug(s.name))}">{escape(s.name)}</a></td>'
                    f'<td class="status-{s.outcome.status}">{why}</td>'
                    f"<td>{detail_html}</td></tr>")
    html.append("</table>")
    return html


def _students(students, labs, pitfalls, cited) -> list:
    html = ["<h2 id=\"students\">Students</h2>",
            "<table id=\"student-table\"><tr><th>student</th>"
            + "".join(f"<th>{escape(lab)}</th>" for lab in labs)
            + "<th>total</th><th>status</th><th>failed tests</th></tr>"]
    for s in students:
        o = s.outcome
        cells = "".join(f'<td class="num" data-lab="{escape(lab)}">{o.labs.get(lab, 0)}</td>'
                        for lab in labs)
        failed = s.failed()
        links = [f'<a href="{escape(target)}">{label}</a>'
                 for label, target in (("results.json", s.link("results.json")),
                                       ("grade.txt", s.link("grade.txt"))) if target]
        items = []
        for lab, title, _status, points, max_points, output in failed:
            numbers = pitfalls_of(lab, title, pitfalls)
            cited.update(numbers)
            extra = [f'<a href="#pitfall-{n}">pitfall {n}</a>' for n in numbers]
            log = s.link("logs", lab, f"{slug(title)}.log")
            svg = s.link("logs", lab, f"{slug(title)}.svg")
            if log:
                extra.append(f'<a href="{escape(log)}">log</a>')
            if svg:
                extra.append(f'<a href="{escape(svg)}" class="timeline">timeline</a>')
            observed = output.split("\nhint: ")[0]
            items.append(f'<details class="failed" data-test="{escape(lab)}: {escape(title)}">'
                         f"<summary>{escape(lab)}: {escape(title)} ({points}/{max_points}) "
                         f"{' · '.join(extra)}</summary><pre>{escape(observed)}</pre></details>")
        html.append(f'<tr class="student" id="student-{escape(slug(s.name))}" '
                    f'data-student="{escape(s.name)}" data-total="{o.score}" '
                    f'data-max="{o.max_score}" data-status="{o.status}">'
                    f"<td>{escape(s.name)}<br><small>{' · '.join(links)}</small></td>{cells}"
                    f'<td class="num">{o.score}/{o.max_score}</td>'
                    f'<td class="status-{o.status}">{o.status}</td>'
                    f"<td>{''.join(items) or '<span class=muted>none</span>'}</td></tr>")
    html.append("</table>")
    return html


def _similarity(result) -> list:
    html = ["<h2 id=\"similarity\">Similar submissions</h2>",
            f"<p>{escape(result.explanation)}</p>"]
    if result.problem:
        html.append(f"<p class=\"status-error\">{escape(result.problem)}</p>")
    if not result.pairs:
        html.append(f"<p>No pair of students above {100 * result.threshold:.0f} %.</p>")
        return html
    html.append("<table id=\"similarity-table\"><tr><th>lab file</th><th>students</th>"
                "<th>similarity</th><th>longest shared run</th><th>shared regions</th></tr>")
    for pair in result.pairs:
        regions = "".join(
            f"<details><summary>{escape(pair.left)} lines {r.left_lines[0]}-{r.left_lines[1]} "
            f"↔ {escape(pair.right)} lines {r.right_lines[0]}-{r.right_lines[1]}</summary>"
            f"<pre>{escape(r.left_text)}</pre><pre>{escape(r.right_text)}</pre></details>"
            for r in pair.regions)
        html.append(f'<tr class="pair" data-file="{escape(pair.file)}" '
                    f'data-left="{escape(pair.left)}" data-right="{escape(pair.right)}" '
                    f'data-similarity="{pair.similarity:.3f}">'
                    f"<td><code>{escape(pair.file)}</code></td>"
                    f"<td>{escape(pair.left)}<br>{escape(pair.right)}</td>"
                    f'<td class="num">{100 * pair.similarity:.0f} %</td>'
                    f'<td class="num">{pair.longest} tokens</td><td>{regions}</td></tr>')
    html.append("</table>")
    return html


def _pitfalls(pitfalls, cited) -> list:
    if not cited:
        return []
    html = ["<h2 id=\"pitfalls\">The pitfalls cited</h2>",
            "<p>From the kit's catalogue <code>PITFALLS.md</code> (same numbers).</p>"]
    for n in sorted(cited):
        p = pitfalls[n]
        html.append(f'<div class="pitfall" id="pitfall-{n}">'
                    f'<h3>{n}. {markdown_code(p["title"])}</h3>'
                    f"<p>{markdown_code(p['text'])}</p><p class=\"muted\">lab: "
                    f"{escape(', '.join(p['labs']))}; graded tests: "
                    f"{escape('; '.join(p['tests']) or 'none')}</p></div>")
    return html


# ----------------------------------------------------------- the grader's hooks

def add_options(group) -> None:
    """The batch options of the report (forklab_grade.parse_args)."""
    group.add_argument("--similarity", action="store_true",
                       help="also compare the students' files with Dolos and list the similar "
                            "pairs in report.html (needs `make deps-similarity`)")
    group.add_argument("--similarity-threshold", type=float, default=None, metavar="P",
                       help="list pairs at or above this similarity, 0 to 1 (default 0.6)")


def check_options(args) -> None:
    """Refuse, before grading, --similarity options that cannot work."""
    from grader.harness.kit import UsageError
    from grader.similarity import similarity
    threshold = getattr(args, "similarity_threshold", None)
    if (getattr(args, "similarity", False) or threshold is not None) and args.batch is None:
        raise UsageError("--similarity compares the submissions of a --batch")
    if threshold is not None and not 0 <= threshold <= 1:
        raise UsageError(f"--similarity-threshold must be from 0 to 1, not {threshold:g}")
    if getattr(args, "similarity", False):
        try:
            similarity.check_available()
        except similarity.SimilarityUnavailable as exc:
            raise UsageError(str(exc)) from None


def write_for_batch(args, out: Path, outcomes: list, labs: list, seed: int,
                    submissions: list) -> Path:
    """report.html of a batch just graded (batch.run_batch), with the
    similar pairs if --similarity was given."""
    from grader.harness import kit
    from grader.similarity import similarity
    found = None
    if getattr(args, "similarity", False):
        threshold = args.similarity_threshold
        threshold = similarity.DEFAULT_THRESHOLD if threshold is None else threshold
        files = [rel for lab in labs for rel in kit.LABS[lab].student_files]
        try:
            found = similarity.compare(submissions, files, threshold)
        except (similarity.SimilarityUnavailable, OSError, ValueError,
                subprocess.TimeoutExpired) as exc:
            found = similarity.Result(threshold, [], problem=f"similarity not computed: {exc}")
    path = write(out, outcomes, labs, similarity=found, seed=seed)
    print(f"report: {path}" + (f" ({len(found.pairs)} similar pairs)" if found else ""))
    return path
