"""The instructor's view of a batch: OUT/report.html.

Written at the end of every `grader/grade --batch` (batch.py calls write()),
from the batch's outcomes (grades.csv's and failed_tests.csv's rows: the
tests, their causes, the labs not started) and each student's results.json,
the Gradescope rendering of the grader's results (harness/report.py).  One
self-contained page -- inline CSS, SVG and one small script (sorting), no
network -- that opens from disk, made for triage:

- apart: the students whose grading crashed, hung, or whose labs did not
  build;
- the students, lowest total first, those below LOW_SHARE of the maximum
  marked; a lab not started (batch.not_started()) shown as such; each
  column sorts on a click on its heading; per student the failed tests, with
  what was observed and links to their results.json, grade.txt, the failed
  tests' logs and the timelines of the failed server tests
  (harness/timeline.py);
- the causes the grader named, counted over the class: a test failed with
  the same cause as an earlier one of its lab (a cascade) counts under that
  cause;
- every graded test with the share of the students who started its lab that
  failed it, most failed first, each linked to the pitfall of the kit's
  PITFALLS.md it shows;
- the score distribution of each lab;
- with --similarity: the pairs of students whose files are alike
  (similarity/similarity.py).

Every figure the page shows carries it in a data-* attribute as well, so the
selftests can hold it against grades.csv and failed_tests.csv.
"""

import json
import re
import subprocess
from html import escape
from pathlib import Path

from grader.harness.scoring import slug
from grader.i18n import _

KIT_ROOT = Path(__file__).resolve().parent.parent
PITFALLS = KIT_ROOT / "PITFALLS.md"
BUILDS = "builds"  # the title every lab's build test starts with
# A total (or a lab's points) below this share of its maximum is marked low.
LOW_SHARE = 0.5


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
        self.tests = list(outcome.tests)  # batch.Outcome.tests: dicts
        self.has_results = bool(outcome.labs) and bool(self.tests)
        self.not_started = set(outcome.not_started)
        self._outputs = None

    def started(self, lab) -> bool:
        return self.has_results and lab in self.outcome.labs and lab not in self.not_started

    def failed(self, started_only=False) -> list:
        return [t for t in self.tests if t["status"] == "failed"
                and (not started_only or t["lab"] not in self.not_started)]

    def build_failures(self) -> list:
        return [t["lab"] for t in self.failed() if t["title"].startswith(BUILDS)]

    def output(self, test) -> str:
        """What the test's results.json entry says it observed (no hint)."""
        if self._outputs is None:
            self._outputs = {}
            try:
                data = json.loads((self.folder / "results.json").read_text())
                self._outputs = {t["name"]: t["output"] for t in data["tests"]}
            except (OSError, ValueError, LookupError, TypeError, AttributeError):
                pass
        return observed_in(self._outputs.get(f"{test['lab']}: {test['title']}", ""))

    def low(self) -> bool:
        o = self.outcome
        return self.has_results and o.max_score > 0 and o.score < LOW_SHARE * o.max_score

    def link(self, *parts) -> str:
        """A link relative to report.html, if that file exists."""
        path = self.folder.joinpath(*parts)
        return "/".join((self.name, *parts)) if path.is_file() else ""


def observed_in(output: str) -> str:
    """A failed test's output without its hint (in the grader's language)."""
    for prefix in dict.fromkeys(("hint: ", _("hint: "))):
        at = output.rfind("\n" + prefix)
        if at >= 0:
            return output[:at]
    return output


def _lab_max(students, lab) -> int:
    for s in students:
        if lab in s.outcome.lab_max:
            return s.outcome.lab_max[lab]
    return 0


# -------------------------------------------------------------- the causes

def _template(message: str) -> re.Pattern:
    """A regex of a message of the grader's, in the language spoken: its
    placeholders match any text (the last one, the rest of the line)."""
    parts = re.split(r"{[^{}]*}", _(message))
    return re.compile(".+?".join(re.escape(part) for part in parts[:-1]) + ".*"
                      + re.escape(parts[-1]))


QUOTED = re.compile(r"(?<!\w)'[^'\n]*'(?!\w)|`[^`\n]*`|\u201c[^\u201d\n]*\u201d")


def cause_key(cause: str) -> str:
    """What makes the causes of two students' failures one: the cause's text
    without the program's last output, the names it quotes and its numbers
    (pids, ports, lines).  "the server (pid 412) died of SIGSEGV -- ... -- at
    server.cpp:88 in serve_client" is "the server (pid #) died of SIGSEGV --
    ... -- at server.cpp:# in serve_client" for every student."""
    cause = QUOTED.sub("'\u2026'", without_said(cause))
    return " ".join(re.sub(r"\d+", "#", cause).split())


def without_said(cause: str) -> str:
    """A cause without the last output of the program it names."""
    said = _template("; the {name}'s output ended with: {tail}").search(cause)
    return cause[:said.start()] if said else cause


class Cause:
    """One cause named over the class: its failures (student, test), the
    cascades among them, and its first occurrence's text and hint."""

    def __init__(self, key, example, hint, where):
        self.key, self.example, self.hint, self.where = key, without_said(example), hint, where
        self.students, self.tests, self.cascades, self.labs = [], 0, 0, []

    def add(self, student, test) -> None:
        if student not in self.students:
            self.students.append(student)
        if test["lab"] not in self.labs:
            self.labs.append(test["lab"])
        self.tests += 1
        self.cascades += bool(test.get("same_cause_as"))


def class_causes(students) -> list:
    """The causes of the failed tests of the labs started, most students
    first; the failures with no cause named are the last, key ""."""
    causes = {}
    for s in students:
        keys = {}  # (lab, title) -> key, for the cascades
        for t in s.failed(started_only=True):
            first = t.get("same_cause_as")
            key = keys.get((t["lab"], first)) if first else None
            if key is None:
                key = cause_key(t.get("cause", ""))
            keys[(t["lab"], t["title"])] = key
            if key not in causes:
                causes[key] = Cause(key, t.get("cause", ""), t.get("hint", ""),
                                    f"{s.name}, {t['lab']}: {t['title']}")
            causes[key].add(s.name, t)
    return sorted(causes.values(), key=lambda c: (c.key == "", -len(c.students), -c.tests,
                                                 c.key))


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
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:76em;color:#1a202c;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:2px solid #e2e8f0;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0;max-width:100%}td,th{border:1px solid #e2e8f0;
padding:.25em .5em;vertical-align:top;text-align:left;overflow-wrap:anywhere}
th{background:#f7fafc;overflow-wrap:normal}td.num{text-align:right;white-space:nowrap}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:after{content:" \\2195";
color:#a0aec0}table.sortable th[aria-sort=ascending]:after{content:" \\25b2";color:#1a202c}
table.sortable th[aria-sort=descending]:after{content:" \\25bc";color:#1a202c}
#student-table,#cause-table,#test-table{width:100%}
.hist .bar{fill:#2b6cb0}.hist .n{font-size:10px;text-anchor:middle;fill:#4a5568}
.labs{display:flex;flex-wrap:wrap;gap:1.5em}.status-timeout,.status-error{color:#c53030}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7fafc;padding:.5em;
margin:.3em 0;font-size:.85em;max-height:14em;overflow-y:auto;overflow-x:hidden}
details{margin:.2em 0}.muted{color:#718096}summary{cursor:pointer}
.pair td{font-size:.9em}code{font-size:.9em;overflow-wrap:anywhere}
tr[data-low="1"] td:first-child,td[data-low="1"]{background:#fff5f5;color:#9b2c2c}
.low-mark{color:#c53030;font-weight:bold}.not-started{color:#718096;font-style:italic}
td.not-started{background:#f7fafc}.hint{font-size:.9em;color:#4a5568}
.legend{background:#f7fafc;border:1px solid #e2e8f0;padding:.5em .8em;font-size:.95em}
"""

# Sorting the tables of class "sortable" by a click on a column's heading:
# by each cell's data-sort if it has one, else its text; numbers as numbers.
SCRIPT = """
(function () {
  function key(cell) {
    var v = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    var n = Number(v);
    return v.trim() !== "" && !isNaN(n) ? [0, n] : [1, v.trim().toLowerCase()];
  }
  function sort(table, column, th) {
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    var up = th.getAttribute("aria-sort") !== "ascending";
    rows = rows.map(function (row, i) { return [key(row.cells[column]), i, row]; });
    rows.sort(function (a, b) {
      var x = a[0], y = b[0];
      var c = x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0);
      return (up ? c : -c) || a[1] - b[1];
    });
    Array.prototype.forEach.call(th.parentNode.cells, function (h) {
      h.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    rows.forEach(function (r) { body.appendChild(r[2]); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.tabIndex = 0;
      th.title = "sort by this column";
      th.addEventListener("click", function () { sort(table, column, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(table, column, th); }
      });
    });
  });
})();
"""


def percent(share: float) -> str:
    return f"{100 * share:.0f} %"


# ------------------------------------------------------------------- report

def write(out: Path, outcomes: list, labs: list, similarity=None, seed=None) -> Path:
    """Write out/report.html; similarity: the similarity.Result of
    similarity.compare() (its top pairs of students shown, every pair in
    out/similarity.csv), or None when --similarity was not given."""
    students = [Student(o, out) for o in outcomes]
    pitfalls = read_pitfalls()
    html = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>forklab: class report</title><style>{CSS}</style></head><body>",
            "<h1>forklab: class report</h1>",
            f"<p>{len(students)} submissions, labs {escape(', '.join(labs))}"
            + (f", seed {seed}" if seed is not None else "")
            + '. The figures are those of <a href="grades.csv">grades.csv</a> and '
              '<a href="failed_tests.csv">failed_tests.csv</a>.</p>']
    cited = set()
    causes = class_causes(students)
    html += _summary(students, labs, causes)
    html += _apart(students)
    html += _students(students, labs, pitfalls, cited)
    html += _causes(causes)
    html += _tests(students, pitfalls, cited)
    html += _distribution(students, labs)
    if similarity is not None:
        from grader.similarity.similarity import report as similarity_section
        html.append(similarity_section(similarity, out))  # also writes similarity.csv
    html += _pitfalls(pitfalls, cited)
    html.append(f"<script>{SCRIPT}</script></body></html>\n")
    path = out / "report.html"
    path.write_text("\n".join(html))
    return path


def _summary(students, labs, causes) -> list:
    graded = [s for s in students if s.has_results]
    low = [s for s in graded if s.low()]
    apart = [s for s in students if s.outcome.status != "ok"]
    not_started = sum(len(s.not_started) for s in graded)
    named = [c for c in causes if c.key]
    items = [f'<li data-count="{len(low)}" id="summary-low"><span class="low-mark">▼</span> '
             f"{len(low)} of {len(graded)} graded below {percent(LOW_SHARE)} of the maximum</li>",
             f'<li data-count="{len(apart)}" id="summary-apart">{len(apart)} not graded fully '
             f'(<a href="#apart">apart</a>)</li>',
             f'<li data-count="{not_started}" id="summary-not-started">{not_started} '
             f"lab{'s' if not_started != 1 else ''} not started</li>"]
    if named:
        top, many = named[0], len(named[0].students)
        items.append(f'<li id="summary-causes" data-count="{len(named)}">{len(named)} '
                     f"cause{'s' if len(named) != 1 else ''} named by the grader; the most "
                     f"common, for {many} student{'s' if many != 1 else ''}: "
                     f'<a href="#causes">{escape(_clip(top.example, 160))}</a></li>')
    return ["<ul class=\"summary\">" + "".join(items) + "</ul>",
            '<p class="legend"><span class="low-mark">▼</span> <b>low</b>: a total below '
            f"{percent(LOW_SHARE)} of the maximum (a lab's points below {percent(LOW_SHARE)} of "
            'its maximum are marked in its cell). <span class="not-started">not started</span>: '
            "the lab's student file is missing or the handout's unchanged (whitespace aside), "
            "or no test of it passed but the build and its failures name only its own stubs "
            "(\"lab02: main is not implemented yet\"); its tests are left out of the failure "
            "rates and the causes. A blank cell: not graded (the grading hung or failed, or the "
            "lab was not in this run). Click a column's heading to sort by it.</p>",
            '<p><a href="#apart">Not graded fully</a> · <a href="#students">Students</a> · '
            '<a href="#causes">Causes</a> · <a href="#tests">Tests</a> · '
            '<a href="#distribution">Score distribution</a></p>']


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _distribution(students, labs) -> list:
    html = ["<h2 id=\"distribution\">Score distribution</h2>",
            "<p>Of the students graded who started the lab.</p>", '<div class="labs">']
    graded = [s for s in students if s.has_results]
    for lab in labs:
        top = _lab_max(graded, lab)
        started = [s for s in graded if s.started(lab)]
        scores = [s.outcome.labs.get(lab, 0) for s in started]
        mean = sum(scores) / len(scores) if scores else 0
        idle = sum(lab in s.not_started for s in graded)
        html.append(f'<div class="lab" data-lab="{escape(lab)}" data-max="{top}" '
                    f'data-not-started="{idle}">'
                    f"<h3>{escape(lab)}</h3>{histogram(scores, top, lab)}"
                    f"<p>{len(scores)} graded, {idle} not started, mean {mean:.1f} of {top}, "
                    f"{sum(sc == top for sc in scores)} at full marks</p></div>")
    html.append("</div>")
    return html


def _causes(causes) -> list:
    html = ["<h2 id=\"causes\">Causes</h2>",
            "<p>The causes the grader named for the failed tests (the \"cause:\" line), over "
            "the class, most students first. Two students' causes are one when their texts "
            "differ only in numbers (pids, ports, lines), quoted names and the program's last "
            "output. A test failed with the same cause as an earlier test of its lab (a "
            "cascade: \"the same cause as ...\") counts under that cause, not as a failure of "
            "its own. The labs not started are left out. The kit maps its graded tests to "
            "<code>PITFALLS.md</code> (see <a href=\"#tests\">Tests</a>), not causes: each "
            "cause comes with the hint the grader gave with it.</p>"]
    if not causes:
        html.append("<p>No test failed in a lab that was started.</p>")
        return html
    html.append("<table id=\"cause-table\" class=\"sortable\"><thead><tr><th>cause</th>"
                "<th>students</th><th>failed tests</th><th>of which cascades</th>"
                "<th>hint</th></tr></thead><tbody>")
    for c in causes:
        names = ", ".join(c.students)
        if c.key:
            text = (f"{escape(c.example)}<br><small class=\"muted\">first seen: "
                    f"{escape(c.where)}</small>")
            hint = (f'<details><summary class="hint">{escape(_clip(c.hint, 90))}</summary>'
                    f'<p class="hint">{escape(c.hint)}</p></details>' if c.hint else "")
        else:
            text = ("<span class=\"muted\">no cause named: the tests' own observations "
                    "(see the students' failed tests)</span>")
            hint = ""
        html.append(f'<tr class="cause" data-cause="{escape(c.key)}" '
                    f'data-students="{len(c.students)}" data-tests="{c.tests}" '
                    f'data-cascades="{c.cascades}" data-labs="{escape(" ".join(c.labs))}">'
                    f"<td>{text}</td>"
                    f'<td class="num" data-sort="{len(c.students)}"><details><summary>'
                    f"{len(c.students)}</summary><small>{escape(names)}</small></details></td>"
                    f'<td class="num">{c.tests}</td><td class="num">{c.cascades}</td>'
                    f"<td>{hint}</td></tr>")
    html.append("</tbody></table>")
    return html


def _tests(students, pitfalls, cited) -> list:
    graded = [s for s in students if s.has_results]
    counts = {}  # (lab, title) -> [failed, not run, graded and started, cascades, not started]
    for s in graded:
        for t in s.tests:
            c = counts.setdefault((t["lab"], t["title"]), [0, 0, 0, 0, 0])
            if t["lab"] in s.not_started:
                c[4] += 1
                continue
            c[2] += 1
            c[0] += t["status"] == "failed"
            c[1] += t["status"] == "not run"
            c[3] += t["status"] == "failed" and bool(t.get("same_cause_as"))
    rows = sorted(counts.items(), key=lambda kv: (-kv[1][0] / max(kv[1][2], 1), kv[0]))
    html = ["<h2 id=\"tests\">Tests: what the class got wrong</h2>",
            "<p>Each graded test, most failed first: how many of the graded students who "
            "started its lab failed it (a test not run because one it needs failed is counted "
            "apart; so are the students who did not start the lab), how many of those "
            "failures had the same cause as an earlier test of the lab, and the pitfall of "
            "the kit's <code>PITFALLS.md</code> it shows.</p>",
            "<table id=\"test-table\" class=\"sortable\"><thead><tr><th>test</th>"
            "<th>failed</th><th>rate</th><th>cascades</th><th>not run</th><th>not started</th>"
            "<th>pitfall</th></tr></thead><tbody>"]
    for (lab, title), (failed, not_run, total, cascades, idle) in rows:
        share = failed / total if total else 0
        numbers = pitfalls_of(lab, title, pitfalls)
        cited.update(numbers)
        links = ", ".join(f'<a href="#pitfall-{n}">{n}. {markdown_code(pitfalls[n]["title"])}</a>'
                          for n in numbers) or '<span class="muted">none listed</span>'
        html.append(f'<tr class="test" data-test="{escape(lab)}: {escape(title)}" '
                    f'data-failed="{failed}" data-not-run="{not_run}" data-graded="{total}" '
                    f'data-cascades="{cascades}" data-not-started="{idle}">'
                    f"<td>{escape(lab)}: {escape(title)}</td>"
                    f'<td class="num" data-sort="{share:.4f}">{failed}/{total} '
                    f"({percent(share)})</td>"
                    f'<td data-sort="{share:.4f}">{bar(share)}</td>'
                    f'<td class="num">{cascades}</td><td class="num">{not_run}</td>'
                    f'<td class="num">{idle}</td><td>{links}</td></tr>')
    html.append("</tbody></table>")
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


def _lab_cell(s, lab) -> str:
    """A student's points in a lab: low marked, "not started", or blank (not graded)."""
    if not s.has_results or lab not in s.outcome.labs:
        return (f'<td class="num" data-lab="{escape(lab)}" data-state="not-graded" '
                f'data-sort="-2" title="not graded"></td>')
    if lab in s.not_started:
        return (f'<td class="not-started" data-lab="{escape(lab)}" data-state="not-started" '
                f'data-sort="-1">not started</td>')
    score, top = s.outcome.labs[lab], s.outcome.lab_max.get(lab, 0)
    low = top > 0 and score < LOW_SHARE * top
    mark = '<span class="low-mark">▼</span> ' if low else ""
    return (f'<td class="num" data-lab="{escape(lab)}" data-state="graded" data-sort="{score}" '
            f'data-low="{int(low)}" title="{score} of {top}">{mark}{score}</td>')


def _failed_list(s, pitfalls, cited) -> str:
    failed = s.failed()
    if not failed:
        return '<span class="muted">none</span>'
    items = []
    for lab in sorted({t["lab"] for t in failed} & s.not_started):
        count = sum(t["lab"] == lab for t in failed)
        items.append(f'<p class="not-started" data-not-started="{escape(lab)}">'
                     f"{escape(lab)}: not started ({count} failed test"
                     f"{'s' if count != 1 else ''} left out)</p>")
    shown = [t for t in failed if t["lab"] not in s.not_started]
    for t in shown:
        lab, title = t["lab"], t["title"]
        numbers = pitfalls_of(lab, title, pitfalls)
        cited.update(numbers)
        extra = [f'<a href="#pitfall-{n}">pitfall {n}</a>' for n in numbers]
        log = s.link("logs", lab, f"{slug(title)}.log")
        svg = s.link("logs", lab, f"{slug(title)}.svg")
        if log:
            extra.append(f'<a href="{escape(log)}">log</a>')
        if svg:
            extra.append(f'<a href="{escape(svg)}" class="timeline">timeline</a>')
        same = t.get("same_cause_as")
        if same:
            extra.append(f'<span class="muted">the same cause as \u2018{escape(same)}\u2019</span>')
        items.append(f'<details class="failed" data-test="{escape(lab)}: {escape(title)}">'
                     f"<summary>{escape(lab)}: {escape(title)} ({t['points']}/{t['max_points']}) "
                     f"{' · '.join(extra)}</summary><pre>{escape(s.output(t))}</pre></details>")
    causes = len({t.get("same_cause_as") or t["title"] for t in shown if t.get("cause")})
    summary = (f"{len(shown)} failed" + (f", {causes} cause{'s' if causes != 1 else ''} named"
                                         if causes else ""))
    if not shown:
        return "".join(items)
    return (f'<details class="failed-list"><summary>{summary}</summary>'
            + "".join(items) + "</details>")


def _students(students, labs, pitfalls, cited) -> list:
    def order(s):
        return (s.outcome.score if s.has_results else -1, s.name)
    html = ["<h2 id=\"students\">Students</h2>",
            f"<p>Lowest total first; <span class=\"low-mark\">▼</span> below "
            f"{percent(LOW_SHARE)} of the maximum.</p>",
            "<table id=\"student-table\" class=\"sortable\"><thead><tr><th>student</th>"
            + "".join(f"<th>{escape(lab)}</th>" for lab in labs)
            + "<th aria-sort=\"ascending\">total</th><th>status</th><th>failed tests</th>"
              "</tr></thead><tbody>"]
    for s in sorted(students, key=order):
        o = s.outcome
        links = [f'<a href="{escape(target)}">{label}</a>'
                 for label, target in (("results.json", s.link("results.json")),
                                       ("grade.txt", s.link("grade.txt"))) if target]
        low = s.low()
        total = (f'{"<span class=low-mark>▼</span> " if low else ""}{o.score}/{o.max_score}'
                 if s.has_results else "")
        failed = len(s.failed(started_only=True))
        html.append(f'<tr class="student" id="student-{escape(slug(s.name))}" '
                    f'data-student="{escape(s.name)}" '
                    f'data-total="{o.score if s.has_results else ""}" '
                    f'data-max="{o.max_score if s.has_results else ""}" '
                    f'data-status="{o.status}" data-low="{int(low)}" '
                    f'data-not-started="{escape(" ".join(sorted(s.not_started)))}">'
                    f"<td>{escape(s.name)}<br><small>{' · '.join(links)}</small></td>"
                    + "".join(_lab_cell(s, lab) for lab in labs)
                    + f'<td class="num" data-sort="{order(s)[0]}">{total}</td>'
                    f'<td class="status-{o.status}">{o.status}</td>'
                    f'<td data-sort="{failed}">{_failed_list(s, pitfalls, cited)}</td></tr>')
    html.append("</tbody></table>")
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
